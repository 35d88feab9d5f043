//! Interoperability through the C examples (examples-c/): our client and both our servers
//! against OpenSSL (`openssl s_server` / `s_client`), Python's `ssl` module
//! (tests/peers/*.py) and each other, over 127.0.0.1 with the generated test PKI.
//!
//! Every handshake is checked from both ends where the peer can tell: the examples'
//! summary lines against what `s_client -brief` or the Python peers report.

use std::process::Command;

use crate::support::{
    assert_client_ok, assert_server_ok, client_args, client_command, client_to, key_values,
    only_summary, pseudo_random, python_echo_client, run, run_client, s_client, sha256_hex,
    summaries, EmberServer, OpensslServer, Pki, Proc, PythonServer, ServerKind, Summary, Tls,
};

/// Enough for several records, small enough to keep the many handshake tests quick.
const SMALL: usize = 40 * 1024;
/// Bulk transfers, compared by SHA-256.
const LARGE: usize = 4 * 1024 * 1024;

/// The TLS 1.3 suites of rustls' ring provider (OpenSSL uses the same names).
const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The TLS 1.2 suites of rustls' ring provider: IANA name (what the examples print) and
/// OpenSSL's name (what `-cipher`, `s_client -brief` and Python use).
const TLS12_SUITES: [(&str, &str); 6] = [
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

const VERSIONS: [Tls; 2] = [Tls::V13, Tls::V12];

/// Whether `iana` names a suite rustls offers for `version`.
fn has_suite(version: Tls, iana: &str) -> bool {
    match version {
        Tls::V12 => TLS12_SUITES.iter().any(|(name, _)| *name == iana),
        Tls::V13 => TLS13_SUITES.contains(&iana),
    }
}

/// IANA name of a suite named the OpenSSL way (TLS 1.3 names are the same in both).
fn iana_suite(openssl_name: &str) -> &str {
    if TLS13_SUITES.contains(&openssl_name) {
        return openssl_name;
    }
    TLS12_SUITES
        .iter()
        .find(|(_, ossl)| *ossl == openssl_name)
        .map(|(iana, _)| *iana)
        .unwrap_or_else(|| panic!("{openssl_name} is not a suite rustls offers"))
}

fn openssl_suite(iana: &str) -> &str {
    TLS12_SUITES
        .iter()
        .find(|(name, _)| *name == iana)
        .map(|(_, ossl)| *ossl)
        .unwrap_or(iana)
}

/// Compares byte streams by length and SHA-256, so a failure prints two lines, not 4 MiB.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert!(
        got.len() == want.len() && got == want,
        "{what}: got {} bytes (sha256 {}), want {} bytes (sha256 {})",
        got.len(),
        sha256_hex(got),
        want.len(),
        sha256_hex(want)
    );
}

/// The summary an example printed says `version` with a suite of that version, `group`
/// and `server_name`.
fn assert_handshake(summary: &Summary, version: Tls, group: &str, server_name: &str) {
    assert_eq!(summary.get("version"), version.name());
    let suite = summary.get("suite");
    assert!(
        has_suite(version, suite),
        "{suite} is not a {} suite of rustls",
        version.name()
    );
    assert_eq!(summary.get("group"), group);
    assert_eq!(summary.get("server_name"), server_name);
}

fn start_server(
    pki: &Pki,
    kind: ServerKind,
    chain: &str,
    key: &str,
    extra: &[&str],
    conns: usize,
) -> EmberServer {
    EmberServer::start(kind, &pki.path(chain), &pki.path(key), extra, conns)
}

// ---------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------

/// The handshake as `openssl s_client -brief` saw it.
struct OpensslView {
    version: String,
    /// IANA name.
    suite: String,
    /// e.g. "X25519, 253 bits" or "ECDH, prime256v1, 256 bits".
    temp_key: String,
    /// e.g. "ECDSA", "RSA-PSS", "ed25519".
    signature: String,
}

fn parse_brief(stderr: &str) -> OpensslView {
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("s_client printed no {name:?}:\n{stderr}"))
            .trim()
            .to_owned()
    };
    assert!(
        stderr.lines().any(|l| l == "Verification: OK"),
        "s_client did not verify:\n{stderr}"
    );
    OpensslView {
        version: field("Protocol version:"),
        suite: iana_suite(&field("Ciphersuite:")).to_owned(),
        temp_key: field("Server Temp Key:"),
        signature: field("Signature type:"),
    }
}

/// Sends `data` through s_client to one of our echo servers and checks it all comes back.
/// stdin is closed only after the whole echo arrived: s_client stops reading once it has
/// sent close_notify.
fn s_client_echo(pki: &Pki, addr: &str, extra: &[&str], data: &[u8]) -> OpensslView {
    let mut client = s_client(pki, addr, extra);
    client.send(data);
    let echoed = client.stdout_exactly(data.len());
    client.close_stdin();
    let out = client.finish();
    assert_eq!(out.code(), 0, "s_client {extra:?} failed:\n{}", out.stderr);
    assert_same_bytes(&echoed, data, "echo through s_client");
    assert_eq!(
        out.stdout.len(),
        data.len(),
        "s_client printed more than the echo"
    );
    parse_brief(&out.stderr)
}

// ---------------------------------------------------------------------------------------
// Basic exchanges, TLS 1.3 and TLS 1.2
// ---------------------------------------------------------------------------------------

#[test]
fn our_client_sends_to_openssl_server() {
    let pki = Pki::shared();
    for (i, version) in VERSIONS.into_iter().enumerate() {
        let data = pseudo_random(100 + i as u64, SMALL);
        let server = OpensslServer::start(&pki, "ecdsa-p256", &[version.openssl_flag()]);
        let out = client_to(&pki, &server.addr(), &[version.ember_flag()], &data);
        let summary = assert_client_ok(&out);
        assert_handshake(&summary, version, "X25519", "localhost");
        assert!(
            out.stdout.is_empty(),
            "s_server sent nothing, the client printed {} bytes",
            out.stdout.len()
        );
        let received = server.proc.finish();
        assert_eq!(received.code(), 0, "s_server: {}", received.stderr);
        assert_same_bytes(&received.stdout, &data, "what s_server received");
    }
}

fn openssl_client_echo(kind: ServerKind) {
    let pki = Pki::shared();
    let server = start_server(
        &pki,
        kind,
        "ecdsa-p256.pem",
        "ecdsa-p256.key",
        &[],
        VERSIONS.len(),
    );
    let views: Vec<OpensslView> = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, version)| {
            let data = pseudo_random(200 + i as u64, SMALL);
            s_client_echo(&pki, &server.addr(), &[version.openssl_flag()], &data)
        })
        .collect();
    let out = server.finish();
    for ((summary, view), version) in assert_server_ok(&out, VERSIONS.len())
        .iter()
        .zip(&views)
        .zip(VERSIONS)
    {
        assert_handshake(summary, version, "X25519", "localhost");
        assert_eq!(view.version, version.name());
        assert_eq!(
            view.suite,
            summary.get("suite"),
            "s_client and our server disagree"
        );
        assert!(
            view.temp_key.starts_with("X25519"),
            "s_client: {}",
            view.temp_key
        );
        assert_eq!(view.signature, "ECDSA");
    }
}

#[test]
fn openssl_client_with_our_server() {
    openssl_client_echo(ServerKind::Threaded);
}

#[test]
fn openssl_client_with_our_poll_server() {
    openssl_client_echo(ServerKind::Poll);
}

#[test]
fn our_client_with_python_server() {
    let pki = Pki::shared();
    let server = PythonServer::start(&pki, "ecdsa-p256", &[], VERSIONS.len());
    let mut client_suites = Vec::new();
    for (i, version) in VERSIONS.into_iter().enumerate() {
        let data = pseudo_random(300 + i as u64, SMALL);
        let out = client_to(&pki, &server.addr(), &[version.ember_flag()], &data);
        let summary = assert_client_ok(&out);
        assert_handshake(&summary, version, "X25519", "localhost");
        assert_same_bytes(&out.stdout, &data, "echo from the python server");
        client_suites.push(summary.get("suite").to_owned());
    }
    // The python server exits 1 if a client left without close_notify.
    let out = server.proc.finish();
    assert_eq!(out.code(), 0, "python server:\n{}", out.stderr);
    let seen = key_values(&out.stderr, "python: ");
    assert_eq!(seen.len(), VERSIONS.len(), "python server:\n{}", out.stderr);
    for ((view, version), suite) in seen.iter().zip(VERSIONS).zip(&client_suites) {
        assert_eq!(view["version"], version.name());
        assert_eq!(
            iana_suite(&view["cipher"]),
            suite,
            "python and our client disagree"
        );
        assert_eq!(view["sni"], "localhost");
    }
}

fn python_client_echo(kind: ServerKind) {
    let pki = Pki::shared();
    let server = start_server(
        &pki,
        kind,
        "ecdsa-p256.pem",
        "ecdsa-p256.key",
        &[],
        VERSIONS.len(),
    );
    let reports: Vec<_> = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, version)| {
            python_echo_client(
                &pki,
                &server.addr(),
                &["--version", version.python()],
                &pseudo_random(400 + i as u64, 256 * 1024),
            )
        })
        .collect();
    let out = server.finish();
    for ((summary, report), version) in assert_server_ok(&out, VERSIONS.len())
        .iter()
        .zip(&reports)
        .zip(VERSIONS)
    {
        assert_handshake(summary, version, "X25519", "localhost");
        assert_eq!(report["version"], version.name());
        assert_eq!(
            iana_suite(&report["cipher"]),
            summary.get("suite"),
            "python and our server disagree"
        );
    }
}

#[test]
fn python_client_with_our_server() {
    python_client_echo(ServerKind::Threaded);
}

#[test]
fn python_client_with_our_poll_server() {
    python_client_echo(ServerKind::Poll);
}

fn our_client_echo(kind: ServerKind) {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");

    // The client picks the version; then no SNI (an IP address is verified against the
    // certificate's IP SAN and never sent as SNI).
    let server = start_server(&pki, kind, "ecdsa-p256.pem", "ecdsa-p256.key", &[], 3);
    let addr = server.addr();
    let named = |version: Tls| client_args(&pki, &addr, &[version.ember_flag()]);
    let runs = [
        (named(Tls::V13), Tls::V13, "localhost"),
        (named(Tls::V12), Tls::V12, "localhost"),
        (
            vec!["--connect".into(), addr.clone(), "--ca".into(), ca.clone()],
            Tls::V13,
            "127.0.0.1",
        ),
    ];
    let mut client_summaries = Vec::new();
    for (i, (args, version, name)) in runs.iter().enumerate() {
        let data = pseudo_random(500 + i as u64, SMALL);
        let out = run_client(args, &data);
        let summary = assert_client_ok(&out);
        assert_handshake(&summary, *version, "X25519", name);
        assert_same_bytes(&out.stdout, &data, "echo from our server");
        client_summaries.push(summary);
    }
    let out = server.finish();
    let server_summaries = assert_server_ok(&out, runs.len());
    for ((theirs, ours), sni) in
        server_summaries
            .iter()
            .zip(&client_summaries)
            .zip(["localhost", "localhost", "-"])
    {
        for key in ["version", "suite", "group"] {
            assert_eq!(
                theirs.get(key),
                ours.get(key),
                "client and server disagree on {key}"
            );
        }
        assert_eq!(theirs.get("server_name"), sni);
    }

    // The server limits the version; the client offers both.
    for version in VERSIONS {
        let server = start_server(
            &pki,
            kind,
            "ecdsa-p256.pem",
            "ecdsa-p256.key",
            &[version.ember_flag()],
            1,
        );
        let data = pseudo_random(510, SMALL);
        let out = client_to(&pki, &server.addr(), &[], &data);
        assert_handshake(&assert_client_ok(&out), version, "X25519", "localhost");
        assert_same_bytes(&out.stdout, &data, "echo from our server");
        let out = server.finish();
        assert_handshake(
            &assert_server_ok(&out, 1)[0],
            version,
            "X25519",
            "localhost",
        );
    }
}

#[test]
fn our_client_with_our_server() {
    our_client_echo(ServerKind::Threaded);
}

#[test]
fn our_client_with_our_poll_server() {
    our_client_echo(ServerKind::Poll);
}

// ---------------------------------------------------------------------------------------
// Bulk transfers
// ---------------------------------------------------------------------------------------

#[test]
fn large_upload_from_our_client_to_openssl_server() {
    let pki = Pki::shared();
    let data = pseudo_random(600, LARGE);
    let server = OpensslServer::start(&pki, "ecdsa-p256", &[]);
    let out = client_to(&pki, &server.addr(), &["--tls13"], &data);
    assert_handshake(&assert_client_ok(&out), Tls::V13, "X25519", "localhost");
    let received = server.proc.finish();
    assert_eq!(received.code(), 0, "s_server: {}", received.stderr);
    assert_same_bytes(&received.stdout, &data, "what s_server received");
}

#[test]
fn large_download_from_openssl_server_to_our_client() {
    let pki = Pki::shared();
    let data = pseudo_random(601, LARGE);
    let server = OpensslServer::start(&pki, "ecdsa-p256", &[]);
    // The client's stdin stays open until everything arrived: its EOF would make the
    // client send close_notify, and s_server would stop sending.
    let mut client = Proc::spawn(
        "examples-c/client",
        client_command(&client_args(&pki, &server.addr(), &["--tls12"])),
    );
    // s_server uses blocking I/O: if its stdin and the ClientHello are ready in the same
    // select() round, it completes the handshake inside SSL_write and then blocks in
    // SSL_read (the socket was "readable"), waiting for a client that waits for data.
    // So its stdin gets the data only once the handshake is over.
    client.stderr_line(|line| line.starts_with("embertls: ").then_some(()));
    server.proc.send(data.clone());
    let got = client.stdout_exactly(data.len());
    assert_same_bytes(&got, &data, "what our client received from s_server");
    client.close_stdin();
    let out = client.finish();
    assert_handshake(&assert_client_ok(&out), Tls::V12, "X25519", "localhost");
    assert_eq!(out.stdout.len(), data.len());
    let served = server.proc.finish();
    assert_eq!(served.code(), 0, "s_server: {}", served.stderr);
}

fn large_echo_from_openssl_client(kind: ServerKind, version: Tls, seed: u64) {
    let pki = Pki::shared();
    let data = pseudo_random(seed, LARGE);
    let server = start_server(&pki, kind, "ecdsa-p256.pem", "ecdsa-p256.key", &[], 1);
    let view = s_client_echo(&pki, &server.addr(), &[version.openssl_flag()], &data);
    let out = server.finish();
    let summary = &assert_server_ok(&out, 1)[0];
    assert_handshake(summary, version, "X25519", "localhost");
    assert_eq!(view.suite, summary.get("suite"));
}

#[test]
fn large_echo_from_openssl_client_through_our_server() {
    large_echo_from_openssl_client(ServerKind::Threaded, Tls::V12, 610);
}

#[test]
fn large_echo_from_openssl_client_through_our_poll_server() {
    large_echo_from_openssl_client(ServerKind::Poll, Tls::V13, 611);
}

fn large_echo_from_our_client(kind: ServerKind, version: Tls, seed: u64) {
    let pki = Pki::shared();
    let data = pseudo_random(seed, LARGE);
    let server = start_server(&pki, kind, "ecdsa-p256.pem", "ecdsa-p256.key", &[], 1);
    let out = client_to(&pki, &server.addr(), &[version.ember_flag()], &data);
    let summary = assert_client_ok(&out);
    assert_handshake(&summary, version, "X25519", "localhost");
    assert_same_bytes(&out.stdout, &data, "echo of 4 MiB from our server");
    let out = server.finish();
    assert_eq!(
        assert_server_ok(&out, 1)[0].get("suite"),
        summary.get("suite")
    );
}

#[test]
fn large_echo_from_our_client_through_our_server() {
    large_echo_from_our_client(ServerKind::Threaded, Tls::V13, 620);
}

#[test]
fn large_echo_from_our_client_through_our_poll_server() {
    large_echo_from_our_client(ServerKind::Poll, Tls::V12, 621);
}

// ---------------------------------------------------------------------------------------
// Every suite, group and certificate type our server offers
// ---------------------------------------------------------------------------------------

/// OpenSSL's options that force `suite` (IANA name) at `version`.
fn force_suite(version: Tls, suite: &str) -> [&str; 3] {
    match version {
        Tls::V13 => ["-tls1_3", "-ciphersuites", suite],
        Tls::V12 => ["-tls1_2", "-cipher", openssl_suite(suite)],
    }
}

fn each_suite(chain: &str, key: &str, cases: &[(Tls, &str)]) {
    let pki = Pki::shared();
    let server = start_server(&pki, ServerKind::Threaded, chain, key, &[], cases.len());
    let data = pseudo_random(700, 4096);
    for (version, suite) in cases {
        let view = s_client_echo(&pki, &server.addr(), &force_suite(*version, suite), &data);
        assert_eq!(view.version, version.name());
        assert_eq!(view.suite, *suite);
    }
    let out = server.finish();
    for (summary, (version, suite)) in assert_server_ok(&out, cases.len()).iter().zip(cases) {
        assert_eq!(summary.get("version"), version.name());
        assert_eq!(summary.get("suite"), *suite);
    }
}

#[test]
fn every_suite_with_an_ecdsa_certificate() {
    let mut cases: Vec<(Tls, &str)> = TLS13_SUITES.iter().map(|s| (Tls::V13, *s)).collect();
    cases.extend(
        TLS12_SUITES
            .iter()
            .filter(|(s, _)| s.contains("_ECDSA_"))
            .map(|(s, _)| (Tls::V12, *s)),
    );
    each_suite("ecdsa-p256.pem", "ecdsa-p256.key", &cases);
}

#[test]
fn every_suite_with_an_rsa_certificate() {
    let mut cases: Vec<(Tls, &str)> = TLS13_SUITES.iter().map(|s| (Tls::V13, *s)).collect();
    cases.extend(
        TLS12_SUITES
            .iter()
            .filter(|(s, _)| s.contains("_RSA_"))
            .map(|(s, _)| (Tls::V12, *s)),
    );
    each_suite("rsa.pem", "rsa.key", &cases);
}

#[test]
fn every_group_against_our_server() {
    // OpenSSL's group name, ours, and how s_client -brief describes the key.
    let groups = [
        ("X25519", "X25519", "X25519"),
        ("P-256", "secp256r1", "prime256v1"),
        ("P-384", "secp384r1", "secp384r1"),
    ];
    let pki = Pki::shared();
    let data = pseudo_random(710, 4096);
    // In TLS 1.2 an OpenSSL client also requires the curve of an ECDSA certificate to be
    // among its groups ("wrong curve" otherwise), so there it offers P-384 after the group
    // under test and the server has a P-384 certificate; rustls takes the first group of
    // the client's list that it supports, so the group under test is still the one chosen.
    for (version, chain, key) in [
        (Tls::V13, "ecdsa-p256.pem", "ecdsa-p256.key"),
        (Tls::V12, "ecdsa-p384.pem", "ecdsa-p384.key"),
    ] {
        let server = start_server(&pki, ServerKind::Poll, chain, key, &[], groups.len());
        for (openssl_name, _, described) in groups {
            let offered = match (version, openssl_name) {
                (Tls::V12, "P-384") | (Tls::V13, _) => openssl_name.to_owned(),
                (Tls::V12, _) => format!("{openssl_name}:P-384"),
            };
            let view = s_client_echo(
                &pki,
                &server.addr(),
                &[version.openssl_flag(), "-groups", &offered],
                &data,
            );
            assert!(
                view.temp_key.contains(described),
                "{offered}: s_client saw {}",
                view.temp_key
            );
        }
        let out = server.finish();
        for (summary, (_, group, _)) in assert_server_ok(&out, groups.len()).iter().zip(groups) {
            assert_handshake(summary, version, group, "localhost");
        }
    }
}

/// Our server with one certificate and key: our client (default versions), then s_client
/// over TLS 1.3 and TLS 1.2, all verifying the chain against ca.pem.
fn serve_certificate(chain: &str, key: &str, signature: &str) {
    let pki = Pki::shared();
    let server = start_server(&pki, ServerKind::Threaded, chain, key, &[], 3);
    let data = pseudo_random(720, 4096);
    let out = client_to(&pki, &server.addr(), &[], &data);
    let ours = assert_client_ok(&out);
    assert_handshake(&ours, Tls::V13, "X25519", "localhost");
    assert_same_bytes(&out.stdout, &data, "echo to our client");

    let v13 = s_client_echo(&pki, &server.addr(), &["-tls1_3"], &data);
    assert_eq!(v13.signature, signature, "TLS 1.3 handshake signature");
    let v12 = s_client_echo(&pki, &server.addr(), &["-tls1_2"], &data);
    let family = if chain.starts_with("rsa") {
        "TLS_ECDHE_RSA_WITH_"
    } else {
        "TLS_ECDHE_ECDSA_WITH_"
    };
    assert!(
        v12.suite.starts_with(family),
        "TLS 1.2 with {chain} negotiated {}",
        v12.suite
    );

    let out = server.finish();
    let summaries = assert_server_ok(&out, 3);
    assert_eq!(summaries[0].get("suite"), ours.get("suite"));
    for (summary, view) in summaries[1..].iter().zip([&v13, &v12]) {
        assert_eq!(summary.get("version"), view.version);
        assert_eq!(summary.get("suite"), view.suite);
    }
}

#[test]
fn serves_ecdsa_p256_chain() {
    serve_certificate("ecdsa-p256.pem", "ecdsa-p256.key", "ECDSA");
}

#[test]
fn serves_ecdsa_p384_chain() {
    serve_certificate("ecdsa-p384.pem", "ecdsa-p384.key", "ECDSA");
}

#[test]
fn serves_rsa_chain() {
    serve_certificate("rsa.pem", "rsa.key", "RSA-PSS");
}

#[test]
fn serves_ed25519_chain() {
    serve_certificate("ed25519.pem", "ed25519.key", "ed25519");
}

#[test]
fn serves_rsa_pkcs1_key() {
    serve_certificate("rsa.pem", "rsa-pkcs1.key", "RSA-PSS");
}

#[test]
fn serves_ecdsa_sec1_key() {
    serve_certificate("ecdsa-p256.pem", "ecdsa-p256-sec1.key", "ECDSA");
}

// ---------------------------------------------------------------------------------------
// Refusals and failures
// ---------------------------------------------------------------------------------------

/// `openssl s_client` with `args` meets our server serving `chain`/`key`: no handshake
/// completes, and the server reports `code`. Returns the server's detail.
fn server_refuses(chain: &str, key: &str, args: &[&str], code: &str) -> String {
    let pki = Pki::shared();
    let server = start_server(&pki, ServerKind::Threaded, chain, key, &[], 1);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-quiet"])
        .args(args)
        .args(["-connect", &server.addr()])
        .args(["-servername", "localhost"]);
    let client = run("openssl s_client", cmd, b"never sent\n");
    assert_ne!(
        client.code(),
        0,
        "s_client connected with {args:?}:\n{}",
        client.stderr
    );
    assert!(client.stdout.is_empty());

    let out = server.finish();
    assert_eq!(out.code(), 0, "server stderr:\n{}", out.stderr);
    assert!(
        summaries(&out.stderr).is_empty(),
        "a handshake completed:\n{}",
        out.stderr
    );
    let prefix = format!("embertls: handshake failed: {code}: ");
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {code} failure in:\n{}", out.stderr))
        .to_owned()
}

#[test]
fn rsa_key_transport_is_refused() {
    let detail = server_refuses(
        "rsa.pem",
        "rsa.key",
        &["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
        "EMBER_ERR_NO_SHARED_CIPHER_SUITE",
    );
    assert!(
        detail.to_lowercase().contains("forward secrecy"),
        "detail does not explain why: {detail}"
    );
}

/// A TLS 1.2 client whose signature algorithms the server's key cannot make (P-384 only, for
/// a P-256 key) is the peer's incompatibility, as in TLS 1.3, not an internal failure: rustls
/// reports it as a general error in TLS 1.2 (found by the fuzz target conn_server).
#[test]
fn tls12_client_without_the_keys_signature_scheme_is_refused() {
    let detail = server_refuses(
        "ecdsa-p256.pem",
        "ecdsa-p256.key",
        &["-tls1_2", "-sigalgs", "ECDSA+SHA384"],
        "EMBER_ERR_PEER_INCOMPATIBLE",
    );
    assert!(
        detail.contains("signature"),
        "detail does not explain why: {detail}"
    );
}

/// Our client against s_server serving the chain `name`: the handshake must fail with
/// `code`.
fn client_rejects(name: &str, code: &str) {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, name, &[]);
    let out = client_to(&pki, &server.addr(), &[], b"secret\n");
    assert_eq!(out.code(), 1, "client stderr:\n{}", out.stderr);
    assert!(out.stdout.is_empty());
    let prefix = format!("embertls: handshake failed: {code}: ");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("expected {prefix:?} in:\n{}", out.stderr));
    assert!(
        line.len() > prefix.len(),
        "no detail after the code: {line}"
    );
    assert!(summaries(&out.stderr).is_empty());
    // s_server's exit status after a failed handshake is its business; it must not have
    // received the data.
    let served = server.proc.finish();
    assert!(
        served.stdout.is_empty(),
        "s_server received data: {:?}",
        served.stdout_text()
    );
}

#[test]
fn client_rejects_expired_certificate() {
    client_rejects("expired", "EMBER_ERR_CERT_EXPIRED");
}

#[test]
fn client_rejects_not_yet_valid_certificate() {
    client_rejects("notyet", "EMBER_ERR_CERT_NOT_YET_VALID");
}

#[test]
fn client_rejects_wrong_hostname() {
    client_rejects("wronghost", "EMBER_ERR_CERT_HOSTNAME_MISMATCH");
}

#[test]
fn client_rejects_unknown_issuer() {
    client_rejects("unknown-ca", "EMBER_ERR_CERT_UNKNOWN_ISSUER");
}

#[test]
fn client_rejects_bad_signature() {
    client_rejects("badsig", "EMBER_ERR_CERT_BAD_SIGNATURE");
}

#[test]
fn client_reports_truncation() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = PythonServer::start(&pki, "ecdsa-p256", &["--truncate"], 1);
        let client = Proc::spawn(
            "examples-c/client",
            client_command(&client_args(&pki, &server.addr(), &[version.ember_flag()])),
        );
        client.send(&b"ping\n"[..]);
        assert_eq!(client.stdout_exactly(5), b"ping\n");
        // stdin stays open: the client must notice the EOF by itself, not after ours.
        let out = client.wait_for_exit();
        assert_eq!(out.code(), 3, "client stderr:\n{}", out.stderr);
        assert_handshake(&only_summary(&out.stderr), version, "X25519", "localhost");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("embertls: ") && l.contains(": EMBER_ERR_UNEXPECTED_EOF: ")),
            "no EMBER_ERR_UNEXPECTED_EOF in:\n{}",
            out.stderr
        );
        let served = server.proc.finish();
        assert_eq!(served.code(), 0, "python server:\n{}", served.stderr);
    }
}

/// The demo's PKI (made without the openssl CLI) is enough for a verified handshake.
#[test]
fn basic_pki_serves_a_verified_handshake() {
    let pki = Pki::generate_basic();
    let mut files: Vec<String> = std::fs::read_dir(pki.dir())
        .expect("read PKI dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "ca.pem",
            "ecdsa-p256-leaf.pem",
            "ecdsa-p256.key",
            "ecdsa-p256.pem",
            "intermediate.pem"
        ]
    );
    let server = start_server(
        &pki,
        ServerKind::Threaded,
        "ecdsa-p256.pem",
        "ecdsa-p256.key",
        &[],
        1,
    );
    let out = client_to(&pki, &server.addr(), &[], b"demo\n");
    assert_handshake(&assert_client_ok(&out), Tls::V13, "X25519", "localhost");
    assert_eq!(out.stdout, b"demo\n");
    assert_server_ok(&server.finish(), 1);
}
