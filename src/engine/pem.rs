//! PEM input: every block of a buffer or file, with errors that name the input.

use rustls::pki_types::pem::{PemObject, SectionKind};

use super::error::{Error, ErrorKind};

/// One PEM block: its label and its DER body.
pub(crate) struct Section {
    pub(crate) kind: SectionKind,
    pub(crate) der: Vec<u8>,
}

impl PemObject for Section {
    fn from_pem(kind: SectionKind, der: Vec<u8>) -> Option<Self> {
        Some(Self { kind, der })
    }
}

/// All PEM blocks of `pem`, which is described as `what` in error details.
///
/// Empty input, malformed PEM and input without a single PEM block are all `BadPem`,
/// so a caller never mistakes a wrong file for an empty list.
pub(crate) fn sections(pem: &[u8], what: &str) -> Result<Vec<Section>, Error> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(ErrorKind::BadPem, format!("{what} is empty")));
    }
    let sections = Section::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::new(ErrorKind::BadPem, format!("{what} is not valid PEM: {e}")))?;
    if sections.is_empty() {
        return Err(Error::new(
            ErrorKind::BadPem,
            format!("{what} contains no PEM block (a \"-----BEGIN ...-----\" line)"),
        ));
    }
    Ok(sections)
}

/// The whole content of the file at `path`.
pub(crate) fn read_file(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::from_file(path, &e))
}
