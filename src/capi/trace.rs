//! The handshake trace as C sees it: `ember_trace_step` and the trace callback.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::boundary::{arg_ref, code, guard, guard_result, Userdata};
use super::config::ember_config;
use super::error::ember_result;
use crate::engine::trace::{Event, Step, Tracer};

/// A step of the handshake, as reported to the trace callback. Values are fixed; new steps
/// are only appended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_trace_step {
    /// The client sent its ClientHello: the text lists the versions, suites and groups
    /// offered, the key shares, the server name, ALPN, and whether it offers resumption.
    EMBER_TRACE_CLIENT_HELLO_SENT = 1,
    /// The server received a ClientHello (the same text, as the server read it).
    EMBER_TRACE_CLIENT_HELLO_RECEIVED = 2,
    /// The server sent its ServerHello: the version and suite chosen (or a HelloRetryRequest).
    /// It is seen as its bytes leave the engine, with the rest of the server's first flight:
    /// after the secrets the server derived while building that flight (KEYS_DERIVED).
    EMBER_TRACE_SERVER_HELLO_SENT = 3,
    /// The client received the ServerHello.
    EMBER_TRACE_SERVER_HELLO_RECEIVED = 4,
    /// The key exchange group was settled (TLS 1.3 key share, TLS 1.2 ServerKeyExchange).
    /// Seen as the message is read, so a TLS 1.2 client reports it when the server's flight
    /// arrives, before it verifies the certificate that came in the same flight.
    EMBER_TRACE_KEY_EXCHANGE = 5,
    /// A secret was derived; the text names it (its NSS key-log label), never its value.
    EMBER_TRACE_KEYS_DERIVED = 6,
    /// The peer's certificate chain arrived: how many certificates, their subjects.
    EMBER_TRACE_CERTIFICATE_RECEIVED = 7,
    /// One verification check and its verdict: chain, signatures and dates; host name;
    /// revocation; the verification callback's decision; or the check that failed.
    EMBER_TRACE_CERTIFICATE_CHECK = 8,
    /// The peer proved it holds its certificate's key (the handshake signature verified).
    EMBER_TRACE_SIGNATURE_VERIFIED = 9,
    /// The peer's Finished was verified and ours sent.
    EMBER_TRACE_FINISHED = 10,
    /// The handshake completed: "full handshake" or "resumed session", with its duration.
    EMBER_TRACE_COMPLETE = 11,
    /// The handshake failed: the text is the detail ember_conn_last_error() gives.
    EMBER_TRACE_FAILED = 12,
}

impl From<Step> for ember_trace_step {
    fn from(step: Step) -> Self {
        use ember_trace_step::*;
        match step {
            Step::ClientHelloSent => EMBER_TRACE_CLIENT_HELLO_SENT,
            Step::ClientHelloReceived => EMBER_TRACE_CLIENT_HELLO_RECEIVED,
            Step::ServerHelloSent => EMBER_TRACE_SERVER_HELLO_SENT,
            Step::ServerHelloReceived => EMBER_TRACE_SERVER_HELLO_RECEIVED,
            Step::KeyExchange => EMBER_TRACE_KEY_EXCHANGE,
            Step::KeysDerived => EMBER_TRACE_KEYS_DERIVED,
            Step::CertificateReceived => EMBER_TRACE_CERTIFICATE_RECEIVED,
            Step::CertificateCheck => EMBER_TRACE_CERTIFICATE_CHECK,
            Step::SignatureVerified => EMBER_TRACE_SIGNATURE_VERIFIED,
            Step::Finished => EMBER_TRACE_FINISHED,
            Step::Complete => EMBER_TRACE_COMPLETE,
            Step::Failed => EMBER_TRACE_FAILED,
        }
    }
}

/// Every step, for ember_trace_step_name().
const STEPS: [Step; 12] = [
    Step::ClientHelloSent,
    Step::ClientHelloReceived,
    Step::ServerHelloSent,
    Step::ServerHelloReceived,
    Step::KeyExchange,
    Step::KeysDerived,
    Step::CertificateReceived,
    Step::CertificateCheck,
    Step::SignatureVerified,
    Step::Finished,
    Step::Complete,
    Step::Failed,
];

/// Trace callback (see ember_config_set_trace_callback()): one step of the handshake of
/// connection `conn_id` (ember_conn_id()), observed at `time_ns` (nanoseconds on a monotonic
/// clock whose zero is fixed for the process: for ordering and durations, not the time of
/// day). `text` is a short NUL-terminated sentence, valid only during the call.
pub type ember_trace_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        conn_id: u64,
        time_ns: u64,
        step: ember_trace_step,
        text: *const c_char,
    ),
>;

type TraceFn = unsafe extern "C" fn(*mut c_void, u64, u64, ember_trace_step, *const c_char);

/// ember_config_set_trace_callback makes every connection made from `cfg` report its
/// handshake to `cb`, step by step as the steps happen (not reconstructed afterwards): the
/// hellos as their bytes leave the engine or arrive, each secret as it is derived, the
/// certificate checks as the verifier makes them, Finished and completion (or the failure)
/// as rustls reports them. A NULL `cb` stops tracing for connections made later.
///
/// The callback runs inside the embertls call that observed the step (ember_conn_new() for
/// a client's ClientHello, then ember_conn_handshake()/read()/write()/feed()) on the thread
/// making that call. It must not call embertls functions on that connection.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
/// when `cfg` is NULL.
///
/// Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid as
/// long as connections made from `cfg` live. Threads: connections on several threads call
/// `cb` concurrently: it and `userdata` must be safe for that.
#[no_mangle]
pub extern "C" fn ember_config_set_trace_callback(
    cfg: *mut ember_config,
    cb: ember_trace_cb,
    userdata: *mut c_void,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let tracer = cb.map(|cb| tracer(cb, Userdata(userdata)));
        cfg.inner.set_tracer(tracer).map_err(code)
    })
}

fn tracer(call: TraceFn, userdata: Userdata) -> Arc<Tracer> {
    Arc::new(move |conn_id: u64, event: &Event| {
        // Texts come from names and certificates; a NUL inside one is cut out.
        let text = CString::new(event.text.replace('\0', "")).unwrap_or_default();
        // SAFETY: the callback was given for this signature; `text` lives through the call.
        unsafe {
            call(
                userdata.ptr(),
                conn_id,
                event.time_ns,
                event.step.into(),
                text.as_ptr(),
            )
        }
    })
}

/// ember_trace_step_name returns the name of `step` as this header spells it without the
/// prefix, e.g. "CLIENT_HELLO_SENT", or NULL for a value that is not a step.
///
/// The string is static: never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_trace_step_name(step: u32) -> *const c_char {
    guard(|| {
        STEPS
            .iter()
            .find(|s| **s as u32 == step)
            .map_or(std::ptr::null(), |s| s.c_name().as_ptr())
    })
}
