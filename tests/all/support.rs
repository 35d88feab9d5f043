//! Helpers shared by the integration tests (and by `examples/demo.rs`): the generated test
//! PKI, C programs compiled against the library cargo just built, and child processes that
//! can neither outlive nor hang a test.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

/// Upper bound for every wait on a peer: a hung peer fails its test instead of hanging CI.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Locks a mutex even if a panicking test poisoned it: the data behind our locks (caches,
/// collected output) stays consistent whatever panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------
// Test PKI
// ---------------------------------------------------------------------------------------

/// A directory of certificates, keys and CRLs, removed when the value is dropped.
///
/// One hierarchy is trusted: `ca.pem` (root) → `intermediate.pem` → leaves. Each chain
/// `X.pem` is the leaf then its intermediate, with `X-leaf.pem` (the leaf alone, for
/// `openssl s_server -cert` with `-cert_chain`) and `X.key` (PKCS#8). Leaves are valid for
/// localhost and 127.0.0.1 with both server and client EKUs unless said otherwise:
///
/// - `ecdsa-p256` (also `-sec1.key`), `ecdsa-p384`, `ed25519` (PKCS#8 v1, as OpenSSL and
///   GnuTLS read it), `rsa` (also `-pkcs1.key`);
/// - `expired`, `notyet`, `wronghost` (only other.example), `badsig` (leaf signature
///   altered), `unknown-ca` (under `unknown-intermediate.pem`, from an untrusted root);
/// - `clientonly` (client-auth EKU only), `serveronly` (server-auth EKU only);
/// - `selfsigned` (a self-signed end-entity certificate, no chain);
/// - `revoked` (serial 0e:b0:01, revoked by the intermediate's CRL), and `revoked-ica`,
///   a leaf under `revoked-intermediate.pem` (serial 0e:b0:02), which the root's CRL
///   revokes;
/// - `p521`: a leaf signed by `p521-ca.pem`, a root with a P-521 key (a signature
///   algorithm ring does not implement).
///
/// CRLs: `crl-intermediate.pem` (and `.der`; revokes `revoked`, key compromise),
/// `crl-root.pem` (revokes the revoked intermediate, CA compromise),
/// `crl-revoked-intermediate.pem` (from the revoked intermediate, empty),
/// `crl-intermediate-expired.pem` (empty, nextUpdate yesterday), and `crls.pem` with the
/// first three.
pub struct Pki {
    dir: PathBuf,
}

/// The names of every leaf but "wronghost".
const LOCAL: &[&str] = &["localhost", "127.0.0.1"];

/// A CA that can sign, plus its certificate in PEM.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// Which leaves a generated PKI contains.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every file of the contract; needs the `openssl` CLI (RSA keys, PKCS#1 and SEC1 forms).
    Full,
    /// `ca.pem` and the `ecdsa-p256` chain only, made in-process.
    Basic,
}

impl Pki {
    /// Generates every file of the test-PKI contract. Needs the `openssl` command.
    ///
    /// Also the root in other forms, for the trust-store loaders: `ca.der` (the root as
    /// DER) and `roots/`, laid out like a system certificate directory: `ca.pem`, a hashed
    /// link to it (`5d8f3a1c.0`, the same root again), `unknown-ca.pem` (the untrusted
    /// hierarchy's intermediate, a second CA; its root is not kept), three files that give
    /// no certificate (`empty.pem`, `garbage.txt`, and `not-a-cert.pem` whose CERTIFICATE
    /// block is not a certificate) and a subdirectory `subdir/` holding `intermediate.pem`,
    /// which a non-recursive loader never sees.
    pub fn generate() -> Pki {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;

        let pki = Pki::build(Scope::Full);
        let root = CertificateDer::from_pem_file(pki.path("ca.pem")).expect("ca.pem is PEM");
        fs::write(pki.dir.join("ca.der"), root.as_ref()).expect("write ca.der");
        fs::create_dir_all(pki.dir.join("roots/subdir")).expect("create roots/subdir");
        let copy = |from: &str, to: &str| {
            fs::copy(pki.path(from), pki.dir.join(to)).unwrap_or_else(|e| panic!("copy {to}: {e}"))
        };
        copy("ca.pem", "roots/ca.pem");
        copy("unknown-intermediate.pem", "roots/unknown-ca.pem");
        copy("intermediate.pem", "roots/subdir/intermediate.pem");
        std::os::unix::fs::symlink("ca.pem", pki.dir.join("roots/5d8f3a1c.0"))
            .expect("link roots/5d8f3a1c.0");
        pki.write("roots/empty.pem", "");
        pki.write(
            "roots/garbage.txt",
            "this is not PEM\njust some words in a file\n",
        );
        pki.write(
            "roots/not-a-cert.pem",
            &pem_block("CERTIFICATE", b"this is not a certificate"),
        );
        pki
    }

    /// Generates `ca.pem` and the `ecdsa-p256` chain and key only, without any external
    /// tool (the demo needs nothing but cargo and a C compiler).
    pub fn generate_basic() -> Pki {
        Pki::build(Scope::Basic)
    }

    /// A full PKI shared by the tests that run at the same time. RSA key generation is the
    /// slow part, so concurrent tests reuse one directory; it is removed once the last
    /// holder drops it, and the next caller generates a fresh one.
    pub fn shared() -> Arc<Pki> {
        static SHARED: Mutex<Weak<Pki>> = Mutex::new(Weak::new());
        let mut slot = lock(&SHARED);
        if let Some(pki) = slot.upgrade() {
            return pki;
        }
        let pki = Arc::new(Pki::generate());
        *slot = Arc::downgrade(&pki);
        pki
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of one file of the PKI, e.g. `pki.path("ca.pem")`. Panics if there is no such
    /// file, so a typo fails loudly instead of testing a missing-file error by accident.
    pub fn path(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(
            path.is_file(),
            "the test PKI has no file {name} (in {})",
            self.dir.display()
        );
        path
    }

    /// [`Pki::path`] as a `String`, for command-line arguments.
    pub fn arg(&self, name: &str) -> String {
        self.path(name)
            .to_str()
            .expect("temp dir path is UTF-8")
            .to_owned()
    }

    fn build(scope: Scope) -> Pki {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "embertls-pki-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by an earlier process that had the same pid.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create PKI directory");
        let pki = Pki { dir };
        pki.populate(scope);
        pki
    }

    fn populate(&self, scope: Scope) {
        let root = Ca::root("embertls test root");
        let intermediate = Ca::intermediate("embertls test intermediate", &root);
        self.write("ca.pem", &root.pem);
        self.write("intermediate.pem", &intermediate.pem);

        let p256 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        self.leaf("ecdsa-p256", &p256, LOCAL, Validity::Current, &intermediate);
        if scope == Scope::Basic {
            return;
        }

        self.convert_key(
            "ecdsa-p256.key",
            "ecdsa-p256-sec1.key",
            &["ec"],
            "EC PRIVATE KEY",
        );

        let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("P-384 key");
        self.leaf("ecdsa-p384", &p384, LOCAL, Validity::Current, &intermediate);

        let ed25519 = openssl_ed25519_key();
        self.leaf("ed25519", &ed25519, LOCAL, Validity::Current, &intermediate);

        let rsa = openssl_rsa_key();
        self.leaf("rsa", &rsa, LOCAL, Validity::Current, &intermediate);
        self.convert_key(
            "rsa.key",
            "rsa-pkcs1.key",
            &["rsa", "-traditional"],
            "RSA PRIVATE KEY",
        );

        let key = || KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        self.leaf("expired", &key(), LOCAL, Validity::Expired, &intermediate);
        self.leaf("notyet", &key(), LOCAL, Validity::NotYet, &intermediate);
        self.leaf(
            "wronghost",
            &key(),
            &["other.example"],
            Validity::Current,
            &intermediate,
        );

        let other_root = Ca::root("embertls untrusted root");
        let other_intermediate = Ca::intermediate("embertls untrusted intermediate", &other_root);
        self.write("unknown-intermediate.pem", &other_intermediate.pem);
        self.leaf(
            "unknown-ca",
            &key(),
            LOCAL,
            Validity::Current,
            &other_intermediate,
        );

        let badsig = self.leaf("badsig", &key(), LOCAL, Validity::Current, &intermediate);
        // The last byte of a certificate is the last byte of its signature BIT STRING
        // (for ECDSA, of the INTEGER s): flipping it keeps the DER well formed and the
        // certificate parseable, only the signature stops verifying.
        let mut der = badsig.der().to_vec();
        *der.last_mut().expect("non-empty DER") ^= 0x01;
        let altered = pem_block("CERTIFICATE", &der);
        self.write("badsig-leaf.pem", &altered);
        self.write("badsig.pem", &format!("{altered}{}", intermediate.pem));

        self.write(
            "garbage.pem",
            "this is not PEM\njust some words in a file\n",
        );
        self.write("empty.pem", "");

        self.leaf_with("clientonly", &key(), &intermediate, |params| {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        });
        self.leaf_with("serveronly", &key(), &intermediate, |params| {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        });
        self.self_signed_leaf("selfsigned", &key());
        self.revocation(&root, &intermediate, &key);
        self.p521();
    }

    /// The revoked leaf and intermediate, and the CRLs (see [`Pki`]).
    fn revocation(&self, root: &Ca, intermediate: &Ca, key: &dyn Fn() -> KeyPair) {
        const REVOKED_LEAF: [u8; 3] = [0x0e, 0xb0, 0x01];
        const REVOKED_INTERMEDIATE: [u8; 3] = [0x0e, 0xb0, 0x02];
        self.leaf_with("revoked", &key(), intermediate, |params| {
            params.serial_number = Some(SerialNumber::from_slice(&REVOKED_LEAF));
        });
        let revoked_ca = Ca::intermediate_with("embertls revoked intermediate", root, |params| {
            params.serial_number = Some(SerialNumber::from_slice(&REVOKED_INTERMEDIATE));
        });
        self.write("revoked-intermediate.pem", &revoked_ca.pem);
        self.leaf_with("revoked-ica", &key(), &revoked_ca, |_| {});

        let now = OffsetDateTime::now_utc();
        let days = time::Duration::days;
        let crl = |issuer: &Ca, revoked: &[([u8; 3], RevocationReason)], next_update| {
            CertificateRevocationListParams {
                this_update: now - days(2),
                next_update,
                crl_number: SerialNumber::from_slice(&[1]),
                issuing_distribution_point: None,
                revoked_certs: revoked
                    .iter()
                    .map(|(serial, reason)| RevokedCertParams {
                        serial_number: SerialNumber::from_slice(serial),
                        revocation_time: now - days(1),
                        reason_code: Some(*reason),
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(&issuer.issuer)
            .expect("sign CRL")
        };
        let current = now + days(30);
        let by_intermediate = crl(
            intermediate,
            &[(REVOKED_LEAF, RevocationReason::KeyCompromise)],
            current,
        );
        let by_root = crl(
            root,
            &[(REVOKED_INTERMEDIATE, RevocationReason::CaCompromise)],
            current,
        );
        let by_revoked_ca = crl(&revoked_ca, &[], current);
        let expired = crl(intermediate, &[], now - days(1));
        let pem = |crl: &rcgen::CertificateRevocationList| crl.pem().expect("CRL as PEM");
        self.write("crl-intermediate.pem", &pem(&by_intermediate));
        fs::write(self.dir.join("crl-intermediate.der"), by_intermediate.der())
            .expect("write crl-intermediate.der");
        self.write("crl-root.pem", &pem(&by_root));
        self.write("crl-revoked-intermediate.pem", &pem(&by_revoked_ca));
        self.write("crl-intermediate-expired.pem", &pem(&expired));
        self.write(
            "crls.pem",
            &format!(
                "{}{}{}",
                pem(&by_intermediate),
                pem(&by_root),
                pem(&by_revoked_ca)
            ),
        );
    }

    /// `p521-ca.pem` and the `p521` leaf it signs, made with the openssl CLI because ring
    /// cannot sign with P-521 (which is the point: embertls cannot verify it either).
    fn p521(&self) {
        let dir = self.dir.display().to_string();
        let script = format!(
            "set -e; cd '{dir}'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes \
                -keyout p521-ca.key -out p521-ca.pem -days 30 -subj '/CN=embertls P-521 root' \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout p521.key -out p521.csr -subj '/CN=localhost'
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > p521.ext
            openssl x509 -req -in p521.csr -CA p521-ca.pem -CAkey p521-ca.key -CAcreateserial \
                -days 30 -sha512 -extfile p521.ext -out p521.pem 2>/dev/null
            rm p521.csr p521.ext p521-ca.key p521-ca.srl"
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "making the P-521 hierarchy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes `NAME.pem` (the certificate alone) and `NAME.key`: a self-signed end-entity
    /// certificate for the local names.
    fn self_signed_leaf(&self, name: &str, key: &KeyPair) {
        let names: Vec<String> = LOCAL.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("valid SAN");
        params.distinguished_name = common_name("embertls self-signed");
        (params.not_before, params.not_after) = Validity::Current.range();
        let cert = params.self_signed(key).expect("self-sign leaf");
        self.write(&format!("{name}.pem"), &cert.pem());
        self.write(&format!("{name}.key"), &key.serialize_pem());
    }

    /// Writes `NAME.pem` (leaf then intermediate), `NAME-leaf.pem` and `NAME.key` (PKCS#8).
    fn leaf(
        &self,
        name: &str,
        key: &KeyPair,
        names: &[&str],
        validity: Validity,
        ca: &Ca,
    ) -> Certificate {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        self.leaf_with(name, key, ca, |params| {
            params.subject_alt_names = CertificateParams::new(names.clone())
                .expect("valid SAN")
                .subject_alt_names;
            params.distinguished_name = common_name(&names[0]);
            (params.not_before, params.not_after) = validity.range();
        })
    }

    /// As [`Pki::leaf`] for a current leaf with the local names, after `tweak` has changed
    /// its parameters.
    fn leaf_with(
        &self,
        name: &str,
        key: &KeyPair,
        ca: &Ca,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> Certificate {
        let names: Vec<String> = LOCAL.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("valid SAN");
        params.distinguished_name = common_name(&names[0]);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        (params.not_before, params.not_after) = Validity::Current.range();
        tweak(&mut params);
        let cert = params.signed_by(key, &ca.issuer).expect("sign leaf");
        self.write(&format!("{name}-leaf.pem"), &cert.pem());
        self.write(&format!("{name}.pem"), &format!("{}{}", cert.pem(), ca.pem));
        self.write(&format!("{name}.key"), &key.serialize_pem());
        cert
    }

    /// Re-encodes a key with `openssl <args>` and checks the PEM label of the result.
    fn convert_key(&self, from: &str, to: &str, args: &[&str], label: &str) {
        let out = Command::new("openssl")
            .args(args)
            .arg("-in")
            .arg(self.path(from))
            .arg("-out")
            .arg(self.dir.join(to))
            .output()
            .expect("run openssl (a test dependency)");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = fs::read_to_string(self.dir.join(to)).expect("read converted key");
        assert!(
            text.starts_with(&format!("-----BEGIN {label}-----")),
            "openssl {args:?} wrote:\n{text}"
        );
    }

    fn write(&self, name: &str, contents: &str) {
        fs::write(self.dir.join(name), contents).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }
}

/// A scratch directory (session files, key files), removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "embertls-{what}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a scratch directory");
        TempDir(dir)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path in the directory (the file need not exist), as a `String` for command lines.
    pub fn arg(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("UTF-8 path").to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Ca {
    fn root(name: &str) -> Ca {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let params = ca_params(name);
        let pem = params.self_signed(&key).expect("self-sign root").pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    fn intermediate(name: &str, parent: &Ca) -> Ca {
        Self::intermediate_with(name, parent, |_| {})
    }

    fn intermediate_with(
        name: &str,
        parent: &Ca,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> Ca {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut params = ca_params(name);
        tweak(&mut params);
        let pem = params
            .signed_by(&key, &parent.issuer)
            .expect("sign intermediate")
            .pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.not_before, params.not_after) = Validity::Current.range();
    params
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

#[derive(Clone, Copy)]
enum Validity {
    Current,
    Expired,
    NotYet,
}

impl Validity {
    fn range(self) -> (OffsetDateTime, OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        let days = time::Duration::days;
        match self {
            Validity::Current => (now - days(1), now + days(365)),
            Validity::Expired => (now - days(60), now - days(30)),
            Validity::NotYet => (now + days(30), now + days(60)),
        }
    }
}

/// ring cannot generate RSA keys, so the RSA leaf key comes from the openssl CLI (PKCS#8).
fn openssl_rsa_key() -> KeyPair {
    openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
}

/// An Ed25519 key from the openssl CLI: PKCS#8 v1, which every peer reads. ring (behind
/// rcgen) writes v2, with the public key, which OpenSSL 3.0 and GnuTLS 3.7 refuse.
fn openssl_ed25519_key() -> KeyPair {
    openssl_key(&["-algorithm", "ED25519"])
}

/// `openssl genpkey ARGS` loaded into rcgen.
fn openssl_key(args: &[&str]) -> KeyPair {
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("run openssl (a test dependency)");
    assert!(
        out.status.success(),
        "openssl genpkey {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).expect("PEM is ASCII");
    KeyPair::from_pem(&pem).expect("load the key into rcgen")
}

/// PEM-encodes DER with 64-column lines, as RFC 7468 asks.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | ((*b as u32) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// `len` pseudo-random bytes from `seed` (splitmix64): the same every run, and not
/// compressible or patterned in a way that could hide a reordering bug.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Building C programs against the library
// ---------------------------------------------------------------------------------------

/// The directory holding the library cargo built for this run: target/<profile>/deps. The
/// test binary lives there and an example one level beside it. Cargo copies the library up
/// to target/<profile> only for `cargo build`, and that copy may be older than this run's.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the executable sits two levels below the target directory")
        .join("deps");
    assert!(
        dir.join("libembertls.so").is_file(),
        "no libembertls.so in {}: run this through cargo, which builds the library first",
        dir.display()
    );
    dir.to_path_buf()
}

/// The public headers (include/embertls.h).
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// Root of the crate, for paths such as examples-c/ and tests/peers/.
pub fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names in packaging/embertls.symbols: the exports the ABI promises.
pub fn committed_symbols() -> BTreeSet<String> {
    let text = fs::read_to_string(manifest_dir().join("packaging").join("embertls.symbols"))
        .expect("packaging/embertls.symbols");
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    // A set would hide a second copy of a name; in order, a diff of the file reads well.
    assert_eq!(
        names, sorted,
        "packaging/embertls.symbols is sorted, each name once"
    );
    names.into_iter().collect()
}

/// Where C test programs are built: target/<profile>/c-tests.
pub fn c_build_dir() -> PathBuf {
    let dir = lib_dir()
        .parent()
        .expect("deps has a parent")
        .join("c-tests");
    fs::create_dir_all(&dir).expect("create the c-tests directory");
    dir
}

/// Compiles `sources` into the program `name` (in target/debug/c-tests/), linked against
/// libembertls.so with an rpath so it runs without LD_LIBRARY_PATH. Each name is compiled
/// once per process; panics with the compiler's output when compilation fails.
pub fn build_c(name: &str, sources: &[&Path]) -> PathBuf {
    build_c_with(name, sources, &[])
}

/// As [`build_c`], with extra compiler and linker flags (`flags`, e.g. sanitizers). A name
/// is always built with the same flags.
pub fn build_c_with(name: &str, sources: &[&Path], flags: &[&str]) -> PathBuf {
    compile("cc", &["-std=c11"], name, sources, flags)
}

/// As [`build_c`] for C++ sources: compiles them with `c++ -std=STD -Wall -Wextra -Werror`
/// (so include/embertls.hpp must compile warning-free in that dialect) into the program
/// `name`, linked against libembertls.so with an rpath. Once per name and process.
pub fn build_cpp(name: &str, std: &str, sources: &[&Path]) -> PathBuf {
    compile("c++", &[&format!("-std={std}")], name, sources, &[])
}

/// What [`build_c_with`] and [`build_cpp`] do: `compiler` with `base_flags` (the dialect),
/// every warning an error, then `flags`.
fn compile(
    compiler: &str,
    base_flags: &[&str],
    name: &str,
    sources: &[&Path],
    flags: &[&str],
) -> PathBuf {
    /// Program name -> (its sources, the executable).
    type Built = HashMap<String, (Vec<PathBuf>, PathBuf)>;
    static BUILT: Mutex<Option<Built>> = Mutex::new(None);
    // Held during compilation, so two tests asking for one program compile it once.
    let mut built = lock(&BUILT);
    let built = built.get_or_insert_with(HashMap::new);
    let sources: Vec<PathBuf> = sources.iter().map(|p| p.to_path_buf()).collect();
    if let Some((srcs, exe)) = built.get(name) {
        assert_eq!(
            srcs, &sources,
            "{name} was built before from different sources"
        );
        return exe.clone();
    }

    let lib = lib_dir();
    let out_dir = c_build_dir();
    let exe = out_dir.join(name);
    // Another process (the demo, a second test run) may be running the old binary: build
    // beside it and rename, which replaces the file without touching the running one.
    let tmp = out_dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut cmd = Command::new(compiler);
    cmd.args(base_flags)
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .args(flags)
        .arg("-I")
        .arg(include_dir())
        .args(&sources)
        .arg("-o")
        .arg(&tmp)
        .arg("-L")
        .arg(&lib)
        .args(["-lembertls", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        // DT_RPATH, searched before LD_LIBRARY_PATH: cargo puts target/<profile> on it for
        // test processes, where a `cargo build` may have left an older libembertls.so.
        .arg("-Wl,--disable-new-dtags");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        panic!(
            "compiling {name} failed: {cmd:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::rename(&tmp, &exe).expect("move the compiled program into place");
    built.insert(name.to_owned(), (sources, exe.clone()));
    exe
}

/// Runs a build tool (make, pkg-config, cmake, cc...) to completion and returns its stdout;
/// panics with everything it printed when it fails. No timeout: a build takes what it takes
/// (a first release build, minutes), and these tools do not wait for peers.
pub fn run_tool(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds examples-c/NAME.c with examples-c/common.c, which all three examples share.
fn build_example(name: &str) -> PathBuf {
    example_with("", name, &[])
}

/// examples-c/NAME.c (with common.c) built with extra `flags` as the program
/// example-NAME-VARIANT (example-NAME for an empty `variant`).
pub fn example_with(variant: &str, name: &str, flags: &[&str]) -> PathBuf {
    let dir = manifest_dir().join("examples-c");
    let source = dir.join(format!("{name}.c"));
    let common = dir.join("common.c");
    let program = match variant {
        "" => format!("example-{name}"),
        _ => format!("example-{name}-{variant}"),
    };
    build_c_with(&program, &[&source, &common], flags)
}

/// examples-c/client.c, built.
pub fn example_client() -> PathBuf {
    build_example("client")
}

/// examples-c/server.c (a thread per connection), built.
pub fn example_server() -> PathBuf {
    build_example("server")
}

/// examples-c/poll_server.c (one thread, poll(), memory mode), built.
pub fn example_poll_server() -> PathBuf {
    build_example("poll_server")
}

/// A Python peer script in tests/peers/.
pub fn peer_script(name: &str) -> PathBuf {
    manifest_dir().join("tests").join("peers").join(name)
}

// ---------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------

/// What a pipe delivered so far, and whether it ended.
#[derive(Default)]
struct PipeData {
    bytes: Vec<u8>,
    ended: bool,
}

/// Everything a pipe has delivered so far, filled by a reader thread.
#[derive(Clone, Default)]
struct Collected(Arc<(Mutex<PipeData>, Condvar)>);

impl Collected {
    fn spawn(mut pipe: impl Read + Send + 'static) -> (Collected, JoinHandle<()>) {
        let collected = Collected::default();
        let sink = collected.clone();
        let handle = thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match pipe.read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    // Any other error ends the stream as EOF would: nothing more will come.
                    result => result.unwrap_or(0),
                };
                let (mutex, cond) = &*sink.0;
                let mut state = lock(mutex);
                if n == 0 {
                    state.ended = true;
                    cond.notify_all();
                    return;
                }
                state.bytes.extend_from_slice(&buf[..n]);
                cond.notify_all();
            }
        });
        (collected, handle)
    }

    /// Waits until the pipe reached EOF; false if the deadline passed first.
    fn wait_eof(&self, deadline: Instant) -> bool {
        self.wait(deadline, |_| false);
        lock(&self.0 .0).ended
    }

    fn snapshot(&self) -> Vec<u8> {
        lock(&self.0 .0).bytes.clone()
    }

    /// Waits until `done(data)` holds or the pipe reached EOF (returns whether `done` held)
    /// or the deadline passed (returns false).
    fn wait(&self, deadline: Instant, done: impl Fn(&[u8]) -> bool) -> bool {
        let (mutex, cond) = &*self.0;
        let mut state = lock(mutex);
        loop {
            if done(&state.bytes) {
                return true;
            }
            let now = Instant::now();
            if state.ended || now >= deadline {
                return false;
            }
            state = cond
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

/// How a child process ended, with all it wrote.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    /// The exit code; panics (with the stderr) if a signal killed the process.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or_else(|| {
            panic!(
                "killed by a signal ({:?}); stderr:\n{}",
                self.status, self.stderr
            )
        })
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A child process with piped stdio: stdin is fed from a thread (so a full pipe never
/// blocks the test), stdout and stderr are collected by threads. Killed if dropped while
/// running, so a failing test leaves no peers behind.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<Sender<Vec<u8>>>,
    stdout: Collected,
    stderr: Collected,
    readers: Vec<JoinHandle<()>>,
}

impl Proc {
    /// Starts `cmd` with all three standard streams piped. `name` is used in messages.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let mut pipe_in = child.stdin.take().expect("piped stdin");
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        // Writes whatever is queued; the pipe closes (EOF for the child) once the sender
        // is dropped. A write error means the child stopped reading, which its exit
        // status and output will explain better than we can here.
        thread::spawn(move || {
            for data in rx {
                if pipe_in.write_all(&data).is_err() {
                    return;
                }
            }
        });
        let (stdout, out_reader) = Collected::spawn(child.stdout.take().expect("piped stdout"));
        let (stderr, err_reader) = Collected::spawn(child.stderr.take().expect("piped stderr"));
        Proc {
            name: name.to_owned(),
            child,
            stdin: Some(tx),
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// The process id (to find its sockets in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Queues bytes for the child's stdin.
    pub fn send(&self, data: impl Into<Vec<u8>>) {
        if let Some(tx) = &self.stdin {
            // Fails only when the writer gave up on a dead child: nothing left to do.
            let _ = tx.send(data.into());
        }
    }

    /// Closes stdin once everything queued has been written (the child sees EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// What the child wrote to stderr so far.
    pub fn stderr_now(&self) -> String {
        String::from_utf8_lossy(&self.stderr.snapshot()).into_owned()
    }

    /// Whether the child has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits until the child's stdout holds at least `n` bytes and returns the first `n`.
    /// Panics (with its stderr) if stdout ends first or on timeout.
    pub fn stdout_exactly(&self, n: usize) -> Vec<u8> {
        if !self.stdout.wait(Instant::now() + TIMEOUT, |d| d.len() >= n) {
            panic!(
                "{}: expected {n} bytes on stdout, got {} (stdout ended or {TIMEOUT:?} passed); stderr:\n{}",
                self.name,
                self.stdout.snapshot().len(),
                self.stderr_now()
            );
        }
        self.stdout.snapshot()[..n].to_vec()
    }

    /// Waits until `needle` occurs `times` times in the child's stdout (among whatever else
    /// it prints). Panics (with its output) if stdout ends first or on timeout.
    pub fn stdout_contains(&self, needle: &[u8], times: usize) {
        let count = |data: &[u8]| count_occurrences(data, needle);
        if !self
            .stdout
            .wait(Instant::now() + TIMEOUT, |d| count(d) >= times)
        {
            panic!(
                "{}: expected {times} time(s) {:?} on stdout, seen {} (stdout ended or {TIMEOUT:?} passed); stdout:\n{}\nstderr:\n{}",
                self.name,
                String::from_utf8_lossy(needle),
                count(&self.stdout.snapshot()),
                String::from_utf8_lossy(&self.stdout.snapshot()),
                self.stderr_now()
            );
        }
    }

    /// Waits for a complete stdout line that `pick` maps to a value.
    pub fn stdout_line<T>(&self, pick: impl Fn(&str) -> Option<T>) -> T {
        self.line(&self.stdout, "stdout", pick)
    }

    /// Waits for a complete stderr line that `pick` maps to a value.
    pub fn stderr_line<T>(&self, pick: impl Fn(&str) -> Option<T>) -> T {
        self.line(&self.stderr, "stderr", pick)
    }

    fn line<T>(&self, stream: &Collected, which: &str, pick: impl Fn(&str) -> Option<T>) -> T {
        let find = |data: &[u8]| {
            let text = String::from_utf8_lossy(data);
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            complete.lines().find_map(&pick)
        };
        if !stream.wait(Instant::now() + TIMEOUT, |d| find(d).is_some()) {
            panic!(
                "{}: the expected {which} line never came; stdout:\n{}\nstderr:\n{}",
                self.name,
                String::from_utf8_lossy(&self.stdout.snapshot()),
                self.stderr_now()
            );
        }
        find(&stream.snapshot()).expect("line was found")
    }

    /// Closes stdin and waits for the child to exit and its output to end. On timeout it
    /// kills the child and panics with what it wrote.
    pub fn finish(mut self) -> Finished {
        self.close_stdin();
        self.wait_for_exit()
    }

    /// Waits for the child to exit on its own, stdin left open (a child that must notice
    /// something without being told by an EOF). On timeout it kills the child and panics
    /// with what it wrote.
    pub fn wait_for_exit(mut self) -> Finished {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "{} did not exit within {TIMEOUT:?} (killed); stdout: {} bytes; stderr:\n{}",
                        self.name,
                        self.stdout.snapshot().len(),
                        self.stderr_now()
                    );
                }
                Err(e) => panic!("waiting for {}: {e}", self.name),
            }
        };
        self.close_stdin();
        // A grandchild holding the pipes open would keep them from ending: wait for the
        // output only until the deadline, and join the readers only once it has ended.
        if self.stdout.wait_eof(deadline) && self.stderr.wait_eof(deadline) {
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        Finished {
            status,
            stdout: self.stdout.snapshot(),
            stderr: String::from_utf8_lossy(&self.stderr.snapshot()).into_owned(),
        }
    }
}

impl Proc {
    /// Ends a child that would run forever (a server without a connection limit): kills
    /// it and returns what it wrote. The status is the signal's.
    pub fn kill(mut self) -> Finished {
        let _ = self.child.kill();
        self.wait_for_exit()
    }
}

/// How many times `needle` (not empty) occurs in `data`, overlaps not counted.
pub fn count_occurrences(data: &[u8], needle: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while let Some(found) = data[at..]
        .windows(needle.len())
        .position(|window| window == needle)
    {
        count += 1;
        at += found + needle.len();
    }
    count
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a program to completion with `input` on stdin.
pub fn run(name: &str, cmd: Command, input: &[u8]) -> Finished {
    let mut proc = Proc::spawn(name, cmd);
    proc.send(input);
    proc.close_stdin();
    proc.finish()
}

// ---------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------

/// A port that was free a moment ago, for peers that cannot bind port 0 and report it
/// (`openssl s_server -quiet` says nothing). Another process may take it before the peer
/// binds: [`spawn_listening`] retries in that case.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Whether process `pid` has a socket listening on 127.0.0.1:`port` (or 0.0.0.0:`port`).
/// Read from /proc so that checking does not use up one of the peer's accepts, as a test
/// connection would (s_server -naccept 1 counts it).
fn listening_inode(pid: u32, port: u16) -> bool {
    let table = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            let (ip, p) = local.split_once(':')?;
            let listens = *state == "0A" && u16::from_str_radix(p, 16).ok()? == port;
            (listens && (ip == "0100007F" || ip == "00000000")).then(|| format!("socket:[{inode}]"))
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .any(|target| {
            inodes
                .iter()
                .any(|inode| target.as_os_str() == inode.as_str())
        })
}

/// Starts a peer that listens on a port we pick (`make(port)` builds its command) and
/// waits until it listens. If it exits first (the port was taken meanwhile) it is tried
/// again on another port.
pub fn spawn_listening(name: &str, make: impl Fn(u16) -> Command) -> (Proc, u16) {
    let mut failures = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut proc = Proc::spawn(name, make(port));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if listening_inode(proc.pid(), port) {
                return (proc, port);
            }
            if proc.has_exited() {
                let out = proc.finish();
                failures.push_str(&format!("port {port}: {:?}: {}\n", out.status, out.stderr));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {port} within {TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
    panic!("{name} could not listen:\n{failures}");
}

// ---------------------------------------------------------------------------------------
// The C examples
// ---------------------------------------------------------------------------------------

/// The two echo servers of examples-c/.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// server.c: a thread per connection, blocking fd mode.
    Threaded,
    /// poll_server.c: one thread, poll(), memory mode.
    Poll,
}

/// One of our example servers, listening.
pub struct EmberServer {
    proc: Proc,
    pub port: u16,
}

impl EmberServer {
    /// Starts the server on 127.0.0.1 port 0 with `cert`/`key`, serving `max_conns`
    /// connections and then exiting; `extra` are further options (`--tls12`, ...).
    pub fn start(
        kind: ServerKind,
        cert: &Path,
        key: &Path,
        extra: &[&str],
        max_conns: usize,
    ) -> EmberServer {
        let (exe, name) = match kind {
            ServerKind::Threaded => (example_server(), "examples-c/server"),
            ServerKind::Poll => (example_poll_server(), "examples-c/poll_server"),
        };
        EmberServer::spawn(
            name,
            EmberServer::command(&exe, cert, key, extra, max_conns),
        )
    }

    /// The command line [`EmberServer::start`] runs, for a server program built another way
    /// (with sanitizers, say): 127.0.0.1 port 0, which [`EmberServer::spawn`] expects.
    pub fn command(
        exe: &Path,
        cert: &Path,
        key: &Path,
        extra: &[&str],
        max_conns: usize,
    ) -> Command {
        let mut cmd = Command::new(exe);
        cmd.args(["--listen", "127.0.0.1:0", "--cert"])
            .arg(cert)
            .arg("--key")
            .arg(key)
            .args(extra)
            .args(["--max-conns", &max_conns.to_string()]);
        cmd
    }

    /// Starts `cmd` (`name` in messages) and waits until it says which port it listens on.
    pub fn spawn(name: &str, cmd: Command) -> EmberServer {
        let proc = Proc::spawn(name, cmd);
        let port = proc.stdout_line(|line| {
            line.strip_prefix("listening on 127.0.0.1:")?
                .trim()
                .parse()
                .ok()
        });
        EmberServer { proc, port }
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's process id (to find the workers `server --fork` starts).
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Waits for the server to exit (it does after `max_conns` connections).
    pub fn finish(self) -> Finished {
        self.proc.finish()
    }
}

/// Runs examples-c/client with `args`, sending `input`, until it exits.
pub fn run_client<S: AsRef<OsStr>>(args: &[S], input: &[u8]) -> Finished {
    run("examples-c/client", client_command(args), input)
}

/// The examples-c/client command line, for tests that drive its stdin themselves.
pub fn client_command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(example_client());
    cmd.args(args);
    cmd
}

/// The `key=value` fields of one summary line the examples print after a handshake:
/// `embertls: version=TLSv1.3 suite=... group=... server_name=... [handshake_ms=...]`.
pub struct Summary(HashMap<String, String>);

impl Summary {
    /// A field; panics if the line had no such field.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("summary has no {key}: {:?}", self.0))
    }

    /// A field that only some lines have (`client_certs`, `exporter`).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Every summary line in an example's stderr, in order.
pub fn summaries(stderr: &str) -> Vec<Summary> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("embertls: "))
        .filter(|rest| rest.starts_with("version="))
        .map(|rest| {
            Summary(
                rest.split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )
        })
        .collect()
}

/// The single summary line of a one-connection run.
pub fn only_summary(stderr: &str) -> Summary {
    let mut all = summaries(stderr);
    assert_eq!(all.len(), 1, "expected one handshake summary in:\n{stderr}");
    all.pop().expect("one summary")
}

/// Lines of an example's stderr that are not handshake summaries: errors and warnings.
pub fn non_summary_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| !line.starts_with("embertls: version="))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Driving the example client and real peers
// ---------------------------------------------------------------------------------------

/// Our client's options to reach `addr` and verify it as "localhost" against ca.pem,
/// then `extra`.
pub fn client_args(pki: &Pki, addr: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["--connect", addr, "--servername", "localhost", "--ca"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(pki.arg("ca.pem"));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs our client as [`client_args`] says, sending `data`.
pub fn client_to(pki: &Pki, addr: &str, extra: &[&str], data: &[u8]) -> Finished {
    run_client(&client_args(pki, addr, extra), data)
}

/// A clean run of one of our programs (`who`): exit 0, `n` summaries and nothing else on
/// stderr (for a server: every client ended with close_notify and got ours).
pub fn clean_summaries(out: &Finished, who: &str, n: usize) -> Vec<Summary> {
    assert_eq!(out.code(), 0, "{who} failed; stderr:\n{}", out.stderr);
    assert!(
        non_summary_lines(&out.stderr).is_empty(),
        "{who} complained:\n{}",
        out.stderr
    );
    let all = summaries(&out.stderr);
    assert_eq!(all.len(), n, "{who} stderr:\n{}", out.stderr);
    all
}

/// A clean run of our client, one connection: its summary.
pub fn assert_client_ok(out: &Finished) -> Summary {
    clean_summaries(out, "client", 1).remove(0)
}

/// A clean run of our server that served `conns` connections: their summaries.
pub fn assert_server_ok(out: &Finished, conns: usize) -> Vec<Summary> {
    clean_summaries(out, "server", conns)
}

/// `openssl s_server -quiet` for one connection: what it receives goes to its stdout, what
/// it reads from its stdin goes to the client.
pub struct OpensslServer {
    pub proc: Proc,
    pub port: u16,
}

impl OpensslServer {
    /// Serves the chain `NAME.pem` / `NAME.key` of the PKI. s_server reads only the first
    /// certificate of `-cert`, so the leaf comes from `NAME-leaf.pem` and its issuing CA
    /// through `-cert_chain`.
    pub fn start(pki: &Pki, name: &str, extra: &[&str]) -> OpensslServer {
        let issuer = match name {
            "unknown-ca" => "unknown-intermediate.pem",
            "revoked-ica" => "revoked-intermediate.pem",
            _ => "intermediate.pem",
        };
        OpensslServer::serve(
            &pki.path(&format!("{name}-leaf.pem")),
            Some(&pki.path(issuer)),
            &pki.path(&format!("{name}.key")),
            extra,
        )
    }

    /// Serves the first certificate of `cert`, followed by those of `chain` (none when
    /// None), with `key`; `extra` are further s_server options.
    pub fn serve(cert: &Path, chain: Option<&Path>, key: &Path, extra: &[&str]) -> OpensslServer {
        let mut all = vec!["-quiet", "-naccept", "1"];
        all.extend(extra);
        OpensslServer::launch(cert, chain, key, &all)
    }

    /// As [`OpensslServer::start`] without `-quiet` or `-naccept 1`: s_server reports each
    /// connection on stdout (session, cipher, shared groups, "Reused session-id", the
    /// client's certificate) among the data it receives. Its stdin lines are sent to the
    /// client, but some (a lone "Q", "r", "k"...) are commands, and stdin EOF stops it.
    pub fn start_verbose(pki: &Pki, name: &str, extra: &[&str]) -> OpensslServer {
        OpensslServer::launch(
            &pki.path(&format!("{name}-leaf.pem")),
            Some(&pki.path("intermediate.pem")),
            &pki.path(&format!("{name}.key")),
            extra,
        )
    }

    fn launch(cert: &Path, chain: Option<&Path>, key: &Path, extra: &[&str]) -> OpensslServer {
        let (proc, port) = spawn_listening("openssl s_server", |port| {
            let mut cmd = Command::new("openssl");
            // stdin stays an open pipe (Proc): s_server ends the connection on stdin EOF.
            cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
                .arg("-cert")
                .arg(cert);
            if let Some(chain) = chain {
                cmd.arg("-cert_chain").arg(chain);
            }
            cmd.arg("-key").arg(key).args(extra);
            cmd
        });
        OpensslServer { proc, port }
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// s_client verifying the server against ca.pem and "localhost" (SNI too); `-quiet` keeps
/// stdout for data only, `-brief` reports the handshake on stderr, and `-no_ign_eof
/// -nocommands` make stdin EOF send close_notify and nothing in the data a command.
pub fn s_client(pki: &Pki, addr: &str, extra: &[&str]) -> Proc {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-quiet",
        "-brief",
        "-no_ign_eof",
        "-nocommands",
        "-connect",
        addr,
    ])
    .args([
        "-servername",
        "localhost",
        "-verify_hostname",
        "localhost",
        "-verify_return_error",
    ])
    .arg("-CAfile")
    .arg(pki.path("ca.pem"))
    .args(extra);
    Proc::spawn("openssl s_client", cmd)
}

/// tests/peers/echo_server.py serving `conns` connections.
pub struct PythonServer {
    pub proc: Proc,
    pub port: u16,
}

impl PythonServer {
    /// Serves the chain `NAME.pem` / `NAME.key`; `extra` are further options of the script.
    pub fn start(pki: &Pki, name: &str, extra: &[&str], conns: usize) -> PythonServer {
        let mut cmd = Command::new("python3");
        cmd.arg(peer_script("echo_server.py"))
            .arg("--cert")
            .arg(pki.path(&format!("{name}.pem")))
            .arg("--key")
            .arg(pki.path(&format!("{name}.key")))
            .args(["--conns", &conns.to_string()])
            .args(extra);
        let proc = Proc::spawn("tests/peers/echo_server.py", cmd);
        let port = proc.stdout_line(|line| line.trim().parse().ok());
        PythonServer { proc, port }
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// `key=value` pairs of lines starting with `prefix` (the Python peers' reports).
pub fn key_values(text: &str, prefix: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// Runs tests/peers/echo_client.py against `addr`, verifying it as "localhost" against
/// ca.pem, with the further options `extra` (`--version tls13`, `--cert`...), sending
/// `data`; returns its report after checking that everything came back.
pub fn python_echo_client(
    pki: &Pki,
    addr: &str,
    extra: &[&str],
    data: &[u8],
) -> HashMap<String, String> {
    python_echo_client_reports(pki, addr, extra, data)
        .pop()
        .expect("one report at least")
}

/// As [`python_echo_client`], returning the report of each connection it made (two with
/// `--resume`), each checked for the whole echo of `data`.
pub fn python_echo_client_reports(
    pki: &Pki,
    addr: &str,
    extra: &[&str],
    data: &[u8],
) -> Vec<HashMap<String, String>> {
    let mut cmd = Command::new("python3");
    cmd.arg(peer_script("echo_client.py"))
        .args(["--connect", addr, "--servername", "localhost"])
        .arg("--ca")
        .arg(pki.path("ca.pem"))
        .args(extra);
    let mut proc = Proc::spawn("tests/peers/echo_client.py", cmd);
    proc.send(data);
    proc.close_stdin();
    let out = proc.finish();
    assert_eq!(out.code(), 0, "python client failed:\n{}", out.stderr);
    // One block of key=value lines per connection, separated by an empty line.
    let text = out.stdout_text();
    let reports: Vec<HashMap<String, String>> = text
        .split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect();
    for report in &reports {
        assert_eq!(report["received"], data.len().to_string(), "{text}");
        assert_eq!(
            report["sha256"],
            sha256_hex(data),
            "what came back to the python client"
        );
    }
    reports
}

// ---------------------------------------------------------------------------------------
// GnuTLS
// ---------------------------------------------------------------------------------------

/// A preload library that makes a server listen on 127.0.0.1 only, on a port the OS
/// picks, and says which: gnutls-serv has no option for its address and binds every
/// address of the host (IPv4 and IPv6) on the port it is given. Its `bind()` puts
/// 127.0.0.1 port 0 in any IPv4 address, refuses IPv6 ones (gnutls-serv goes on without
/// them), and its `listen()` prints `embertls-test: bound 127.0.0.1:PORT` on a line of its
/// own to stderr once the socket listens. It also makes stdout line-buffered, so what the server reports about each
/// connection can be read as it happens.
const LOOPBACK_BIND_C: &str = r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

__attribute__((constructor)) static void line_buffered_stdout(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int (*real_bind)(int, const struct sockaddr *, socklen_t);
    struct sockaddr_in lo;

    *(void **)&real_bind = dlsym(RTLD_NEXT, "bind");
    if (addr->sa_family == AF_INET6) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    if (addr->sa_family != AF_INET || len < sizeof lo)
        return real_bind(fd, addr, len);
    memcpy(&lo, addr, sizeof lo);
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lo.sin_port = 0;
    return real_bind(fd, (const struct sockaddr *)&lo, sizeof lo);
}

/* The port is announced once the socket listens: announced at bind, a client could connect
 * before listen() and be refused. */
int listen(int fd, int backlog)
{
    int (*real_listen)(int, int);
    struct sockaddr_in lo;
    socklen_t n = sizeof lo;

    *(void **)&real_listen = dlsym(RTLD_NEXT, "listen");
    if (real_listen(fd, backlog) != 0)
        return -1;
    if (getsockname(fd, (struct sockaddr *)&lo, &n) == 0 && lo.sin_family == AF_INET)
        fprintf(stderr, "\nembertls-test: bound 127.0.0.1:%u\n", ntohs(lo.sin_port));
    return 0;
}
"#;

/// [`LOOPBACK_BIND_C`] built (once per process) into target/<profile>/c-tests/.
fn loopback_bind_library() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = lock(&BUILT);
    if let Some(lib) = built.as_ref() {
        return lib.clone();
    }
    let dir = c_build_dir();
    let source = dir.join(format!(".loopback-bind.{}.c", std::process::id()));
    let tmp = dir.join(format!(".loopback-bind.{}.so", std::process::id()));
    let lib = dir.join("loopback-bind.so");
    fs::write(&source, LOOPBACK_BIND_C).expect("write the preload source");
    run_tool(
        Command::new("cc")
            .args([
                "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o",
            ])
            .arg(&tmp)
            .arg(&source)
            .arg("-ldl"),
    );
    let _ = fs::remove_file(&source);
    // Renamed into place, as build_c does: another process may have it preloaded.
    fs::rename(&tmp, &lib).expect("move the preload library into place");
    *built = Some(lib.clone());
    lib
}

/// `gnutls-serv --echo` on 127.0.0.1 (see [`LOOPBACK_BIND_C`]). It serves until killed:
/// [`GnutlsServer::stop`] ends it and returns its report of each connection.
pub struct GnutlsServer {
    pub proc: Proc,
    pub port: u16,
}

impl GnutlsServer {
    /// Serves the chain `NAME.pem` / `NAME.key` of the PKI, echoing what clients send;
    /// `extra` are further gnutls-serv options (`--priority`, `--require-client-cert`...).
    pub fn start(pki: &Pki, name: &str, extra: &[&str]) -> GnutlsServer {
        let mut cmd = Command::new("gnutls-serv");
        // The port is required but ignored: the preloaded bind() asks the OS for one.
        cmd.env("LD_PRELOAD", loopback_bind_library())
            .args(["--echo", "--port", "1", "--x509certfile"])
            .arg(pki.path(&format!("{name}.pem")))
            .arg("--x509keyfile")
            .arg(pki.path(&format!("{name}.key")))
            .args(extra);
        let proc = Proc::spawn("gnutls-serv", cmd);
        let port = proc.stderr_line(|line| {
            line.strip_prefix("embertls-test: bound 127.0.0.1:")?
                .trim()
                .parse()
                .ok()
        });
        GnutlsServer { proc, port }
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops the server and returns what it printed: a block per connection on stdout,
    /// each starting with "* Accepted connection from".
    pub fn stop(self) -> Finished {
        self.proc.kill()
    }
}

/// `gnutls-cli` connecting to `addr`, verifying the server against ca.pem as "localhost"
/// (sent as SNI too), then `extra`. Its report and the data it receives share stdout.
pub fn gnutls_cli(pki: &Pki, addr: &str, extra: &[&str]) -> Proc {
    let (host, port) = addr.rsplit_once(':').expect("HOST:PORT");
    let mut cmd = Command::new("gnutls-cli");
    cmd.args(["--port", port, "--sni-hostname", "localhost"])
        .args(["--verify-hostname", "localhost", "--x509cafile"])
        .arg(pki.path("ca.pem"))
        .args(extra)
        .arg(host);
    Proc::spawn("gnutls-cli", cmd)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
/// A TLS version, with the flag or name each program of the tests uses for it.
pub enum Tls {
    /// TLS 1.2.
    V12,
    /// TLS 1.3.
    V13,
}

impl Tls {
    /// As our summaries, s_client and Python name it.
    pub fn name(self) -> &'static str {
        match self {
            Tls::V12 => "TLSv1.2",
            Tls::V13 => "TLSv1.3",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tls::V12 => "TLS 1.2",
            Tls::V13 => "TLS 1.3",
        }
    }

    pub fn ember_flag(self) -> &'static str {
        match self {
            Tls::V12 => "--tls12",
            Tls::V13 => "--tls13",
        }
    }

    pub fn openssl_flag(self) -> &'static str {
        match self {
            Tls::V12 => "-tls1_2",
            Tls::V13 => "-tls1_3",
        }
    }

    pub fn python(self) -> &'static str {
        match self {
            Tls::V12 => "tls12",
            Tls::V13 => "tls13",
        }
    }

    /// GnuTLS' name, in its reports ("- Version: TLS1.3") and priority strings.
    pub fn gnutls(self) -> &'static str {
        match self {
            Tls::V12 => "TLS1.2",
            Tls::V13 => "TLS1.3",
        }
    }
}
