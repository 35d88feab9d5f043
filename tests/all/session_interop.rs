//! Sessions, ALPN, SNI and the observability options through the C examples (examples-c/)
//! against OpenSSL and each other, over 127.0.0.1 with the generated test PKI:
//!
//! - resumption both ways with `openssl s_server` / `s_client -sess_out/-sess_in`, by
//!   tickets shared between worker processes (`server --fork`) and between unrelated
//!   servers given one `--ticket-key-file`, and its absence where state is per process;
//! - ALPN (agreed, absent, no overlap) and SNI certificate selection;
//! - `--keylog`, `--export` and `--key-update` checked against what OpenSSL derives,
//!   exports and receives; `--trace` read back as a timeline.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};

use crate::support::{
    assert_server_ok, clean_summaries, client_args, client_command, client_to, non_summary_lines,
    only_summary, spawn_listening, summaries, EmberServer, Finished, OpensslServer, Pki, Proc,
    ServerKind, Summary,
};

/// What every client sends (one line: s_client's output is read line by line).
const DATA: &[u8] = b"resume me\n";
const DATA_LINE: &str = "resume me";

/// The exporter label of these tests (RFC 5705 reserves "EXPERIMENTAL" for such use).
const LABEL: &str = "EXPERIMENTAL-embertls";

/// A protocol version, as each program's option names it.
#[derive(Clone, Copy, Debug)]
struct Version {
    /// In the examples' summaries.
    name: &'static str,
    /// Our examples' option.
    ember: &'static str,
    /// OpenSSL's option.
    openssl: &'static str,
    /// The suite rustls and OpenSSL agree on with the ECDSA test certificates, as our
    /// summaries name it and as `s_client` does.
    suite: &'static str,
    openssl_suite: &'static str,
}

const TLS13: Version = Version {
    name: "TLSv1.3",
    ember: "--tls13",
    openssl: "-tls1_3",
    suite: "TLS_AES_256_GCM_SHA384",
    openssl_suite: "TLS_AES_256_GCM_SHA384",
};

const TLS12: Version = Version {
    name: "TLSv1.2",
    ember: "--tls12",
    openssl: "-tls1_2",
    suite: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    openssl_suite: "ECDHE-ECDSA-AES256-GCM-SHA384",
};

const VERSIONS: [Version; 2] = [TLS13, TLS12];

const KINDS: [ServerKind; 2] = [ServerKind::Threaded, ServerKind::Poll];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A scratch directory for key files, key logs and session files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "embertls-sessions-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a scratch directory");
        TempDir(dir)
    }

    /// A path in the directory (the file need not exist).
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// [`TempDir::file`] as a `String`, for command lines.
    fn arg(&self, name: &str) -> String {
        self.file(name).to_str().expect("UTF-8 path").to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes an 80-byte ticket key file (as `openssl rand 80` would) and returns its path.
fn ticket_key_file(dir: &TempDir, name: &str) -> String {
    let mut key = [0u8; 80];
    SystemRandom::new().fill(&mut key).expect("random bytes");
    fs::write(dir.file(name), key).expect("write the ticket key file");
    dir.arg(name)
}

/// Our server serving ecdsa-p256 (localhost, 127.0.0.1) for `conns` connections.
fn ember_server(pki: &Pki, kind: ServerKind, extra: &[&str], conns: usize) -> EmberServer {
    EmberServer::start(
        kind,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        extra,
        conns,
    )
}

/// The `resumed` field of each summary, in order.
fn resumed(all: &[Summary]) -> Vec<&str> {
    all.iter().map(|s| s.get("resumed")).collect()
}

/// Our client connecting to each of `addrs` in turn (one config), verifying "localhost"
/// against ca.pem, with `extra`, sending DATA on each connection.
fn client_to_each(pki: &Pki, addrs: &[&str], extra: &[&str]) -> Finished {
    let mut rest: Vec<&str> = Vec::new();
    for addr in &addrs[1..] {
        rest.extend(["--connect", addr]);
    }
    rest.extend(extra);
    client_to(pki, addrs[0], &rest, DATA)
}

/// `openssl s_client` without `-quiet`/`-brief`: its full report (session, ALPN, exported
/// keying material) goes to stdout with the data. Verifies against ca.pem; `-nocommands`
/// keeps the data from being read as commands, and stdin EOF sends close_notify.
fn verbose_s_client(pki: &Pki, addr: &str, extra: &[&str]) -> Proc {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", addr, "-no_ign_eof", "-nocommands"])
        .args(["-verify_return_error", "-CAfile"])
        .arg(pki.path("ca.pem"))
        .args(extra);
    Proc::spawn("openssl s_client", cmd)
}

/// s_client options sending and verifying `name`.
fn for_name(name: &str) -> [&str; 4] {
    ["-servername", name, "-verify_hostname", name]
}

/// Sends DATA through `client` (a verbose s_client), waits for our server's echo (by then
/// any TLS 1.3 ticket, sent before it, has arrived), closes and returns its output.
fn echo_through(client: Proc) -> Finished {
    let mut client = client;
    client.send(DATA);
    client.stdout_line(|line| (line == DATA_LINE).then_some(()));
    client.close_stdin();
    let out = client.finish();
    assert_eq!(out.code(), 0, "s_client:\n{}", out.stderr);
    out
}

/// The lines of `text` that start with `prefix`, with the prefix removed.
fn lines_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix(prefix))
        .collect()
}

/// The one line of `text` that starts with `prefix` (leading blanks ignored), without it.
fn only_line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    match lines_after(text, prefix)[..] {
        [one] => one,
        ref other => panic!("expected one line {prefix:?}, found {other:?} in:\n{text}"),
    }
}

/// `openssl s_server` without `-quiet`, for what only its full report shows (the exported
/// keying material): serving the ecdsa-p256 chain for one connection, with `extra`.
fn verbose_s_server(pki: &Pki, extra: &[&str]) -> (Proc, u16) {
    let (leaf, chain, key) = (
        pki.path("ecdsa-p256-leaf.pem"),
        pki.path("intermediate.pem"),
        pki.path("ecdsa-p256.key"),
    );
    spawn_listening("openssl s_server", |port| {
        let mut cmd = Command::new("openssl");
        // stdin stays an open pipe (Proc): s_server ends the connection on stdin EOF.
        cmd.args(["s_server", "-naccept", "1", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&leaf)
            .arg("-cert_chain")
            .arg(&chain)
            .arg("-key")
            .arg(&key)
            .args(extra);
        cmd
    })
}

/// The only line of an example's stderr besides its summaries (and trace lines) must be
/// `embertls: {what}: {code}: DETAIL`; returns DETAIL.
fn failure<'a>(stderr: &'a str, what: &str, code: &str) -> &'a str {
    let prefix = format!("embertls: {what}: {code}: ");
    let lines: Vec<&str> = non_summary_lines(stderr)
        .into_iter()
        .filter(|line| !line.starts_with("embertls: trace "))
        .collect();
    if let [line] = lines[..] {
        if let Some(detail) = line.strip_prefix(&prefix).filter(|d| !d.is_empty()) {
            return detail;
        }
    }
    panic!("expected one line {prefix:?} and a detail, got:\n{stderr}");
}

// ---------------------------------------------------------------------------------------
// a) Resumption with OpenSSL
// ---------------------------------------------------------------------------------------

/// `client --connect A --connect A`: one config, so the second connection offers the
/// session (TLS 1.3 ticket; TLS 1.2 ticket) the first one got from s_server.
#[test]
fn our_client_resumes_with_openssl_server() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = OpensslServer::start(&pki, "ecdsa-p256", &[version.openssl, "-naccept", "2"]);
        let addr = server.addr();
        let out = client_to_each(&pki, &[&addr, &addr], &[version.ember]);
        let all = clean_summaries(&out, "client", 2);
        assert_eq!(resumed(&all), ["no", "yes"], "{}", out.stderr);
        for summary in &all {
            assert_eq!(summary.get("version"), version.name);
            assert_eq!(summary.get("suite"), version.suite);
        }
        // A TLS 1.2 resumption has no key exchange of its own; TLS 1.3 resumes with one
        // (psk_dhe_ke).
        let group = if version.name == "TLSv1.3" {
            "X25519"
        } else {
            "-"
        };
        assert_eq!(all[1].get("group"), group);
        // Every connection sent all of stdin.
        assert_eq!(out.stdout, b"", "s_server echoes nothing");
        let served = server.proc.finish();
        assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
        assert_eq!(
            served.stdout,
            [DATA, DATA].concat(),
            "what s_server received"
        );
    }
}

/// `s_client -sess_out FILE`, then `s_client -sess_in FILE`: OpenSSL resumes the session
/// our servers gave it, and both ends say so.
#[test]
fn openssl_client_resumes_with_our_servers() {
    let pki = Pki::shared();
    for kind in KINDS {
        for version in VERSIONS {
            let dir = TempDir::new();
            let session = dir.arg("session.pem");
            let server = ember_server(&pki, kind, &[version.ember], 2);
            let mut reports = Vec::new();
            for sess in ["-sess_out", "-sess_in"] {
                let mut extra = for_name("localhost").to_vec();
                extra.extend([version.openssl, sess, &session]);
                let out = echo_through(verbose_s_client(&pki, &server.addr(), &extra));
                reports.push(out.stdout_text());
            }
            for (report, how) in reports.iter().zip(["New", "Reused"]) {
                assert_eq!(
                    lines_after(report, &format!("{how}, ")),
                    [format!(
                        "{}, Cipher is {}",
                        version.name, version.openssl_suite
                    )],
                    "{kind:?} {}: s_client:\n{report}",
                    version.name
                );
            }
            let all = assert_server_ok(&server.finish(), 2);
            assert_eq!(resumed(&all), ["no", "yes"], "{kind:?} {}", version.name);
            for summary in &all {
                assert_eq!(summary.get("version"), version.name);
                assert_eq!(summary.get("server_name"), "localhost");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// b) Worker processes: server --fork
// ---------------------------------------------------------------------------------------

/// Each connection is served by its own child, forked after ember_config_new: the ticket
/// keys drawn there are the same in every child, so the second child opens the ticket the
/// first one sealed.
#[test]
fn forked_workers_resume_each_others_sessions() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = ember_server(&pki, ServerKind::Threaded, &["--fork", version.ember], 2);
        let addr = server.addr();
        let out = client_to_each(&pki, &[&addr, &addr], &[version.ember]);
        assert_eq!(resumed(&clean_summaries(&out, "client", 2)), ["no", "yes"]);
        assert_eq!(out.stdout, [DATA, DATA].concat(), "the echoes");
        let all = assert_server_ok(&server.finish(), 2);
        assert_eq!(resumed(&all), ["no", "yes"], "{}", version.name);
    }
}

/// Without tickets, a server resumes from the sessions it keeps in memory (TLS 1.2
/// session ids, TLS 1.3 stateful tickets). Threads share that memory; forked workers do
/// not, each having its own copy made at the fork: that is why workers need tickets.
#[test]
fn forked_workers_without_tickets_do_not_resume() {
    let pki = Pki::shared();
    for version in VERSIONS {
        for (fork, expected) in [(false, "yes"), (true, "no")] {
            let mut extra = vec!["--no-tickets", version.ember];
            if fork {
                extra.push("--fork");
            }
            let server = ember_server(&pki, ServerKind::Threaded, &extra, 2);
            let addr = server.addr();
            let out = client_to_each(&pki, &[&addr, &addr], &[version.ember]);
            let context = format!("{} fork={fork}", version.name);
            assert_eq!(
                resumed(&clean_summaries(&out, "client", 2)),
                ["no", expected],
                "{context}"
            );
            // Resumed or not, both connections worked.
            assert_eq!(out.stdout, [DATA, DATA].concat(), "{context}");
            let all = assert_server_ok(&server.finish(), 2);
            assert_eq!(resumed(&all), ["no", expected], "{context}");
        }
    }
}

/// The children of process `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("a pid"))
        .collect()
}

/// The parent's exit status reflects its workers': a worker killed by a signal is named
/// and makes the server exit 3 once every worker is done; the other worker, whose client
/// left mid-handshake, reports that and is no failure.
#[test]
fn forked_server_reports_a_worker_that_died() {
    let pki = Pki::shared();
    let server = ember_server(&pki, ServerKind::Threaded, &["--fork"], 2);
    // Plain TCP clients that never send a ClientHello: each worker waits for one.
    let first = TcpStream::connect(server.addr()).expect("connect");
    let second = TcpStream::connect(server.addr()).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    let workers = loop {
        let workers = children(server.pid());
        if workers.len() == 2 {
            break workers;
        }
        assert!(Instant::now() < deadline, "workers: {workers:?}");
        thread::sleep(Duration::from_millis(5));
    };
    let killed = workers[0];
    let status = Command::new("kill")
        .args(["-KILL", &killed.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    drop((first, second));
    let out = server.finish();
    assert_eq!(out.code(), 3, "server stderr:\n{}", out.stderr);
    let mut lines = non_summary_lines(&out.stderr);
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "embertls: handshake failed: EMBER_ERR_UNEXPECTED_EOF: the peer closed the connection during the handshake".to_owned(),
            format!("embertls: worker {killed} killed by signal 9"),
        ],
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// c) Separate servers sharing a ticket key file
// ---------------------------------------------------------------------------------------

/// Two unrelated server processes (one of each kind) resume each other's sessions when
/// given the same 80-byte key file, and not with different keys: the second connection
/// then falls back to a full handshake and still succeeds.
#[test]
fn servers_sharing_a_ticket_key_file_resume_each_others_sessions() {
    let pki = Pki::shared();
    let dir = TempDir::new();
    let shared = ticket_key_file(&dir, "shared.key");
    let other = ticket_key_file(&dir, "other.key");
    for version in VERSIONS {
        for (b_keys, expected) in [(&shared, "yes"), (&other, "no")] {
            let a = ember_server(
                &pki,
                ServerKind::Threaded,
                &["--ticket-key-file", &shared, version.ember],
                1,
            );
            let b = ember_server(
                &pki,
                ServerKind::Poll,
                &["--ticket-key-file", b_keys, version.ember],
                1,
            );
            let out = client_to_each(&pki, &[&a.addr(), &b.addr()], &[version.ember]);
            let context = format!("{} B's keys the same: {}", version.name, expected);
            assert_eq!(
                resumed(&clean_summaries(&out, "client", 2)),
                ["no", expected],
                "{context}"
            );
            assert_eq!(out.stdout, [DATA, DATA].concat(), "{context}");
            assert_eq!(resumed(&assert_server_ok(&a.finish(), 1)), ["no"]);
            assert_eq!(
                resumed(&assert_server_ok(&b.finish(), 1)),
                [expected],
                "{context}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// d) ALPN and SNI
// ---------------------------------------------------------------------------------------

/// One name, two certificates: ECDSA first, then RSA. A client that accepts only RSA
/// signatures gets the RSA certificate; one that accepts ECDSA gets the first.
#[test]
fn of_two_certificates_for_a_name_the_client_gets_one_it_can_verify() {
    let pki = Pki::shared();
    let (rsa, rsa_key) = (pki.arg("rsa.pem"), pki.arg("rsa.key"));
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &["--cert", &rsa, "--key", &rsa_key],
        4,
    );
    let addr = server.addr();
    // (s_client options, the public key s_client reports)
    let cases = [
        (
            "-tls1_3",
            "rsa_pss_rsae_sha256",
            "Server public key is 2048 bit",
        ),
        (
            "-tls1_3",
            "ecdsa_secp256r1_sha256",
            "Server public key is 256 bit",
        ),
        (
            "-tls1_2",
            "rsa_pss_rsae_sha256:rsa_pkcs1_sha256",
            "Server public key is 2048 bit",
        ),
        (
            "-tls1_2",
            "ecdsa_secp256r1_sha256",
            "Server public key is 256 bit",
        ),
    ];
    for (version, sigalgs, key) in cases {
        let extra = [&for_name("localhost")[..], &[version, "-sigalgs", sigalgs]].concat();
        let report = echo_through(verbose_s_client(&pki, &addr, &extra)).stdout_text();
        assert_eq!(
            lines_after(&report, key).len(),
            1,
            "{version} {sigalgs}: {key:?} in:\n{report}"
        );
        assert_eq!(
            only_line_after(&report, "Verification: "),
            "OK",
            "{version} {sigalgs}"
        );
    }
    assert_server_ok(&server.finish(), 4);
}

/// A server with two certificates: wronghost (valid only for other.example) first, then
/// ecdsa-p256 (localhost). The client's SNI picks one; no SNI gets the first. ALPN picks
/// the protocol s_client offers from the server's list.
#[test]
fn sni_picks_the_certificate_and_alpn_the_protocol() {
    let pki = Pki::shared();
    for kind in KINDS {
        let (cert, key) = (pki.arg("ecdsa-p256.pem"), pki.arg("ecdsa-p256.key"));
        let server = EmberServer::start(
            kind,
            &pki.path("wronghost.pem"),
            &pki.path("wronghost.key"),
            &["--cert", &cert, "--key", &key, "--alpn", "h2,http/1.1"],
            3,
        );
        let addr = server.addr();
        // (s_client options, the certificate's subject, ALPN as s_client reports it)
        let cases: [(Vec<&str>, &str, &str); 3] = [
            (
                [&for_name("localhost")[..], &["-alpn", "http/1.1"]].concat(),
                "CN=localhost",
                "ALPN protocol: http/1.1",
            ),
            (
                [&for_name("other.example")[..], &["-alpn", "http/1.1"]].concat(),
                "CN=other.example",
                "ALPN protocol: http/1.1",
            ),
            (
                vec!["-noservername", "-verify_hostname", "other.example"],
                "CN=other.example",
                "No ALPN negotiated",
            ),
        ];
        for (extra, subject, alpn) in &cases {
            let out = echo_through(verbose_s_client(&pki, &addr, extra));
            let report = out.stdout_text();
            // OpenSSL 3.0 writes "CN = localhost", later versions "CN=localhost".
            assert_eq!(
                only_line_after(&report, "subject=").replace(' ', ""),
                *subject,
                "{extra:?}"
            );
            assert_eq!(
                only_line_after(&report, "Verification: "),
                "OK",
                "{extra:?}"
            );
            assert_eq!(
                report.lines().filter(|l| *l == *alpn).count(),
                1,
                "{extra:?}: {alpn:?} in:\n{report}"
            );
        }
        let all = assert_server_ok(&server.finish(), 3);
        let seen: Vec<(&str, &str)> = all
            .iter()
            .map(|s| (s.get("server_name"), s.get("alpn")))
            .collect();
        assert_eq!(
            seen,
            [
                ("localhost", "http/1.1"),
                ("other.example", "http/1.1"),
                ("-", "-")
            ],
            "{kind:?}"
        );
    }
}

/// Our client offers h2 then http/1.1; s_server accepts h2 only: h2. An s_server without
/// ALPN: no protocol, and the handshake completes.
#[test]
fn our_client_alpn_with_openssl_server() {
    let pki = Pki::shared();
    for version in VERSIONS {
        for (server_alpn, expected) in [(&["-alpn", "h2"][..], "h2"), (&[][..], "-")] {
            let mut extra = server_alpn.to_vec();
            extra.push(version.openssl);
            let server = OpensslServer::start(&pki, "ecdsa-p256", &extra);
            let out = client_to(
                &pki,
                &server.addr(),
                &[version.ember, "--alpn", "h2,http/1.1"],
                DATA,
            );
            let summary = &clean_summaries(&out, "client", 1)[0];
            assert_eq!(summary.get("alpn"), expected, "{} {extra:?}", version.name);
            assert_eq!(summary.get("version"), version.name);
            let served = server.proc.finish();
            assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
            assert_eq!(served.stdout, DATA);
        }
    }
}

/// No protocol in common. OpenSSL as the server refuses with the alert
/// no_application_protocol (120), which our client reports as EMBER_ERR_NO_ALPN_OVERLAP
/// (the alert is named in the detail); rustls as the server refuses with the same alert,
/// which s_client reports, and our server reports the same code.
#[test]
fn no_alpn_overlap_fails_the_handshake() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = OpensslServer::start(&pki, "ecdsa-p256", &["-alpn", "foo", version.openssl]);
        let out = client_to(
            &pki,
            &server.addr(),
            &[version.ember, "--alpn", "h2,http/1.1"],
            DATA,
        );
        assert_eq!(out.code(), 1, "client stderr:\n{}", out.stderr);
        assert_eq!(
            failure(&out.stderr, "handshake failed", "EMBER_ERR_NO_ALPN_OVERLAP"),
            "the peer sent the fatal alert no_application_protocol (120)"
        );
        let served = server.proc.finish();
        assert!(served.stdout.is_empty());
        assert!(
            served.stderr.contains(":no application protocol:"),
            "s_server:\n{}",
            served.stderr
        );
    }

    let server = ember_server(&pki, ServerKind::Poll, &["--alpn", "h2,http/1.1"], 2);
    for version in VERSIONS {
        let mut extra = for_name("localhost").to_vec();
        extra.extend(["-alpn", "foo", version.openssl]);
        // stdin stays open: s_client ends on the alert.
        let out = verbose_s_client(&pki, &server.addr(), &extra).wait_for_exit();
        assert_ne!(out.code(), 0, "s_client got through:\n{}", out.stderr);
        assert!(
            out.stderr.contains("tlsv1 alert no application protocol")
                && out.stderr.contains("SSL alert number 120"),
            "s_client:\n{}",
            out.stderr
        );
    }
    let out = server.finish();
    assert_eq!(out.code(), 0, "server stderr:\n{}", out.stderr);
    assert!(summaries(&out.stderr).is_empty(), "{}", out.stderr);
    assert_eq!(
        non_summary_lines(&out.stderr),
        ["embertls: handshake failed: EMBER_ERR_NO_ALPN_OVERLAP: the peers share no \
             application protocol (ALPN): the client offered \"foo\", none of which this \
             server accepts (ember_config_set_alpn)"; 2],
    );
}

// ---------------------------------------------------------------------------------------
// e) Key log
// ---------------------------------------------------------------------------------------

/// The key-log lines of a file, comments (OpenSSL's header) left out, as a set.
fn keylog_lines(path: &Path) -> BTreeSet<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The labels of a set of key-log lines.
fn labels(lines: &BTreeSet<String>) -> BTreeSet<&str> {
    lines
        .iter()
        .map(|line| line.split(' ').next().expect("a label"))
        .collect()
}

/// The key-log labels of each version: TLS 1.3's five secrets, TLS 1.2's master secret.
fn expected_labels(version: Version) -> BTreeSet<&'static str> {
    match version.name {
        "TLSv1.3" => [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
            "EXPORTER_SECRET",
        ]
        .into(),
        _ => ["CLIENT_RANDOM"].into(),
    }
}

/// Our server's --keylog and `s_client -keylogfile` write the same lines for a connection
/// (one server, both connections in one file: each connection's lines are picked by its
/// client random, the second field).
#[test]
fn our_server_keylog_matches_openssl_client() {
    let pki = Pki::shared();
    let dir = TempDir::new();
    let ours = dir.file("server.keylog");
    let ours_arg = dir.arg("server.keylog");
    let server = ember_server(&pki, ServerKind::Threaded, &["--keylog", &ours_arg], 2);
    let mut theirs = Vec::new();
    for version in VERSIONS {
        let file = dir.arg(&format!("s_client-{}.keylog", version.name));
        let mut extra = for_name("localhost").to_vec();
        extra.extend([version.openssl, "-keylogfile", &file]);
        echo_through(verbose_s_client(&pki, &server.addr(), &extra));
        theirs.push((version, keylog_lines(Path::new(&file))));
    }
    assert_server_ok(&server.finish(), 2);
    let all_ours = keylog_lines(&ours);
    let mut accounted = 0;
    for (version, theirs) in theirs {
        assert_eq!(
            labels(&theirs),
            expected_labels(version),
            "{}",
            version.name
        );
        let random = theirs
            .iter()
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .expect("a client random");
        let ours: BTreeSet<String> = all_ours
            .iter()
            .filter(|line| line.split(' ').nth(1) == Some(random))
            .cloned()
            .collect();
        assert_eq!(ours, theirs, "{}", version.name);
        accounted += ours.len();
    }
    assert_eq!(
        accounted,
        all_ours.len(),
        "lines of no connection: {all_ours:?}"
    );
}

/// The other way round: our client's --keylog against `s_server -keylogfile`.
#[test]
fn our_client_keylog_matches_openssl_server() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let dir = TempDir::new();
        let (ours, theirs) = (dir.arg("client.keylog"), dir.arg("s_server.keylog"));
        let server = OpensslServer::start(
            &pki,
            "ecdsa-p256",
            &[version.openssl, "-keylogfile", &theirs],
        );
        let out = client_to(
            &pki,
            &server.addr(),
            &[version.ember, "--keylog", &ours],
            DATA,
        );
        clean_summaries(&out, "client", 1);
        let served = server.proc.finish();
        assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
        let ours = keylog_lines(Path::new(&ours));
        assert_eq!(labels(&ours), expected_labels(version), "{}", version.name);
        assert_eq!(ours, keylog_lines(Path::new(&theirs)), "{}", version.name);
    }
}

// ---------------------------------------------------------------------------------------
// f) Exported keying material
// ---------------------------------------------------------------------------------------

/// "Keying material: HEX" from OpenSSL's report (upper-case hex), in lower case.
fn openssl_keying_material(report: &str) -> String {
    let hex = only_line_after(report, "Keying material: ").to_ascii_lowercase();
    assert_eq!(hex.len(), 64, "32 bytes in hex: {hex}");
    hex
}

#[test]
fn our_server_exports_what_openssl_client_exports() {
    let pki = Pki::shared();
    let export = format!("{LABEL}:32");
    for kind in KINDS {
        let server = ember_server(&pki, kind, &["--export", &export], 2);
        let mut theirs = Vec::new();
        for version in VERSIONS {
            let mut extra = for_name("localhost").to_vec();
            extra.extend([version.openssl, "-keymatexport", LABEL]);
            extra.extend(["-keymatexportlen", "32"]);
            let out = echo_through(verbose_s_client(&pki, &server.addr(), &extra));
            let report = out.stdout_text();
            assert_eq!(only_line_after(&report, "Label: "), format!("'{LABEL}'"));
            theirs.push(openssl_keying_material(&report));
        }
        let all = assert_server_ok(&server.finish(), 2);
        let ours: Vec<&str> = all.iter().map(|s| s.get("exporter")).collect();
        assert_eq!(ours, theirs, "{kind:?}");
        assert_ne!(ours[0], ours[1], "two sessions, two exports");
    }
}

#[test]
fn our_client_exports_what_openssl_server_exports() {
    let pki = Pki::shared();
    let export = format!("{LABEL}:32");
    for version in VERSIONS {
        let (server, port) = verbose_s_server(
            &pki,
            &[
                version.openssl,
                "-keymatexport",
                LABEL,
                "-keymatexportlen",
                "32",
            ],
        );
        let addr = format!("127.0.0.1:{port}");
        let out = client_to(&pki, &addr, &[version.ember, "--export", &export], DATA);
        let summary = &clean_summaries(&out, "client", 1)[0];
        let served = server.finish();
        assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
        let report = served.stdout_text();
        assert_eq!(
            summary.get("exporter"),
            openssl_keying_material(&report),
            "{}",
            version.name
        );
        // s_server's stdout also has what it received.
        assert_eq!(
            report.lines().filter(|l| *l == DATA_LINE).count(),
            1,
            "{report}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// g) Key update
// ---------------------------------------------------------------------------------------

/// The KeyUpdate messages in an `s_server -msg` log: (direction, body), direction "<<<"
/// for received and ">>>" for sent, body the hex line that follows (type 0x18, length 1,
/// then request_update: 01 update_requested, 00 update_not_requested).
fn key_updates(msg_log: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = msg_log.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.ends_with("KeyUpdate"))
        .map(|(i, line)| {
            let direction = line.split(' ').next().unwrap_or_default().to_owned();
            let body = lines.get(i + 1).map_or("", |l| l.trim()).to_owned();
            (direction, body)
        })
        .collect()
}

/// TLS 1.3: our client updates its keys right after the handshake and asks s_server to
/// update too. s_server receives the KeyUpdate, then our data intact; it answers with its
/// own KeyUpdate before the reply it sends next, which reaches our client intact.
#[test]
fn key_update_with_openssl_server() {
    let pki = Pki::shared();
    let dir = TempDir::new();
    let msg_log = dir.arg("s_server.msg");
    let server = OpensslServer::start(
        &pki,
        "ecdsa-p256",
        &["-tls1_3", "-msg", "-msgfile", &msg_log],
    );
    let mut client = Proc::spawn(
        "examples-c/client",
        client_command(&client_args(
            &pki,
            &server.addr(),
            &["--tls13", "--key-update"],
        )),
    );
    // stdin stays open until the reply is back: the client streams it.
    client.send(DATA);
    assert_eq!(server.proc.stdout_exactly(DATA.len()), DATA);
    let reply = b"and back again\n";
    server.proc.send(&reply[..]);
    assert_eq!(client.stdout_exactly(reply.len()), reply);
    client.close_stdin();
    let out = client.finish();
    let summary = &clean_summaries(&out, "client", 1)[0];
    assert_eq!(summary.get("version"), "TLSv1.3");
    assert_eq!(out.stdout, reply);
    let served = server.proc.finish();
    assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
    assert_eq!(served.stdout, DATA);
    let log = fs::read_to_string(&msg_log).expect("read the s_server -msg log");
    assert_eq!(
        key_updates(&log),
        [
            ("<<<".to_owned(), "18 00 00 01 01".to_owned()),
            (">>>".to_owned(), "18 00 00 01 00".to_owned())
        ],
        "s_server -msg:\n{log}"
    );
}

/// TLS 1.2 has no key update: the client reports the refusal and carries on, with exit
/// status 0; the data arrives.
#[test]
fn key_update_on_tls12_is_reported_and_the_connection_goes_on() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "ecdsa-p256", &["-tls1_2"]);
    let out = client_to(&pki, &server.addr(), &["--key-update"], DATA);
    assert_eq!(out.code(), 0, "client stderr:\n{}", out.stderr);
    assert_eq!(only_summary(&out.stderr).get("version"), "TLSv1.2");
    assert_eq!(
        failure(&out.stderr, "key update", "EMBER_ERR_WRONG_STATE"),
        "key update needs TLS 1.3; this connection uses TLS 1.2 (renegotiation is never done)"
    );
    let served = server.proc.finish();
    assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
    assert_eq!(served.stdout, DATA);
}

// ---------------------------------------------------------------------------------------
// h) Trace
// ---------------------------------------------------------------------------------------

/// One `embertls: trace +T ms STEP text` line.
#[derive(Debug)]
struct TraceLine {
    ms: f64,
    step: String,
    text: String,
}

/// The trace lines of an example's stderr, split into connections (one after the other,
/// each starting with its ClientHello, at +0.000 ms); times never go back.
fn traces(stderr: &str) -> Vec<Vec<TraceLine>> {
    let mut all: Vec<Vec<TraceLine>> = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("embertls: trace +") else {
            continue;
        };
        let (ms, rest) = rest.split_once(" ms ").expect("+T ms");
        let (step, text) = rest.split_once(' ').unwrap_or((rest, ""));
        let ms: f64 = ms.parse().expect("a time");
        if step.starts_with("CLIENT_HELLO_") || all.is_empty() {
            assert_eq!(ms, 0.0, "a connection's first step is at +0.000 ms: {line}");
            all.push(Vec::new());
        }
        all.last_mut().expect("a connection").push(TraceLine {
            ms,
            step: step.to_owned(),
            text: text.to_owned(),
        });
    }
    for connection in &all {
        for pair in connection.windows(2) {
            assert!(pair[0].ms <= pair[1].ms, "time went back: {pair:?}");
        }
    }
    all
}

/// The steps of a connection's trace, in order.
fn steps(trace: &[TraceLine]) -> Vec<&str> {
    trace.iter().map(|line| line.step.as_str()).collect()
}

/// The text of the only line of `step` in `trace`.
fn text_of<'a>(trace: &'a [TraceLine], step: &str) -> &'a str {
    match trace
        .iter()
        .filter(|line| line.step == step)
        .collect::<Vec<_>>()[..]
    {
        [one] => &one.text,
        ref other => panic!("expected one {step}, got {other:?}"),
    }
}

/// A full TLS 1.3 handshake, then a resumed one, as our client traces them against our
/// server; in TLS 1.2 the same, with TLS 1.2's steps.
#[test]
fn client_trace_is_a_timeline_of_the_handshake() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = ember_server(&pki, ServerKind::Poll, &[version.ember], 2);
        let addr = server.addr();
        let out = client_to_each(&pki, &[&addr, &addr], &[version.ember, "--trace"]);
        assert_eq!(out.code(), 0, "client stderr:\n{}", out.stderr);
        assert_eq!(resumed(&summaries(&out.stderr)), ["no", "yes"]);
        let traces = traces(&out.stderr);
        assert_eq!(traces.len(), 2, "{}", out.stderr);
        let (full, resumed_trace) = (&traces[0], &traces[1]);

        let full_steps: &[&str] = if version.name == "TLSv1.3" {
            &[
                "CLIENT_HELLO_SENT",
                "SERVER_HELLO_RECEIVED",
                "KEY_EXCHANGE",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "CERTIFICATE_RECEIVED",
                "CERTIFICATE_CHECK",
                "CERTIFICATE_CHECK",
                "CERTIFICATE_CHECK",
                "SIGNATURE_VERIFIED",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "FINISHED",
                "COMPLETE",
            ]
        } else {
            // KEY_EXCHANGE comes before CERTIFICATE_RECEIVED although ServerKeyExchange
            // follows Certificate on the wire: the server's flight is read (and its
            // plaintext ServerKeyExchange seen) before rustls hands the chain to the
            // verifier.
            &[
                "CLIENT_HELLO_SENT",
                "SERVER_HELLO_RECEIVED",
                "KEY_EXCHANGE",
                "CERTIFICATE_RECEIVED",
                "CERTIFICATE_CHECK",
                "CERTIFICATE_CHECK",
                "CERTIFICATE_CHECK",
                "SIGNATURE_VERIFIED",
                "KEYS_DERIVED",
                "FINISHED",
                "COMPLETE",
            ]
        };
        assert_eq!(steps(full), full_steps, "{}:\n{}", version.name, out.stderr);
        assert_eq!(
            text_of(full, "SERVER_HELLO_RECEIVED"),
            format!("{} {}", version.name, version.suite)
        );
        let kx = if version.name == "TLSv1.3" {
            "ECDHE over X25519 (TLS 1.3 key share)"
        } else {
            "ECDHE over X25519 (TLS 1.2 ServerKeyExchange)"
        };
        assert_eq!(text_of(full, "KEY_EXCHANGE"), kx);
        assert_eq!(
            full.iter()
                .filter(|l| l.step == "CERTIFICATE_CHECK")
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>(),
            [
                "chain to a trusted root, signatures and validity dates: ok",
                "host name \"localhost\": ok",
                "revocation: not checked (the trust store has no CRL)",
            ]
        );
        assert!(
            text_of(full, "CERTIFICATE_RECEIVED").starts_with("2 certificate(s): \"CN=localhost\""),
            "{}",
            text_of(full, "CERTIFICATE_RECEIVED")
        );
        assert_eq!(
            text_of(full, "FINISHED"),
            "server Finished verified; client Finished sent"
        );
        assert!(
            text_of(full, "COMPLETE").starts_with("full handshake in "),
            "{}",
            text_of(full, "COMPLETE")
        );

        // The resumed handshake: no certificate, the session's keys.
        let resumed_steps: &[&str] = if version.name == "TLSv1.3" {
            &[
                "CLIENT_HELLO_SENT",
                "SERVER_HELLO_RECEIVED",
                "KEY_EXCHANGE",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "KEYS_DERIVED",
                "FINISHED",
                "COMPLETE",
            ]
        } else {
            &[
                "CLIENT_HELLO_SENT",
                "SERVER_HELLO_RECEIVED",
                "KEYS_DERIVED",
                "FINISHED",
                "COMPLETE",
            ]
        };
        assert_eq!(steps(resumed_trace), resumed_steps, "{}", version.name);
        assert!(
            text_of(resumed_trace, "CLIENT_HELLO_SENT").contains("offers resumption"),
            "{}",
            text_of(resumed_trace, "CLIENT_HELLO_SENT")
        );
        assert!(
            text_of(resumed_trace, "COMPLETE").starts_with("resumed session in "),
            "{}",
            text_of(resumed_trace, "COMPLETE")
        );
        assert_server_ok(&server.finish(), 2);
    }
}

/// A failed handshake's trace ends with FAILED, whose text is the detail the client
/// reports ("handshake failed: CODE: detail").
#[test]
fn client_trace_ends_with_the_failure() {
    let pki = Pki::shared();
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("expired.pem"),
        &pki.path("expired.key"),
        &[],
        1,
    );
    let out = client_to(&pki, &server.addr(), &["--trace"], DATA);
    assert_eq!(out.code(), 1, "client stderr:\n{}", out.stderr);
    let detail = failure(&out.stderr, "handshake failed", "EMBER_ERR_CERT_EXPIRED");
    let traces = traces(&out.stderr);
    assert_eq!(traces.len(), 1, "{}", out.stderr);
    assert!(
        detail.starts_with("the peer's certificate expired at "),
        "{detail}"
    );
    let trace = &traces[0];
    assert_eq!(
        steps(trace),
        [
            "CLIENT_HELLO_SENT",
            "SERVER_HELLO_RECEIVED",
            "KEY_EXCHANGE",
            "KEYS_DERIVED",
            "KEYS_DERIVED",
            "CERTIFICATE_RECEIVED",
            "CERTIFICATE_CHECK",
            "FAILED",
        ],
        "{}",
        out.stderr
    );
    // The check that failed, with the verdict, then the failure with the same detail.
    assert_eq!(
        text_of(trace, "CERTIFICATE_CHECK"),
        format!("failed: {detail}")
    );
    assert_eq!(text_of(trace, "FAILED"), detail);
    let served = server.finish();
    assert_eq!(served.code(), 0, "server stderr:\n{}", served.stderr);
    // Our server learns why from the alert our client sent.
    assert_eq!(
        failure(
            &served.stderr,
            "handshake failed",
            "EMBER_ERR_ALERT_RECEIVED"
        ),
        "the peer sent the fatal alert certificate_expired (45)"
    );
}

/// A server's trace: each connection starts with the ClientHello it received (naming the
/// server name and ALPN offered) and ends complete.
#[test]
fn server_trace_starts_with_the_client_hello() {
    let pki = Pki::shared();
    for kind in KINDS {
        let server = ember_server(&pki, kind, &["--trace", "--alpn", "h2"], 1);
        let out = client_to(&pki, &server.addr(), &["--alpn", "h2"], DATA);
        assert_eq!(clean_summaries(&out, "client", 1)[0].get("alpn"), "h2");
        let served = server.finish();
        assert_eq!(served.code(), 0, "server stderr:\n{}", served.stderr);
        let traces = traces(&served.stderr);
        assert_eq!(traces.len(), 1, "{}", served.stderr);
        let trace = &traces[0];
        assert_eq!(trace[0].step, "CLIENT_HELLO_RECEIVED");
        for part in ["server_name localhost", "alpn h2"] {
            assert!(trace[0].text.contains(part), "{part}: {}", trace[0].text);
        }
        assert_eq!(
            text_of(trace, "FINISHED"),
            "client Finished verified; server Finished sent"
        );
        let last = trace.last().expect("a last line");
        assert_eq!(last.step, "COMPLETE");
        assert!(last.text.starts_with("full handshake in "), "{}", last.text);
    }
}
