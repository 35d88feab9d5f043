//! The TLS engine: safe Rust, no `extern "C"`, no raw pointers.
//!
//! Each module holds one idea: [`config`] (what a connection is made from), [`credentials`]
//! (certificate chains and private keys from PEM), [`trust`] (root certificates), [`conn`]
//! (a connection's lifecycle and its I/O pump), [`error`] (what went wrong, with a detail
//! sentence), [`names`] (IANA names of versions, suites and groups), [`revocation`] (CRLs
//! and how they are applied), [`verify`] (the verifiers: webpki's, explained, with the
//! application's check), `verdict` (why a chain was refused, naming the certificate),
//! [`x509`] (what details say about certificates and CRLs), `hello` and `notes` (what
//! rustls' callbacks saw during the handshake).

#![forbid(unsafe_code)]

pub mod config;
pub mod conn;
pub mod credentials;
pub mod error;
mod hello;
pub mod keylog;
pub mod logging;
pub mod names;
mod notes;
pub mod pem;
pub mod revocation;
pub mod sessions;
mod sni;
pub mod tickets;
pub mod trace;
pub mod trust;
mod verdict;
pub mod verify;
mod wire;
pub mod x509;

pub use config::{ClientAuth, Config, Role};
pub use conn::{Conn, Transport};
pub use error::{Error, ErrorKind};
pub use trust::Trust;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

/// The one crypto provider every config uses: ring, with its default suites and groups.
///
/// ring's defaults are exactly the suites embertls offers: TLS 1.3 AES-128-GCM, AES-256-GCM
/// and ChaCha20-Poly1305, and for TLS 1.2 the same ciphers with ECDHE only; groups X25519,
/// P-256 and P-384. RSA key transport is not implemented by rustls at all, so it can never
/// be negotiated.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Locks `mutex`, reporting a lock poisoned by an earlier panic as an error instead of
/// panicking again.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, Error> {
    mutex.lock().map_err(|_| {
        Error::new(
            ErrorKind::Poisoned,
            "an earlier call panicked while changing this object; it can only be freed",
        )
    })
}
