//! The fuzz targets (fuzz/README.md): built with libFuzzer on the stable toolchain
//! (`fuzz/run --build`, once per test process), each run briefly from its committed seeds
//! with a fixed seed, and every crash input kept in fuzz/regressions/ replayed. The long
//! runs that find new crashes are `fuzz/run TARGET SECONDS`, by hand.

use std::fs;
use std::process::{Command, Output};
use std::sync::Mutex;

use crate::support::manifest_dir;

/// The targets this file checks; `fuzz/run --list` must name the same.
const TARGETS: [&str; 3] = ["conn_server", "conn_client", "loaders"];

/// How many inputs a short run executes: the seeds, then mutations of them. A few seconds
/// for the connection targets (a few hundred handshakes a second, instrumented).
const SMOKE_RUNS: &str = "3000";

fn fuzz_run(args: &[&str]) -> Output {
    let mut cmd = Command::new(manifest_dir().join("fuzz/run"));
    cmd.args(args);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run fuzz/run {args:?}: {e}"))
}

/// `fuzz/run args`, which must succeed; returns what it printed (libFuzzer writes to stderr).
fn fuzz_run_ok(args: &[&str]) -> String {
    let out = fuzz_run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "fuzz/run {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Builds the targets, once: the instrumented build of rustls and ring is most of this
/// file's time, and the tests that share it wait for it here.
fn build() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if !*built {
        fuzz_run_ok(&["--build"]);
        *built = true;
    }
}

/// `Done N runs` from libFuzzer's last lines.
fn runs_done(text: &str) -> Option<u64> {
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Done ")?.split_once(" runs")?.0.parse().ok())
}

fn check_target(target: &str) {
    build();
    let text = fuzz_run_ok(&["--smoke", target, SMOKE_RUNS]);
    let runs =
        runs_done(&text).unwrap_or_else(|| panic!("no \"Done N runs\" from {target}:\n{text}"));
    assert!(runs > 0, "{target} ran no input:\n{text}");

    let dir = manifest_dir().join("fuzz/regressions").join(target);
    let inputs = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with("README"))
        .count();
    let dir_arg = dir.to_str().expect("UTF-8 path");
    let text = fuzz_run_ok(&["--replay", target, dir_arg]);
    let replayed = text.lines().filter(|l| l.starts_with("Executed ")).count();
    assert_eq!(
        replayed, inputs,
        "{target} replayed {replayed} of the {inputs} inputs in {dir_arg}:\n{text}"
    );
}

#[test]
fn conn_server_runs_its_seeds_and_regressions() {
    check_target("conn_server");
}

#[test]
fn conn_client_runs_its_seeds_and_regressions() {
    check_target("conn_client");
}

#[test]
fn loaders_runs_its_seeds_and_regressions() {
    check_target("loaders");
}

#[test]
fn every_fuzz_target_is_checked() {
    let listed = fuzz_run_ok(&["--list"]);
    let listed: Vec<&str> = listed.lines().collect();
    assert_eq!(
        listed, TARGETS,
        "fuzz/run --list against this file's TARGETS"
    );
    for target in TARGETS {
        for dir in ["seeds", "regressions"] {
            let path = manifest_dir().join("fuzz").join(dir).join(target);
            assert!(path.is_dir(), "{} is missing", path.display());
        }
    }
}
