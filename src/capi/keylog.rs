//! Key logging for C: a callback receiving NSS key-log lines, and the SSLKEYLOGFILE opt-in.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;

use super::boundary::{arg_ref, code, guard_result, Userdata};
use super::config::ember_config;
use super::error::ember_result;
use crate::engine::keylog::KeyLogSink;

/// Key-log callback (see ember_config_set_keylog_callback()): `line` is one line of the NSS
/// key log format, NUL-terminated, without a newline, e.g.
/// "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random, hex> <secret, hex>". Valid only during
/// the call.
pub type ember_keylog_cb = Option<unsafe extern "C" fn(userdata: *mut c_void, line: *const c_char)>;

type KeyLogFn = unsafe extern "C" fn(*mut c_void, *const c_char);

/// ember_config_set_keylog_callback hands every secret the connections made from `cfg`
/// derive to `cb`, as NSS key log lines (what Wireshark reads to decrypt a capture: write
/// each line and a newline to a file). A NULL `cb` stops it. This is for debugging: anyone
/// who reads the lines can read the traffic they belong to.
///
/// The callback runs inside the embertls call that derived the secret, on that thread; it
/// must not call embertls functions on that connection.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
/// when `cfg` is NULL.
///
/// Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid as
/// long as connections made from `cfg` live. Threads: connections on several threads call
/// `cb` concurrently: it and `userdata` must be safe for that.
#[no_mangle]
pub extern "C" fn ember_config_set_keylog_callback(
    cfg: *mut ember_config,
    cb: ember_keylog_cb,
    userdata: *mut c_void,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let sink = cb.map(|cb| sink(cb, Userdata(userdata)));
        cfg.inner.set_keylog(sink).map_err(code)
    })
}

fn sink(call: KeyLogFn, userdata: Userdata) -> Arc<KeyLogSink> {
    Arc::new(move |line: &str| {
        // A key-log line is ASCII (a label and hex): it never holds a NUL.
        let line = CString::new(line).unwrap_or_default();
        // SAFETY: the callback was given for this signature; `line` lives through the call.
        unsafe { call(userdata.ptr(), line.as_ptr()) }
    })
}

/// ember_config_set_sslkeylogfile makes connections made from `cfg` append their secrets
/// to the file named by the environment variable SSLKEYLOGFILE (read when the first
/// connection is made), in the NSS key log format, when `enable` is non-zero and the
/// variable is set; as curl, Firefox and OpenSSL-based tools do. Off by default: a library
/// must not write secrets to disk because of a variable alone. Errors writing the file are
/// ignored.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
/// when `cfg` is NULL.
///
/// Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_sslkeylogfile(
    cfg: *mut ember_config,
    enable: c_int,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        cfg.inner.set_sslkeylogfile(enable != 0).map_err(code)
    })
}
