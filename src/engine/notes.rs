//! What rustls' callbacks saw while a connection's input was processed on this thread.
//!
//! rustls calls the server's certificate resolver and the certificate verifiers from inside
//! `process_new_packets`, on the thread driving the connection, but those objects belong to
//! the config that every connection shares. They leave what they learned here, in a
//! thread-local slot, and the connection takes it right after processing: no lock, no
//! per-connection config. Issue-worthy details (what the client offered, why a chain was
//! refused) reach the connection's error this way, while the alert rustls sends stays the
//! one its own error implies.

use std::cell::RefCell;

use super::error::Error;
use super::hello::Offer;
use super::trace::{Event, Step};

/// What one round of processing left behind.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// What the ClientHello offered (server side).
    pub(crate) offer: Option<Offer>,
    /// Why the peer's chain was refused, naming the certificate at fault.
    pub(crate) verdict: Option<Error>,
    /// Whether the connection being processed is traced: the hooks make events only then.
    pub(crate) tracing: bool,
    /// Trace events, in the order they happened.
    pub(crate) events: Vec<Event>,
}

thread_local! {
    static NOTES: RefCell<Notes> = RefCell::new(Notes::default());
}

/// Adds to the notes of the connection being processed on this thread.
pub(crate) fn write(note: impl FnOnce(&mut Notes)) {
    NOTES.with(|slot| note(&mut slot.borrow_mut()));
}

/// Starts the notes of a connection about to be processed: drops what another connection
/// on this thread left behind, and says whether this one is traced.
pub(crate) fn begin(tracing: bool) {
    NOTES.with(|slot| {
        *slot.borrow_mut() = Notes {
            tracing,
            ..Notes::default()
        }
    });
}

/// Whether the connection being processed on this thread is traced.
pub(crate) fn tracing() -> bool {
    NOTES.with(|slot| slot.borrow().tracing)
}

/// Takes the notes written on this thread since the last call.
pub(crate) fn take() -> Notes {
    NOTES.with(|slot| std::mem::take(&mut *slot.borrow_mut()))
}

/// Records a trace event for `step` that happens now, if the connection is traced.
pub(crate) fn trace(step: Step, text: impl Into<String>) {
    write(|notes| {
        if notes.tracing {
            notes.events.push(Event::now(step, text));
        }
    });
}
