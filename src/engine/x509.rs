//! What error details say about certificates and CRLs: subjects, issuers, serials, dates.
//!
//! webpki decides; it does not describe. When it rejects a chain, these facts (read with
//! x509-parser) let the detail name the certificate at fault the way `openssl x509 -text`
//! would. Nothing here takes part in a verification decision.

use ring::digest;
use x509_parser::der_parser::oid::Oid;
use x509_parser::oid_registry::OidRegistry;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::error::{utc_date, Error, ErrorKind};

/// The facts of one certificate that an explanation can name.
#[derive(Clone, Debug)]
pub(crate) struct CertFacts {
    /// The subject as text, e.g. `CN=example.com, O=Example`.
    pub(crate) subject: String,
    /// The issuer as text.
    pub(crate) issuer: String,
    /// The serial number as colon-separated hex, e.g. `01:a3:ff`.
    pub(crate) serial: String,
    /// The serial number's content octets, as CRLs list them.
    pub(crate) raw_serial: Vec<u8>,
    /// The encoded subject and issuer names, for matching certificates to their issuers.
    pub(crate) raw_subject: Vec<u8>,
    pub(crate) raw_issuer: Vec<u8>,
    /// Whether basicConstraints says this is a CA certificate.
    pub(crate) is_ca: bool,
}

impl CertFacts {
    /// The facts of the certificate `der`, or None when it cannot be parsed.
    pub(crate) fn read(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            raw_serial: cert.raw_serial().to_vec(),
            raw_subject: cert.subject().as_raw().to_vec(),
            raw_issuer: cert.issuer().as_raw().to_vec(),
            is_ca: cert.is_ca(),
        })
    }

    /// Whether the certificate names itself as its issuer (a root, or a self-signed leaf).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.raw_subject == self.raw_issuer
    }

    /// `"CN=..." (serial ..)`, how details name a certificate.
    pub(crate) fn label(&self) -> String {
        format!("\"{}\" (serial {})", self.subject, self.serial)
    }
}

/// The facts of one CRL that an explanation can name.
#[derive(Clone, Debug)]
pub(crate) struct CrlFacts {
    /// The issuing CA as text.
    pub(crate) issuer: String,
    pub(crate) raw_issuer: Vec<u8>,
    /// When the next CRL is due (seconds since the epoch), if the CRL says.
    pub(crate) next_update: Option<i64>,
    revoked: Vec<Revoked>,
}

/// One entry of a CRL.
#[derive(Clone, Debug)]
pub(crate) struct Revoked {
    raw_serial: Vec<u8>,
    /// Seconds since the epoch.
    pub(crate) date: i64,
    /// The reason as RFC 5280 names it (e.g. `KeyCompromise`), if the CRL gives one.
    pub(crate) reason: Option<String>,
}

impl CrlFacts {
    /// The facts of the CRL `der`; `BadCrl` naming it `what` when it cannot be parsed.
    pub(crate) fn read(der: &[u8], what: &str) -> Result<Self, Error> {
        let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| {
            Error::new(ErrorKind::BadCrl, format!("{what} is not a valid CRL: {e}"))
        })?;
        Ok(Self {
            issuer: crl.issuer().to_string(),
            raw_issuer: crl.issuer().as_raw().to_vec(),
            next_update: crl.next_update().map(|t| t.timestamp()),
            revoked: crl
                .iter_revoked_certificates()
                .map(|entry| Revoked {
                    raw_serial: entry.raw_serial().to_vec(),
                    date: entry.revocation_date.timestamp(),
                    reason: entry.reason_code().map(|(_, code)| code.to_string()),
                })
                .collect(),
        })
    }

    /// Whether this CRL is the one that covers `cert` (it comes from the cert's issuer).
    pub(crate) fn covers(&self, cert: &CertFacts) -> bool {
        self.raw_issuer == cert.raw_issuer
    }

    /// The entry revoking `cert`, if this CRL has one.
    pub(crate) fn entry_for(&self, cert: &CertFacts) -> Option<&Revoked> {
        if !self.covers(cert) {
            return None;
        }
        self.revoked
            .iter()
            .find(|entry| entry.raw_serial == cert.raw_serial)
    }
}

impl Revoked {
    /// `on DATE (reason: ...)`.
    pub(crate) fn describe(&self) -> String {
        let date = utc_date(u64::try_from(self.date).unwrap_or(0));
        match &self.reason {
            Some(reason) => format!("on {date} (reason: {reason})"),
            None => format!("on {date}"),
        }
    }
}

/// The DNS names in the certificate's subjectAltName, lowercase (wildcards as `*.x.y`).
pub(crate) fn dns_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The SHA-256 of the certificate's SubjectPublicKeyInfo: the value key pins are made of
/// (`openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256`).
pub fn spki_sha256(der: &[u8]) -> Result<[u8; 32], Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| {
        Error::new(
            ErrorKind::BadCertificate,
            format!("the DER input is not a valid certificate: {e}"),
        )
    })?;
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, cert.public_key().raw).as_ref());
    Ok(out)
}

/// The name of the algorithm in `id` (an AlgorithmIdentifier's contents, the form webpki
/// reports unsupported algorithms in), e.g. `ecdsa-with-SHA512`, else its dotted OID.
pub(crate) fn algorithm_name(id: &[u8]) -> String {
    let Ok((_, oid)) = Oid::from_der(id) else {
        return "an unrecognised algorithm".to_owned();
    };
    let registry = OidRegistry::default().with_all_crypto().with_x962();
    match registry.get(&oid) {
        Some(entry) => format!("{} ({oid})", entry.sn()),
        None => oid.to_id_string(),
    }
}
