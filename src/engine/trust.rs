//! Trust stores: the root certificates a peer's chain must lead to.

use std::sync::Mutex;

use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use rustls::RootCertStore;

use super::error::{Error, ErrorKind};
use super::{lock, pem};

/// A set of trusted roots. It can change until a connection is made from a config that uses
/// it; from then on it is frozen and may be shared by any number of threads.
#[derive(Default)]
pub struct Trust {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    anchors: Vec<TrustAnchor<'static>>,
    frozen: bool,
    last_error: Option<Error>,
}

impl Trust {
    /// An empty store: until roots are added it trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every CERTIFICATE block of `pem` (described as `what` in error details) as a
    /// root. All or nothing: one malformed certificate rejects the whole input.
    /// Returns how many roots were added.
    pub fn add_pem(&self, pem: &[u8], what: &str) -> Result<usize, Error> {
        self.change(|anchors| append(anchors, parse_roots(pem, what)?))
    }

    /// Adds the roots in the PEM file at `path`, as [`Trust::add_pem`] does.
    pub fn add_pem_file(&self, path: &str) -> Result<usize, Error> {
        self.change(|anchors| append(anchors, parse_roots(&pem::read_file(path)?, path)?))
    }

    /// The detail of the last failed change, if any.
    pub fn last_error(&self) -> Result<Option<Error>, Error> {
        Ok(lock(&self.state)?.last_error.clone())
    }

    /// Freezes the store and returns its roots for a verifier.
    pub(crate) fn freeze(&self) -> Result<RootCertStore, Error> {
        let mut state = lock(&self.state)?;
        state.frozen = true;
        Ok(RootCertStore {
            roots: state.anchors.clone(),
        })
    }

    fn change<T>(
        &self,
        apply: impl FnOnce(&mut Vec<TrustAnchor<'static>>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut state = lock(&self.state)?;
        let result = if state.frozen {
            Err(Error::new(
                ErrorKind::ConfigFrozen,
                "the trust store is used by a config that has made connections; it can no longer change",
            ))
        } else {
            apply(&mut state.anchors)
        };
        if let Err(e) = &result {
            state.last_error = Some(e.clone());
        }
        result
    }
}

fn append(
    anchors: &mut Vec<TrustAnchor<'static>>,
    added: Vec<TrustAnchor<'static>>,
) -> Result<usize, Error> {
    let count = added.len();
    anchors.extend(added);
    Ok(count)
}

fn parse_roots(pem: &[u8], what: &str) -> Result<Vec<TrustAnchor<'static>>, Error> {
    let mut anchors = Vec::new();
    for (index, section) in pem::sections(pem, what)?
        .into_iter()
        .filter(|s| s.kind == SectionKind::Certificate)
        .enumerate()
    {
        let der = CertificateDer::from(section.der);
        let anchor = webpki_anchor(&der).map_err(|e| {
            Error::new(
                ErrorKind::BadPem,
                format!(
                    "certificate #{} in {what} is not a valid certificate: {e}",
                    index + 1
                ),
            )
        })?;
        anchors.push(anchor);
    }
    if anchors.is_empty() {
        return Err(Error::new(
            ErrorKind::BadPem,
            format!("{what} contains no CERTIFICATE block"),
        ));
    }
    Ok(anchors)
}

/// The trust anchor (subject, key, constraints) of a root certificate.
fn webpki_anchor(der: &CertificateDer<'_>) -> Result<TrustAnchor<'static>, rustls::Error> {
    let mut store = RootCertStore::empty();
    store.add(der.clone())?;
    Ok(store.roots.remove(0))
}
