//! A certificate chain with its private key, checked when it is loaded, never later.

use std::sync::Arc;

use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::error::{Error, ErrorKind};
use super::pem::{self, Section};

/// Loads a chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1) from PEM.
///
/// `chain_what` and `key_what` name the inputs in error details (a path or "chain PEM").
/// Fails with `BadPem` when the chain has no usable certificate, `BadKey` when the key is
/// missing or unusable, `KeyMismatch` when the key is not the leaf's.
pub(crate) fn load(
    chain_pem: &[u8],
    chain_what: &str,
    key_pem: &[u8],
    key_what: &str,
) -> Result<Arc<CertifiedKey>, Error> {
    let chain: Vec<CertificateDer<'static>> = pem::sections(chain_pem, chain_what)?
        .into_iter()
        .filter(|s| s.kind == SectionKind::Certificate)
        .map(|s| CertificateDer::from(s.der))
        .collect();
    if chain.is_empty() {
        return Err(Error::new(
            ErrorKind::BadPem,
            format!("{chain_what} contains no CERTIFICATE block"),
        ));
    }

    // Whatever is wrong with the key input (empty, not PEM, no key in it) is a key problem.
    let key_der = pem::sections(key_pem, key_what)
        .map_err(|e| Error::new(ErrorKind::BadKey, e.detail()))?
        .into_iter()
        .find_map(private_key)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::BadKey,
                format!(
                    "{key_what} contains no private key (expected a PRIVATE KEY, \
                     RSA PRIVATE KEY or EC PRIVATE KEY block)"
                ),
            )
        })?;
    let signing_key = super::provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| {
            Error::new(
                ErrorKind::BadKey,
                format!(
                    "the private key in {key_what} is malformed or of an unsupported type: {e}"
                ),
            )
        })?;

    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(Error::new(
                ErrorKind::KeyMismatch,
                format!(
                    "the private key in {key_what} does not match the first certificate in {chain_what}"
                ),
            ))
        }
        Err(e) => Err(Error::new(
            ErrorKind::BadPem,
            format!("the first certificate in {chain_what} cannot be parsed: {e}"),
        )),
    }
}

/// Reads the chain and key files, then loads them as [`load`] does.
pub(crate) fn load_files(chain_path: &str, key_path: &str) -> Result<Arc<CertifiedKey>, Error> {
    let chain = pem::read_file(chain_path)?;
    let key = pem::read_file(key_path)?;
    load(&chain, chain_path, &key, key_path)
}

fn private_key(section: Section) -> Option<PrivateKeyDer<'static>> {
    let der = section.der;
    Some(match section.kind {
        SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(der.into()),
        SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
        SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
        _ => return None,
    })
}
