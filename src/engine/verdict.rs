//! Why a peer's chain was refused, in a sentence that names the certificate at fault.
//!
//! webpki answers "unknown issuer" for a self-signed certificate, a chain missing its
//! intermediate and a chain from a root nobody trusts alike, and "revoked" without saying
//! which certificate. A person fixing the server needs to know which, so [`explain`]
//! reads the chain and the CRLs and refines webpki's verdict. The alert sent to the peer
//! stays the one webpki's verdict implies.

use rustls::CertificateError as C;

use super::error::{utc_date, Error, ErrorKind};
use super::notes::Notes;
use super::revocation::Revocation;
use super::x509::CertFacts;

/// webpki's `err` on `chain` (DER, the peer's own certificate first), explained.
pub(crate) fn explain(err: &rustls::Error, chain: &[&[u8]], revocation: &Revocation) -> Error {
    let rustls::Error::InvalidCertificate(verdict) = err else {
        return Error::from_tls(err, &Notes::default());
    };
    let refined = match verdict {
        C::UnknownIssuer => chain_gap(&facts_of(chain)),
        C::Revoked => revoked(&facts_of(chain), revocation),
        // webpki stops at the first certificate no CRL covers, checking from the root
        // down; a revoked certificate below it is the better verdict, as OpenSSL gives.
        C::UnknownRevocationStatus => {
            let facts = facts_of(chain);
            revoked(&facts, revocation).or_else(|| uncovered(&facts, revocation))
        }
        C::ExpiredRevocationListContext { time, next_update } => {
            expired_crl(revocation, next_update.as_secs(), time.as_secs())
        }
        _ => None,
    };
    refined.unwrap_or_else(|| Error::from_tls(err, &Notes::default()))
}

fn facts_of(chain: &[&[u8]]) -> Vec<CertFacts> {
    chain
        .iter()
        .filter_map(|der| CertFacts::read(der))
        .collect()
}

/// The certificates webpki follows from the peer's own one: each next is the issuer of the
/// one before, among those the peer sent.
fn path(chain: &[CertFacts]) -> Vec<&CertFacts> {
    let Some(leaf) = chain.first() else {
        return Vec::new();
    };
    let mut path = vec![leaf];
    while let Some(current) = path.last() {
        if current.is_self_issued() {
            break;
        }
        let issuer = chain.iter().find(|candidate| {
            candidate.raw_subject == current.raw_issuer
                && !path.iter().any(|seen| std::ptr::eq(*seen, *candidate))
        });
        match issuer {
            Some(issuer) => path.push(issuer),
            None => break,
        }
    }
    path
}

/// Where the path to a trusted root breaks, for an "unknown issuer" verdict.
fn chain_gap(chain: &[CertFacts]) -> Option<Error> {
    let path = path(chain);
    let last = *path.last()?;
    let (kind, detail) = if last.is_self_issued() && path.len() == 1 {
        (
            ErrorKind::CertSelfSigned,
            format!(
                "the peer's certificate {} is self-signed and is not a trusted root: add it \
                 to the trust store, or accept it in a verification callback (pinning)",
                last.label()
            ),
        )
    } else if last.is_self_issued() {
        (
            ErrorKind::CertUnknownIssuer,
            format!(
                "the peer's chain ends at the root \"{}\", which is not in the trust store",
                last.subject
            ),
        )
    } else if last.is_ca {
        (
            ErrorKind::CertUnknownIssuer,
            format!(
                "the peer's chain ends at the CA \"{}\", issued by \"{}\", which is not in \
                 the trust store",
                last.subject, last.issuer
            ),
        )
    } else {
        (
            ErrorKind::CertMissingIntermediate,
            format!(
                "the peer sent no certificate for \"{}\", the issuer of its certificate \
                 \"{}\", and that issuer is not in the trust store: the peer's chain probably \
                 lacks its intermediate certificate(s)",
                last.issuer, last.subject
            ),
        )
    };
    Some(Error::new(kind, detail))
}

/// The checked certificates of the chain, the peer's own first: the policy may limit
/// revocation checks to it; a root is never checked.
fn checked<'a>(chain: &'a [CertFacts], revocation: &Revocation) -> Vec<&'a CertFacts> {
    let path = path(chain);
    let take = if revocation.policy.end_entity_only {
        1
    } else {
        path.len()
    };
    path.into_iter()
        .take(take)
        .filter(|cert| !cert.is_self_issued())
        .collect()
}

/// Which certificate a CRL revokes, for a "revoked" verdict.
fn revoked(chain: &[CertFacts], revocation: &Revocation) -> Option<Error> {
    checked(chain, revocation)
        .into_iter()
        .enumerate()
        .find_map(|(depth, cert)| {
            revocation.crls.iter().find_map(|crl| {
                let entry = crl.facts.entry_for(cert)?;
                let whose = if depth == 0 {
                    "the peer's certificate"
                } else {
                    "the intermediate CA certificate"
                };
                Some(Error::new(
                    ErrorKind::CertRevoked,
                    format!(
                        "{whose} {} was revoked by \"{}\" {}",
                        cert.label(),
                        crl.facts.issuer,
                        entry.describe()
                    ),
                ))
            })
        })
}

/// Which certificate no CRL covers, for an "unknown revocation status" verdict.
fn uncovered(chain: &[CertFacts], revocation: &Revocation) -> Option<Error> {
    let cert = checked(chain, revocation)
        .into_iter()
        .find(|cert| !revocation.crls.iter().any(|crl| crl.facts.covers(cert)))?;
    Some(Error::new(
        ErrorKind::CertRevocationUnknown,
        format!(
            "the revocation status of {} is unknown: the trust store has no CRL from its \
             issuer \"{}\" (add that CRL, or allow unknown status with \
             EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS)",
            cert.label(),
            cert.issuer
        ),
    ))
}

/// Which CRL expired, for an "expired CRL" verdict.
fn expired_crl(revocation: &Revocation, next_update: u64, now: u64) -> Option<Error> {
    let crl = revocation
        .crls
        .iter()
        .find(|crl| crl.facts.next_update == i64::try_from(next_update).ok())?;
    Some(Error::new(
        ErrorKind::CertRevocationUnknown,
        format!(
            "the revocation status is unknown: the CRL from \"{}\" expired at {} (its \
             nextUpdate), and it is now {} (load a current CRL, or keep using expired ones \
             with EMBER_REVOCATION_ALLOW_EXPIRED_CRL)",
            crl.facts.issuer,
            utc_date(next_update),
            utc_date(now)
        ),
    ))
}
