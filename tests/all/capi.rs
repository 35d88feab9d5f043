//! The C API exercised from C: tests/c/api_test calls every public function in-process
//! (memory, callback and fd I/O; certificate and version failures; bad input; the result
//! table; misuse of every export, transport and peer faults, objects freed in every state)
//! and prints one line per case, then `N passed, M failed`. sanitizers.rs runs the same
//! program under AddressSanitizer + UBSan and valgrind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{build_c, committed_symbols, include_dir, manifest_dir, Pki, Proc};

/// The program's sources, in tests/c/ (check.h is the header they share).
const SOURCES: [&str; 14] = [
    "api_test.c",
    "harness.c",
    "t_api.c",
    "t_trust.c",
    "t_mtls.c",
    "t_transport.c",
    "t_failures.c",
    "t_revocation.c",
    "t_sessions.c",
    "t_trace.c",
    "t_misuse.c",
    "t_faults.c",
    "t_lifetime.c",
    "t_selftest.c",
];

/// The program's sources, as paths.
pub fn api_test_sources() -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests").join("c");
    SOURCES.iter().map(|name| dir.join(name)).collect()
}

pub(crate) fn api_test() -> PathBuf {
    let sources = api_test_sources();
    let refs: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    build_c("api_test", &refs)
}

/// `(passed, failed)` from the program's last line, `N passed, M failed`.
pub fn summary(line: &str) -> Option<(usize, usize)> {
    let (passed, failed) = line.strip_suffix(" failed")?.split_once(" passed, ")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

#[test]
fn c_api_test_program_passes_every_case() {
    let pki = Pki::shared();
    let mut cmd = Command::new(api_test());
    cmd.arg(pki.dir());
    let proc = Proc::spawn("api_test", cmd);
    // Panics with everything printed so far if the summary does not come in time.
    let (passed, failed) = proc.stdout_line(summary);
    let done = proc.finish();
    let stdout = done.stdout_text();
    print!("{stdout}");
    eprint!("{}", done.stderr);

    let lines: Vec<&str> = stdout.lines().collect();
    let oks = lines.iter().filter(|l| l.starts_with("ok ")).count();
    let fails: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FAIL "))
        .collect();
    assert_eq!(
        lines.last().copied().and_then(summary),
        Some((passed, failed)),
        "the summary is not the last line"
    );
    assert_eq!(
        (oks, fails.len()),
        (passed, failed),
        "the summary does not match the case lines"
    );
    assert_eq!(
        failed,
        0,
        "failing C API cases (details above):\n{}",
        fails.join("\n")
    );
    // 53 cases when this was written: far fewer means a group stopped running.
    assert!(passed > 50, "only {passed} cases ran");
    assert_eq!(done.code(), 0, "api_test exit status");
}

/// The C program checks the name and text of every result code it lists; the list must
/// grow with the header (codes are only ever appended).
#[test]
fn c_api_test_lists_every_result_code_of_the_header() {
    let header =
        std::fs::read_to_string(include_dir().join("embertls.h")).expect("read embertls.h");
    let table =
        std::fs::read_to_string(manifest_dir().join("tests/c/t_api.c")).expect("read t_api.c");
    // The enum ember_result: from its "typedef enum {" to "} ember_result;".
    let end = header
        .find("} ember_result;")
        .expect("embertls.h defines ember_result");
    let start = header[..end]
        .rfind("typedef enum")
        .expect("ember_result is an enum");
    let codes: Vec<&str> = header[start..end]
        .lines()
        .filter_map(|l| {
            let (name, value) = l.trim().strip_suffix(',')?.split_once(" = ")?;
            (name.starts_with("EMBER_") && value.parse::<u32>().is_ok()).then_some(name)
        })
        .collect();
    assert!(codes.len() > 40, "found only {codes:?} in embertls.h");
    let missing: Vec<&&str> = codes
        .iter()
        .filter(|name| !table.contains(&format!("X({name})")))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/c/t_api.c RESULT_CODES lacks {missing:?}"
    );
}

/// tests/c/t_misuse.c has a row for every function the library exports
/// (packaging/embertls.symbols), and none for a function it does not: a new export without
/// misuse coverage fails here.
#[test]
fn c_misuse_table_covers_every_exported_function() {
    let exported = committed_symbols();
    assert!(exported.len() > 60, "found only {exported:?}");
    let table = std::fs::read_to_string(manifest_dir().join("tests/c/t_misuse.c"))
        .expect("read t_misuse.c");
    // Rows read {"ember_conn_read", m_conn_read}: the name, then its function.
    let rows: Vec<(&str, &str)> = table
        .lines()
        .filter_map(|l| {
            let row = l.trim().strip_prefix("{\"")?.strip_suffix("},")?;
            let (name, func) = row.split_once("\", ")?;
            Some((name, func))
        })
        .collect();
    let missing: Vec<&String> = exported
        .iter()
        .filter(|name| !rows.iter().any(|(row, _)| row == name))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/c/t_misuse.c MISUSE has no row for {missing:?}: add one (NULLs, lengths, \
         values, role and state, with the codes the header promises)"
    );
    for (name, func) in &rows {
        assert!(
            exported.contains(*name),
            "t_misuse.c has a row for {name}, which the library does not export"
        );
        assert_eq!(
            Some(*func),
            name.strip_prefix("ember_")
                .map(|rest| format!("m_{rest}"))
                .as_deref(),
            "the row for {name} runs {func}"
        );
    }
    assert_eq!(rows.len(), exported.len(), "a function has two rows");
}
