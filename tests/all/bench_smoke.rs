//! The benchmark (bench/, run with `bench/run`) keeps building and running: one quick run
//! with tiny counts and no pinning, checked for a complete, well-formed table. The figures
//! of a quick run mean nothing, and nothing here looks at them.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{lib_dir, manifest_dir, Proc, TempDir};

/// Every figure of the table, by the id its spread table names it with.
const FIGURES: &[&str] = &[
    "hs13-ecdsa-full",
    "hs13-rsa-full",
    "hs13-ecdsa-resumed",
    "hs12-ecdsa-full",
    "bulk-aes128-16384",
    "bulk-aes128-1024",
    "bulk-aes256-16384",
    "bulk-aes256-1024",
    "bulk-chacha-16384",
    "bulk-chacha-1024",
    "heap-client",
    "heap-server",
    "latency-p50",
    "latency-p99",
];

const HEADER: &str = "| Figure | embertls | OpenSSL | rustls (native) | limit | embertls ÷ OpenSSL | embertls ÷ rustls | embertls ÷ limit |";

/// Builds the bench example (cargo builds it only for `cargo test` without a target
/// filter) in this test's profile and target directory, and returns its path.
fn bench_binary() -> PathBuf {
    let profile = lib_dir().parent().expect("deps has a parent").to_path_buf();
    let target = profile
        .parent()
        .expect("the profile directory has a parent");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // What cargo sets for a test process is no setting of the user's: left in place, it
    // would look like a changed environment to build scripts (ring's watches
    // CARGO_MANIFEST_DIR), and the next `cargo test` would rebuild them.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_by_cargo = key.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref());
        if set_by_cargo {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.args(["build", "--quiet", "--example", "bench", "--manifest-path"])
        .arg(manifest_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    if profile.file_name().is_some_and(|name| name == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "building the bench failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = profile.join("examples").join("bench");
    assert!(exe.is_file(), "cargo built no {}", exe.display());
    exe
}

/// The cells of a markdown table row, without the outer pipes.
fn cells(row: &str) -> Vec<&str> {
    row.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

/// A figure cell: a number, or "—" (not measured).
fn is_figure(cell: &str) -> bool {
    cell == "—" || cell.parse::<f64>().is_ok_and(f64::is_finite)
}

#[test]
fn a_quick_benchmark_run_prints_the_whole_table() {
    let exe = bench_binary();
    let dir = TempDir::new("bench-smoke");
    let written = dir.path().join("results.md");
    let mut cmd = Command::new(exe);
    cmd.args(["--quick", "--no-pin", "--out"]).arg(&written);
    let out = Proc::spawn("bench --quick", cmd).finish();
    assert_eq!(out.code(), 0, "bench --quick failed:\n{}", out.stderr);
    let report = out.stdout_text();

    assert!(report.contains("QUICK MODE"), "{report}");
    let mut lines = report.lines().skip_while(|l| *l != HEADER);
    assert_eq!(lines.next(), Some(HEADER), "no results table in:\n{report}");
    assert_eq!(
        lines.next().map(cells).map(|c| c.len()),
        Some(8),
        "{report}"
    );
    let rows: Vec<&str> = lines.take_while(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), FIGURES.len(), "{report}");
    for row in &rows {
        let c = cells(row);
        assert_eq!(c.len(), 8, "row {row}");
        assert!(!c[0].is_empty(), "row {row}");
        assert!(c[1..].iter().all(|cell| is_figure(cell)), "row {row}");
    }
    // Every peer produced the handshake and heap figures, and embertls its latency.
    for row in rows.iter().take(4).chain(&rows[10..12]) {
        let c = cells(row);
        for cell in &c[1..4] {
            assert!(cell.parse::<f64>().is_ok(), "row {row}");
        }
    }
    for row in &rows[12..] {
        assert!(cells(row)[1].parse::<f64>().is_ok(), "row {row}");
    }
    // The spread table names each figure.
    for id in FIGURES {
        assert!(
            report.contains(&format!("| {id} |")),
            "{id} missing from:\n{report}"
        );
    }
    // The limits name ring's signing rate for each of the bench's keys.
    for key in ["ECDSA P-256", "RSA-2048 PSS"] {
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("| ring {key} sign")))
            .unwrap_or_else(|| panic!("no ring {key} row in:\n{report}"));
        let rate = cells(row)[1].trim_end_matches(" op/s").to_owned();
        assert!(rate.parse::<f64>().is_ok_and(|r| r > 0.0), "row {row}");
    }

    let file = fs::read_to_string(&written).expect("the report was written to --out");
    assert_eq!(file, report);
}
