//! The engine's log records (rustls' and ours), forwarded to the application.
//!
//! rustls logs through the `log` facade, which has one logger per process. embertls
//! installs its own the first time an application asks for the records, and forwards them
//! to the application's sink. A process whose Rust code installed another logger first
//! keeps it; embertls then says so instead of taking it over.

use std::sync::{Arc, RwLock};

use log::{LevelFilter, Log, Metadata, Record};

use super::error::{Error, ErrorKind};

/// Receives one record: its level, where it comes from (e.g. `rustls::client::hs`) and
/// the message. Called on whichever thread logged it.
pub type LogSink = dyn Fn(log::Level, &str, &str) + Send + Sync;

static SINK: RwLock<Option<Arc<LogSink>>> = RwLock::new(None);

struct Forwarder;

static FORWARDER: Forwarder = Forwarder;

impl Log for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        let sink = SINK.read().ok().and_then(|sink| sink.clone());
        if let Some(sink) = sink {
            sink(record.level(), record.target(), &record.args().to_string());
        }
    }

    fn flush(&self) {}
}

/// Sends records up to `max` to `sink` (None: stop forwarding, and `max` is ignored).
/// `InvalidArg` when another logger already owns the process's `log` facade.
pub fn set_sink(sink: Option<Arc<LogSink>>, max: LevelFilter) -> Result<(), Error> {
    let installed = log::set_logger(&FORWARDER).is_ok()
        || std::ptr::addr_eq(log::logger(), &FORWARDER as &dyn Log);
    if !installed {
        return Err(Error::new(
            ErrorKind::InvalidArg,
            "another logger already receives this process's Rust log records (the `log` \
             crate allows one per process)",
        ));
    }
    let off = sink.is_none();
    *SINK
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = sink;
    log::set_max_level(if off { LevelFilter::Off } else { max });
    Ok(())
}
