//! Result codes: the `ember_result` enum, and its names and sentences from one table.

use std::ffi::{c_char, c_int, CStr};

use super::boundary::guard;
use crate::engine::ErrorKind;

/// The outcome of every fallible embertls function.
///
/// Values are fixed and grouped by hundreds so a caller can test a class with
/// EMBER_RESULT_CLASS(): 0–99 progress, 100s caller misuse or bad input, 200s I/O,
/// 300s certificate verdicts, 400s handshake and protocol failures, 500s internal.
/// Codes are never renumbered or removed; new codes are only appended to their group.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_result {
    /// Success.
    EMBER_OK = 0,
    /// Non-blocking I/O would block reading: call again when the socket is readable
    /// (memory mode: feed the bytes that arrive, then call again).
    EMBER_WANT_READ = 1,
    /// Non-blocking I/O would block writing: call again when the socket is writable
    /// (memory mode: drain pending output, then call again).
    EMBER_WANT_WRITE = 2,
    /// The peer sent close_notify: the data stream ended cleanly.
    EMBER_CLOSED = 3,

    /// A pointer argument that must not be NULL was NULL.
    EMBER_ERR_NULL_ARG = 100,
    /// An argument has a value the function cannot use. This includes a length (or count)
    /// larger than any object can be, such as SIZE_MAX: more than PTRDIFF_MAX bytes.
    EMBER_ERR_INVALID_ARG = 101,
    /// The output buffer is too small; the output was truncated.
    EMBER_ERR_BUFFER_TOO_SMALL = 102,
    /// The call is not allowed in the object's current state.
    EMBER_ERR_WRONG_STATE = 103,
    /// The config or trust store is in use by connections and can no longer change.
    EMBER_ERR_CONFIG_FROZEN = 104,
    /// PEM input is empty, malformed, or lacks the expected block.
    EMBER_ERR_BAD_PEM = 105,
    /// A private key is missing, malformed or of an unsupported type.
    EMBER_ERR_BAD_KEY = 106,
    /// A private key does not match its certificate.
    EMBER_ERR_KEY_MISMATCH = 107,
    /// A file could not be opened or read.
    EMBER_ERR_FILE = 108,
    /// A server config has no certificate.
    EMBER_ERR_NO_CERTIFICATE = 109,
    /// The call is meaningful only for the other role.
    EMBER_ERR_WRONG_ROLE = 110,
    /// A certificate given to embertls cannot be parsed.
    EMBER_ERR_BAD_CERTIFICATE = 111,
    /// A CRL given to embertls cannot be parsed or used.
    EMBER_ERR_BAD_CRL = 112,

    /// The transport failed; ember_conn_os_error() gives the errno.
    EMBER_ERR_IO = 200,
    /// The peer's transport ended without close_notify (truncation or a dropped connection).
    EMBER_ERR_UNEXPECTED_EOF = 201,

    /// The peer's certificate has expired.
    EMBER_ERR_CERT_EXPIRED = 300,
    /// The peer's certificate is not valid yet.
    EMBER_ERR_CERT_NOT_YET_VALID = 301,
    /// The peer's chain does not lead to a trusted root.
    EMBER_ERR_CERT_UNKNOWN_ISSUER = 302,
    /// A signature in the peer's chain does not verify, or the peer's handshake signature
    /// (its proof of holding its certificate's key) does not.
    EMBER_ERR_CERT_BAD_SIGNATURE = 303,
    /// The peer's certificate is not valid for the expected host name or IP address.
    EMBER_ERR_CERT_HOSTNAME_MISMATCH = 304,
    /// The peer's certificate has been revoked.
    EMBER_ERR_CERT_REVOKED = 305,
    /// The revocation status of the peer's certificate is unknown.
    EMBER_ERR_CERT_REVOCATION_UNKNOWN = 306,
    /// The peer's chain uses an unsupported algorithm or critical extension.
    EMBER_ERR_CERT_UNSUPPORTED = 307,
    /// The application rejected the peer's chain.
    EMBER_ERR_CERT_REJECTED = 308,
    /// The peer's certificate is not correctly encoded.
    EMBER_ERR_CERT_BAD_ENCODING = 309,
    /// The peer's certificate is not allowed for this use (extended key usage).
    EMBER_ERR_CERT_INVALID_PURPOSE = 310,
    /// The peer presented no certificate although one is required.
    EMBER_ERR_CERT_REQUIRED = 311,
    /// The peer's certificate is invalid for another reason.
    EMBER_ERR_CERT_INVALID = 312,
    /// The peer's certificate is self-signed and is not a trusted root.
    EMBER_ERR_CERT_SELF_SIGNED = 313,
    /// The peer's chain lacks an intermediate certificate: the issuer of the last
    /// certificate it sent is neither sent nor a trusted root.
    EMBER_ERR_CERT_MISSING_INTERMEDIATE = 314,

    /// The peers share no protocol version.
    EMBER_ERR_NO_SHARED_VERSION = 400,
    /// The peers share no cipher suite.
    EMBER_ERR_NO_SHARED_CIPHER_SUITE = 401,
    /// The peers share no key-exchange group.
    EMBER_ERR_NO_SHARED_GROUP = 402,
    /// The peers share no application protocol (ALPN).
    EMBER_ERR_NO_ALPN_OVERLAP = 403,
    /// The peer sent a fatal alert; ember_conn_peer_alert() says which.
    EMBER_ERR_ALERT_RECEIVED = 404,
    /// A message from the peer could not be decoded.
    EMBER_ERR_DECODE = 405,
    /// A record from the peer failed to decrypt or was too large.
    EMBER_ERR_BAD_RECORD = 406,
    /// The peer sent a message that is not allowed at this point.
    EMBER_ERR_UNEXPECTED_MESSAGE = 407,
    /// The peer broke the protocol in another way.
    EMBER_ERR_PEER_MISBEHAVED = 408,
    /// The peer lacks a feature the handshake needs.
    EMBER_ERR_PEER_INCOMPATIBLE = 409,

    /// Rust panicked inside embertls; the object involved is poisoned.
    EMBER_ERR_PANIC = 500,
    /// The object was poisoned by an earlier panic; it can only be freed.
    EMBER_ERR_POISONED = 501,
    /// A size limit was reached.
    EMBER_ERR_RESOURCE_LIMIT = 502,
    /// An internal failure that is neither the caller's nor the peer's fault.
    EMBER_ERR_INTERNAL = 503,
}

use ember_result::*;

/// A result code as the C caller passed it, which may be any int: reading it as the
/// Rust enum before checking would be undefined behaviour. The header calls it ember_result.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct ember_result_arg(pub c_int);

/// Every code with its name and its sentence: the one source of both.
const TABLE: &[(ember_result, &CStr, &CStr)] = &[
    (EMBER_OK, c"EMBER_OK", c"success"),
    (EMBER_WANT_READ, c"EMBER_WANT_READ", c"the operation needs more input: wait until the transport is readable, or feed received bytes"),
    (EMBER_WANT_WRITE, c"EMBER_WANT_WRITE", c"the operation needs to send: wait until the transport is writable, or drain pending output"),
    (EMBER_CLOSED, c"EMBER_CLOSED", c"the peer closed the connection cleanly (close_notify)"),
    (EMBER_ERR_NULL_ARG, c"EMBER_ERR_NULL_ARG", c"a required pointer argument was NULL"),
    (EMBER_ERR_INVALID_ARG, c"EMBER_ERR_INVALID_ARG", c"an argument has an invalid value"),
    (EMBER_ERR_BUFFER_TOO_SMALL, c"EMBER_ERR_BUFFER_TOO_SMALL", c"the output buffer is too small; the output was truncated"),
    (EMBER_ERR_WRONG_STATE, c"EMBER_ERR_WRONG_STATE", c"the call is not allowed in the object's current state"),
    (EMBER_ERR_CONFIG_FROZEN, c"EMBER_ERR_CONFIG_FROZEN", c"the config is in use by connections and can no longer change"),
    (EMBER_ERR_BAD_PEM, c"EMBER_ERR_BAD_PEM", c"the PEM input is empty, malformed or lacks the expected block"),
    (EMBER_ERR_BAD_KEY, c"EMBER_ERR_BAD_KEY", c"the private key is missing, malformed or unsupported"),
    (EMBER_ERR_KEY_MISMATCH, c"EMBER_ERR_KEY_MISMATCH", c"the private key does not match the certificate"),
    (EMBER_ERR_FILE, c"EMBER_ERR_FILE", c"a file could not be opened or read"),
    (EMBER_ERR_NO_CERTIFICATE, c"EMBER_ERR_NO_CERTIFICATE", c"the server config has no certificate"),
    (EMBER_ERR_WRONG_ROLE, c"EMBER_ERR_WRONG_ROLE", c"the call is meaningful only for the other role"),
    (EMBER_ERR_BAD_CERTIFICATE, c"EMBER_ERR_BAD_CERTIFICATE", c"a certificate given to embertls cannot be parsed"),
    (EMBER_ERR_BAD_CRL, c"EMBER_ERR_BAD_CRL", c"a CRL given to embertls cannot be parsed or used"),
    (EMBER_ERR_IO, c"EMBER_ERR_IO", c"the transport failed (see ember_conn_os_error)"),
    (EMBER_ERR_UNEXPECTED_EOF, c"EMBER_ERR_UNEXPECTED_EOF", c"the peer went away without close_notify (truncation)"),
    (EMBER_ERR_CERT_EXPIRED, c"EMBER_ERR_CERT_EXPIRED", c"the peer's certificate has expired"),
    (EMBER_ERR_CERT_NOT_YET_VALID, c"EMBER_ERR_CERT_NOT_YET_VALID", c"the peer's certificate is not valid yet"),
    (EMBER_ERR_CERT_UNKNOWN_ISSUER, c"EMBER_ERR_CERT_UNKNOWN_ISSUER", c"the peer's certificate chain does not lead to a trusted root"),
    (EMBER_ERR_CERT_BAD_SIGNATURE, c"EMBER_ERR_CERT_BAD_SIGNATURE", c"a signature in the peer's certificate chain, or its handshake signature, does not verify"),
    (EMBER_ERR_CERT_HOSTNAME_MISMATCH, c"EMBER_ERR_CERT_HOSTNAME_MISMATCH", c"the peer's certificate is not valid for the expected name"),
    (EMBER_ERR_CERT_REVOKED, c"EMBER_ERR_CERT_REVOKED", c"the peer's certificate has been revoked"),
    (EMBER_ERR_CERT_REVOCATION_UNKNOWN, c"EMBER_ERR_CERT_REVOCATION_UNKNOWN", c"the revocation status of the peer's certificate is unknown"),
    (EMBER_ERR_CERT_UNSUPPORTED, c"EMBER_ERR_CERT_UNSUPPORTED", c"the peer's certificate uses an unsupported algorithm or extension"),
    (EMBER_ERR_CERT_REJECTED, c"EMBER_ERR_CERT_REJECTED", c"the application rejected the peer's certificate"),
    (EMBER_ERR_CERT_BAD_ENCODING, c"EMBER_ERR_CERT_BAD_ENCODING", c"the peer's certificate is not correctly encoded"),
    (EMBER_ERR_CERT_INVALID_PURPOSE, c"EMBER_ERR_CERT_INVALID_PURPOSE", c"the peer's certificate is not allowed for this use"),
    (EMBER_ERR_CERT_REQUIRED, c"EMBER_ERR_CERT_REQUIRED", c"the peer presented no certificate although one is required"),
    (EMBER_ERR_CERT_INVALID, c"EMBER_ERR_CERT_INVALID", c"the peer's certificate is invalid"),
    (EMBER_ERR_CERT_SELF_SIGNED, c"EMBER_ERR_CERT_SELF_SIGNED", c"the peer's certificate is self-signed and not a trusted root"),
    (EMBER_ERR_CERT_MISSING_INTERMEDIATE, c"EMBER_ERR_CERT_MISSING_INTERMEDIATE", c"the peer's chain lacks an intermediate certificate"),
    (EMBER_ERR_NO_SHARED_VERSION, c"EMBER_ERR_NO_SHARED_VERSION", c"the peers share no TLS version"),
    (EMBER_ERR_NO_SHARED_CIPHER_SUITE, c"EMBER_ERR_NO_SHARED_CIPHER_SUITE", c"the peers share no cipher suite"),
    (EMBER_ERR_NO_SHARED_GROUP, c"EMBER_ERR_NO_SHARED_GROUP", c"the peers share no key-exchange group"),
    (EMBER_ERR_NO_ALPN_OVERLAP, c"EMBER_ERR_NO_ALPN_OVERLAP", c"the peers share no application protocol (ALPN)"),
    (EMBER_ERR_ALERT_RECEIVED, c"EMBER_ERR_ALERT_RECEIVED", c"the peer sent a fatal alert"),
    (EMBER_ERR_DECODE, c"EMBER_ERR_DECODE", c"a message from the peer could not be decoded"),
    (EMBER_ERR_BAD_RECORD, c"EMBER_ERR_BAD_RECORD", c"a record from the peer failed to decrypt or was too large"),
    (EMBER_ERR_UNEXPECTED_MESSAGE, c"EMBER_ERR_UNEXPECTED_MESSAGE", c"the peer sent a message that is not allowed at this point"),
    (EMBER_ERR_PEER_MISBEHAVED, c"EMBER_ERR_PEER_MISBEHAVED", c"the peer broke the TLS protocol"),
    (EMBER_ERR_PEER_INCOMPATIBLE, c"EMBER_ERR_PEER_INCOMPATIBLE", c"the peer lacks a feature the handshake needs"),
    (EMBER_ERR_PANIC, c"EMBER_ERR_PANIC", c"embertls panicked; the object involved is poisoned"),
    (EMBER_ERR_POISONED, c"EMBER_ERR_POISONED", c"the object was poisoned by an earlier panic and can only be freed"),
    (EMBER_ERR_RESOURCE_LIMIT, c"EMBER_ERR_RESOURCE_LIMIT", c"a size limit was reached"),
    (EMBER_ERR_INTERNAL, c"EMBER_ERR_INTERNAL", c"an internal error occurred in embertls"),
];

fn lookup(code: ember_result_arg) -> Option<&'static (ember_result, &'static CStr, &'static CStr)> {
    TABLE.iter().find(|(r, _, _)| *r as c_int == code.0)
}

/// The one mapping from an engine error kind to its C code.
pub(crate) fn code_of(kind: ErrorKind) -> ember_result {
    match kind {
        ErrorKind::WantRead => EMBER_WANT_READ,
        ErrorKind::WantWrite => EMBER_WANT_WRITE,
        ErrorKind::Closed => EMBER_CLOSED,
        ErrorKind::InvalidArg => EMBER_ERR_INVALID_ARG,
        ErrorKind::WrongState => EMBER_ERR_WRONG_STATE,
        ErrorKind::ConfigFrozen => EMBER_ERR_CONFIG_FROZEN,
        ErrorKind::BadPem => EMBER_ERR_BAD_PEM,
        ErrorKind::BadKey => EMBER_ERR_BAD_KEY,
        ErrorKind::KeyMismatch => EMBER_ERR_KEY_MISMATCH,
        ErrorKind::File => EMBER_ERR_FILE,
        ErrorKind::NoCertificate => EMBER_ERR_NO_CERTIFICATE,
        ErrorKind::WrongRole => EMBER_ERR_WRONG_ROLE,
        ErrorKind::BadCertificate => EMBER_ERR_BAD_CERTIFICATE,
        ErrorKind::BadCrl => EMBER_ERR_BAD_CRL,
        ErrorKind::Io => EMBER_ERR_IO,
        ErrorKind::UnexpectedEof => EMBER_ERR_UNEXPECTED_EOF,
        ErrorKind::CertExpired => EMBER_ERR_CERT_EXPIRED,
        ErrorKind::CertNotYetValid => EMBER_ERR_CERT_NOT_YET_VALID,
        ErrorKind::CertUnknownIssuer => EMBER_ERR_CERT_UNKNOWN_ISSUER,
        ErrorKind::CertBadSignature => EMBER_ERR_CERT_BAD_SIGNATURE,
        ErrorKind::CertHostnameMismatch => EMBER_ERR_CERT_HOSTNAME_MISMATCH,
        ErrorKind::CertRevoked => EMBER_ERR_CERT_REVOKED,
        ErrorKind::CertRevocationUnknown => EMBER_ERR_CERT_REVOCATION_UNKNOWN,
        ErrorKind::CertUnsupported => EMBER_ERR_CERT_UNSUPPORTED,
        ErrorKind::CertRejected => EMBER_ERR_CERT_REJECTED,
        ErrorKind::CertBadEncoding => EMBER_ERR_CERT_BAD_ENCODING,
        ErrorKind::CertInvalidPurpose => EMBER_ERR_CERT_INVALID_PURPOSE,
        ErrorKind::CertRequired => EMBER_ERR_CERT_REQUIRED,
        ErrorKind::CertInvalid => EMBER_ERR_CERT_INVALID,
        ErrorKind::CertSelfSigned => EMBER_ERR_CERT_SELF_SIGNED,
        ErrorKind::CertMissingIntermediate => EMBER_ERR_CERT_MISSING_INTERMEDIATE,
        ErrorKind::NoSharedVersion => EMBER_ERR_NO_SHARED_VERSION,
        ErrorKind::NoSharedCipherSuite => EMBER_ERR_NO_SHARED_CIPHER_SUITE,
        ErrorKind::NoSharedGroup => EMBER_ERR_NO_SHARED_GROUP,
        ErrorKind::NoAlpnOverlap => EMBER_ERR_NO_ALPN_OVERLAP,
        ErrorKind::AlertReceived => EMBER_ERR_ALERT_RECEIVED,
        ErrorKind::Decode => EMBER_ERR_DECODE,
        ErrorKind::BadRecord => EMBER_ERR_BAD_RECORD,
        ErrorKind::UnexpectedMessage => EMBER_ERR_UNEXPECTED_MESSAGE,
        ErrorKind::PeerMisbehaved => EMBER_ERR_PEER_MISBEHAVED,
        ErrorKind::PeerIncompatible => EMBER_ERR_PEER_INCOMPATIBLE,
        ErrorKind::Poisoned => EMBER_ERR_POISONED,
        ErrorKind::ResourceLimit => EMBER_ERR_RESOURCE_LIMIT,
        ErrorKind::Internal => EMBER_ERR_INTERNAL,
    }
}

/// ember_result_str returns a short English sentence describing `r`, e.g. "the peer's
/// certificate has expired". For the detail of a particular failure use
/// ember_conn_last_error() or ember_config_last_error().
///
/// The string is static: never NULL, never to be freed. A value that is not an ember_result
/// gives "unknown embertls result code". Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_result_str(r: ember_result_arg) -> *const c_char {
    guard(|| {
        lookup(r)
            .map_or(c"unknown embertls result code", |(_, _, text)| text)
            .as_ptr()
    })
}

/// ember_result_name returns the identifier of `r` as written in this header, e.g.
/// "EMBER_ERR_CERT_EXPIRED", for logs that a program or a person greps.
///
/// The string is static: never NULL, never to be freed. A value that is not an ember_result
/// gives "EMBER_UNKNOWN_RESULT". Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_result_name(r: ember_result_arg) -> *const c_char {
    guard(|| {
        lookup(r)
            .map_or(c"EMBER_UNKNOWN_RESULT", |(_, name, _)| name)
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_its_identifier() {
        for (code, name, text) in TABLE {
            assert_eq!(name.to_str().unwrap(), format!("{code:?}"));
            assert!(!text.to_bytes().is_empty());
        }
        let mut values: Vec<c_int> = TABLE.iter().map(|(r, _, _)| *r as c_int).collect();
        values.dedup();
        assert_eq!(
            values.len(),
            TABLE.len(),
            "each code appears once, in order"
        );
    }
}
