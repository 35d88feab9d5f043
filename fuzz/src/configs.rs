//! The configs the connection targets use, built once per process (configs are frozen by
//! their first connection and then shared), and the callbacks they carry. What the
//! callbacks see is kept per thread and cleared for each input, so that one input never
//! depends on an earlier one.
//!
//! Client flavors (the `CLIENT_FLAVORS` lists below):
//! 0. TLS 1.2 and 1.3, the fixed root and its CRLs (revocation checked), ALPN, a client
//!    certificate for servers that ask;
//! 1. TLS 1.2 only, a verification callback that runs the ember_cert_* functions on every
//!    certificate received and upholds the built-in verdict;
//! 2. TLS 1.3 only, a verification callback that accepts any chain (as a pinning
//!    application's would: the handshake signature is still checked), a client certificate;
//! 3. ChaCha20 suites and X25519 only.
//!
//! Server flavors:
//! 0. two certificates chosen by SNI (P-256 for localhost, Ed25519 for other.example), ALPN,
//!    optional client authentication against the fixed root and its CRLs, session tickets
//!    sealed with fixed keys;
//! 1. the same certificates the other way round, tickets off and sessions in an
//!    application store (the callbacks below), P-384 only (so that a client's X25519 key
//!    share meets a HelloRetryRequest).
//!
//! Every flavor exists traced (with the trace callback) and untraced.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use crate::ffi::{self, ember_bytes, ember_result, OK};
use crate::handles::{Config, Trust};
use crate::pki;

pub const CLIENT_FLAVORS: usize = 4;
pub const SERVER_FLAVORS: usize = 2;

/// The protocols ALPN offers and accepts, where a flavor uses it.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The names a client connects to: each server certificate's, and an IP address (which a
/// client sends no SNI for).
pub const SERVER_NAMES: [&CStr; 3] = [c"localhost", c"other.example", c"127.0.0.1"];

const GROUP_X25519: u16 = 0x001d;
const GROUP_SECP384R1: u16 = 0x0018;
const CHACHA_SUITES: [u16; 3] = [0x1303, 0xcca8, 0xcca9];

/// The shared config of a client flavor (a session cache of its own would carry sessions
/// from one input to the next, so these resume nothing).
pub fn client(flavor: usize, traced: bool) -> &'static Config {
    static CONFIGS: [OnceLock<Config>; 2 * CLIENT_FLAVORS] = [const { OnceLock::new() }; 8];
    CONFIGS[2 * flavor + usize::from(traced)].get_or_init(|| build_client(flavor, traced, 0))
}

/// A fresh config of a client flavor with a session cache, for one input that resumes.
pub fn resumable_client(flavor: usize, traced: bool) -> Config {
    build_client(flavor, traced, 4)
}

/// The shared config of a server flavor.
pub fn server(flavor: usize, traced: bool) -> &'static Config {
    static CONFIGS: [OnceLock<Config>; 2 * SERVER_FLAVORS] = [const { OnceLock::new() }; 4];
    CONFIGS[2 * flavor + usize::from(traced)].get_or_init(|| build_server(flavor, traced))
}

fn build_client(flavor: usize, traced: bool, cache_size: usize) -> Config {
    let cfg = Config::new(ffi::ROLE_CLIENT);
    let trust = Trust::fixed(flavor == 0);
    cfg.must("ember_config_set_trust", cfg.set_trust(&trust));
    let r = cfg.set_session_cache_size(cache_size);
    cfg.must("ember_config_set_session_cache_size", r);
    let client_cert = |cfg: &Config| {
        cfg.must(
            "ember_config_add_cert_pem",
            cfg.add_cert(pki::CLIENT_PEM, pki::CLIENT_KEY),
        )
    };
    match flavor {
        0 => {
            cfg.must("ember_config_set_alpn", cfg.set_alpn(&ALPN));
            client_cert(&cfg);
        }
        1 => {
            let r = cfg.set_versions(ffi::TLS1_2, ffi::TLS1_2);
            cfg.must("ember_config_set_versions", r);
            let r = cfg.set_verify_callback(answer_verify::<false>);
            cfg.must("ember_config_set_verify_callback", r);
        }
        2 => {
            let r = cfg.set_versions(ffi::TLS1_3, ffi::TLS1_3);
            cfg.must("ember_config_set_versions", r);
            let r = cfg.set_verify_callback(answer_verify::<true>);
            cfg.must("ember_config_set_verify_callback", r);
            client_cert(&cfg);
        }
        _ => {
            let r = cfg.set_cipher_suites(&CHACHA_SUITES);
            cfg.must("ember_config_set_cipher_suites", r);
            cfg.must("ember_config_set_groups", cfg.set_groups(&[GROUP_X25519]));
        }
    }
    trace(&cfg, traced);
    cfg
}

fn build_server(flavor: usize, traced: bool) -> Config {
    let cfg = Config::new(ffi::ROLE_SERVER);
    let certs = [
        (pki::SERVER_PEM, pki::SERVER_KEY),
        (pki::OTHER_PEM, pki::OTHER_KEY),
    ];
    let order: [usize; 2] = if flavor == 0 { [0, 1] } else { [1, 0] };
    for (chain, key) in order.map(|i| certs[i]) {
        cfg.must("ember_config_add_cert_pem", cfg.add_cert(chain, key));
    }
    if flavor == 0 {
        cfg.must("ember_config_set_alpn", cfg.set_alpn(&ALPN));
        cfg.must("ember_config_set_trust", cfg.set_trust(&Trust::fixed(true)));
        let r = cfg.set_client_auth(ffi::CLIENT_AUTH_OPTIONAL);
        cfg.must("ember_config_set_client_auth", r);
        let r = cfg.set_ticket_keys(&pki::TICKET_KEYS);
        cfg.must("ember_config_set_ticket_keys", r);
        // Sessions by id would outlive the input that made them.
        let r = cfg.set_session_cache_size(0);
        cfg.must("ember_config_set_session_cache_size", r);
    } else {
        cfg.must("ember_config_set_tickets", cfg.set_tickets(false));
        let r = cfg.set_session_store(store_put, store_get, store_remove);
        cfg.must("ember_config_set_session_store", r);
        cfg.must(
            "ember_config_set_groups",
            cfg.set_groups(&[GROUP_SECP384R1]),
        );
    }
    trace(&cfg, traced);
    cfg
}

fn trace(cfg: &Config, traced: bool) {
    if traced {
        let r = cfg.set_trace_callback(on_trace);
        cfg.must("ember_config_set_trace_callback", r);
    }
}

/// One trace event as the callback received it.
pub struct TraceEvent {
    pub conn_id: u64,
    pub step: c_int,
    pub text: String,
}

thread_local! {
    static TRACE: RefCell<Vec<TraceEvent>> = const { RefCell::new(Vec::new()) };
    static STORE: RefCell<HashMap<Vec<u8>, Vec<u8>>> = RefCell::new(HashMap::new());
}

/// Forgets what the callbacks saw: the start of each input.
pub fn reset() {
    TRACE.with_borrow_mut(Vec::clear);
    STORE.with_borrow_mut(HashMap::clear);
}

/// Whether connection `conn_id` reported `step`, and with which texts.
pub fn traced(conn_id: u64, step: c_int) -> Vec<String> {
    TRACE.with_borrow(|events| {
        events
            .iter()
            .filter(|e| e.conn_id == conn_id && e.step == step)
            .map(|e| e.text.clone())
            .collect()
    })
}

/// A C string the library passed to a callback, which must be UTF-8.
///
/// # Safety
/// `ptr` is a NUL-terminated string valid during the call.
unsafe fn callback_str<'a>(what: &str, ptr: *const c_char) -> &'a str {
    assert!(!ptr.is_null(), "{what} is NULL");
    // SAFETY: per this function's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .unwrap_or_else(|_| panic!("{what} is not UTF-8: {text:?}"))
}

/// The trace callback: every step must be a step the header defines, with a UTF-8 text.
unsafe extern "C" fn on_trace(
    _userdata: *mut c_void,
    conn_id: u64,
    _time_ns: u64,
    step: c_int,
    text: *const c_char,
) {
    // SAFETY: the step name is NULL or static.
    let name = ffi::static_str(unsafe { ffi::ember_trace_step_name(step as u32) });
    assert!(
        name.is_some(),
        "the trace reported step {step}, not an ember_trace_step"
    );
    // SAFETY: the library passes a NUL-terminated text valid during the call.
    let text = unsafe { callback_str("a trace text", text) }.to_owned();
    TRACE.with_borrow_mut(|events| {
        events.push(TraceEvent {
            conn_id,
            step,
            text,
        })
    });
}

/// The byte slice behind a (pointer, length) pair the library passed to a callback.
///
/// # Safety
/// When `len > 0`, `ptr` points to `len` bytes valid during the call.
unsafe fn callback_bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    assert!(!ptr.is_null(), "a callback got NULL with a length of {len}");
    // SAFETY: per this function's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// The header's promise to a session store: "Keys are up to 32 bytes and values a few
/// hundred bytes, at most EMBER_SESSION_VALUE_MAX".
fn store_key<'a>(key: *const u8, key_len: usize) -> &'a [u8] {
    assert!(
        (1..=32).contains(&key_len),
        "the session store was given a key of {key_len} bytes (the header promises at most 32)"
    );
    // SAFETY: the library passes `key_len` bytes valid during the call.
    unsafe { callback_bytes(key, key_len) }
}

unsafe extern "C" fn store_put(
    _userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> c_int {
    let key = store_key(key, key_len);
    assert!(
        value_len <= ffi::SESSION_VALUE_MAX,
        "the session store was given a value of {value_len} bytes"
    );
    // SAFETY: the library passes `value_len` bytes valid during the call.
    let value = unsafe { callback_bytes(value, value_len) };
    STORE.with_borrow_mut(|store| store.insert(key.to_vec(), value.to_vec()));
    0
}

unsafe extern "C" fn store_get(
    _userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> c_int {
    let key = store_key(key, key_len);
    STORE.with_borrow(|store| match store.get(key) {
        Some(value) if value.len() <= buf_len => {
            // SAFETY: the library passes a buffer of `buf_len` bytes and a valid
            // out-pointer, both valid during the call.
            unsafe {
                std::ptr::copy_nonoverlapping(value.as_ptr(), buf, value.len());
                *out_len = value.len();
            }
            0
        }
        _ => 1,
    })
}

unsafe extern "C" fn store_remove(_userdata: *mut c_void, key: *const u8, key_len: usize) -> c_int {
    let key = store_key(key, key_len);
    STORE.with_borrow_mut(|store| c_int::from(store.remove(key).is_none()))
}

/// The verification callbacks' shared checks: the arguments the header describes, and the
/// ember_cert_* functions on every certificate of the chain (which the peer chose).
///
/// # Safety
/// The arguments are those the library passed to an ember_verify_cb.
unsafe fn check_chain(
    server_name: *const c_char,
    chain: *const ember_bytes,
    chain_len: usize,
    verdict: ember_result,
    reason: *mut c_char,
    reason_len: usize,
) {
    // SAFETY: the library passes a NUL-terminated name valid during the call.
    let name = unsafe { callback_str("the server name", server_name) };
    assert!(
        SERVER_NAMES.iter().any(|n| n.to_str() == Ok(name)),
        "the verification callback got the server name {name:?}"
    );
    assert!(
        chain_len > 0,
        "the verification callback got an empty chain"
    );
    assert!(
        verdict == OK || (300..400).contains(&verdict),
        "the built-in verdict is {verdict}, not OK or a certificate verdict"
    );
    assert!(reason_len > 0, "the reason buffer has no room");
    // SAFETY: the reason buffer has `reason_len` > 0 writable bytes during the call.
    let first = unsafe { *reason };
    assert_eq!(first, 0, "the reason buffer does not start out empty");
    // SAFETY: the library passes `chain_len` entries valid during the call.
    let chain = unsafe { std::slice::from_raw_parts(chain, chain_len) };
    for cert in chain {
        // SAFETY: each entry holds `len` bytes valid during the call.
        let der = unsafe { callback_bytes(cert.data, cert.len) };
        crate::loaders::cert_functions(der, c"localhost");
        crate::loaders::cert_functions(der, server_name_of(name));
    }
}

fn server_name_of(name: &str) -> &'static CStr {
    SERVER_NAMES
        .iter()
        .find(|n| n.to_str() == Ok(name))
        .expect("checked by check_chain")
}

/// Client flavors 1 and 2's verification callback: checks what embertls shows it, then
/// upholds embertls' verdict (flavor 1, `ACCEPT_ANY = false`) or accepts every chain
/// (flavor 2).
unsafe extern "C" fn answer_verify<const ACCEPT_ANY: bool>(
    _userdata: *mut c_void,
    server_name: *const c_char,
    chain: *const ember_bytes,
    chain_len: usize,
    verdict: ember_result,
    reason: *mut c_char,
    reason_len: usize,
) -> c_int {
    // SAFETY: forwarded from the library's call.
    unsafe { check_chain(server_name, chain, chain_len, verdict, reason, reason_len) };
    if ACCEPT_ANY {
        0
    } else {
        verdict
    }
}

/// The log callback, installed once per process at WARN: records must be UTF-8.
pub unsafe extern "C" fn on_log(
    _userdata: *mut c_void,
    level: c_int,
    target: *const c_char,
    message: *const c_char,
) {
    assert!((1..=5).contains(&level), "a log record has level {level}");
    // SAFETY: the library passes NUL-terminated strings valid during the call.
    unsafe {
        callback_str("a log target", target);
        callback_str("a log message", message);
    }
}
