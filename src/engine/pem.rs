//! PEM input: every block of a buffer or file, with errors that name the input.

use std::io::Read;
use std::path::Path;

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

/// The largest file the loaders read. Certificate bundles, keys and CRLs are far smaller; a
/// larger "file" is a mistake (a device like /dev/zero, a disk image) that would otherwise
/// take memory until the process dies.
pub(crate) const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

/// The whole content of the file at `path`, at most [`MAX_FILE_LEN`] bytes (`File` beyond).
pub(crate) fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>, Error> {
    let path = path.as_ref();
    let shown = path.to_string_lossy();
    let file = std::fs::File::open(path).map_err(|e| Error::from_file(&shown, &e))?;
    let mut content = Vec::new();
    // One byte past the limit tells a file at the limit from a longer one.
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut content)
        .map_err(|e| Error::from_file(&shown, &e))?;
    if content.len() as u64 > MAX_FILE_LEN {
        return Err(Error::new(
            ErrorKind::File,
            format!(
                "{shown} is longer than {} MiB, the most embertls reads from a certificate, key or CRL file",
                MAX_FILE_LEN >> 20
            ),
        ));
    }
    Ok(content)
}
