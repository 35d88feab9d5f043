//! The C API test program and the C examples under memory checkers, in the test command.
//!
//! - AddressSanitizer + UndefinedBehaviorSanitizer: tests/c/api_test, and examples-c/client,
//!   server and poll_server, built with gcc `-fsanitize=address,undefined`. The Rust library
//!   is not instrumented, but it allocates through the system malloc, which ASan replaces:
//!   every Rust allocation is checked for leaks (LeakSanitizer, at each process's exit) and
//!   for double frees, and the copies the library makes from and into the caller's buffers
//!   and its own go through memcpy/memmove, which ASan checks too. Each api_test
//!   case runs in a forked child whose exit status is its verdict, so a report in a child
//!   (ASAN_OPTIONS abort_on_error, a leak at exit, UBSan halt_on_error) fails that case.
//!   Every case runs, the error paths included.
//! - valgrind memcheck over the plain api_test, which sees every byte the Rust code reads:
//!   definite and indirect leaks and any invalid access make a child exit 9, which fails its
//!   case. Under valgrind a handshake takes half a second, so it runs the cases of the error
//!   paths (misuse of every export, freeing in every state, faults, a refusal of each kind,
//!   bad input, truncation; see VALGRIND_MISUSE_LIFETIME and VALGRIND_FAULTS_REFUSALS), not
//!   the bulk transfers and the matrices of versions and certificates, in two runs that
//!   cargo's test threads run side by side.
//! - A self-test: cases that leak, overflow, use after free and overflow an int on purpose
//!   (EMBER_TEST_SELFTEST=1) must fail under each checker, so a checker that silently stopped
//!   working (options lost, fork not followed) fails the tests instead of passing them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use crate::capi::{api_test, api_test_sources, summary};
use crate::support::{
    build_c_with, client_args, example_with, manifest_dir, run, EmberServer, Pki,
};

/// gcc flags for AddressSanitizer + UBSan; UBSan stops at the first report.
const ASAN_FLAGS: [&str; 3] = [
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=undefined",
];

/// What the runtime is told: any error aborts (a non-zero status, which fails the case),
/// leaks are checked at exit.
const ASAN_OPTIONS: &str = "detect_leaks=1:abort_on_error=1:halt_on_error=1:\
                            strict_string_checks=1:check_initialization_order=1";
const UBSAN_OPTIONS: &str = "halt_on_error=1:print_stacktrace=1";

/// What starts a report on stderr: none may appear in a run that must be clean (the
/// sanitizers' own words, and memcheck's for a leak or a bad access).
const REPORTS: [&str; 8] = [
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "definitely lost in",
    "indirectly lost in",
    "Invalid read of size",
    "Invalid write of size",
];

/// The api_test cases run under valgrind, in two runs that go side by side (a case runs if
/// its name contains a filter, or matches one with a wildcard as a glob): the misuse of every
/// export and objects freed in every state; the transport and peer faults, a refusal of each
/// kind (certificate, version, revocation, client certificate, verification callback, session
/// store), bad input and truncation. The faults and refusals under TLS 1.3 only: TLS 1.2 takes
/// the same paths through embertls (ASan runs both).
const VALGRIND_MISUSE_LIFETIME: [&str; 7] = [
    "misuse *",
    "lifetime *TLSv1.3",
    "lifetime conn_freed blocked_callbacks",
    "lifetime conn_freed fd_blocked",
    "lifetime trust_freed_while_in_use",
    "lifetime every_free_order",
    "lifetime many_conns_scattered_free",
];
const VALGRIND_FAULTS_REFUSALS: [&str; 20] = [
    "fault *TLSv1.3*",
    "fault fd_*",
    "cert_failure TLSv1.3 expired*",
    "cert_failure TLSv1.3 badsig*",
    "cert_failure TLSv1.3 unknown-ca*",
    "chain TLSv1.3 leaf without intermediate*",
    "no_shared_version*",
    "revocation TLSv1.3 revoked leaf: revoked, crls.pem*",
    "revocation TLSv1.3 expired CRL*strict*",
    "revocation TLSv1.3 CRL with a bad signature",
    "mtls required no_cert TLS1.3",
    "mtls untrusted TLS1.3",
    "verify reject TLS1.3",
    "session_store TLSv1.3 get_refused",
    "bad_input",
    "wrong_state",
    "config_frozen",
    "config_freed_while_conns_live",
    "truncation",
    "callback_errno",
];

fn asan_env(cmd: &mut Command) -> &mut Command {
    cmd.env("ASAN_OPTIONS", ASAN_OPTIONS)
        .env("UBSAN_OPTIONS", UBSAN_OPTIONS)
        .env("RUST_BACKTRACE", "0")
}

fn source_refs(sources: &[PathBuf]) -> Vec<&Path> {
    sources.iter().map(PathBuf::as_path).collect()
}

/// api_test built with AddressSanitizer + UBSan.
fn api_test_asan() -> PathBuf {
    let sources = api_test_sources();
    build_c_with("api_test_asan", &source_refs(&sources), &ASAN_FLAGS)
}

/// Whether valgrind runs here; the tests say so when it does not (.ci/run installs it).
fn valgrind() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// valgrind memcheck wrapped around `exe`: leaks that are definitely or indirectly lost and
/// every memory error make the process (each forked case) exit 9.
fn under_valgrind(exe: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "-q",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=9",
        "--num-callers=40",
    ])
    .arg(format!(
        "--suppressions={}",
        manifest_dir().join("tests/c/valgrind.supp").display()
    ))
    .arg(exe)
    // A case is killed after this long: valgrind is slow, not hung.
    .env("EMBER_TEST_CASE_TIMEOUT", "300")
    .env("RUST_BACKTRACE", "0");
    cmd
}

/// Runs api_test (already wrapped in `cmd`) with the PKI and `filters`; the program's own
/// guards (a per-case alarm) bound the time it takes.
fn run_api_test(label: &str, mut cmd: Command, filters: &[&str]) -> Output {
    let pki = Pki::shared();
    cmd.arg(pki.dir()).args(filters);
    let started = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run api_test {label}: {e}"));
    eprintln!("api_test {label}: {:.1} s", started.elapsed().as_secs_f64());
    out
}

/// The case lines of a run, its summary, and the lines of the failed cases' output.
struct Verdicts {
    stdout: String,
    stderr: String,
    passed: usize,
    failed: Vec<String>,
}

fn verdicts(label: &str, out: &Output) -> Verdicts {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some((passed, failed)) = stdout.lines().last().and_then(summary) else {
        panic!(
            "api_test {label} did not finish ({:?}):\n{stdout}\n{stderr}",
            out.status
        );
    };
    let failed_lines: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL "))
        .map(str::to_owned)
        .collect();
    let oks = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(
        (oks, failed_lines.len()),
        (passed, failed),
        "api_test {label}: the summary does not match the case lines"
    );
    Verdicts {
        stdout,
        stderr,
        passed,
        failed: failed_lines,
    }
}

/// The lines of `stderr` where a checker reported something.
fn reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| REPORTS.iter().any(|r| l.contains(r)))
        .collect()
}

/// Every case passed, the program exited 0, and no checker said anything.
fn assert_clean(label: &str, out: &Output, min_cases: usize) {
    let v = verdicts(label, out);
    let reports = reports(&v.stderr);
    assert!(
        v.failed.is_empty() && reports.is_empty() && out.status.success(),
        "api_test {label}: {} failed, status {:?}, reports {reports:?}:\n{}\n{}\n--- stderr ---\n{}",
        v.failed.len(),
        out.status,
        v.failed.join("\n"),
        v.stdout,
        v.stderr
    );
    assert!(
        v.passed >= min_cases,
        "api_test {label}: only {} cases ran",
        v.passed
    );
}

#[test]
fn c_api_test_is_clean_under_asan_and_ubsan() {
    let mut cmd = Command::new(api_test_asan());
    asan_env(&mut cmd);
    let out = run_api_test("under ASan+UBSan", cmd, &[]);
    // Every case: 246 before the misuse, fault and lifetime cases, about 400 with them.
    assert_clean("under ASan+UBSan", &out, 350);
}

/// api_test under valgrind with `filters`; at least `min_cases`, and for each (part of a
/// name, count) at least that many cases of that kind, so the subset keeps its coverage.
fn valgrind_clean(label: &str, filters: &[&str], min_cases: usize, kinds: &[(&str, usize)]) {
    if !valgrind() {
        panic!("valgrind is not installed (.ci/run installs it: apt-get install valgrind)");
    }
    let out = run_api_test(label, under_valgrind(&api_test()), filters);
    let v = verdicts(label, &out);
    for (what, at_least) in kinds {
        let ran = v.stdout.lines().filter(|l| l.contains(what)).count();
        assert!(ran >= *at_least, "{label}: only {ran} {what:?} cases ran");
    }
    assert_clean(label, &out, min_cases);
}

#[test]
fn c_api_misuse_and_lifetimes_are_clean_under_valgrind() {
    // Misuse: a row per export (73 when this was written).
    valgrind_clean(
        "misuse and lifetimes under valgrind",
        &VALGRIND_MISUSE_LIFETIME,
        80,
        &[("misuse ", 70), ("lifetime ", 10)],
    );
}

#[test]
fn c_api_faults_and_refusals_are_clean_under_valgrind() {
    valgrind_clean(
        "faults and refusals under valgrind",
        &VALGRIND_FAULTS_REFUSALS,
        55,
        &[
            ("fault ", 25),
            ("cert_failure", 3),
            ("bad_input", 8),
            ("truncation", 4),
        ],
    );
}

/// The expected failures of the self-test cases, and a word the checker's report must hold.
fn assert_selftest(label: &str, out: &Output, expected: &[(&str, &str)]) {
    let v = verdicts(label, out);
    for (case, report) in expected {
        assert!(
            v.failed
                .iter()
                .any(|l| l.ends_with(&format!("selftest {case}"))),
            "{label}: the deliberate error of \"selftest {case}\" did not fail its case:\n{}\n{}",
            v.stdout,
            v.stderr
        );
        assert!(
            v.stderr.contains(report),
            "{label}: no \"{report}\" report for selftest {case}:\n{}",
            v.stderr
        );
    }
    assert_eq!(v.failed.len(), expected.len(), "{label}: {:?}", v.failed);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{label}: api_test exits 1 after a failed case"
    );
}

#[test]
fn sanitizers_fail_the_case_that_has_the_error() {
    let mut cmd = Command::new(api_test_asan());
    asan_env(&mut cmd).env("EMBER_TEST_SELFTEST", "1");
    let out = run_api_test("self-test under ASan+UBSan", cmd, &["selftest "]);
    assert_selftest(
        "ASan+UBSan",
        &out,
        &[
            ("leak", "ERROR: LeakSanitizer"),
            ("overread_in_library", "heap-buffer-overflow"),
            ("use_after_free", "heap-use-after-free"),
            ("heap_overflow", "heap-buffer-overflow"),
            ("undefined_behaviour", "signed integer overflow"),
        ],
    );
}

#[test]
fn valgrind_fails_the_case_that_has_the_error() {
    if !valgrind() {
        panic!("valgrind is not installed (.ci/run installs it: apt-get install valgrind)");
    }
    let mut cmd = under_valgrind(&api_test());
    cmd.env("EMBER_TEST_SELFTEST", "1");
    // Memcheck does not see arithmetic: no undefined_behaviour case here.
    let filters = [
        "selftest leak",
        "selftest overread",
        "selftest use_after",
        "selftest heap",
    ];
    let out = run_api_test("self-test under valgrind", cmd, &filters);
    assert_selftest(
        "valgrind",
        &out,
        &[
            ("leak", "definitely lost"),
            ("overread_in_library", "Invalid read"),
            ("use_after_free", "Invalid read"),
            ("heap_overflow", "Invalid read"),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The C examples under ASan + UBSan
// ---------------------------------------------------------------------------------------

fn asan_example(name: &str) -> PathBuf {
    example_with("asan", name, &ASAN_FLAGS)
}

/// No sanitizer report in a program's stderr.
fn assert_no_reports(who: &str, stderr: &str) {
    let reports = reports(stderr);
    assert!(reports.is_empty(), "{who}: {reports:?}\n{stderr}");
}

/// One of the example servers (ASan build) serving echo connections, then clients (ASan
/// build) over TLS 1.3 and 1.2, a client that resumes, and one whose handshake fails.
fn examples_clean_under_asan(server: &str) {
    let pki = Pki::shared();
    let mut cmd = EmberServer::command(
        &asan_example(server),
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &[],
        5,
    );
    asan_env(&mut cmd);
    let srv = EmberServer::spawn(server, cmd);
    let addr = srv.addr();
    let client = asan_example("client");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    // (arguments, exit status, whether a connection resumes)
    let runs: [(Vec<String>, i32, bool); 4] = [
        (client_args(&pki, &addr, &["--tls13"]), 0, false),
        // TLS 1.2 has no key update: refused (EMBER_ERR_WRONG_STATE), the connection goes on.
        (
            client_args(&pki, &addr, &["--tls12", "--key-update"]),
            0,
            false,
        ),
        // Two connections from one config: the second resumes.
        (
            client_args(
                &pki,
                &addr,
                &["--connect", &addr, "--servername", "localhost"],
            ),
            0,
            true,
        ),
        // The server's certificate does not chain to this root: the handshake fails (1).
        (
            vec![
                "--connect".into(),
                addr.clone(),
                "--servername".into(),
                "localhost".into(),
                "--ca".into(),
                pki.arg("unknown-intermediate.pem"),
            ],
            1,
            false,
        ),
    ];
    for (args, want, resumes) in &runs {
        let mut cmd = Command::new(&client);
        asan_env(&mut cmd).args(args);
        let out = run("examples-c/client (ASan)", cmd, &data);
        assert_no_reports("client", &out.stderr);
        assert_eq!(
            out.code(),
            *want,
            "client {args:?} exit status; stderr:\n{}",
            out.stderr
        );
        if *want == 0 {
            let copies = out.stdout.len() / data.len();
            assert!(
                copies >= 1 && out.stdout.len() == copies * data.len(),
                "client {args:?}: {} bytes echoed for {} sent",
                out.stdout.len(),
                data.len()
            );
        }
        assert_eq!(
            out.stderr.contains("resumed=yes"),
            *resumes,
            "client {args:?}:\n{}",
            out.stderr
        );
    }
    let out = srv.finish();
    assert_no_reports(server, &out.stderr);
    assert_eq!(
        out.code(),
        0,
        "{server} exit status; stderr:\n{}",
        out.stderr
    );
}

#[test]
fn c_example_server_and_client_are_clean_under_asan() {
    examples_clean_under_asan("server");
}

#[test]
fn c_example_poll_server_is_clean_under_asan() {
    examples_clean_under_asan("poll_server");
}
