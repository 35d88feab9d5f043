//! The fuzz targets (fuzz/README.md): built with libFuzzer on the stable toolchain
//! (`fuzz/run --build`, once per test process), each run briefly from its committed seeds
//! with a fixed seed, and every crash input kept in fuzz/regressions/ replayed. The long
//! runs that find new crashes are `fuzz/run TARGET SECONDS`, by hand.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Output};
use std::sync::Mutex;

use crate::support::{lock, manifest_dir};

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
    let mut built = lock(&BUILT);
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

/// The harnesses declare the C functions they call by hand (fuzz/src/ffi.rs), as a C program
/// would include the header; a signature that changed in the header must change there too.
#[test]
fn the_harness_declarations_match_the_header() {
    let read = |path: &str| {
        fs::read_to_string(manifest_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let header = arities(&read("include/embertls.h"), |line| {
        !line.starts_with([' ', '#', '*', '/']) && !line.starts_with("typedef")
    });
    let harness = arities(&read("fuzz/src/ffi.rs"), |line| {
        line.trim_start().starts_with("pub fn ember_")
    });
    assert!(
        !harness.is_empty(),
        "no declarations found in fuzz/src/ffi.rs"
    );
    for (name, count) in &harness {
        assert_eq!(
            header.get(name),
            Some(count),
            "{name}: parameters in fuzz/src/ffi.rs against include/embertls.h"
        );
    }
}

/// Parameter counts of the `ember_*` functions declared on the lines `starts_declaration`
/// picks, in C or Rust syntax (the parameter list may span lines).
fn arities(text: &str, starts_declaration: impl Fn(&str) -> bool) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if !starts_declaration(line) {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let Some(name) = line[..open].rsplit([' ', '*']).next() else {
            continue;
        };
        if !name.starts_with("ember_") {
            continue;
        }
        // A parameter is what stands between top-level commas; C's `(void)` and Rust's
        // trailing comma are none.
        let is_param = |p: &str| !p.trim().is_empty() && p.trim() != "void";
        let (mut depth, mut count, mut param) = (0, 0, String::new());
        for c in text[start + open + 1..].chars() {
            match c {
                ')' if depth == 0 => break,
                ',' if depth == 0 => {
                    count += usize::from(is_param(&param));
                    param.clear();
                    continue;
                }
                '(' | '<' => depth += 1,
                ')' | '>' => depth -= 1,
                _ => {}
            }
            param.push(c);
        }
        count += usize::from(is_param(&param));
        found.insert(name.to_owned(), count);
    }
    found
}
