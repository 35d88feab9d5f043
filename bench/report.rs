//! The results table: medians, ratios, the limits, and what the run ran on.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::speed::Primitives;

/// The programs measured side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Ember,
    Openssl,
    Rustls,
}

pub const PEERS: [Peer; 3] = [Peer::Ember, Peer::Openssl, Peer::Rustls];

impl Peer {
    /// The name in the peers' output lines.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Ember => "embertls",
            Peer::Openssl => "openssl",
            Peer::Rustls => "rustls",
        }
    }
}

/// One row of the table.
pub struct Row {
    pub id: &'static str,
    pub label: &'static str,
}

/// Every row, in table order.
pub const ROWS: &[Row] = &[
    Row {
        id: "hs13-ecdsa-full",
        label: "TLS 1.3 full handshakes/s, X25519 + ECDSA P-256",
    },
    Row {
        id: "hs13-rsa-full",
        label: "TLS 1.3 full handshakes/s, X25519 + RSA-2048",
    },
    Row {
        id: "hs13-ecdsa-resumed",
        label: "TLS 1.3 resumed handshakes/s (ticket, X25519)",
    },
    Row {
        id: "hs12-ecdsa-full",
        label: "TLS 1.2 full handshakes/s, ECDHE-ECDSA (X25519, P-256)",
    },
    Row {
        id: "bulk-aes128-16384",
        label: "Bulk MB/s, TLS_AES_128_GCM_SHA256, 16 KiB writes",
    },
    Row {
        id: "bulk-aes128-1024",
        label: "Bulk MB/s, TLS_AES_128_GCM_SHA256, 1 KiB writes",
    },
    Row {
        id: "bulk-aes256-16384",
        label: "Bulk MB/s, TLS_AES_256_GCM_SHA384, 16 KiB writes",
    },
    Row {
        id: "bulk-aes256-1024",
        label: "Bulk MB/s, TLS_AES_256_GCM_SHA384, 1 KiB writes",
    },
    Row {
        id: "bulk-chacha-16384",
        label: "Bulk MB/s, TLS_CHACHA20_POLY1305_SHA256, 16 KiB writes",
    },
    Row {
        id: "bulk-chacha-1024",
        label: "Bulk MB/s, TLS_CHACHA20_POLY1305_SHA256, 1 KiB writes",
    },
    Row {
        id: "heap-client",
        label: "Heap bytes per idle connection, client (lower is better)",
    },
    Row {
        id: "heap-server",
        label: "Heap bytes per idle connection, server (lower is better)",
    },
    Row {
        id: "latency-p50",
        label: "Loopback TCP handshake latency p50, ms (lower is better)",
    },
    Row {
        id: "latency-p99",
        label: "Loopback TCP handshake latency p99, ms (lower is better)",
    },
];

/// The median of `values` (not empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Everything measured: per figure and peer, one value per run.
#[derive(Default)]
pub struct Results {
    pub samples: BTreeMap<(String, Peer), Vec<f64>>,
    /// What each peer negotiated for a figure ("0x0304 0x1302").
    pub negotiated: BTreeMap<(String, Peer), String>,
}

impl Results {
    /// The median of a figure's runs; None when it was not run.
    pub fn median(&self, id: &str, peer: Peer) -> Option<f64> {
        let runs = self.samples.get(&(id.to_owned(), peer))?;
        (!runs.is_empty()).then(|| median(runs))
    }

    fn ran(&self, id: &str) -> bool {
        PEERS
            .iter()
            .any(|&p| self.samples.contains_key(&(id.to_owned(), p)))
    }

    fn spread(&self, id: &str, peer: Peer) -> String {
        match self.samples.get(&(id.to_owned(), peer)) {
            Some(runs) if !runs.is_empty() => {
                let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
                let max = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{}..{}", num(min), num(max))
            }
            _ => "—".to_owned(),
        }
    }
}

/// What the run ran on and with.
pub struct Context {
    pub date: String,
    pub machine: String,
    pub load: String,
    pub pinning: String,
    pub memcpy: String,
    pub versions: Vec<String>,
    pub settings: String,
}

/// A figure as the table shows it.
pub fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
        _ => "—".to_owned(),
    }
}

/// The markdown report: settings, the table, the limits' primitives, the spread of runs.
pub fn render(ctx: &Context, results: &Results, primitives: Option<&Primitives>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# embertls benchmark, {}\n", ctx.date);
    let _ = writeln!(w, "- Machine: {}", ctx.machine);
    let _ = writeln!(w, "- Load: {}", ctx.load);
    let _ = writeln!(w, "- Pinning: {}", ctx.pinning);
    let _ = writeln!(w, "- memcpy: {}", ctx.memcpy);
    for v in &ctx.versions {
        let _ = writeln!(w, "- {v}");
    }
    let _ = writeln!(w, "- Settings: {}", ctx.settings);
    let _ = writeln!(
        w,
        "- Rates are per second of CPU time of the measuring process, as `openssl speed` \
         counts: time other programs take from the core is not charged to a peer (their \
         cache traffic still is). Latency is wall-clock.\n"
    );

    let _ = writeln!(
        w,
        "| Figure | embertls | OpenSSL | rustls (native) | limit | embertls ÷ OpenSSL | embertls ÷ rustls | embertls ÷ limit |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in ROWS.iter().filter(|r| results.ran(r.id)) {
        let med = |p| results.median(row.id, p);
        let cell = |p: Peer| med(p).map_or("—".to_owned(), num);
        let limit = primitives.and_then(|p| p.limit(row.id));
        let ember = med(Peer::Ember);
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.label,
            cell(Peer::Ember),
            cell(Peer::Openssl),
            cell(Peer::Rustls),
            limit.map_or("—".to_owned(), num),
            ratio(ember, med(Peer::Openssl)),
            ratio(ember, med(Peer::Rustls)),
            ratio(ember, limit),
        );
    }

    let _ = writeln!(w);
    let mut by_figure: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((id, peer), what) in &results.negotiated {
        by_figure
            .entry(id.as_str())
            .or_default()
            .push(format!("{} {what}", peer.name()));
    }
    if !by_figure.is_empty() {
        let _ = writeln!(w, "Negotiated (version, suite):\n");
        for (id, list) in by_figure {
            let _ = writeln!(w, "- {id}: {}", list.join("; "));
        }
        let _ = writeln!(w);
    }

    if let Some(p) = primitives {
        let _ = writeln!(
            w,
            "Limits: OpenSSL's primitives alone (`openssl speed`, same core, measured in every \
             run; medians), not a TLS stack.\n"
        );
        let _ = writeln!(w, "| Primitive | rate |");
        let _ = writeln!(w, "|---|---:|");
        for a in &p.aead {
            let _ = writeln!(
                w,
                "| {} seal / open, 16 KiB | {} / {} MB/s |",
                a.evp,
                num(a.seal / 1e6),
                num(a.open / 1e6)
            );
        }
        for r in &p.ring {
            let _ = writeln!(
                w,
                "| ring {} seal / seal+open, 16 KiB | {} / {} MB/s |",
                r.suite,
                num(r.seal),
                num(r.pair)
            );
        }
        for r in &p.ring_sign {
            let _ = writeln!(
                w,
                "| ring {} sign (the handshake's signature) | {} op/s |",
                r.name,
                num(r.rate)
            );
        }
        let _ = writeln!(w, "| X25519 derive | {} op/s |", num(p.x25519));
        let _ = writeln!(
            w,
            "| ECDSA P-256 sign / verify | {} / {} op/s |",
            num(p.ecdsa_sign),
            num(p.ecdsa_verify)
        );
        let _ = writeln!(
            w,
            "| RSA-2048 sign / verify | {} / {} op/s |",
            num(p.rsa_sign),
            num(p.rsa_verify)
        );
        let _ = writeln!(
            w,
            "\nBulk limit = 1 / (1/seal + 1/open): both ends share the core. Handshake limit = \
             1 / (1/sign + 3/verify + 2/X25519) (CertificateVerify or ServerKeyExchange signed \
             and verified, two chain signatures verified, one X25519 derivation per side; key \
             generation not counted). Resumed limit = X25519 / 2. The ring rows are the \
             engine's own AEAD and signatures (the native peer times them): \"seal+open\" is \
             the bulk ceiling of a connection whose two ends share the core; a full handshake \
             cannot outrun its server's signature.\n"
        );
    }

    let _ = writeln!(w, "Spread of the runs (min..max):\n");
    let _ = writeln!(w, "| Figure | embertls | OpenSSL | rustls (native) |");
    let _ = writeln!(w, "|---|---:|---:|---:|");
    for row in ROWS.iter().filter(|r| results.ran(r.id)) {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} |",
            row.id,
            results.spread(row.id, Peer::Ember),
            results.spread(row.id, Peer::Openssl),
            results.spread(row.id, Peer::Rustls)
        );
    }
    out
}
