//! What went wrong: a kind a program can act on, and a sentence a person can read.
//!
//! Every failure in the engine is an [`Error`]. Its [`ErrorKind`] becomes the C result code
//! (one `match` in `capi/error.rs`); its detail is what `ember_*_last_error` prints. rustls
//! errors are translated in exactly one place, [`Error::from_tls`].

use std::fmt;
use std::io;

use rustls::{AlertDescription, CertificateError, PeerIncompatible};

use super::hello::Offer;
use super::notes::Notes;
use super::verify::Rejected;
use super::x509::algorithm_name;

/// The kinds of outcome, grouped as the C result codes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Non-blocking I/O would block reading (or, in memory mode, more bytes must be fed).
    WantRead,
    /// Non-blocking I/O would block writing (or, in memory mode, output must be drained).
    WantWrite,
    /// The peer sent close_notify: a clean end of the data stream.
    Closed,

    /// An argument has a value the function cannot use.
    InvalidArg,
    /// The call is not allowed in the object's current state.
    WrongState,
    /// The config (or trust store) is in use by a connection and can no longer change.
    ConfigFrozen,
    /// PEM input is empty, malformed, or has no block of the expected kind.
    BadPem,
    /// A private key is missing, malformed or of an unsupported type.
    BadKey,
    /// A private key does not belong to the certificate it was given with.
    KeyMismatch,
    /// A file could not be opened or read.
    File,
    /// A server config has no certificate to present.
    NoCertificate,
    /// The call is meaningful only for the other role (client vs server).
    WrongRole,
    /// A certificate given to embertls (e.g. a DER root) cannot be parsed.
    BadCertificate,
    /// A CRL given to embertls cannot be parsed or used.
    BadCrl,

    /// The transport failed; the OS error number is kept with the error.
    Io,
    /// The peer's transport ended without close_notify (truncation).
    UnexpectedEof,

    /// The peer's certificate has expired.
    CertExpired,
    /// The peer's certificate is not valid yet.
    CertNotYetValid,
    /// The peer's chain does not lead to a trusted root.
    CertUnknownIssuer,
    /// A signature in the peer's chain does not verify.
    CertBadSignature,
    /// The peer's certificate is not valid for the expected name.
    CertHostnameMismatch,
    /// The peer's certificate has been revoked.
    CertRevoked,
    /// The peer's revocation status could not be determined.
    CertRevocationUnknown,
    /// The peer's chain uses an algorithm or feature that is not supported.
    CertUnsupported,
    /// The peer's chain was rejected by the application.
    CertRejected,
    /// The peer's certificate is not correctly encoded.
    CertBadEncoding,
    /// The peer's certificate is not allowed for this use (extended key usage).
    CertInvalidPurpose,
    /// The peer presented no certificate although one is required.
    CertRequired,
    /// The peer's certificate is invalid for another reason.
    CertInvalid,
    /// The peer's certificate is self-signed and not a trusted root.
    CertSelfSigned,
    /// The peer's chain lacks the intermediate certificate between its certificate and a root.
    CertMissingIntermediate,

    /// The peers share no protocol version.
    NoSharedVersion,
    /// The peers share no cipher suite.
    NoSharedCipherSuite,
    /// The peers share no key-exchange group.
    NoSharedGroup,
    /// The peers share no application protocol (ALPN).
    NoAlpnOverlap,
    /// The peer sent a fatal alert.
    AlertReceived,
    /// A message from the peer could not be decoded.
    Decode,
    /// A record from the peer failed decryption or was too large.
    BadRecord,
    /// The peer sent a message that is not allowed at this point.
    UnexpectedMessage,
    /// The peer broke the protocol in another way.
    PeerMisbehaved,
    /// The peer lacks a feature the handshake needs.
    PeerIncompatible,

    /// An object was left inconsistent by an earlier panic.
    Poisoned,
    /// A size limit was reached.
    ResourceLimit,
    /// An internal failure that is not the caller's or the peer's fault.
    Internal,
}

impl ErrorKind {
    /// Whether this outcome ends the connection. Progress kinds (WantRead, WantWrite,
    /// Closed) and caller misuse do not: the call can be repeated or corrected.
    pub fn is_fatal(self) -> bool {
        !matches!(
            self,
            Self::WantRead
                | Self::WantWrite
                | Self::Closed
                | Self::InvalidArg
                | Self::WrongState
                | Self::ConfigFrozen
                | Self::WrongRole
        )
    }
}

/// An outcome other than success, with the sentence that explains it.
///
/// Two words: the record path returns `Result<usize, Error>` from every call (a WantRead
/// ends each read loop), and a value this small travels in registers. Progress outcomes
/// carry no sentence and allocate nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    explanation: Option<Box<Explanation>>,
}

// The record path's results stay two words (see [`Error`]).
const _: () = assert!(std::mem::size_of::<Result<usize, Error>>() <= 16);

/// What an [`Error`] says beyond its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Explanation {
    detail: String,
    os_error: Option<i32>,
}

// The constructors that write a sentence are #[cold]: failures are off the record path, and
// the hint keeps their code out of the middle of the hot functions that may fail (instruction
// cache). Progress outcomes (`progress`) are not cold: every read loop ends with one.
impl Error {
    /// An error of `kind` explained by `detail`.
    #[cold]
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self::explained(kind, detail.into(), None)
    }

    #[cold]
    fn explained(kind: ErrorKind, detail: String, os_error: Option<i32>) -> Self {
        Self {
            kind,
            explanation: (!detail.is_empty() || os_error.is_some()).then(|| {
                Box::new(Explanation {
                    detail: printable(detail),
                    os_error,
                })
            }),
        }
    }

    /// A progress outcome (WantRead, WantWrite, Closed) that needs no sentence.
    pub(crate) fn progress(kind: ErrorKind) -> Self {
        Self {
            kind,
            explanation: None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The sentence that explains it.
    pub fn detail(&self) -> &str {
        self.explanation.as_ref().map_or("", |e| &e.detail)
    }

    /// The OS error number behind an I/O failure.
    pub fn os_error(&self) -> Option<i32> {
        self.explanation.as_ref().and_then(|e| e.os_error)
    }

    /// An I/O failure of the transport, keeping its errno.
    #[cold]
    pub(crate) fn from_io(context: &str, err: &io::Error) -> Self {
        Self::explained(
            ErrorKind::Io,
            format!("{context}: {err}"),
            err.raw_os_error(),
        )
    }

    /// A failure reading a file, naming the file.
    #[cold]
    pub(crate) fn from_file(path: &str, err: &io::Error) -> Self {
        Self::explained(
            ErrorKind::File,
            format!("cannot read {path}: {err}"),
            err.raw_os_error(),
        )
    }

    /// The one translation of a rustls error into an engine error. The notes of the
    /// handshake explain some failures better than rustls' verdict alone: what the client's
    /// hello offered (a failed negotiation), which certificate a verifier refused and why.
    #[cold]
    pub(crate) fn from_tls(err: &rustls::Error, notes: &Notes) -> Self {
        use rustls::Error as E;
        let (kind, detail) = match err {
            E::InvalidCertificate(_) if notes.verdict.is_some() => {
                return notes.verdict.clone().expect("checked just above");
            }
            E::InvalidCertificate(cert) => certificate_verdict(cert),
            E::InvalidCertRevocationList(why) => (
                ErrorKind::CertRevocationUnknown,
                format!(
                    "the revocation status is unknown: a CRL in the trust store cannot be used: {}",
                    crl_problem(why)
                ),
            ),
            E::NoCertificatesPresented => (
                ErrorKind::CertRequired,
                "the peer presented no certificate, but one is required".to_owned(),
            ),
            E::PeerIncompatible(why) => incompatibility(why, notes.offer.as_ref()),
            E::AlertReceived(alert) => alert_verdict(*alert),
            E::NoApplicationProtocol => (
                ErrorKind::NoAlpnOverlap,
                match notes.offer.as_ref().and_then(Offer::describe_alpn) {
                    Some(offered) => format!(
                        "the peers share no application protocol (ALPN): the client offered \
                         {offered}, none of which this server accepts (ember_config_set_alpn)"
                    ),
                    None => "the peers share no application protocol (ALPN)".to_owned(),
                },
            ),
            E::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => (
                ErrorKind::Decode,
                "the peer sent bytes that are not a TLS record (is it speaking TLS?)".to_owned(),
            ),
            // The record layer's own limit (2^14 + 2048 bytes of ciphertext): a record too
            // large, not a message that failed to decode.
            E::InvalidMessage(rustls::InvalidMessage::MessageTooLarge) => (
                ErrorKind::BadRecord,
                "the peer sent a record larger than TLS allows".to_owned(),
            ),
            E::InvalidMessage(msg) => (
                ErrorKind::Decode,
                format!("the peer sent a message that cannot be decoded ({msg:?})"),
            ),
            E::DecryptError => (
                ErrorKind::BadRecord,
                "a record from the peer failed to decrypt (corrupted or forged data)".to_owned(),
            ),
            E::PeerSentOversizedRecord => (
                ErrorKind::BadRecord,
                "the peer sent a record larger than TLS allows".to_owned(),
            ),
            E::InappropriateMessage { expect_types, got_type } => (
                ErrorKind::UnexpectedMessage,
                format!("the peer sent a {got_type:?} record where one of {expect_types:?} was expected"),
            ),
            E::InappropriateHandshakeMessage { expect_types, got_type } => (
                ErrorKind::UnexpectedMessage,
                format!("the peer sent a {got_type:?} handshake message where one of {expect_types:?} was expected"),
            ),
            E::PeerMisbehaved(why) => (
                ErrorKind::PeerMisbehaved,
                format!("the peer broke the TLS protocol: {why:?}"),
            ),
            E::InconsistentKeys(_) => (
                ErrorKind::KeyMismatch,
                "the private key does not match the certificate".to_owned(),
            ),
            // rustls' TLS 1.2 server reports a client that accepts no signature its key can
            // make with this General error; TLS 1.3 says NoSignatureSchemesInCommon.
            E::General(msg) if msg == "incompatible signing key" => incompatibility(
                &PeerIncompatible::NoSignatureSchemesInCommon,
                notes.offer.as_ref(),
            ),
            other => (ErrorKind::Internal, format!("TLS engine failure: {other}")),
        };
        Self::new(kind, detail)
    }
}

/// `detail` with its control characters written as escapes (`\0`, `\n`, `\u{1b}`). Details
/// quote what peers chose (certificate names, ALPN protocols), and reach C as NUL-terminated
/// strings (a NUL inside cut ember_conn_last_error's text short of the length it reported)
/// and logs as one line each.
fn printable(detail: String) -> String {
    if !detail.chars().any(char::is_control) {
        return detail;
    }
    detail
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail())
    }
}

impl std::error::Error for Error {}

fn certificate_verdict(err: &CertificateError) -> (ErrorKind, String) {
    use CertificateError as C;
    let said = |kind, text: &str| (kind, text.to_owned());
    match err {
        C::ExpiredContext { time, not_after } => (
            ErrorKind::CertExpired,
            format!(
                "the peer's certificate expired at {}, and it is now {}",
                utc_date(not_after.as_secs()),
                utc_date(time.as_secs())
            ),
        ),
        C::Expired => said(ErrorKind::CertExpired, "the peer's certificate has expired"),
        C::NotValidYetContext { time, not_before } => (
            ErrorKind::CertNotYetValid,
            format!(
                "the peer's certificate is not valid before {}, and it is now {}",
                utc_date(not_before.as_secs()),
                utc_date(time.as_secs())
            ),
        ),
        C::NotValidYet => said(
            ErrorKind::CertNotYetValid,
            "the peer's certificate is not valid yet",
        ),
        C::UnknownIssuer => said(
            ErrorKind::CertUnknownIssuer,
            "the peer's certificate chain does not lead to a trusted root (unknown issuer)",
        ),
        C::BadSignature => said(
            ErrorKind::CertBadSignature,
            "a signature in the peer's certificate chain does not verify",
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => (
            ErrorKind::CertHostnameMismatch,
            format!(
                "the peer's certificate is not valid for \"{}\"; it is valid for {}",
                expected.to_str(),
                if presented.is_empty() {
                    "no names at all".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|n| plain_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ),
        C::NotValidForName => said(
            ErrorKind::CertHostnameMismatch,
            "the peer's certificate is not valid for the expected name",
        ),
        C::Revoked => said(
            ErrorKind::CertRevoked,
            "the peer's certificate has been revoked",
        ),
        C::UnknownRevocationStatus => said(
            ErrorKind::CertRevocationUnknown,
            "the revocation status of the peer's certificate is unknown",
        ),
        C::ExpiredRevocationListContext { time, next_update } => (
            ErrorKind::CertRevocationUnknown,
            format!(
                "the revocation status is unknown: a CRL expired at {} (its nextUpdate), and \
                 it is now {}",
                utc_date(next_update.as_secs()),
                utc_date(time.as_secs())
            ),
        ),
        C::ExpiredRevocationList => said(
            ErrorKind::CertRevocationUnknown,
            "the revocation status is unknown: a CRL has expired",
        ),
        C::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id,
            ..
        } => (
            ErrorKind::CertUnsupported,
            format!(
                "a certificate in the peer's chain is signed with {}, which embertls does not \
                 support (it verifies ECDSA P-256/P-384, Ed25519 and RSA signatures)",
                algorithm_name(signature_algorithm_id)
            ),
        ),
        C::UnsupportedSignatureAlgorithmForPublicKeyContext {
            signature_algorithm_id,
            public_key_algorithm_id,
        } => (
            ErrorKind::CertUnsupported,
            format!(
                "a certificate in the peer's chain is signed with {} by a key of type {}, a \
                 combination embertls does not support",
                algorithm_name(signature_algorithm_id),
                algorithm_name(public_key_algorithm_id)
            ),
        ),
        // rustls still produces the context-free variant from older webpki errors.
        #[allow(deprecated)]
        C::UnsupportedSignatureAlgorithm | C::UnhandledCriticalExtension => (
            ErrorKind::CertUnsupported,
            format!("the peer's certificate uses something unsupported: {err}"),
        ),
        C::BadEncoding => said(
            ErrorKind::CertBadEncoding,
            "the peer's certificate is not correctly encoded",
        ),
        C::Other(other) if is_ca_used_as_end_entity(other) => said(
            ErrorKind::CertInvalidPurpose,
            "the peer's certificate is a CA certificate, which may not be used as an \
             end-entity certificate",
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
            ErrorKind::CertInvalidPurpose,
            format!("the peer's certificate is not allowed for this use: {err}"),
        ),
        C::ApplicationVerificationFailure => said(
            ErrorKind::CertRejected,
            "the application rejected the peer's certificate",
        ),
        C::Other(other) => match other.0.downcast_ref::<Rejected>() {
            Some(rejected) => (ErrorKind::CertRejected, rejected.to_string()),
            None => (
                ErrorKind::CertInvalid,
                format!("the peer's certificate is invalid: {err}"),
            ),
        },
        other => (
            ErrorKind::CertInvalid,
            format!("the peer's certificate is invalid: {other}"),
        ),
    }
}

/// Why a CRL could not be used during verification.
fn crl_problem(why: &rustls::CertRevocationListError) -> String {
    use rustls::CertRevocationListError as L;
    match why {
        L::BadSignature => "its signature does not verify with its issuer's key".to_owned(),
        L::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id,
            ..
        }
        | L::UnsupportedSignatureAlgorithmForPublicKeyContext {
            signature_algorithm_id,
            ..
        } => format!(
            "it is signed with {}, which embertls does not support",
            algorithm_name(signature_algorithm_id)
        ),
        L::IssuerInvalidForCrl => {
            "its issuer's certificate does not allow signing CRLs (key usage)".to_owned()
        }
        other => format!("{other:?}"),
    }
}

/// webpki reports a CA certificate presented as the end entity as an opaque error.
fn is_ca_used_as_end_entity(other: &rustls::OtherError) -> bool {
    matches!(
        other.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}

/// A name as the certificate states it: rustls reports presented names in Rust notation
/// (`DnsName("example.com")`, `IpAddress(127.0.0.1)`), which a C programmer should not see.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

fn incompatibility(why: &PeerIncompatible, offer: Option<&Offer>) -> (ErrorKind, String) {
    use PeerIncompatible as P;
    // A client offering only suites we lack (typically RSA key transport, whose missing
    // supported_groups extension makes rustls report "no groups") is a suite mismatch.
    if let (P::NoCipherSuitesInCommon | P::NoKxGroupsInCommon, Some(offer)) = (why, offer) {
        if !offer.offers_a_supported_suite() {
            let offered = offer.describe_suites();
            let detail = if offer.offers_only_rsa_key_transport() {
                format!(
                    "no cipher suite in common: the client offered only RSA key transport \
                     ({offered}), which embertls never negotiates because it has no forward \
                     secrecy; embertls offers ECDHE suites with AES-GCM or ChaCha20-Poly1305"
                )
            } else {
                format!(
                    "no cipher suite in common: the client offered only {offered}; embertls \
                     offers forward-secret ECDHE suites with AES-GCM or ChaCha20-Poly1305"
                )
            };
            return (ErrorKind::NoSharedCipherSuite, detail);
        }
    }
    match why {
        P::NoCipherSuitesInCommon => (
            ErrorKind::NoSharedCipherSuite,
            "no cipher suite in common: embertls offers only forward-secret ECDHE suites \
             with AES-GCM or ChaCha20-Poly1305, and never RSA key transport, which has no \
             forward secrecy"
                .to_owned(),
        ),
        P::NoKxGroupsInCommon => (
            ErrorKind::NoSharedGroup,
            "no key-exchange group in common: embertls offers X25519, secp256r1 (P-256) and \
             secp384r1 (P-384)"
                .to_owned(),
        ),
        P::Tls12NotOffered | P::Tls12NotOfferedOrEnabled => (
            ErrorKind::NoSharedVersion,
            "no TLS version in common: the client offered none of the versions this config allows"
                .to_owned(),
        ),
        P::SupportedVersionsExtensionRequired => (
            ErrorKind::NoSharedVersion,
            "no TLS version in common: the client supports only TLS 1.2 or older, and this \
             config allows only TLS 1.3"
                .to_owned(),
        ),
        P::ServerTlsVersionIsDisabledByOurConfig => (
            ErrorKind::NoSharedVersion,
            "no TLS version in common: the server chose a version this config does not allow"
                .to_owned(),
        ),
        P::ServerDoesNotSupportTls12Or13 => (
            ErrorKind::NoSharedVersion,
            "no TLS version in common: the server supports neither TLS 1.2 nor TLS 1.3".to_owned(),
        ),
        P::NoSignatureSchemesInCommon => (
            ErrorKind::PeerIncompatible,
            "no signature scheme in common: the peer accepts none that the certificate's key \
             can make (its signature_algorithms)"
                .to_owned(),
        ),
        other => (
            ErrorKind::PeerIncompatible,
            format!("the peer lacks something the handshake needs: {other:?}"),
        ),
    }
}

fn alert_verdict(alert: AlertDescription) -> (ErrorKind, String) {
    // rustls reports a close_notify as an error only while the handshake runs: a close, not
    // a fatal alert, but the handshake cannot complete.
    if alert == AlertDescription::CloseNotify {
        return (
            ErrorKind::AlertReceived,
            "the peer closed the connection (close_notify, 0) before the handshake completed"
                .to_owned(),
        );
    }
    let kind = match alert {
        AlertDescription::ProtocolVersion => ErrorKind::NoSharedVersion,
        AlertDescription::NoApplicationProtocol => ErrorKind::NoAlpnOverlap,
        _ => ErrorKind::AlertReceived,
    };
    (
        kind,
        format!(
            "the peer sent the fatal alert {} ({})",
            super::names::alert_name(u8::from(alert))
                .and_then(|name| name.to_str().ok())
                .unwrap_or("unassigned"),
            u8::from(alert)
        ),
    )
}

/// Seconds since the Unix epoch as an RFC 3339 UTC timestamp ("2025-01-01T00:00:00Z").
pub fn utc_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let secs_of_day = unix_secs % 86_400;
    // Civil-from-days (proleptic Gregorian calendar), counting from 0000-03-01 so that the
    // leap day falls at the end of each 400/100/4-year cycle.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_escape_control_characters() {
        let err = Error::new(ErrorKind::Decode, "CN=a\0b\nc\u{1b}d \"e\"");
        assert_eq!(err.detail(), "CN=a\\0b\\nc\\u{1b}d \"e\"");
    }

    #[test]
    fn utc_dates_are_calendar_correct() {
        assert_eq!(utc_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(utc_date(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}
