//! The part of the C ABI the harnesses call, declared as include/embertls.h declares it, and
//! the result codes they judge.
//!
//! The library's `capi` module is private, so the harnesses link to the exported `ember_*`
//! symbols of the rlib, exactly as a C program links to the library. A declaration here
//! must match the header: keep them in step when a signature changes
//! (tests/all/fuzz.rs compares each one's parameters with the header's).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void, CStr};

/// `ember_result`: a C enum, int-sized. Kept as an integer so that a value outside the
/// enum (a bug) can be reported instead of being undefined behaviour.
pub type ember_result = c_int;

pub const OK: ember_result = 0;
pub const WANT_READ: ember_result = 1;
pub const WANT_WRITE: ember_result = 2;
pub const CLOSED: ember_result = 3;
pub const ERR_INVALID_ARG: ember_result = 101;
pub const ERR_BUFFER_TOO_SMALL: ember_result = 102;
pub const ERR_WRONG_STATE: ember_result = 103;
pub const ERR_BAD_PEM: ember_result = 105;
pub const ERR_BAD_KEY: ember_result = 106;
pub const ERR_KEY_MISMATCH: ember_result = 107;
pub const ERR_WRONG_ROLE: ember_result = 110;
pub const ERR_BAD_CERTIFICATE: ember_result = 111;
pub const ERR_BAD_CRL: ember_result = 112;
pub const ERR_CERT_HOSTNAME_MISMATCH: ember_result = 304;

pub const ROLE_CLIENT: c_int = 0;
pub const ROLE_SERVER: c_int = 1;
pub const CLIENT_AUTH_OPTIONAL: c_int = 1;
pub const TLS1_2: u16 = 0x0303;
pub const TLS1_3: u16 = 0x0304;
pub const TICKET_KEY_LEN: usize = 80;
pub const SESSION_VALUE_MAX: usize = 16384;
/// The trace step EMBER_TRACE_COMPLETE and EMBER_TRACE_FAILED.
pub const TRACE_COMPLETE: c_int = 11;
pub const TRACE_FAILED: c_int = 12;

#[repr(C)]
pub struct ember_config {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct ember_conn {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct ember_trust {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct ember_bytes {
    pub data: *const u8,
    pub len: usize,
}

pub type ember_verify_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    server_name: *const c_char,
    chain: *const ember_bytes,
    chain_len: usize,
    builtin_verdict: ember_result,
    reason: *mut c_char,
    reason_len: usize,
) -> c_int;
pub type ember_trace_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    conn_id: u64,
    time_ns: u64,
    step: c_int,
    text: *const c_char,
);
pub type ember_log_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    level: c_int,
    target: *const c_char,
    message: *const c_char,
);
pub type ember_session_put_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> c_int;
pub type ember_session_get_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> c_int;
pub type ember_session_remove_cb =
    unsafe extern "C" fn(userdata: *mut c_void, key: *const u8, key_len: usize) -> c_int;

extern "C" {
    pub fn ember_cert_spki_sha256(der: *const u8, len: usize, out: *mut u8) -> ember_result;
    pub fn ember_cert_check_name(
        der: *const u8,
        len: usize,
        server_name: *const c_char,
    ) -> ember_result;

    pub fn ember_config_new(role: c_int, out: *mut *mut ember_config) -> ember_result;
    pub fn ember_config_free(cfg: *mut ember_config);
    pub fn ember_config_set_versions(cfg: *mut ember_config, min: u16, max: u16) -> ember_result;
    pub fn ember_config_set_trust(
        cfg: *mut ember_config,
        trust: *const ember_trust,
    ) -> ember_result;
    pub fn ember_config_set_client_auth(cfg: *mut ember_config, mode: c_int) -> ember_result;
    pub fn ember_config_set_verify_callback(
        cfg: *mut ember_config,
        cb: Option<ember_verify_cb>,
        userdata: *mut c_void,
    ) -> ember_result;
    pub fn ember_config_set_alpn(
        cfg: *mut ember_config,
        protocols: *const *const c_char,
        count: usize,
    ) -> ember_result;
    pub fn ember_config_set_cipher_suites(
        cfg: *mut ember_config,
        suites: *const u16,
        count: usize,
    ) -> ember_result;
    pub fn ember_config_set_groups(
        cfg: *mut ember_config,
        groups: *const u16,
        count: usize,
    ) -> ember_result;
    pub fn ember_config_add_cert_pem_file(
        cfg: *mut ember_config,
        chain_path: *const c_char,
        key_path: *const c_char,
    ) -> ember_result;
    pub fn ember_config_add_cert_pem(
        cfg: *mut ember_config,
        chain: *const u8,
        chain_len: usize,
        key: *const u8,
        key_len: usize,
    ) -> ember_result;
    pub fn ember_config_last_error(
        cfg: *const ember_config,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_config_set_session_cache_size(cfg: *mut ember_config, size: usize)
        -> ember_result;
    pub fn ember_config_set_tickets(cfg: *mut ember_config, enable: c_int) -> ember_result;
    pub fn ember_config_set_ticket_keys(
        cfg: *mut ember_config,
        keys: *const u8,
        len: usize,
    ) -> ember_result;
    pub fn ember_config_set_ticket_key_file(
        cfg: *mut ember_config,
        path: *const c_char,
    ) -> ember_result;
    pub fn ember_config_set_session_store(
        cfg: *mut ember_config,
        put: Option<ember_session_put_cb>,
        get: Option<ember_session_get_cb>,
        remove: Option<ember_session_remove_cb>,
        userdata: *mut c_void,
    ) -> ember_result;
    pub fn ember_config_set_trace_callback(
        cfg: *mut ember_config,
        cb: Option<ember_trace_cb>,
        userdata: *mut c_void,
    ) -> ember_result;

    pub fn ember_conn_new(
        cfg: *const ember_config,
        server_name: *const c_char,
        out: *mut *mut ember_conn,
    ) -> ember_result;
    pub fn ember_conn_free(conn: *mut ember_conn);
    pub fn ember_conn_feed(
        conn: *mut ember_conn,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_drain(
        conn: *mut ember_conn,
        buf: *mut u8,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_pending_output(conn: *const ember_conn) -> usize;
    pub fn ember_conn_handshake(conn: *mut ember_conn) -> ember_result;
    pub fn ember_conn_read(
        conn: *mut ember_conn,
        buf: *mut u8,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_write(
        conn: *mut ember_conn,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_flush(conn: *mut ember_conn) -> ember_result;
    pub fn ember_conn_close(conn: *mut ember_conn) -> ember_result;
    pub fn ember_conn_last_error(
        conn: *const ember_conn,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_os_error(conn: *const ember_conn) -> c_int;
    pub fn ember_conn_protocol_version(conn: *const ember_conn, out: *mut u16) -> ember_result;
    pub fn ember_conn_cipher_suite(conn: *const ember_conn, out: *mut u16) -> ember_result;
    pub fn ember_conn_kx_group(conn: *const ember_conn, out: *mut u16) -> ember_result;
    pub fn ember_conn_server_name(
        conn: *const ember_conn,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_alpn(
        conn: *const ember_conn,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
    pub fn ember_conn_is_resumed(conn: *const ember_conn, out: *mut c_int) -> ember_result;
    pub fn ember_conn_handshake_ns(conn: *const ember_conn, out: *mut u64) -> ember_result;
    pub fn ember_conn_id(conn: *const ember_conn, out: *mut u64) -> ember_result;
    pub fn ember_conn_key_update(conn: *mut ember_conn) -> ember_result;
    pub fn ember_conn_export_keying_material(
        conn: *mut ember_conn,
        label: *const u8,
        label_len: usize,
        context: *const u8,
        context_len: usize,
        out: *mut u8,
        out_len: usize,
    ) -> ember_result;
    pub fn ember_conn_peer_alert(conn: *const ember_conn, out: *mut u8) -> ember_result;
    pub fn ember_conn_peer_cert_count(conn: *const ember_conn, out_n: *mut usize) -> ember_result;
    pub fn ember_conn_peer_cert(
        conn: *const ember_conn,
        index: usize,
        out_der: *mut *const u8,
        out_len: *mut usize,
    ) -> ember_result;

    pub fn ember_result_name(r: ember_result) -> *const c_char;
    pub fn ember_protocol_version_name(version: u16) -> *const c_char;
    pub fn ember_cipher_suite_name(suite: u16) -> *const c_char;
    pub fn ember_group_name(group: u16) -> *const c_char;
    pub fn ember_alert_name(alert: u8) -> *const c_char;
    pub fn ember_trace_step_name(step: u32) -> *const c_char;
    pub fn ember_log_set_callback(
        cb: Option<ember_log_cb>,
        userdata: *mut c_void,
        max_level: c_int,
    ) -> ember_result;

    pub fn ember_trust_new(out: *mut *mut ember_trust) -> ember_result;
    pub fn ember_trust_free(trust: *mut ember_trust);
    pub fn ember_trust_add_pem(trust: *mut ember_trust, pem: *const u8, len: usize)
        -> ember_result;
    pub fn ember_trust_add_pem_file(trust: *mut ember_trust, path: *const c_char) -> ember_result;
    pub fn ember_trust_add_der(trust: *mut ember_trust, der: *const u8, len: usize)
        -> ember_result;
    pub fn ember_trust_add_pem_dir(
        trust: *mut ember_trust,
        dir: *const c_char,
        out_added: *mut usize,
        out_skipped: *mut usize,
    ) -> ember_result;
    pub fn ember_trust_add_crl(
        trust: *mut ember_trust,
        data: *const u8,
        len: usize,
    ) -> ember_result;
    pub fn ember_trust_add_crl_file(trust: *mut ember_trust, path: *const c_char) -> ember_result;
    pub fn ember_trust_set_revocation(trust: *mut ember_trust, flags: u32) -> ember_result;
    pub fn ember_trust_crl_count(trust: *const ember_trust, out_n: *mut usize) -> ember_result;
    pub fn ember_trust_count(trust: *const ember_trust, out_n: *mut usize) -> ember_result;
    pub fn ember_trust_last_error(
        trust: *const ember_trust,
        buf: *mut c_char,
        len: usize,
        out_n: *mut usize,
    ) -> ember_result;
}

/// The name of a result code, or None for a value that is not one (itself a bug).
pub fn result_name(r: ember_result) -> Option<&'static str> {
    // SAFETY: takes any value; returns a static NUL-terminated string.
    let name = unsafe { CStr::from_ptr(ember_result_name(r)) };
    let name = name.to_str().expect("result names are ASCII");
    (name != "EMBER_UNKNOWN_RESULT").then_some(name)
}

/// `what` returned `r`; panics (which libFuzzer reports as a crash) unless `r` is a code
/// the header defines, outside the internal class (a panic caught at the boundary, a
/// poisoned object, an "internal" failure), and accepted by `allowed`.
pub fn expect(what: &str, r: ember_result, allowed: impl FnOnce(ember_result) -> bool) {
    let name = result_name(r).unwrap_or_else(|| panic!("{what} returned {r}, not an ember_result"));
    assert!(
        r < 500,
        "{what} returned {name}: embertls failed internally"
    );
    assert!(
        allowed(r),
        "{what} returned {name}, which it never should here"
    );
}

/// Codes a memory-mode connection operation may end with when its arguments are right:
/// progress, a refusal in the current state, and every verdict on the peer (truncation,
/// certificate, handshake and protocol failures). Not EMBER_ERR_IO: there is no transport.
pub fn conn_outcome(r: ember_result) -> bool {
    matches!(r, OK | WANT_READ | WANT_WRITE | CLOSED | ERR_WRONG_STATE) || (201..500).contains(&r)
}

/// Whether `r` ends the connection: every error but the refusals of misuse.
pub fn is_fatal(r: ember_result) -> bool {
    r >= 200
}

/// A static string the library returned, which must be NUL-terminated UTF-8.
pub fn static_str(ptr: *const c_char) -> Option<&'static str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the library's name functions return NULL or a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    Some(text.to_str().expect("the library's names are UTF-8"))
}

/// Reads a "last error" style text: `call(buf, len, &out_n)` fills a caller's buffer.
/// Asks with a small buffer first, then with `*out_n + 1` bytes as the header says to, and
/// checks the contract every such function shares (NUL-terminated, `*out_n` the full
/// length, BUFFER_TOO_SMALL exactly when truncated). Returns the text, or None when the call
/// answered another code accepted by `other`.
pub fn copied_text(
    what: &str,
    call: impl Fn(*mut c_char, usize, *mut usize) -> ember_result,
    other: impl Fn(ember_result) -> bool,
) -> Option<String> {
    let mut size = 24;
    loop {
        let mut buf = vec![0x55 as c_char; size];
        let mut n = usize::MAX;
        let r = call(buf.as_mut_ptr(), buf.len(), &mut n);
        expect(what, r, |r| {
            r == OK || r == ERR_BUFFER_TOO_SMALL || other(r)
        });
        if r != OK && r != ERR_BUFFER_TOO_SMALL {
            return None;
        }
        assert_eq!(
            r == ERR_BUFFER_TOO_SMALL,
            n >= size,
            "{what}: BUFFER_TOO_SMALL must mean exactly that the text ({n} bytes) did not fit in {size}"
        );
        let bytes: Vec<u8> = buf.iter().map(|&c| c as u8).collect();
        let end = bytes
            .iter()
            .position(|&b| b == 0)
            .unwrap_or_else(|| panic!("{what} left its text without a NUL"));
        if r == ERR_BUFFER_TOO_SMALL {
            assert_eq!(end, size - 1, "{what}: a truncated text fills the buffer");
            size = n + 1;
            continue;
        }
        assert_eq!(
            end,
            n,
            "{what}: the text has a NUL inside ({:?})",
            String::from_utf8_lossy(&bytes[..n])
        );
        let text = std::str::from_utf8(&bytes[..end])
            .unwrap_or_else(|_| panic!("{what}: the text is not UTF-8: {:?}", &bytes[..end]));
        return Some(text.to_owned());
    }
}
