//! The handshake as it happens: one event per step, stamped when the step is observed.
//!
//! Each step is reported from the place where it really happens, never reconstructed:
//! hello messages as their plaintext records are written or read ([`super::wire`]), secrets
//! as rustls derives them (the key-log hook), the peer's chain and each verdict from the
//! verifiers, the handshake signature from its check, and completion or failure from the
//! connection state after processing. Hooks that belong to a config shared by many
//! connections leave their events in the connection's notes with the time they happened;
//! the connection delivers them as soon as rustls returns.

use std::ffi::CStr;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// What kind of step an event reports. The numbers are the C header's `EMBER_TRACE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    /// A client sent its ClientHello: versions, suites, groups, server name, ALPN offered.
    ClientHelloSent = 1,
    /// A server received a ClientHello.
    ClientHelloReceived = 2,
    /// A server sent its ServerHello: the version and suite it chose (or a HelloRetryRequest).
    ServerHelloSent = 3,
    /// A client received the ServerHello.
    ServerHelloReceived = 4,
    /// The key exchange group was settled (TLS 1.3 key share, TLS 1.2 ServerKeyExchange).
    KeyExchange = 5,
    /// A secret was derived (the NSS key-log label names which).
    KeysDerived = 6,
    /// The peer's certificate chain arrived.
    CertificateReceived = 7,
    /// One verification check and its verdict (chain and signatures, dates, host name,
    /// revocation), or the verification callback's decision.
    CertificateCheck = 8,
    /// The peer proved it holds its certificate's key (CertificateVerify, or the TLS 1.2
    /// ServerKeyExchange signature).
    SignatureVerified = 9,
    /// The peer's Finished message was verified (and ours was sent).
    Finished = 10,
    /// The handshake completed: full or resumed, with its duration.
    Complete = 11,
    /// The handshake failed: the result and why.
    Failed = 12,
}

impl Step {
    /// The step's name as the C header spells it, without the prefix (e.g. "CLIENT_HELLO_SENT").
    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("the names are ASCII")
    }

    /// [`Step::name`] NUL-terminated, for C.
    pub fn c_name(self) -> &'static CStr {
        match self {
            Self::ClientHelloSent => c"CLIENT_HELLO_SENT",
            Self::ClientHelloReceived => c"CLIENT_HELLO_RECEIVED",
            Self::ServerHelloSent => c"SERVER_HELLO_SENT",
            Self::ServerHelloReceived => c"SERVER_HELLO_RECEIVED",
            Self::KeyExchange => c"KEY_EXCHANGE",
            Self::KeysDerived => c"KEYS_DERIVED",
            Self::CertificateReceived => c"CERTIFICATE_RECEIVED",
            Self::CertificateCheck => c"CERTIFICATE_CHECK",
            Self::SignatureVerified => c"SIGNATURE_VERIFIED",
            Self::Finished => c"FINISHED",
            Self::Complete => c"COMPLETE",
            Self::Failed => c"FAILED",
        }
    }
}

/// One step of one connection's handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Nanoseconds on a monotonic clock (see [`now_ns`]).
    pub time_ns: u64,
    /// Which step.
    pub step: Step,
    /// A short sentence: what was offered, chosen, derived or decided.
    pub text: String,
}

impl Event {
    /// An event for `step` observed now.
    pub(crate) fn now(step: Step, text: impl Into<String>) -> Self {
        Self {
            time_ns: now_ns(),
            step,
            text: text.into(),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.step.name(), self.text)
    }
}

/// Receives the events of every connection made from a config, with the connection's id.
/// Called on the thread driving that connection, during the embertls call that observed
/// the step.
pub type Tracer = dyn Fn(u64, &Event) + Send + Sync;

/// The tracer of one connection and the id it reports.
#[derive(Clone)]
pub(crate) struct ConnTracer {
    pub(crate) id: u64,
    pub(crate) tracer: Arc<Tracer>,
}

impl ConnTracer {
    pub(crate) fn emit(&self, event: &Event) {
        (self.tracer)(self.id, event);
    }
}

/// A new connection id: unique in the process, counting from 1.
pub(crate) fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Nanoseconds since a point fixed the first time the clock is read in this process: a
/// monotonic clock, good for ordering and durations, not for the time of day.
pub fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
