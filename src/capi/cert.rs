//! Certificates as C sees them: DER bytes, and the facts a caller may want from them.

use std::ffi::c_char;

use super::boundary::{arg_buf, arg_bytes, arg_str, code, guard_result};
use super::error::ember_result;
use crate::engine::{verify, x509};

/// ember_cert_spki_sha256 writes the SHA-256 of the SubjectPublicKeyInfo of the certificate
/// in the `len` bytes at `der` to the 32 bytes at `out`: the value key pins are made of
/// (HPKP, curl's --pinnedpubkey "sha256//..."; from a PEM file:
/// `openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
/// openssl dgst -sha256 -binary | base64`). A verification callback compares it with its
/// pins to accept a server by key, whatever CA issued its certificate.
///
/// Returns EMBER_OK; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate (`out`
/// is left unchanged); EMBER_ERR_NULL_ARG when `out` is NULL, or `der` is NULL with
/// `len` > 0.
///
/// Ownership: the caller keeps `der` and `out`. Threads: any thread, any time.
#[no_mangle]
pub extern "C" fn ember_cert_spki_sha256(der: *const u8, len: usize, out: *mut u8) -> ember_result {
    guard_result(|| {
        // SAFETY: `der` holds `len` bytes and `out` is NULL or 32 writable bytes, per the
        // header.
        let (der, out) = unsafe { (arg_bytes(der, len)?, arg_buf(out, 32)?) };
        out.copy_from_slice(&x509::spki_sha256(der).map_err(code)?);
        Ok(())
    })
}

/// ember_cert_check_name checks that the certificate in the `len` bytes at `der` is valid
/// for `server_name` (a NUL-terminated DNS name, matched against the certificate's DNS
/// names, wildcards included, or an IP address, matched against its IP addresses), as the
/// built-in verification does. A verification callback that accepts a chain the built-in
/// verification refused (a pinned self-signed certificate) never had the name checked,
/// because verification stops at the chain: this lets it check the name itself.
///
/// Returns EMBER_OK when the name matches; EMBER_ERR_CERT_HOSTNAME_MISMATCH when it does
/// not; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate;
/// EMBER_ERR_INVALID_ARG when `server_name` is neither a DNS name nor an IP address;
/// EMBER_ERR_NULL_ARG when `server_name` is NULL, or `der` is NULL with `len` > 0.
///
/// Ownership: the caller keeps `der` and `server_name`. Threads: any thread, any time.
#[no_mangle]
pub extern "C" fn ember_cert_check_name(
    der: *const u8,
    len: usize,
    server_name: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `der` holds `len` bytes and `server_name` is NULL or a C string, per the
        // header.
        let (der, name) = unsafe { (arg_bytes(der, len)?, arg_str(server_name)?) };
        verify::check_name(der, name).map_err(code)
    })
}
