//! The C++ face: include/embertls.hpp compiled warning-free as C++17 and C++20, its wrappers
//! exercised in-process (tests/cpp/hpp_test.cpp), and the example examples-c/cpp_client.cpp
//! talking to our example server.

use std::path::PathBuf;
use std::process::Command;

use crate::capi;
use crate::support::{
    assert_client_ok, assert_server_ok, build_cpp, client_args, manifest_dir, pseudo_random, run,
    EmberServer, Pki, Proc, ServerKind,
};

/// The dialects the header promises: C++17 (std::string_view, no std::span) and C++20
/// (std::span overloads).
const DIALECTS: [&str; 2] = ["c++17", "c++20"];

fn cpp_client(std: &str) -> PathBuf {
    let source = manifest_dir().join("examples-c").join("cpp_client.cpp");
    build_cpp(&format!("cpp_client-{std}"), std, &[&source])
}

fn hpp_test(std: &str) -> PathBuf {
    let source = manifest_dir()
        .join("tests")
        .join("cpp")
        .join("hpp_test.cpp");
    build_cpp(&format!("hpp_test-{std}"), std, &[&source])
}

#[test]
fn cpp_wrappers_pass_every_case_in_cpp17_and_cpp20() {
    let pki = Pki::shared();
    for std in DIALECTS {
        let mut cmd = Command::new(hpp_test(std));
        cmd.arg(pki.dir());
        let out = Proc::spawn(&format!("hpp_test ({std})"), cmd).finish();
        let stdout = out.stdout_text();
        print!("{stdout}");
        let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
        assert!(fails.is_empty(), "{std}: {fails:#?}\n{}", out.stderr);
        let (passed, failed) = stdout
            .lines()
            .last()
            .and_then(capi::summary)
            .unwrap_or_else(|| panic!("{std}: no summary line:\n{stdout}{}", out.stderr));
        // The C++20 build has one case more (std::span).
        let expected = if std == "c++20" { 10 } else { 9 };
        assert_eq!((passed, failed), (expected, 0), "{std}");
        assert_eq!(out.code(), 0, "{std}: {}", out.stderr);
    }
}

#[test]
fn cpp_client_example_talks_to_the_example_server() {
    let pki = Pki::shared();
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &[],
        DIALECTS.len(),
    );
    for (seed, std) in DIALECTS.iter().enumerate() {
        let data = pseudo_random(seed as u64, 20 * 1024);
        let mut cmd = Command::new(cpp_client(std));
        cmd.args(client_args(&pki, &server.addr(), &[]));
        let out = run(&format!("cpp_client ({std})"), cmd, &data);
        let summary = assert_client_ok(&out);
        assert_eq!(summary.get("version"), "TLSv1.3", "{std}");
        assert!(summary.get("suite").starts_with("TLS_"), "{std}");
        assert_eq!(summary.get("group"), "X25519", "{std}");
        assert_eq!(summary.get("server_name"), "localhost", "{std}");
        assert!(summary.get("handshake_ms").parse::<f64>().is_ok(), "{std}");
        assert!(
            out.stdout == data,
            "{std}: the echo differs from what was sent"
        );
    }
    // The server saw both connections end cleanly (close_notify both ways).
    assert_server_ok(&server.finish(), DIALECTS.len());
}

#[test]
fn cpp_client_example_reports_a_refused_certificate() {
    let pki = Pki::shared();
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("expired.pem"),
        &pki.path("expired.key"),
        &[],
        1,
    );
    let mut cmd = Command::new(cpp_client("c++17"));
    cmd.args(client_args(&pki, &server.addr(), &[]));
    let out = run("cpp_client", cmd, b"hello");
    assert_eq!(out.code(), 1, "a failed handshake exits 1:\n{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("embertls: handshake failed: EMBER_ERR_CERT_EXPIRED: "),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    drop(server);
}
