//! The certificates every peer loads, generated once per run into a temporary directory:
//!
//! - `ecdsa.pem` / `ecdsa.key`: a P-256 leaf for localhost and 127.0.0.1, then its P-256
//!   intermediate, under a P-256 root;
//! - `rsa.pem` / `rsa.key`: the same with RSA-2048 keys throughout (root, intermediate and
//!   leaf), signed with SHA-256;
//! - `ca.pem`: both roots.
//!
//! Keys are PKCS#8. ring cannot make RSA keys, so those come from `openssl genpkey`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// The directory of the run's certificates, removed when dropped.
pub struct Pki {
    dir: PathBuf,
    keep: bool,
}

impl Pki {
    /// Generates the files in a new directory under the system's temporary directory.
    /// `keep`: leave it in place afterwards (to run a peer by hand, e.g. under perf).
    pub fn generate(keep: bool) -> Result<Pki, String> {
        let dir = std::env::temp_dir().join(format!("embertls-bench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let pki = Pki { dir, keep };
        let ecdsa = || KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err);
        let (ecdsa_root, ecdsa_chain) = pki.hierarchy("ECDSA", ecdsa()?, ecdsa()?, ecdsa()?)?;
        let (rsa_root, rsa_chain) = pki.hierarchy("RSA", rsa_key()?, rsa_key()?, rsa_key()?)?;
        pki.write("ca.pem", &format!("{ecdsa_root}{rsa_root}"))?;
        pki.write("ecdsa.pem", &ecdsa_chain.0)?;
        pki.write("ecdsa.key", &ecdsa_chain.1)?;
        pki.write("rsa.pem", &rsa_chain.0)?;
        pki.write("rsa.key", &rsa_chain.1)?;
        Ok(pki)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Root, intermediate and leaf with the three keys given; returns the root's PEM and
    /// the (chain, leaf key) PEMs.
    fn hierarchy(
        &self,
        kind: &str,
        root_key: KeyPair,
        ica_key: KeyPair,
        leaf_key: KeyPair,
    ) -> Result<(String, (String, String)), String> {
        let root_params = ca_params(&format!("embertls bench {kind} root"));
        let root_pem = root_params.self_signed(&root_key).map_err(err)?.pem();
        let root = Issuer::new(root_params, root_key);

        let ica_params = ca_params(&format!("embertls bench {kind} intermediate"));
        let ica_pem = ica_params.signed_by(&ica_key, &root).map_err(err)?.pem();
        let ica = Issuer::new(ica_params, ica_key);

        let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(err)?;
        leaf.distinguished_name = name("localhost");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (leaf.not_before, leaf.not_after) = validity();
        let leaf_pem = leaf.signed_by(&leaf_key, &ica).map_err(err)?.pem();
        Ok((
            root_pem,
            (format!("{leaf_pem}{ica_pem}"), leaf_key.serialize_pem()),
        ))
    }

    fn write(&self, name: &str, contents: &str) -> Result<(), String> {
        fs::write(self.dir.join(name), contents).map_err(|e| format!("write {name}: {e}"))
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn err(e: rcgen::Error) -> String {
    format!("generating certificates: {e}")
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn validity() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(30))
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.not_before, params.not_after) = validity();
    params
}

fn rsa_key() -> Result<KeyPair, String> {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .map_err(|e| format!("run openssl genpkey: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl genpkey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let pem = String::from_utf8(out.stdout).map_err(|_| "openssl genpkey wrote non-UTF-8")?;
    KeyPair::from_pem(&pem).map_err(err)
}
