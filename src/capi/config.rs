//! `ember_config`: what connections are made from.

use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;

use super::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_slice, arg_str, code, copy_text, free_handle, guard,
    guard_result, into_handle,
};
use super::error::ember_result;
use super::trust::ember_trust;
use super::verify::{self, ember_verify_cb};
use crate::engine::{ClientAuth, Config, Role};

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

/// Whether a server asks clients for a certificate (mutual TLS); see
/// ember_config_set_client_auth().
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_client_auth {
    /// Clients are not asked for a certificate.
    EMBER_CLIENT_AUTH_NONE = 0,
    /// Clients are asked for a certificate; one without is let in, one whose certificate
    /// does not verify is refused.
    EMBER_CLIENT_AUTH_OPTIONAL = 1,
    /// Every client must present a certificate that verifies against the trust store.
    EMBER_CLIENT_AUTH_REQUIRED = 2,
}

/// A client auth mode as the C caller passed it, checked before use. The header calls it
/// ember_client_auth.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct ember_client_auth_arg(pub std::ffi::c_int);

/// A connection configuration (opaque). Made by ember_config_new(), freed by
/// ember_config_free().
pub struct ember_config {
    pub(crate) inner: Arc<Config>,
}

/// ember_config_new makes a config for `role` and writes it to `*out`. Defaults: TLS 1.2
/// and 1.3; a client trusts the built-in Mozilla roots; a server needs a certificate
/// (ember_config_add_cert_pem_file()) before connections can be made.
///
/// A server config draws its session-ticket keys here, so worker processes forked after
/// this call resume each other's sessions (see ember_config_set_ticket_keys()).
///
/// Returns EMBER_OK; EMBER_ERR_NULL_ARG when `out` is NULL; EMBER_ERR_INVALID_ARG when
/// `role` is neither EMBER_ROLE_CLIENT nor EMBER_ROLE_SERVER; EMBER_ERR_INTERNAL if the
/// system's random number generator fails.
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
        let config = Config::new(role).map_err(code)?;
        *out = into_handle(ember_config {
            inner: Arc::new(config),
        });
        Ok(())
    })
}

/// ember_config_free releases the caller's reference to `cfg`. Connections made from it
/// keep what they need, so it may be freed right after the last ember_conn_new(). Passing
/// NULL is a harmless no-op.
///
/// Threads: call it once no other thread is using this handle.
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
///
/// Threads: one thread at a time until the config is frozen, any number after.
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
/// authentication, required unless ember_config_set_client_auth() chose otherwise: every
/// client must present a certificate that chains to them, or the handshake fails with
/// EMBER_ERR_CERT_REQUIRED or another 300s code.
///
/// The config keeps its own reference to `trust` (the caller may free its handle at once);
/// the store is frozen when the first connection is made from this config.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
/// when `cfg` or `trust` is NULL.
///
/// Threads: one thread at a time until the config is frozen, any number after.
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

/// ember_config_set_client_auth sets whether a server asks its clients for a certificate
/// (mutual TLS). EMBER_CLIENT_AUTH_REQUIRED: a client without a certificate fails the
/// handshake on the server with EMBER_ERR_CERT_REQUIRED (the client receives the alert
/// certificate_required, 116), one whose chain does not lead to the trust store's roots with
/// a 300s code such as EMBER_ERR_CERT_UNKNOWN_ISSUER (the client receives the matching alert,
/// e.g. unknown_ca, 48). EMBER_CLIENT_AUTH_OPTIONAL: as REQUIRED, except that a client
/// without a certificate is let in (ember_conn_peer_cert_count() then answers
/// EMBER_ERR_WRONG_STATE). EMBER_CLIENT_AUTH_NONE: no certificate is asked for, even with a
/// trust store. Without a call, a server with a trust store (ember_config_set_trust())
/// requires client certificates and one without asks for none.
///
/// OPTIONAL and REQUIRED verify with the config's trust store, which may be set before or
/// after this call: without one, ember_conn_new() fails with EMBER_ERR_INVALID_ARG and
/// ember_config_last_error() says that a trust store is missing. A client presents the
/// first chain added with ember_config_add_cert_pem() or ember_config_add_cert_pem_file()
/// when a server asks for a certificate, and sends none when it has none.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_INVALID_ARG when
/// `mode` is not an ember_client_auth value; EMBER_ERR_CONFIG_FROZEN once connections were
/// made; EMBER_ERR_NULL_ARG for a NULL `cfg`. ember_config_last_error() explains a failure.
///
/// Threads: as every setter, one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_client_auth(
    cfg: *mut ember_config,
    mode: ember_client_auth_arg,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let mode = match mode.0 {
            m if m == ember_client_auth::EMBER_CLIENT_AUTH_NONE as i32 => ClientAuth::None,
            m if m == ember_client_auth::EMBER_CLIENT_AUTH_OPTIONAL as i32 => ClientAuth::Optional,
            m if m == ember_client_auth::EMBER_CLIENT_AUTH_REQUIRED as i32 => ClientAuth::Required,
            _ => return Err(ember_result::EMBER_ERR_INVALID_ARG),
        };
        cfg.inner.set_client_auth(mode).map_err(code)
    })
}

/// ember_config_set_verify_callback lets `cb` decide on every server chain a client made from
/// `cfg` receives. embertls first verifies the chain itself (against the config's trust
/// store, or the built-in Mozilla roots) and passes its verdict to `cb` with the chain and
/// the server name; `cb`'s answer replaces that verdict: 0 accepts the chain, even one
/// embertls rejected (e.g. a pinned self-signed certificate, which also works with an empty
/// trust store), and non-zero rejects it, even one embertls accepted. Returning the verdict
/// it was given upholds it: the handshake fails as it would without the callback (that
/// code, detail and alert). Any other rejection fails the handshake with
/// EMBER_ERR_CERT_REJECTED, ember_conn_last_error() gives the callback's reason, and the
/// server receives the alert certificate_unknown (46). A callback that accepts a chain
/// embertls refused should check the name itself (ember_cert_check_name()): verification
/// stops at the first problem, so a refused chain's names were not checked. The callback never
/// replaces the check that the server holds the certificate's private key (the handshake
/// signature), which embertls always makes. It is called once per full handshake, during
/// ember_conn_handshake() (or the ember_conn_read()/ember_conn_write() that completes it).
/// A NULL `cb` removes a callback set before.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a server config; EMBER_ERR_CONFIG_FROZEN once
/// connections were made; EMBER_ERR_NULL_ARG for a NULL `cfg`.
///
/// Ownership: `userdata` is passed to `cb` unchanged and never freed by embertls; it must stay
/// valid as long as connections made from `cfg` may handshake (until the last is freed).
/// Threads: `cb` runs on the thread that drives the handshake, so connections made from one
/// config on several threads call it concurrently: it and `userdata` must be safe for that.
#[no_mangle]
pub extern "C" fn ember_config_set_verify_callback(
    cfg: *mut ember_config,
    cb: ember_verify_cb,
    userdata: *mut c_void,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let check = cb.map(|cb| verify::check(cb, userdata));
        cfg.inner.set_verify(check).map_err(code)
    })
}

/// ember_config_set_alpn sets the application protocols (ALPN, RFC 7301) that connections
/// made from `cfg` offer (client) or accept (server): `count` NUL-terminated names such as
/// "h2" and "http/1.1", most preferred first (a server picks the first of its own list that
/// the client offered). A client and a server that both use ALPN but share no protocol fail
/// the handshake with EMBER_ERR_NO_ALPN_OVERLAP; when either side does not use it, the
/// handshake completes without a protocol. `count` 0 turns ALPN off. The strings are copied.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG for an empty name or one longer than 255 bytes
/// (nothing changes then); EMBER_ERR_CONFIG_FROZEN once connections were made;
/// EMBER_ERR_NULL_ARG when `cfg` is NULL, or `protocols` or one of its first `count`
/// entries is NULL.
///
/// Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_alpn(
    cfg: *mut ember_config,
    protocols: *const *const c_char,
    count: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `protocols` holds `count` pointers, per
        // the header.
        let (cfg, list) = unsafe { (arg_ref(cfg)?, arg_slice(protocols, count)?) };
        let names = list
            .iter()
            .map(|name| {
                if name.is_null() {
                    return Err(ember_result::EMBER_ERR_NULL_ARG);
                }
                // SAFETY: each entry is a NUL-terminated string, per the header.
                Ok(unsafe { CStr::from_ptr(*name) }.to_bytes().to_vec())
            })
            .collect::<Result<Vec<_>, _>>()?;
        cfg.inner.set_alpn(names).map_err(code)
    })
}

/// ember_config_set_cipher_suites limits the cipher suites connections made from `cfg`
/// offer (client) or accept (server) to the `count` IANA ids at `suites` (e.g. 0x1301
/// TLS_AES_128_GCM_SHA256, 0xc02b TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), in this order
/// of preference; a server picks by its own order. TLS 1.3 and TLS 1.2 suites are distinct:
/// list some of each for both versions. `count` 0 restores the defaults (every suite
/// embertls offers: AES-256-GCM, AES-128-GCM and ChaCha20-Poly1305, ECDHE only for TLS 1.2).
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when an id is not a suite embertls offers (RSA
/// key transport and CBC suites never are) or is listed twice (nothing changes then; the
/// detail lists what is offered); EMBER_ERR_CONFIG_FROZEN once connections were made;
/// EMBER_ERR_NULL_ARG when `cfg` is NULL, or `suites` is NULL with `count` > 0. A list with
/// no suite for the versions the config allows makes ember_conn_new() fail with
/// EMBER_ERR_INVALID_ARG.
///
/// Ownership: the ids are copied. Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_cipher_suites(
    cfg: *mut ember_config,
    suites: *const u16,
    count: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `suites` holds `count` ids, per the header.
        let (cfg, suites) = unsafe { (arg_ref(cfg)?, arg_slice(suites, count)?) };
        cfg.inner.set_cipher_suites(suites).map_err(code)
    })
}

/// ember_config_set_groups limits the key-exchange groups connections made from `cfg` use
/// to the `count` IANA ids at `groups` (0x001d X25519, 0x0017 secp256r1, 0x0018 secp384r1),
/// in this order of preference (a client sends a key share for the first). `count` 0
/// restores the defaults (all three, X25519 first).
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when an id is not a group embertls offers or is
/// listed twice (nothing changes then); EMBER_ERR_CONFIG_FROZEN once connections were made;
/// EMBER_ERR_NULL_ARG when `cfg` is NULL, or `groups` is NULL with `count` > 0.
///
/// Ownership: the ids are copied. Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_groups(
    cfg: *mut ember_config,
    groups: *const u16,
    count: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `groups` holds `count` ids, per the header.
        let (cfg, groups) = unsafe { (arg_ref(cfg)?, arg_slice(groups, count)?) };
        cfg.inner.set_groups(groups).map_err(code)
    })
}

/// ember_config_add_cert_pem_file loads a certificate chain (PEM, leaf first, then
/// intermediates) and its private key (PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"
/// or SEC1 "EC PRIVATE KEY"; RSA, ECDSA P-256/P-384 or Ed25519) from two files, and checks
/// that the key belongs to the leaf. Several chains may be added, in order of preference. A
/// server presents, among the chains whose leaf names the client's server name (SNI;
/// `*.example.com` covers one label) or among all when none does, the first whose key can
/// sign with a scheme the client accepts, else the first of them: one site may have an ECDSA
/// and an RSA certificate. A client presents the first chain that fits the server's accepted
/// signatures the same way when a server asks for a client certificate.
///
/// Returns EMBER_OK; EMBER_ERR_FILE when a file cannot be read; EMBER_ERR_BAD_PEM when the
/// chain is empty, not PEM, or has no certificate; EMBER_ERR_BAD_KEY when the key file has
/// no private key or an unsupported one; EMBER_ERR_KEY_MISMATCH when the key is not the
/// leaf's; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG for a NULL
/// argument. Every failure is reported here, never later, and ember_config_last_error()
/// names the file and the problem.
///
/// Threads: one thread at a time until the config is frozen, any number after.
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
///
/// Threads: one thread at a time until the config is frozen, any number after.
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
///
/// Threads: one thread at a time until the config is frozen, any number after.
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
