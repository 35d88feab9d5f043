//! Trust stores: the root certificates a peer's chain must lead to, and the CRLs that
//! revoke certificates under them (see [`super::revocation`]).
//!
//! Two ways in. Strict ([`Trust::add_pem`], [`Trust::add_pem_file`], [`Trust::add_der`]):
//! the caller named exact input, so one bad certificate rejects all of it. Lenient
//! ([`Trust::add_pem_dir`], [`Trust::add_system`]): a directory or a system bundle holds
//! whatever the machine put there, so what cannot be used is skipped, counted and described
//! in the store's last error, and only finding nothing usable at all fails.
//!
//! A root is kept once: adding a root the store already holds (the same subject, key and
//! name constraints, which is all a root contributes to verification) changes nothing and
//! is counted neither added nor skipped.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::Mutex;

use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use rustls::RootCertStore;

use super::error::{Error, ErrorKind};
use super::revocation::{self, Crl, Policy, Revocation};
use super::{lock, pem};

/// How many skipped entries a lenient add names in its detail; the rest are only counted.
const NAMED_SKIPS: usize = 3;

/// A set of trusted roots. It can change until a connection is made from a config that uses
/// it; from then on it is frozen and may be shared by any number of threads.
#[derive(Default)]
pub struct Trust {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    store: Store,
    frozen: bool,
    last_error: Option<Error>,
}

/// What a trust store holds.
#[derive(Default)]
struct Store {
    roots: Roots,
    crls: Vec<Crl>,
    policy: Policy,
}

/// What a frozen trust store hands to the verifiers of a config.
pub(crate) struct Anchors {
    pub(crate) roots: RootCertStore,
    pub(crate) revocation: Revocation,
}

/// The roots in the order they were added, each once.
#[derive(Default)]
struct Roots {
    anchors: Vec<TrustAnchor<'static>>,
    held: HashSet<TrustAnchor<'static>>,
}

impl Roots {
    /// Adds `anchor` unless it is already held; returns whether it was new.
    fn insert(&mut self, anchor: TrustAnchor<'static>) -> bool {
        let new = self.held.insert(anchor.clone());
        if new {
            self.anchors.push(anchor);
        }
        new
    }

    /// Adds every anchor; returns how many were new.
    fn extend(&mut self, anchors: impl IntoIterator<Item = TrustAnchor<'static>>) -> usize {
        let mut new = 0;
        for anchor in anchors {
            new += usize::from(self.insert(anchor));
        }
        new
    }
}

/// What a lenient add took and what it left.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Roots that were new to the store.
    pub added: usize,
    /// Roots the store already held (a directory of hashed links names each root twice).
    pub present: usize,
    /// Entries that gave no root: a file that cannot be read, is not PEM or has no
    /// CERTIFICATE block counts once; so does every certificate that cannot be parsed.
    pub skipped: usize,
    /// Why the first entries were skipped, with the total: becomes the store's last error.
    skip_detail: Option<String>,
}

/// The outcome of a successful change that still deserves a word in the last error.
trait Note {
    fn note(&self) -> Option<Error> {
        None
    }
}

impl Note for usize {}
impl Note for () {}

impl Note for Tally {
    fn note(&self) -> Option<Error> {
        self.skip_detail
            .as_ref()
            .map(|detail| Error::new(ErrorKind::BadPem, detail.clone()))
    }
}

/// Roots gathered by a lenient add before they reach the store, with what was skipped.
struct Harvest {
    what: String,
    anchors: Vec<TrustAnchor<'static>>,
    skips: Vec<Error>,
}

impl Harvest {
    fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            anchors: Vec::new(),
            skips: Vec::new(),
        }
    }

    /// Takes every certificate of one PEM input that can be used and notes the rest.
    fn take_pem(&mut self, pem: &[u8], what: &str) {
        match certificates_in(pem, what) {
            Ok(found) => found.into_iter().for_each(|one| self.take(one)),
            Err(e) => self.skips.push(e),
        }
    }

    fn take(&mut self, anchor: Result<TrustAnchor<'static>, Error>) {
        match anchor {
            Ok(anchor) => self.anchors.push(anchor),
            Err(e) => self.skips.push(e),
        }
    }

    /// Adds what was gathered. Fails with `BadPem` when nothing usable was found.
    fn commit(self, roots: &mut Roots) -> Result<Tally, Error> {
        let found = self.anchors.len();
        let skipped = self.skips.len();
        let mut reasons: Vec<&str> = self
            .skips
            .iter()
            .take(NAMED_SKIPS)
            .map(Error::detail)
            .collect();
        if skipped > NAMED_SKIPS {
            reasons.push("...");
        }
        let reasons = reasons.join("; ");
        if found == 0 {
            return Err(Error::new(
                ErrorKind::BadPem,
                if skipped == 0 {
                    format!("{} holds no certificate", self.what)
                } else {
                    format!(
                        "{} holds no usable certificate ({skipped} skipped: {reasons})",
                        self.what
                    )
                },
            ));
        }
        let added = roots.extend(self.anchors);
        Ok(Tally {
            added,
            present: found - added,
            skipped,
            skip_detail: (skipped > 0).then(|| {
                format!(
                    "{}: {added} certificates added, {} already held, {skipped} skipped: {reasons}",
                    self.what,
                    found - added
                )
            }),
        })
    }
}

impl Trust {
    /// An empty store: until roots are added it trusts nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every CERTIFICATE block of `pem` (described as `what` in error details) as a
    /// root. All or nothing: one malformed certificate rejects the whole input.
    /// Returns how many roots were new to the store.
    pub fn add_pem(&self, pem: &[u8], what: &str) -> Result<usize, Error> {
        self.change(|store| Ok(store.roots.extend(parse_roots(pem, what)?)))
    }

    /// Adds the roots in the PEM file at `path`, as [`Trust::add_pem`] does.
    pub fn add_pem_file(&self, path: &str) -> Result<usize, Error> {
        self.change(|store| {
            let roots = parse_roots(&pem::read_file(path)?, path)?;
            Ok(store.roots.extend(roots))
        })
    }

    /// Adds one root certificate in DER. A malformed certificate is `BadCertificate`.
    /// Returns 1 when the root was new to the store, 0 when it already held it.
    pub fn add_der(&self, der: &[u8]) -> Result<usize, Error> {
        self.change(|store| {
            let anchor = anchor(der, ErrorKind::BadCertificate, "the DER input")?;
            Ok(usize::from(store.roots.insert(anchor)))
        })
    }

    /// Adds the certificates of every regular file in the directory `dir` (not its
    /// subdirectories; files in name order; symbolic links followed), leniently: files and
    /// certificates that cannot be used are skipped and counted. `File` when the directory
    /// cannot be read, `BadPem` when it holds no usable certificate.
    pub fn add_pem_dir(&self, dir: &str) -> Result<Tally, Error> {
        self.change(|store| {
            let mut entries = fs::read_dir(dir)
                .and_then(|list| {
                    list.map(|e| e.map(|e| e.path()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(|e| Error::from_file(dir, &e))?;
            entries.sort();
            let mut harvest = Harvest::new(format!("the directory {dir}"));
            for path in entries {
                let what = path.to_string_lossy();
                match fs::metadata(&path) {
                    // Directories, sockets, FIFOs (reading one could block forever).
                    Ok(meta) if !meta.is_file() => {}
                    Ok(_) => match pem::read_file(&path) {
                        Ok(pem) => harvest.take_pem(&pem, &what),
                        Err(e) => harvest.skips.push(e),
                    },
                    // A dangling link: meant as a certificate, and not one.
                    Err(e) => harvest.skips.push(Error::from_file(&what, &e)),
                }
            }
            harvest.commit(&mut store.roots)
        })
    }

    /// Adds the system's roots, leniently as [`Trust::add_pem_dir`] does: the file and
    /// directories named by `SSL_CERT_FILE` / `SSL_CERT_DIR` when either is set, otherwise
    /// the platform's usual bundle (rustls-native-certs finds it).
    pub fn add_system(&self) -> Result<Tally, Error> {
        self.change(|store| {
            let found = rustls_native_certs::load_native_certs();
            let mut harvest = Harvest::new(system_source());
            for (index, der) in found.certs.iter().enumerate() {
                let what = format!("certificate #{} of the system's roots", index + 1);
                harvest.take(anchor(der, ErrorKind::BadCertificate, &what));
            }
            for error in &found.errors {
                harvest
                    .skips
                    .push(Error::new(ErrorKind::BadPem, error.to_string()));
            }
            harvest.commit(&mut store.roots)
        })
    }

    /// Adds the built-in Mozilla roots (webpki-roots). Returns how many were new.
    pub fn add_builtin(&self) -> Result<usize, Error> {
        self.change(|store| {
            Ok(store
                .roots
                .extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()))
        })
    }

    /// Adds the CRLs in `input`, described as `what` in details: one DER CRL, or every
    /// `X509 CRL` block of PEM. All or nothing. Returns how many CRLs were added.
    pub fn add_crl(&self, input: &[u8], what: &str) -> Result<usize, Error> {
        self.change(|store| Ok(store.add_crls(revocation::parse(input, what)?)))
    }

    /// Adds the CRLs in the file at `path` (DER or PEM), as [`Trust::add_crl`] does.
    pub fn add_crl_file(&self, path: &str) -> Result<usize, Error> {
        self.change(|store| {
            let crls = revocation::parse(&pem::read_file(path)?, path)?;
            Ok(store.add_crls(crls))
        })
    }

    /// Sets how the store's CRLs are applied, as `revocation::*` flags (see [`Policy`]).
    /// `InvalidArg` for an unknown flag.
    pub fn set_revocation(&self, flags: u32) -> Result<(), Error> {
        self.change(|store| {
            store.policy = Policy::from_flags(flags)?;
            Ok(())
        })
    }

    /// How many CRLs the store holds.
    pub fn crl_count(&self) -> Result<usize, Error> {
        Ok(lock(&self.state)?.store.crls.len())
    }

    /// How many roots the store holds.
    pub fn count(&self) -> Result<usize, Error> {
        Ok(lock(&self.state)?.store.roots.anchors.len())
    }

    /// The detail of the last failed change, or of the last lenient add that skipped
    /// entries, if any.
    pub fn last_error(&self) -> Result<Option<Error>, Error> {
        Ok(lock(&self.state)?.last_error.clone())
    }

    /// Freezes the store and returns its roots and CRLs for a config's verifiers.
    pub(crate) fn freeze(&self) -> Result<Anchors, Error> {
        let mut state = lock(&self.state)?;
        state.frozen = true;
        let store = &state.store;
        Ok(Anchors {
            roots: RootCertStore {
                roots: store.roots.anchors.clone(),
            },
            revocation: Revocation {
                crls: store.crls.clone().into(),
                policy: store.policy,
            },
        })
    }

    /// The one way the store changes: refused once frozen; failures (and notes of lenient
    /// successes) are kept for [`Trust::last_error`].
    fn change<T: Note>(
        &self,
        apply: impl FnOnce(&mut Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut state = lock(&self.state)?;
        let result = if state.frozen {
            Err(Error::new(
                ErrorKind::ConfigFrozen,
                "the trust store is used by a config that has made connections; it can no longer change",
            ))
        } else {
            apply(&mut state.store)
        };
        match &result {
            Err(e) => state.last_error = Some(e.clone()),
            Ok(done) => {
                if let Some(note) = done.note() {
                    state.last_error = Some(note);
                }
            }
        }
        result
    }
}

impl Store {
    /// Adds CRLs; a CRL with the same bytes as one already held is kept once.
    /// Returns how many were new.
    fn add_crls(&mut self, crls: Vec<Crl>) -> usize {
        let mut new = 0;
        for crl in crls {
            if !self.crls.iter().any(|held| held.der == crl.der) {
                self.crls.push(crl);
                new += 1;
            }
        }
        new
    }
}

/// Where [`Trust::add_system`] looks, for its details.
fn system_source() -> String {
    let var = |name| std::env::var_os(name).map(|v| Path::new(&v).display().to_string());
    match (var("SSL_CERT_FILE"), var("SSL_CERT_DIR")) {
        (None, None) => "the system's roots".to_owned(),
        (Some(file), None) => format!("the system's roots (SSL_CERT_FILE={file})"),
        (None, Some(dir)) => format!("the system's roots (SSL_CERT_DIR={dir})"),
        (Some(file), Some(dir)) => {
            format!("the system's roots (SSL_CERT_FILE={file}, SSL_CERT_DIR={dir})")
        }
    }
}

/// Every root of `pem`, or the first reason it cannot all be used (`BadPem`).
fn parse_roots(pem: &[u8], what: &str) -> Result<Vec<TrustAnchor<'static>>, Error> {
    certificates_in(pem, what)?.into_iter().collect()
}

/// Each CERTIFICATE block of `pem` as a root or as the reason it is not one. `BadPem` when
/// `pem` is empty, is not PEM or has no CERTIFICATE block.
fn certificates_in(
    pem: &[u8],
    what: &str,
) -> Result<Vec<Result<TrustAnchor<'static>, Error>>, Error> {
    let found: Vec<_> = pem::sections(pem, what)?
        .into_iter()
        .filter(|s| s.kind == SectionKind::Certificate)
        .enumerate()
        .map(|(index, section)| {
            let which = format!("certificate #{} in {what}", index + 1);
            anchor(&section.der, ErrorKind::BadPem, &which)
        })
        .collect();
    if found.is_empty() {
        return Err(Error::new(
            ErrorKind::BadPem,
            format!("{what} contains no CERTIFICATE block"),
        ));
    }
    Ok(found)
}

/// The trust anchor (subject, key, constraints) of the root certificate `der`, or an error
/// of `kind` that calls it `what`.
fn anchor(der: &[u8], kind: ErrorKind, what: &str) -> Result<TrustAnchor<'static>, Error> {
    let mut store = RootCertStore::empty();
    store.add(CertificateDer::from(der.to_vec())).map_err(|e| {
        let why = match e {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding) => {
                "its DER encoding cannot be parsed".to_owned()
            }
            other => other.to_string(),
        };
        Error::new(kind, format!("{what} is not a valid certificate: {why}"))
    })?;
    Ok(store.roots.remove(0))
}
