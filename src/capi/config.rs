//! `ember_config`: what connections are made from.

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, code, copy_text, free_handle, guard, guard_result,
    into_handle,
};
use super::error::ember_result;
use super::trust::ember_trust;
use crate::engine::{Config, Role};

/// Which end of a connection a config makes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_role {
    /// Connects, sends the server name, verifies the server's certificate.
    EMBER_ROLE_CLIENT = 0,
    /// Accepts, presents a certificate.
    EMBER_ROLE_SERVER = 1,
}

/// A role as the C caller passed it, checked before use. The header calls it ember_role.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct ember_role_arg(pub std::ffi::c_int);

/// A connection configuration (opaque). Made by ember_config_new(), freed by
/// ember_config_free().
pub struct ember_config {
    pub(crate) inner: Arc<Config>,
}

/// ember_config_new makes a config for `role` and writes it to `*out`. Defaults: TLS 1.2
/// and 1.3; a client trusts the built-in Mozilla roots; a server needs a certificate
/// (ember_config_add_cert_pem_file()) before connections can be made.
///
/// Returns EMBER_OK; EMBER_ERR_NULL_ARG when `out` is NULL; EMBER_ERR_INVALID_ARG when
/// `role` is neither EMBER_ROLE_CLIENT nor EMBER_ROLE_SERVER.
///
/// Ownership: the caller owns `*out` and frees it with ember_config_free(). Threads: a config
/// may be changed by one thread at a time until the first ember_conn_new() with it; from
/// then on it is frozen (setters return EMBER_ERR_CONFIG_FROZEN) and any number of threads
/// may make connections from it at once.
#[no_mangle]
pub extern "C" fn ember_config_new(
    role: ember_role_arg,
    out: *mut *mut ember_config,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `out` is NULL or writable, per the header.
        let out = unsafe { arg_mut(out)? };
        let role = match role.0 {
            r if r == ember_role::EMBER_ROLE_CLIENT as i32 => Role::Client,
            r if r == ember_role::EMBER_ROLE_SERVER as i32 => Role::Server,
            _ => return Err(ember_result::EMBER_ERR_INVALID_ARG),
        };
        *out = into_handle(ember_config {
            inner: Arc::new(Config::new(role)),
        });
        Ok(())
    })
}

/// ember_config_free releases the caller's reference to `cfg`. Connections made from it
/// keep what they need, so it may be freed right after the last ember_conn_new(). Passing
/// NULL is a harmless no-op.
#[no_mangle]
pub extern "C" fn ember_config_free(cfg: *mut ember_config) {
    // SAFETY: `cfg` is NULL or came from ember_config_new, per the header.
    guard(|| unsafe { free_handle(cfg) })
}

/// ember_config_set_versions limits connections to protocol versions `min` through `max`,
/// each EMBER_TLS1_2 or EMBER_TLS1_3. A peer with no version in the range fails the
/// handshake with EMBER_ERR_NO_SHARED_VERSION.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG for another version value or `min` > `max`;
/// EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG for a NULL `cfg`.
#[no_mangle]
pub extern "C" fn ember_config_set_versions(
    cfg: *mut ember_config,
    min: u16,
    max: u16,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        cfg.inner.set_versions(min, max).map_err(code)
    })
}

/// ember_config_set_trust makes connections verify their peer against the roots in `trust`.
/// On a client they replace the built-in Mozilla roots. On a server they switch on client
/// authentication: every client must present a certificate that chains to them, or the
/// handshake fails with EMBER_ERR_CERT_REQUIRED or another 300s code.
///
/// The config keeps its own reference to `trust` (the caller may free its handle at once);
/// the store is frozen when the first connection is made from this config.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
/// when `cfg` or `trust` is NULL.
#[no_mangle]
pub extern "C" fn ember_config_set_trust(
    cfg: *mut ember_config,
    trust: *const ember_trust,
) -> ember_result {
    guard_result(|| {
        // SAFETY: both are NULL or live handles, per the header.
        let (cfg, trust) = unsafe { (arg_ref(cfg)?, arg_ref(trust)?) };
        cfg.inner.set_trust(trust.inner.clone()).map_err(code)
    })
}

/// ember_config_add_cert_pem_file loads a certificate chain (PEM, leaf first, then
/// intermediates) and its private key (PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"
/// or SEC1 "EC PRIVATE KEY"; RSA, ECDSA P-256/P-384 or Ed25519) from two files, and checks
/// that the key belongs to the leaf. A server presents the first chain added; a client
/// presents it when a server asks for a client certificate.
///
/// Returns EMBER_OK; EMBER_ERR_FILE when a file cannot be read; EMBER_ERR_BAD_PEM when the
/// chain is empty, not PEM, or has no certificate; EMBER_ERR_BAD_KEY when the key file has
/// no private key or an unsupported one; EMBER_ERR_KEY_MISMATCH when the key is not the
/// leaf's; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG for a NULL
/// argument. Every failure is reported here, never later, and ember_config_last_error()
/// names the file and the problem.
#[no_mangle]
pub extern "C" fn ember_config_add_cert_pem_file(
    cfg: *mut ember_config,
    chain_path: *const c_char,
    key_path: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, the paths NULL or C strings, per the header.
        let (cfg, chain_path, key_path) =
            unsafe { (arg_ref(cfg)?, arg_str(chain_path)?, arg_str(key_path)?) };
        cfg.inner
            .add_cert_pem_file(chain_path, key_path)
            .map_err(code)
    })
}

/// ember_config_add_cert_pem is ember_config_add_cert_pem_file() for PEM held in memory:
/// `chain_len` bytes at `chain` and `key_len` bytes at `key`. Both are copied; the caller
/// keeps ownership of its buffers.
///
/// Returns as ember_config_add_cert_pem_file() does, except EMBER_ERR_FILE.
#[no_mangle]
pub extern "C" fn ember_config_add_cert_pem(
    cfg: *mut ember_config,
    chain: *const u8,
    chain_len: usize,
    key: *const u8,
    key_len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle; the buffers hold the given lengths, per the header.
        let (cfg, chain, key) = unsafe {
            (
                arg_ref(cfg)?,
                arg_bytes(chain, chain_len)?,
                arg_bytes(key, key_len)?,
            )
        };
        cfg.inner.add_cert_pem(chain, key).map_err(code)
    })
}

/// ember_config_last_error copies the detail of the config's last failure into `buf` (at
/// most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`. Failures
/// of ember_conn_new() with this config are recorded here too (e.g. a server config without
/// a certificate). With no failure so far the detail is "".
///
/// Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the buffer
/// `*out_n + 1`); EMBER_ERR_NULL_ARG when `cfg` or `out_n` is NULL, or `buf` is NULL with
/// `len` > 0.
#[no_mangle]
pub extern "C" fn ember_config_last_error(
    cfg: *const ember_config,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let last = cfg.inner.last_error().map_err(code)?;
        let detail = last.as_ref().map_or("", |e| e.detail());
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(detail, buf, len, out_n) }
    })
}
