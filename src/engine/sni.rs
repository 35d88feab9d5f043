//! Which certificate a server presents: the one whose names match the client's SNI.
//!
//! A server config may hold several certificates: one per site, or one per key type for a
//! site. The client's server name picks those whose subjectAltName has it (`*.example.com`
//! matches one label); a client that sends no name, or a name no certificate has, picks
//! them all. Of those, the first whose key can make a signature the client accepts is
//! presented, or else the first (the handshake then fails, saying why). A client config
//! presents the first certificate that fits the server's accepted signatures the same way.

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

use super::{hello, x509};

/// A certificate and the DNS names it is valid for.
#[derive(Debug)]
struct Candidate {
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

/// The certificates of a config, in the order they were added.
#[derive(Debug)]
pub(crate) struct CertChooser {
    candidates: Vec<Candidate>,
}

impl CertChooser {
    /// Needs at least one certificate.
    pub(crate) fn new(keys: &[Arc<CertifiedKey>]) -> Self {
        debug_assert!(!keys.is_empty());
        Self {
            candidates: keys
                .iter()
                .map(|key| Candidate {
                    names: key
                        .cert
                        .first()
                        .map_or_else(Vec::new, |leaf| x509::dns_names(leaf)),
                    key: key.clone(),
                })
                .collect(),
        }
    }

    /// The certificate for `server_name` whose key signs with one of `schemes` (see the
    /// module's comment for the fallbacks).
    fn choose(
        &self,
        server_name: Option<&str>,
        schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let wanted = server_name.map(str::to_ascii_lowercase);
        let named = |c: &&Candidate| {
            wanted
                .as_deref()
                .is_some_and(|w| c.names.iter().any(|name| name_matches(name, w)))
        };
        let any_named = self.candidates.iter().any(|c| named(&c));
        let pool = || {
            self.candidates
                .iter()
                .filter(move |c| !any_named || named(c))
        };
        pool()
            .find(|c| c.key.key.choose_scheme(schemes).is_some())
            .or_else(|| pool().next())
            .map(|c| c.key.clone())
    }
}

/// RFC 6125 matching: equal names, or a leftmost `*` label standing for exactly one label.
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == name,
    }
}

impl ResolvesServerCert for CertChooser {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello::record(&hello);
        self.choose(hello.server_name(), hello.signature_schemes())
    }
}

impl ResolvesClientCert for CertChooser {
    fn resolve(&self, _hints: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.choose(None, schemes)
    }

    fn has_certs(&self) -> bool {
        !self.candidates.is_empty()
    }
}

/// A client config without a certificate: declines every server's request for one.
#[derive(Debug)]
pub(crate) struct NoClientCert;

impl ResolvesClientCert for NoClientCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn wildcards_stand_for_one_label() {
        assert!(name_matches("example.com", "example.com"));
        assert!(name_matches("*.example.com", "www.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("www.example.com", "example.com"));
    }
}
