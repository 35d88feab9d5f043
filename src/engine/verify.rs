//! The application's say over the server's chain: a rustls verifier around webpki's.
//!
//! [`AppVerifier`] runs webpki's chain verification first and shows its verdict, with the
//! chain and the server name, to the application's [`Check`], whose answer decides: it may
//! reject a chain webpki accepted, or accept one webpki rejected (pinning a self-signed
//! certificate, a private PKI). With an empty trust store (pinning only) there is no webpki
//! verifier and the verdict is always "unknown issuer". The handshake signature checks (TLS 1.2
//! ServerKeyExchange, TLS 1.3 CertificateVerify) and the signature schemes offered are always
//! webpki's, with the provider's algorithms: the application decides which certificate is
//! acceptable, never whether the peer holds its key.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use super::error::Error;
use super::provider;

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

/// The application's decision on a presented chain: Ok to accept, Err with a reason
/// (possibly empty) to reject. Called from whichever thread drives the handshake.
pub type Check = dyn Fn(&Presented<'_>) -> Result<(), String> + Send + Sync;

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

/// webpki's server verifier with the application's check deciding on the chain.
pub(crate) struct AppVerifier {
    /// None when the trust store is empty: webpki then has nothing to build a chain to.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    check: Arc<Check>,
}

impl AppVerifier {
    pub(crate) fn new(webpki: Option<Arc<WebPkiServerVerifier>>, check: Arc<Check>) -> Self {
        Self {
            webpki,
            algorithms: provider().signature_verification_algorithms,
            check,
        }
    }
}

impl fmt::Debug for AppVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppVerifier")
            .field("webpki", &self.webpki)
            .finish_non_exhaustive()
    }
}

impl ServerCertVerifier for AppVerifier {
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
        let builtin = verdict.err().map(|e| Error::from_tls(&e, None));
        let chain: Vec<&[u8]> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|cert| cert.as_ref())
            .collect();
        let name = server_name.to_str();
        let presented = Presented {
            server_name: &name,
            chain: &chain,
            builtin: builtin.as_ref(),
        };
        match (self.check)(&presented) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(reason) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(Rejected(reason))),
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
