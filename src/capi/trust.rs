//! `ember_trust`: a store of trusted root certificates.

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, code, copy_text, free_handle, guard, guard_result,
    into_handle,
};
use super::error::ember_result;
use crate::engine::Trust;

/// A set of trusted root certificates (opaque). Made by ember_trust_new(), freed by
/// ember_trust_free().
pub struct ember_trust {
    pub(crate) inner: Arc<Trust>,
}

/// ember_trust_new makes an empty trust store and writes it to `*out`. An empty store
/// trusts nothing; add roots with ember_trust_add_pem() or ember_trust_add_pem_file(), then
/// give it to a config with ember_config_set_trust().
///
/// Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `out` is NULL.
///
/// Ownership: the caller owns `*out` and frees it with ember_trust_free(). Threads: a store
/// may change until a connection is made from a config that uses it; from then on it is
/// frozen and may be shared by any number of threads.
#[no_mangle]
pub extern "C" fn ember_trust_new(out: *mut *mut ember_trust) -> ember_result {
    guard_result(|| {
        // SAFETY: `out` is NULL or a writable pointer, per the header.
        let out = unsafe { arg_mut(out)? };
        *out = into_handle(ember_trust {
            inner: Arc::new(Trust::new()),
        });
        Ok(())
    })
}

/// ember_trust_free releases the caller's reference to `trust`. Configs that were given the
/// store keep their own reference, so it may be freed right after ember_config_set_trust().
/// Passing NULL is a harmless no-op.
#[no_mangle]
pub extern "C" fn ember_trust_free(trust: *mut ember_trust) {
    // SAFETY: `trust` is NULL or came from ember_trust_new, per the header.
    guard(|| unsafe { free_handle(trust) })
}

/// ember_trust_add_pem adds every CERTIFICATE block in the `len` bytes at `pem` as a
/// trusted root. The input is copied; the caller keeps ownership of `pem`.
///
/// All or nothing: returns EMBER_OK when every certificate was added; EMBER_ERR_BAD_PEM
/// when the input is empty, is not PEM, has no CERTIFICATE block, or holds a certificate
/// that cannot be parsed (nothing is added then); EMBER_ERR_CONFIG_FROZEN once a connection
/// uses the store; EMBER_ERR_NULL_ARG when `trust` is NULL, or `pem` is NULL with `len` > 0.
/// ember_trust_last_error() explains a failure.
#[no_mangle]
pub extern "C" fn ember_trust_add_pem(
    trust: *mut ember_trust,
    pem: *const u8,
    len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `pem` holds `len` bytes, per the header.
        let (trust, pem) = unsafe { (arg_ref(trust)?, arg_bytes(pem, len)?) };
        trust
            .inner
            .add_pem(pem, "the PEM input")
            .map(drop)
            .map_err(code)
    })
}

/// ember_trust_add_pem_file adds every CERTIFICATE block in the PEM file at `path` (a
/// NUL-terminated UTF-8 path) as a trusted root, all or nothing.
///
/// Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read (the detail names the path
/// and the OS error); otherwise as ember_trust_add_pem().
#[no_mangle]
pub extern "C" fn ember_trust_add_pem_file(
    trust: *mut ember_trust,
    path: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `path` NULL or a C string, per the header.
        let (trust, path) = unsafe { (arg_ref(trust)?, arg_str(path)?) };
        trust.inner.add_pem_file(path).map(drop).map_err(code)
    })
}

/// ember_trust_last_error copies the detail of the store's last failed call into `buf` (at
/// most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`. With no
/// failure so far the detail is "" .
///
/// Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the
/// buffer `*out_n + 1`); EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL, or `buf` is
/// NULL with `len` > 0.
#[no_mangle]
pub extern "C" fn ember_trust_last_error(
    trust: *const ember_trust,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, per the header.
        let trust = unsafe { arg_ref(trust)? };
        let last = trust.inner.last_error().map_err(code)?;
        let detail = last.as_ref().map_or("", |e| e.detail());
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(detail, buf, len, out_n) }
    })
}
