//! Certificate revocation lists and the policy for using them.
//!
//! A trust store holds CRLs next to its roots. webpki checks them while it builds the
//! path; the policy says how far up the chain it looks, whether a certificate no CRL
//! covers passes, and whether a CRL past its nextUpdate still counts. A store without CRLs
//! checks no revocation at all.

use std::sync::Arc;

use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::CertificateRevocationListDer;

use super::error::{Error, ErrorKind};
use super::pem;
use super::x509::CrlFacts;

/// Check only the peer's own certificate, not the intermediates above it.
pub const END_ENTITY_ONLY: u32 = 1;
/// Let a certificate pass when no CRL from its issuer is in the store.
pub const ALLOW_UNKNOWN_STATUS: u32 = 2;
/// Keep using a CRL whose nextUpdate time has passed.
pub const ALLOW_EXPIRED_CRL: u32 = 4;
const ALL_FLAGS: u32 = END_ENTITY_ONLY | ALLOW_UNKNOWN_STATUS | ALLOW_EXPIRED_CRL;

/// How CRLs are applied. The default is the strict one, as OpenSSL's
/// `X509_V_FLAG_CRL_CHECK_ALL` is: every certificate of the chain must be covered by a
/// current CRL from its issuer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Check only the peer's own certificate ([`END_ENTITY_ONLY`]).
    pub end_entity_only: bool,
    /// A certificate no CRL covers passes ([`ALLOW_UNKNOWN_STATUS`]).
    pub allow_unknown_status: bool,
    /// A CRL past its nextUpdate still counts ([`ALLOW_EXPIRED_CRL`]).
    pub allow_expired_crl: bool,
}

impl Policy {
    /// The policy a set of `*_ONLY`/`ALLOW_*` flags asks for; `InvalidArg` for unknown bits.
    pub fn from_flags(flags: u32) -> Result<Self, Error> {
        if flags & !ALL_FLAGS != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                format!(
                    "unknown revocation flags 0x{:x}: the flags are \
                     EMBER_REVOCATION_END_ENTITY_ONLY (1), \
                     EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS (2) and \
                     EMBER_REVOCATION_ALLOW_EXPIRED_CRL (4)",
                    flags & !ALL_FLAGS
                ),
            ));
        }
        Ok(Self {
            end_entity_only: flags & END_ENTITY_ONLY != 0,
            allow_unknown_status: flags & ALLOW_UNKNOWN_STATUS != 0,
            allow_expired_crl: flags & ALLOW_EXPIRED_CRL != 0,
        })
    }
}

/// One CRL: what webpki checks, and what error details say about it.
#[derive(Clone, Debug)]
pub(crate) struct Crl {
    pub(crate) der: CertificateRevocationListDer<'static>,
    pub(crate) facts: CrlFacts,
}

/// The CRLs and the policy a frozen trust store hands to its verifiers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Revocation {
    pub(crate) crls: Arc<[Crl]>,
    pub(crate) policy: Policy,
}

impl Revocation {
    /// The CRLs in the form webpki's verifier builders take.
    pub(crate) fn ders(&self) -> Vec<CertificateRevocationListDer<'static>> {
        self.crls.iter().map(|crl| crl.der.clone()).collect()
    }
}

/// Every CRL in `input` (described as `what`): DER (one CRL) or PEM (every `X509 CRL`
/// block). All or nothing: `BadPem` or `BadCrl` when any of it cannot be used.
pub(crate) fn parse(input: &[u8], what: &str) -> Result<Vec<Crl>, Error> {
    // A DER CRL is a SEQUENCE (0x30); PEM is text and never starts with that byte.
    if input.first() == Some(&0x30) {
        return Ok(vec![one(input, what)?]);
    }
    let blocks: Vec<_> = pem::sections(input, what)?
        .into_iter()
        .filter(|s| s.kind == SectionKind::Crl)
        .collect();
    if blocks.is_empty() {
        return Err(Error::new(
            ErrorKind::BadPem,
            format!("{what} contains no X509 CRL block"),
        ));
    }
    blocks
        .iter()
        .enumerate()
        .map(|(index, block)| one(&block.der, &format!("CRL #{} in {what}", index + 1)))
        .collect()
}

/// The CRL `der`, checked with webpki's own parser so that a CRL it would refuse fails
/// here, when it is added, and not when the first connection is made.
fn one(der: &[u8], what: &str) -> Result<Crl, Error> {
    webpki::OwnedCertRevocationList::from_der(der).map_err(|e| {
        let why = match e {
            webpki::Error::BadDer | webpki::Error::BadDerTime | webpki::Error::TrailingData(_) => {
                "its DER encoding cannot be parsed".to_owned()
            }
            webpki::Error::UnsupportedDeltaCrl => "delta CRLs are not supported".to_owned(),
            webpki::Error::UnsupportedIndirectCrl => "indirect CRLs are not supported".to_owned(),
            webpki::Error::UnsupportedCrlVersion => "only version 2 CRLs are supported".to_owned(),
            webpki::Error::UnsupportedCriticalExtension => {
                "it has a critical extension embertls does not know".to_owned()
            }
            other => format!("{other:?}"),
        };
        Error::new(
            ErrorKind::BadCrl,
            format!("{what} is not a CRL embertls can use: {why}"),
        )
    })?;
    Ok(Crl {
        der: CertificateRevocationListDer::from(der.to_vec()),
        facts: CrlFacts::read(der, what)?,
    })
}
