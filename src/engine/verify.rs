//! The verifiers a config's connections use: webpki's, explained, with the application's
//! say over the server's chain.
//!
//! [`ServerVerifier`] (on a client) runs webpki's chain verification, with the trust
//! store's roots and CRLs, and, when the application set a [`Check`], shows it the verdict
//! with the chain and the server name; the check's answer decides: it may reject a chain
//! webpki accepted, or accept one webpki rejected (pinning a self-signed certificate, a
//! private PKI). With an empty trust store there is no webpki verifier and the verdict is
//! always "unknown issuer". [`ClientVerifier`] (on a server) is webpki's client-certificate
//! verifier. Both leave a refused chain's explanation (see [`super::verdict`]) in the
//! connection's notes.
//!
//! The handshake signature checks (TLS 1.2 ServerKeyExchange, TLS 1.3 CertificateVerify)
//! and the signature schemes offered are always webpki's, with the provider's algorithms:
//! the application decides which certificate is acceptable, never whether the peer holds
//! its key.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

use super::error::{Error, ErrorKind};
use super::revocation::Revocation;
use super::trace::Step;
use super::trust::Anchors;
use super::x509::CertFacts;
use super::{notes, provider, verdict};

/// What the application's check is shown.
#[derive(Debug)]
pub struct Presented<'a> {
    /// The name the connection was made with (DNS name or IP literal).
    pub server_name: &'a str,
    /// The chain the server sent, DER, its own certificate first.
    pub chain: &'a [&'a [u8]],
    /// webpki's verdict on the chain: None when it verified, else why it did not.
    pub builtin: Option<&'a Error>,
}

/// The application's decision on a presented chain: Ok to accept, Err to reject. Called
/// from whichever thread drives the handshake.
pub type Check = dyn Fn(&Presented<'_>) -> Result<(), Refusal> + Send + Sync;

/// How the application's check rejects a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// For its own reason (possibly empty): the handshake fails with `CertRejected`.
    Reason(String),
    /// Upholding the built-in verdict: the handshake fails as it would without a check,
    /// with that verdict's kind, detail and alert (`CertRejected` if the chain verified).
    Builtin,
}

/// A rejection by the application's check, carried through rustls to [`Error::from_tls`].
#[derive(Debug)]
pub(crate) struct Rejected(pub(crate) String);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the verification callback rejected the peer's certificate")
        } else {
            write!(
                f,
                "the verification callback rejected the peer's certificate: {}",
                self.0
            )
        }
    }
}

impl std::error::Error for Rejected {}

/// Applies a trust store's CRLs and policy to a webpki verifier builder (the server and
/// client builders have the same methods but no common trait).
macro_rules! with_revocation {
    ($builder:expr, $revocation:expr) => {{
        let revocation: &Revocation = $revocation;
        let policy = revocation.policy;
        let mut builder = $builder.with_crls(revocation.ders());
        if policy.end_entity_only {
            builder = builder.only_check_end_entity_revocation();
        }
        if policy.allow_unknown_status {
            builder = builder.allow_unknown_revocation_status();
        }
        if !policy.allow_expired_crl {
            builder = builder.enforce_revocation_expiration();
        }
        builder
    }};
}

/// A verifier builder's refusal of the trust store, as an engine error.
fn unusable(whose: &str, err: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidArg,
        format!("cannot verify {whose} certificates with this trust store: {err}"),
    )
}

/// The chain as DER slices, the peer's own certificate first.
fn chain_of<'a>(
    end_entity: &'a CertificateDer<'_>,
    intermediates: &'a [CertificateDer<'_>],
) -> Vec<&'a [u8]> {
    std::iter::once(end_entity)
        .chain(intermediates)
        .map(|cert| cert.as_ref())
        .collect()
}

/// Trace events of a verification, when the connection being verified is traced (its
/// notes say so): the verifiers are shared by traced and untraced connections alike, so
/// that configs differing only in tracing still resume each other's sessions.
mod tracing {
    use super::*;

    pub(super) fn chain(chain: &[&[u8]]) {
        if !notes::tracing() {
            return;
        }
        let labels: Vec<String> = chain
            .iter()
            .map(|der| {
                CertFacts::read(der).map_or_else(|| "(unparsable)".to_owned(), |f| f.label())
            })
            .collect();
        notes::trace(
            Step::CertificateReceived,
            format!("{} certificate(s): {}", chain.len(), labels.join(", ")),
        );
    }

    /// The built-in checks' outcome: each check passed, or the one that failed.
    pub(super) fn verdict(
        failure: Option<&Error>,
        server_name: Option<&str>,
        revocation: &Revocation,
    ) {
        if !notes::tracing() {
            return;
        }
        let Some(failure) = failure else {
            notes::trace(
                Step::CertificateCheck,
                "chain to a trusted root, signatures and validity dates: ok",
            );
            if let Some(name) = server_name {
                notes::trace(Step::CertificateCheck, format!("host name \"{name}\": ok"));
            }
            let crls = revocation.crls.len();
            notes::trace(
                Step::CertificateCheck,
                if crls == 0 {
                    "revocation: not checked (the trust store has no CRL)".to_owned()
                } else {
                    format!("revocation: ok against {crls} CRL(s)")
                },
            );
            return;
        };
        notes::trace(
            Step::CertificateCheck,
            format!("failed: {}", failure.detail()),
        );
    }

    pub(super) fn signature(what: &str, dss: &DigitallySignedStruct) {
        if notes::tracing() {
            notes::trace(
                Step::SignatureVerified,
                format!("{what} signature ({:?}) verified", dss.scheme),
            );
        }
    }
}

/// Whether the certificate `der` is valid for `server_name` (a DNS name, wildcards
/// included, or an IP address): what webpki checks during verification, for an application
/// that accepts a chain itself (pinning) and still wants the name checked. `BadCertificate`
/// when `der` is not a certificate, `InvalidArg` for a name that is neither a DNS name nor
/// an IP address, `CertHostnameMismatch` naming the certificate's names otherwise.
pub fn check_name(der: &[u8], server_name: &str) -> Result<(), Error> {
    let cert = CertificateDer::from(der);
    let end_entity = webpki::EndEntityCert::try_from(&cert).map_err(|_| {
        Error::new(
            ErrorKind::BadCertificate,
            "the DER input is not a certificate embertls can read",
        )
    })?;
    let name = ServerName::try_from(server_name).map_err(|_| {
        Error::new(
            ErrorKind::InvalidArg,
            format!("\"{server_name}\" is neither a valid DNS name nor an IP address"),
        )
    })?;
    end_entity
        .verify_is_valid_for_subject_name(&name)
        .map_err(|e| match e {
            webpki::Error::CertNotValidForName(context) => Error::from_tls(
                &rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: name.to_owned(),
                    presented: context.presented,
                }),
                &notes::Notes::default(),
            ),
            _ => Error::new(
                ErrorKind::CertHostnameMismatch,
                format!("the certificate is not valid for \"{server_name}\""),
            ),
        })
}

/// A handshake signature that did not verify, explained: the chain was fine (or accepted),
/// the peer's proof of holding its key was not.
fn bad_handshake_signature(err: rustls::Error, what: &str) -> rustls::Error {
    let explained = Error::new(
        ErrorKind::CertBadSignature,
        format!(
            "the peer's {what} signature does not verify with its certificate's key: the peer \
             does not hold that key, or the handshake was altered"
        ),
    );
    refuse(err, explained)
}

/// A handshake signature check's outcome: explained when it failed, traced when it held.
/// `what` names the signed message ("CertificateVerify", "ServerKeyExchange").
fn signature_checked(
    result: Result<HandshakeSignatureValid, rustls::Error>,
    what: &str,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    let valid = result.map_err(|e| bad_handshake_signature(e, what))?;
    tracing::signature(what, dss);
    Ok(valid)
}

/// Leaves `explained` in the connection's notes and hands rustls its own error, whose alert
/// is the one the peer should see.
fn refuse(err: rustls::Error, explained: Error) -> rustls::Error {
    notes::write(|notes| notes.verdict = Some(explained));
    err
}

/// A client's verifier of the server's chain.
pub(crate) struct ServerVerifier {
    /// None when the trust store is empty: webpki then has nothing to build a chain to.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    revocation: Revocation,
    algorithms: WebPkiSupportedAlgorithms,
    check: Option<Arc<Check>>,
}

impl ServerVerifier {
    pub(crate) fn new(anchors: Anchors, check: Option<Arc<Check>>) -> Result<Self, Error> {
        let Anchors { roots, revocation } = anchors;
        let webpki = if roots.is_empty() {
            None
        } else {
            let builder = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider());
            let built = with_revocation!(builder, &revocation)
                .build()
                .map_err(|e| unusable("server", e))?;
            Some(built)
        };
        Ok(Self {
            webpki,
            revocation,
            algorithms: provider().signature_verification_algorithms,
            check,
        })
    }
}

impl fmt::Debug for ServerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerVerifier")
            .field("webpki", &self.webpki)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(webpki) => webpki
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(drop),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        let chain = chain_of(end_entity, intermediates);
        tracing::chain(&chain);
        let explained = verdict
            .as_ref()
            .err()
            .map(|e| verdict::explain(e, &chain, &self.revocation));
        let name = server_name.to_str();
        tracing::verdict(explained.as_ref(), Some(&name), &self.revocation);
        let Some(check) = &self.check else {
            return match (verdict, explained) {
                (Err(e), Some(explained)) => Err(refuse(e, explained)),
                _ => Ok(ServerCertVerified::assertion()),
            };
        };
        let presented = Presented {
            server_name: &name,
            chain: &chain,
            builtin: explained.as_ref(),
        };
        let decision = check(&presented);
        if notes::tracing() {
            notes::trace(
                Step::CertificateCheck,
                match &decision {
                    Ok(()) => "verification callback: accepted".to_owned(),
                    Err(Refusal::Builtin) => {
                        "verification callback: upheld the built-in verdict".to_owned()
                    }
                    Err(Refusal::Reason(reason)) => {
                        format!("verification callback: {}", Rejected(reason.clone()))
                    }
                },
            );
        }
        let reason = match (decision, verdict, explained) {
            (Ok(()), _, _) => return Ok(ServerCertVerified::assertion()),
            (Err(Refusal::Builtin), Err(e), Some(explained)) => return Err(refuse(e, explained)),
            (Err(Refusal::Builtin), _, _) => String::new(),
            (Err(Refusal::Reason(reason)), _, _) => reason,
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(Rejected(reason))),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = verify_tls12_signature(message, cert, dss, &self.algorithms);
        signature_checked(result, "ServerKeyExchange", dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = verify_tls13_signature(message, cert, dss, &self.algorithms);
        signature_checked(result, "CertificateVerify", dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A server's verifier of client certificates: webpki's, with refusals explained.
#[derive(Debug)]
pub(crate) struct ClientVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    revocation: Revocation,
}

impl ClientVerifier {
    /// A verifier against `anchors`; `optional` lets clients without a certificate in.
    pub(crate) fn new(anchors: Anchors, optional: bool) -> Result<Self, Error> {
        let Anchors { roots, revocation } = anchors;
        let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
        let builder = with_revocation!(builder, &revocation);
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        let webpki = builder.build().map_err(|e| unusable("client", e))?;
        Ok(Self { webpki, revocation })
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.webpki.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.webpki.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let chain = chain_of(end_entity, intermediates);
        tracing::chain(&chain);
        let verdict = self
            .webpki
            .verify_client_cert(end_entity, intermediates, now);
        let explained = verdict
            .as_ref()
            .err()
            .map(|e| verdict::explain(e, &chain, &self.revocation));
        tracing::verdict(explained.as_ref(), None, &self.revocation);
        match (verdict, explained) {
            (Err(e), Some(explained)) => Err(refuse(e, explained)),
            (verdict, _) => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.webpki.verify_tls12_signature(message, cert, dss);
        signature_checked(result, "client CertificateVerify", dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = self.webpki.verify_tls13_signature(message, cert, dss);
        signature_checked(result, "client CertificateVerify", dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
