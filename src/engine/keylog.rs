//! Secrets as rustls derives them: to the application's key-log callback, to the file named
//! by `SSLKEYLOGFILE` (when the application opted in), and to the trace.
//!
//! Key logs let Wireshark decrypt a capture. They are for debugging: whoever reads them can
//! read the traffic, so nothing is logged unless the application asked for it.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use rustls::KeyLog;

use super::notes;
use super::trace::Step;

/// Receives one line of the NSS key log format (`LABEL <client_random hex> <secret hex>`,
/// without a newline), on the thread driving the connection.
pub type KeyLogSink = dyn Fn(&str) + Send + Sync;

/// Where a config's connections send their secrets.
pub(crate) struct Secrets {
    pub(crate) sink: Option<Arc<KeyLogSink>>,
    pub(crate) file: Option<rustls::KeyLogFile>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("sink", &self.sink.is_some())
            .field("file", &self.file)
            .finish()
    }
}

impl KeyLog for Secrets {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(sink) = &self.sink {
            sink(&nss_line(label, client_random, secret));
        }
        if let Some(file) = &self.file {
            file.log(label, client_random, secret);
        }
        // Each derivation (its label, never the secret), when the connection is traced.
        notes::trace(Step::KeysDerived, describe(label));
    }
}

/// One line of the NSS key log format.
pub(crate) fn nss_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let mut line =
        String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
    line.push_str(label);
    line.push(' ');
    hex(&mut line, client_random);
    line.push(' ');
    hex(&mut line, secret);
    line
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// What a key-log label means, for the trace.
fn describe(label: &str) -> String {
    let what = match label {
        "CLIENT_RANDOM" => "TLS 1.2 master secret",
        "CLIENT_EARLY_TRAFFIC_SECRET" => "client early traffic secret",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => "client handshake traffic secret",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET" => "server handshake traffic secret",
        "CLIENT_TRAFFIC_SECRET_0" => "client application traffic secret",
        "SERVER_TRAFFIC_SECRET_0" => "server application traffic secret",
        "EXPORTER_SECRET" => "exporter secret",
        _ => "secret",
    };
    format!("{what} derived ({label})")
}
