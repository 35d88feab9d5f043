//! The physical limits beside the peers' figures, from `openssl speed` on the same core:
//! what the primitives alone cost, with no TLS around them.
//!
//! - Bulk: each suite's AEAD sealing and opening 16 KiB buffers (`openssl speed -evp
//!   CIPHER -bytes 16384`, and `-decrypt`). Client and server share one core, so every byte
//!   is sealed and opened on it: the limit is 1 / (1/seal + 1/open).
//! - Full handshakes with ECDSA P-256 (TLS 1.3 and 1.2): the server signs once (TLS 1.3
//!   CertificateVerify, TLS 1.2 ServerKeyExchange); the client verifies that signature and
//!   the chain's two (leaf by intermediate, intermediate by root); each side derives one
//!   X25519 secret. Limit: 1 / (1/sign + 3/verify + 2/x25519). Key generation is not
//!   counted (openssl speed does not time it), so the true cost is higher still.
//! - The same with RSA-2048 for the RSA chain.
//! - Resumed TLS 1.3 (psk_dhe_ke): no signature, two X25519 derivations: x25519 / 2.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::procs::{self, Runner};
use crate::report::median;

/// One suite's AEAD speed at 16 KiB, bytes per second.
pub struct Aead {
    /// The bench's suite name (aes128, aes256, chacha).
    pub suite: &'static str,
    /// The EVP cipher openssl speed times.
    pub evp: &'static str,
    pub seal: f64,
    pub open: f64,
}

/// ring's AEAD on 16 KiB buffers (the engine's own), MB/s.
pub struct RingAead {
    pub suite: &'static str,
    pub seal: f64,
    /// Sealing then opening each buffer: both ends of a connection on one core.
    pub pair: f64,
}

/// ring's signature for a handshake with the bench's key (the engine's own), per second.
pub struct RingSign {
    /// The key and the scheme TLS 1.3 signs with, for the report.
    pub name: &'static str,
    pub rate: f64,
}

/// The bench's keys (PKI_DIR/KEY.key) and what they sign with in TLS 1.3.
const SIGNERS: [(&str, &str); 2] = [("ecdsa", "ECDSA P-256"), ("rsa", "RSA-2048 PSS")];

/// Operations per second of each primitive.
pub struct Primitives {
    pub aead: Vec<Aead>,
    pub ring: Vec<RingAead>,
    pub ring_sign: Vec<RingSign>,
    pub x25519: f64,
    pub ecdsa_sign: f64,
    pub ecdsa_verify: f64,
    pub rsa_sign: f64,
    pub rsa_verify: f64,
}

const SUITES: [(&str, &str); 3] = [
    ("aes128", "aes-128-gcm"),
    ("aes256", "aes-256-gcm"),
    ("chacha", "chacha20-poly1305"),
];

/// Runs openssl speed for `seconds` per measurement, and ring's AEAD and signatures (with
/// the keys in `pki`) through the native peer (`native`, for `ring_secs` each), started as
/// the peers are. With `parallel` every
/// openssl invocation starts at once (quick mode: the numbers are then meaningless, only
/// their shape is checked).
pub fn measure(
    runner: Runner,
    native: &Path,
    pki: &Path,
    seconds: u32,
    ring_secs: f64,
    parallel: bool,
) -> Result<Primitives, String> {
    let secs = seconds.to_string();
    let mut invocations: Vec<Vec<String>> = Vec::new();
    for (_, evp) in SUITES {
        for decrypt in [false, true] {
            let mut args = vec![
                "speed", "-mr", "-seconds", &secs, "-bytes", "16384", "-evp", evp,
            ];
            if decrypt {
                args.push("-decrypt");
            }
            invocations.push(args.iter().map(|s| s.to_string()).collect());
        }
    }
    invocations.push(
        [
            "speed",
            "-mr",
            "-seconds",
            &secs,
            "ecdhx25519",
            "ecdsap256",
            "rsa2048",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    let timeout = Duration::from_secs(60 + 10 * u64::from(seconds));
    let run = move |args: Vec<String>| {
        procs::run_ok(runner.command(Path::new("openssl")).args(&args), timeout)
    };
    let outputs: Vec<String> = if parallel {
        let handles: Vec<_> = invocations
            .into_iter()
            .map(|args| thread::spawn(move || run(args)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "an openssl speed thread panicked".to_owned())?
            })
            .collect::<Result<_, _>>()?
    } else {
        invocations.into_iter().map(run).collect::<Result<_, _>>()?
    };

    let mut aead = Vec::new();
    for (i, (suite, evp)) in SUITES.into_iter().enumerate() {
        aead.push(Aead {
            suite,
            evp,
            seal: evp_rate(&outputs[2 * i])?,
            open: evp_rate(&outputs[2 * i + 1])?,
        });
    }
    // One result line of the native peer run with `args`.
    let native_result = |args: &[&str]| -> Result<crate::Line, String> {
        let mut cmd = runner.command(native);
        cmd.arg("native").args(args).arg(ring_secs.to_string());
        let out = procs::run_ok(&mut cmd, timeout)?;
        crate::result_lines(&out)
            .into_iter()
            .next()
            .ok_or_else(|| format!("no result line in:\n{out}"))
    };
    let mut ring = Vec::new();
    for (suite, _) in SUITES {
        let line = native_result(&["aead", suite])?;
        ring.push(RingAead {
            suite,
            seal: crate::field(&line, "seal")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no seal= in the result of ring's {suite}"))?,
            pair: line.value,
        });
    }
    let pki = pki
        .to_str()
        .ok_or("the certificate directory's path is not UTF-8")?;
    let mut ring_sign = Vec::new();
    for (key, name) in SIGNERS {
        let rate = native_result(&["sign", pki, key])?.value;
        ring_sign.push(RingSign { name, rate });
    }
    let pk = &outputs[6];
    let (ecdsa_sign, ecdsa_verify) = two_rates(pk, "+F4:", "256")?;
    let (rsa_sign, rsa_verify) = two_rates(pk, "+F2:", "2048")?;
    let (x25519, _) = two_rates(pk, "+F5:", "253")?;
    Ok(Primitives {
        aead,
        ring,
        ring_sign,
        x25519,
        ecdsa_sign,
        ecdsa_verify,
        rsa_sign,
        rsa_verify,
    })
}

/// "+F:IDX:NAME:BYTES_PER_SEC" of `openssl speed -mr -evp`.
fn evp_rate(out: &str) -> Result<f64, String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("+F:"))
        .find_map(|rest| rest.rsplit(':').next()?.parse().ok())
        .ok_or_else(|| format!("no +F line in openssl speed's output:\n{out}"))
}

/// "+Fn:IDX:BITS:A:B" of `openssl speed -mr` (signatures: sign/s and verify/s; ECDH: op/s
/// and seconds per op).
fn two_rates(out: &str, prefix: &str, bits: &str) -> Result<(f64, f64), String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .find_map(|rest| {
            let fields: Vec<&str> = rest.split(':').collect();
            (fields.len() == 4 && fields[1] == bits)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))?
        })
        .ok_or_else(|| format!("no {prefix}..:{bits}: line in openssl speed's output:\n{out}"))
}

impl Primitives {
    /// Each rate's median over several measurements; None for none.
    pub fn median(all: Vec<Primitives>) -> Option<Primitives> {
        let first = all.first()?;
        let of = |f: &dyn Fn(&Primitives) -> f64| median(&all.iter().map(f).collect::<Vec<_>>());
        Some(Primitives {
            aead: (0..first.aead.len())
                .map(|i| Aead {
                    suite: first.aead[i].suite,
                    evp: first.aead[i].evp,
                    seal: of(&|p| p.aead[i].seal),
                    open: of(&|p| p.aead[i].open),
                })
                .collect(),
            ring: (0..first.ring.len())
                .map(|i| RingAead {
                    suite: first.ring[i].suite,
                    seal: of(&|p| p.ring[i].seal),
                    pair: of(&|p| p.ring[i].pair),
                })
                .collect(),
            ring_sign: (0..first.ring_sign.len())
                .map(|i| RingSign {
                    name: first.ring_sign[i].name,
                    rate: of(&|p| p.ring_sign[i].rate),
                })
                .collect(),
            x25519: of(&|p| p.x25519),
            ecdsa_sign: of(&|p| p.ecdsa_sign),
            ecdsa_verify: of(&|p| p.ecdsa_verify),
            rsa_sign: of(&|p| p.rsa_sign),
            rsa_verify: of(&|p| p.rsa_verify),
        })
    }

    /// The limit of figure `id` in its unit (handshakes/s, MB/s), if it has one.
    pub fn limit(&self, id: &str) -> Option<f64> {
        let ecdsa = 1.0 / (1.0 / self.ecdsa_sign + 3.0 / self.ecdsa_verify + 2.0 / self.x25519);
        let rsa = 1.0 / (1.0 / self.rsa_sign + 3.0 / self.rsa_verify + 2.0 / self.x25519);
        match id {
            "hs13-ecdsa-full" | "hs12-ecdsa-full" => Some(ecdsa),
            "hs13-rsa-full" => Some(rsa),
            "hs13-ecdsa-resumed" => Some(self.x25519 / 2.0),
            _ => {
                let suite = id.strip_prefix("bulk-")?.split('-').next()?;
                let a = self.aead.iter().find(|a| a.suite == suite)?;
                Some(1.0 / (1.0 / a.seal + 1.0 / a.open) / 1e6)
            }
        }
    }

    /// `openssl version`, as the CLI that measured reports it.
    pub fn cli_version() -> String {
        Command::new("openssl")
            .arg("version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "openssl (version unknown)".to_owned())
    }
}
