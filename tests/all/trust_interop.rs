//! Trust decisions through the C examples (examples-c/) against real peers, over 127.0.0.1
//! with the generated test PKI:
//!
//! - our client refusing server chains served by `openssl s_server` (self-signed, missing
//!   intermediate, unknown CA, wrong purpose, unsupported algorithm, revoked, revocation
//!   unknown), each by its exact result code, its detail where it names the culprit, and
//!   the alert s_server received;
//! - mutual TLS both ways with OpenSSL (`s_server -Verify`, `s_client -cert`) and Python's
//!   `ssl` (tests/peers/*.py with `--client-ca` / `--cert`), including the refusals of our
//!   servers' `--client-ca` / `--crl`;
//! - key pinning with our client's `--pin-sha256`, the pins made with the openssl CLI.

use std::path::Path;
use std::process::Command;

use crate::support::{
    assert_client_ok, assert_server_ok, client_args, client_command, client_to, key_values,
    non_summary_lines, only_summary, python_echo_client, run_client, s_client, summaries,
    EmberServer, Finished, OpensslServer, Pki, Proc, PythonServer, ServerKind,
};

/// What every client sends; servers echo it (s_server prints it).
const DATA: &[u8] = b"trust, but verify\n";

/// A protocol version, as each program's option names it.
#[derive(Clone, Copy, Debug)]
struct Version {
    /// In the examples' summaries and `s_client -brief`.
    name: &'static str,
    /// Our examples' option.
    ember: &'static str,
    /// OpenSSL's option.
    openssl: &'static str,
    /// tests/peers' `--version`.
    python: &'static str,
}

const TLS13: Version = Version {
    name: "TLSv1.3",
    ember: "--tls13",
    openssl: "-tls1_3",
    python: "tls13",
};

const TLS12: Version = Version {
    name: "TLSv1.2",
    ember: "--tls12",
    openssl: "-tls1_2",
    python: "tls12",
};

const VERSIONS: [Version; 2] = [TLS13, TLS12];

/// The only line of an example's stderr besides its handshake summaries must be
/// `embertls: {what}: {code}: DETAIL`; returns DETAIL.
fn failure<'a>(stderr: &'a str, what: &str, code: &str) -> &'a str {
    let prefix = format!("embertls: {what}: {code}: ");
    let lines = non_summary_lines(stderr);
    if let [line] = lines[..] {
        if let Some(detail) = line.strip_prefix(&prefix).filter(|d| !d.is_empty()) {
            return detail;
        }
    }
    panic!("expected one line {prefix:?} and a detail, got:\n{stderr}");
}

/// The alert an OpenSSL peer received, from its error line "... SSL alert number N".
fn openssl_alert(stderr: &str) -> u8 {
    stderr
        .split("SSL alert number ")
        .nth(1)
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("the OpenSSL peer reports no alert:\n{stderr}"))
}

/// Our client's options to reach `addr` as "localhost" without `--ca` (so trusting the
/// built-in roots), then `extra`.
fn args_without_ca(addr: &str, extra: &[&str]) -> Vec<String> {
    ["--connect", addr, "--servername", "localhost"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// Runs our client with `args` against `server` and checks that the handshake failed with
/// `code` (exit status 1, nothing exchanged) and that s_server received `alert`; returns
/// the client's detail.
fn client_refuses(server: OpensslServer, args: &[String], code: &str, alert: u8) -> String {
    let out = run_client(args, DATA);
    assert_eq!(out.code(), 1, "client stderr:\n{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "client printed {:?}",
        out.stdout_text()
    );
    let detail = failure(&out.stderr, "handshake failed", code).to_owned();
    let served = server.proc.finish();
    assert!(
        served.stdout.is_empty(),
        "s_server received data: {:?}",
        served.stdout_text()
    );
    assert_eq!(
        openssl_alert(&served.stderr),
        alert,
        "alert s_server received"
    );
    detail
}

/// Our client's run ended well, in `version`, and s_server received DATA.
fn assert_sent_to_openssl(out: &Finished, server: OpensslServer, version: &str) {
    assert_eq!(assert_client_ok(out).get("version"), version);
    let served = server.proc.finish();
    assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
    assert_eq!(served.stdout, DATA, "what s_server received");
}

/// Asserts `detail` contains `part`.
fn assert_names(detail: &str, part: &str) {
    assert!(
        detail.contains(part),
        "{part:?} is not in the detail: {detail}"
    );
}

// ---------------------------------------------------------------------------------------
// Server chains our client refuses (and one it accepts)
// ---------------------------------------------------------------------------------------

#[test]
fn client_refuses_self_signed_server() {
    let pki = Pki::shared();
    let server = OpensslServer::serve(
        &pki.path("selfsigned.pem"),
        None,
        &pki.path("selfsigned.key"),
        &[],
    );
    let args = client_args(&pki, &server.addr(), &[]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_SELF_SIGNED", 48);
    assert_names(&detail, "\"CN=embertls self-signed\"");
}

#[test]
fn client_refuses_chain_without_intermediate() {
    let pki = Pki::shared();
    let server = OpensslServer::serve(
        &pki.path("ecdsa-p256-leaf.pem"),
        None,
        &pki.path("ecdsa-p256.key"),
        &[],
    );
    let args = client_args(&pki, &server.addr(), &[]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_MISSING_INTERMEDIATE", 48);
    assert_names(&detail, "\"CN=embertls test intermediate\"");
}

#[test]
fn client_refuses_chain_from_unknown_ca() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "unknown-ca", &[]);
    let args = client_args(&pki, &server.addr(), &[]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_UNKNOWN_ISSUER", 48);
    assert_names(&detail, "\"CN=embertls untrusted root\"");
}

#[test]
fn client_refuses_client_only_certificate() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "clientonly", &[]);
    let args = client_args(&pki, &server.addr(), &[]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_INVALID_PURPOSE", 43);
    assert_names(&detail, "server authentication");
}

#[test]
fn client_refuses_p521_signed_certificate() {
    let pki = Pki::shared();
    let server = OpensslServer::serve(&pki.path("p521.pem"), None, &pki.path("p521.key"), &[]);
    let ca = pki.arg("p521-ca.pem");
    let args = args_without_ca(&server.addr(), &["--ca", &ca]);
    // rustls answers an unsupported signature algorithm with decrypt_error (51).
    client_refuses(server, &args, "EMBER_ERR_CERT_UNSUPPORTED", 51);
}

#[test]
fn client_refuses_revoked_certificate() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "revoked", &[]);
    let crls = pki.arg("crls.pem");
    let args = client_args(&pki, &server.addr(), &["--crl", &crls]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REVOKED", 44);
    assert_names(&detail, "(serial 0e:b0:01)");
    assert_names(&detail, "KeyCompromise");
}

#[test]
fn client_refuses_chain_with_revoked_intermediate() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "revoked-ica", &[]);
    let crls = pki.arg("crls.pem");
    let args = client_args(&pki, &server.addr(), &["--crl", &crls]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REVOKED", 44);
    assert_names(&detail, "(serial 0e:b0:02)");
    assert_names(&detail, "\"CN=embertls revoked intermediate\"");
}

#[test]
fn client_refuses_chain_whose_revocation_is_unknown() {
    let pki = Pki::shared();
    let server = OpensslServer::start(&pki, "ecdsa-p256", &[]);
    // The leaf is covered; its intermediate is not, for want of the root's CRL.
    let crl = pki.arg("crl-intermediate.pem");
    let args = client_args(&pki, &server.addr(), &["--crl", &crl]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REVOCATION_UNKNOWN", 48);
    assert_names(&detail, "\"CN=embertls test intermediate\"");
    assert_names(&detail, "\"CN=embertls test root\"");
}

#[test]
fn client_accepts_chain_covered_by_crls() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = OpensslServer::start(&pki, "ecdsa-p256", &[version.openssl]);
        let crls = pki.arg("crls.pem");
        let crl_der = pki.arg("crl-intermediate.der");
        // The same CRL twice (PEM in crls.pem, and DER) is kept once.
        let out = client_to(
            &pki,
            &server.addr(),
            &[version.ember, "--crl", &crls, "--crl", &crl_der],
            DATA,
        );
        assert_sent_to_openssl(&out, server, version.name);
    }
}

// ---------------------------------------------------------------------------------------
// Mutual TLS with OpenSSL
// ---------------------------------------------------------------------------------------

/// s_server options that require a client certificate chaining to ca.pem (and fail the
/// handshake otherwise), then `version`'s.
fn requiring_client_cert(pki: &Pki, version: Version) -> Vec<String> {
    let ca = pki.arg("ca.pem");
    [
        "-Verify",
        "1",
        "-CAfile",
        &ca,
        "-verify_return_error",
        version.openssl,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn our_client_presents_certificate_to_openssl_server() {
    let pki = Pki::shared();
    let (cert, key) = (pki.arg("ecdsa-p256.pem"), pki.arg("ecdsa-p256.key"));
    for version in VERSIONS {
        let server = OpensslServer::start(
            &pki,
            "ecdsa-p256",
            &as_strs(&requiring_client_cert(&pki, version)),
        );
        let extra = [version.ember, "--cert", &cert, "--key", &key];
        let out = client_to(&pki, &server.addr(), &extra, DATA);
        assert_eq!(assert_client_ok(&out).get("version"), version.name);
        let served = server.proc.finish();
        assert_eq!(served.code(), 0, "s_server:\n{}", served.stderr);
        assert_eq!(served.stdout, DATA, "what s_server received");
        // s_server's verify callback reports each certificate of the chain it built from
        // what we sent (leaf and intermediate) up to ca.pem, and that each verified.
        let lines: Vec<&str> = served.stderr.lines().collect();
        for subject in [
            "depth=0 CN = localhost",
            "depth=1 CN = embertls test intermediate",
            "depth=2 CN = embertls test root",
        ] {
            let at = lines.iter().position(|l| *l == subject).unwrap_or_else(|| {
                panic!("s_server did not verify {subject:?}:\n{}", served.stderr)
            });
            assert_eq!(
                lines.get(at + 1),
                Some(&"verify return:1"),
                "{}",
                served.stderr
            );
        }
    }
}

#[test]
fn our_client_without_certificate_is_refused_by_openssl_server() {
    let pki = Pki::shared();
    for version in VERSIONS {
        let server = OpensslServer::start(
            &pki,
            "ecdsa-p256",
            &as_strs(&requiring_client_cert(&pki, version)),
        );
        // stdin stays open, so the client sends nothing: it ends on what s_server sends.
        let client = Proc::spawn(
            "examples-c/client",
            client_command(&client_args(&pki, &server.addr(), &[version.ember])),
        );
        let out = client.wait_for_exit();
        assert!(out.stdout.is_empty());
        if version.name == "TLSv1.3" {
            // The client's handshake is over once it has sent its (empty) Certificate and
            // Finished; the server's refusal comes after, as the first thing it reads.
            assert_eq!(out.code(), 3, "client stderr:\n{}", out.stderr);
            assert_eq!(only_summary(&out.stderr).get("version"), "TLSv1.3");
            let detail = failure(&out.stderr, "read failed", "EMBER_ERR_ALERT_RECEIVED");
            assert_names(detail, "certificate_required (116)");
        } else {
            // TLS 1.2: the server refuses before its Finished, inside our handshake.
            assert_eq!(out.code(), 1, "client stderr:\n{}", out.stderr);
            assert!(summaries(&out.stderr).is_empty(), "{}", out.stderr);
            let detail = failure(&out.stderr, "handshake failed", "EMBER_ERR_ALERT_RECEIVED");
            assert_names(detail, "handshake_failure (40)");
        }
        let served = server.proc.finish();
        assert!(served.stdout.is_empty());
        assert_names(&served.stderr, "peer did not return a certificate");
    }
}

/// s_client options presenting the chain `name` (leaf, then the intermediate through
/// `-cert_chain`: `-cert` takes one certificate).
fn s_client_cert(pki: &Pki, name: &str, issuer: &str) -> Vec<String> {
    vec![
        "-cert".into(),
        pki.arg(&format!("{name}-leaf.pem")),
        "-cert_chain".into(),
        pki.arg(issuer),
        "-key".into(),
        pki.arg(&format!("{name}.key")),
    ]
}

/// Sends DATA through s_client (with `extra`) to one of our echo servers and checks that
/// it all came back and s_client ended well.
fn openssl_echo(pki: &Pki, addr: &str, extra: &[&str]) {
    let mut client = s_client(pki, addr, extra);
    client.send(DATA);
    let echoed = client.stdout_exactly(DATA.len());
    // Closed only after the echo: s_client stops reading once it sent close_notify.
    client.close_stdin();
    let out = client.finish();
    assert_eq!(out.code(), 0, "s_client {extra:?}:\n{}", out.stderr);
    assert_eq!(echoed, DATA);
    assert_eq!(out.stdout, DATA, "s_client printed more than the echo");
}

fn openssl_client_presents_certificate(kind: ServerKind) {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    let server = EmberServer::start(
        kind,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &["--client-ca", &ca],
        VERSIONS.len(),
    );
    let cert = s_client_cert(&pki, "ecdsa-p256", "intermediate.pem");
    for version in VERSIONS {
        let mut extra = as_strs(&cert);
        extra.push(version.openssl);
        openssl_echo(&pki, &server.addr(), &extra);
    }
    let out = server.finish();
    for (summary, version) in assert_server_ok(&out, VERSIONS.len()).iter().zip(VERSIONS) {
        assert_eq!(summary.get("version"), version.name);
        assert_eq!(summary.get("server_name"), "localhost");
        assert_eq!(summary.get("client_certs"), "2");
    }
}

#[test]
fn openssl_client_presents_certificate_to_our_server() {
    openssl_client_presents_certificate(ServerKind::Threaded);
}

#[test]
fn openssl_client_presents_certificate_to_our_poll_server() {
    openssl_client_presents_certificate(ServerKind::Poll);
}

/// Our server (`kind`, started with `server_extra`) refusing s_client with `client_extra`
/// over each version: the server reports `code` and s_client receives `alert`. Returns
/// the server's details.
fn server_refuses(
    kind: ServerKind,
    server_extra: &[&str],
    client_extra: &[&str],
    code: &str,
    alert: u8,
) -> Vec<String> {
    let pki = Pki::shared();
    let server = EmberServer::start(
        kind,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        server_extra,
        VERSIONS.len(),
    );
    for version in VERSIONS {
        let mut extra = client_extra.to_vec();
        extra.push(version.openssl);
        // stdin stays open: s_client ends on the alert, not on an EOF of ours.
        let out = s_client(&pki, &server.addr(), &extra).wait_for_exit();
        assert_ne!(
            out.code(),
            0,
            "s_client {extra:?} got through:\n{}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
        assert_eq!(openssl_alert(&out.stderr), alert, "s_client {extra:?}");
    }
    let out = server.finish();
    assert_eq!(out.code(), 0, "server stderr:\n{}", out.stderr);
    assert!(summaries(&out.stderr).is_empty(), "{}", out.stderr);
    let prefix = format!("embertls: handshake failed: {code}: ");
    let lines = non_summary_lines(&out.stderr);
    assert_eq!(
        lines.len(),
        VERSIONS.len(),
        "server stderr:\n{}",
        out.stderr
    );
    lines
        .iter()
        .map(|line| {
            line.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn our_server_requires_a_client_certificate() {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    // rustls sends certificate_required (116) in TLS 1.2 too.
    server_refuses(
        ServerKind::Threaded,
        &["--client-ca", &ca],
        &[],
        "EMBER_ERR_CERT_REQUIRED",
        116,
    );
}

#[test]
fn our_server_refuses_client_certificate_from_unknown_ca() {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    let cert = s_client_cert(&pki, "unknown-ca", "unknown-intermediate.pem");
    for detail in server_refuses(
        ServerKind::Poll,
        &["--client-ca", &ca],
        &as_strs(&cert),
        "EMBER_ERR_CERT_UNKNOWN_ISSUER",
        48,
    ) {
        assert_names(&detail, "\"CN=embertls untrusted root\"");
    }
}

#[test]
fn our_server_refuses_revoked_client_certificate() {
    let pki = Pki::shared();
    let (ca, crls) = (pki.arg("ca.pem"), pki.arg("crls.pem"));
    let cert = s_client_cert(&pki, "revoked", "intermediate.pem");
    for detail in server_refuses(
        ServerKind::Threaded,
        &["--client-ca", &ca, "--crl", &crls],
        &as_strs(&cert),
        "EMBER_ERR_CERT_REVOKED",
        44,
    ) {
        assert_names(&detail, "(serial 0e:b0:01)");
    }
}

#[test]
fn our_server_with_optional_client_auth() {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    let server = EmberServer::start(
        ServerKind::Poll,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &["--client-ca", &ca, "--client-auth", "optional"],
        2,
    );
    openssl_echo(&pki, &server.addr(), &[]);
    let cert = s_client_cert(&pki, "ecdsa-p256", "intermediate.pem");
    openssl_echo(&pki, &server.addr(), &as_strs(&cert));
    let out = server.finish();
    let all = assert_server_ok(&out, 2);
    // The summary has client_certs only when a certificate was verified (and the server's
    // stderr holds nothing but the two summaries).
    let first = out.stderr.lines().next().expect("a first summary");
    assert!(!first.contains(" client_certs="), "{first}");
    assert_eq!(all[1].get("client_certs"), "2");
}

// ---------------------------------------------------------------------------------------
// Mutual TLS with Python's ssl
// ---------------------------------------------------------------------------------------

#[test]
fn our_client_presents_certificate_to_python_server() {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    let server = PythonServer::start(&pki, "ecdsa-p256", &["--client-ca", &ca], VERSIONS.len());
    let (cert, key) = (pki.arg("ecdsa-p256.pem"), pki.arg("ecdsa-p256.key"));
    for version in VERSIONS {
        let extra = [version.ember, "--cert", &cert, "--key", &key];
        let out = client_to(&pki, &server.addr(), &extra, DATA);
        assert_eq!(assert_client_ok(&out).get("version"), version.name);
        assert_eq!(out.stdout, DATA, "echo from the python server");
    }
    // The python server exits 1 on any failed connection.
    let out = server.proc.finish();
    assert_eq!(out.code(), 0, "python server:\n{}", out.stderr);
    let seen = key_values(&out.stderr, "python: ");
    assert_eq!(seen.len(), VERSIONS.len(), "python server:\n{}", out.stderr);
    for (view, version) in seen.iter().zip(VERSIONS) {
        assert_eq!(view["version"], version.name);
        assert_eq!(view["client_cert"], "localhost");
    }
}

#[test]
fn python_client_presents_certificate_to_our_server() {
    let pki = Pki::shared();
    let ca = pki.arg("ca.pem");
    let server = EmberServer::start(
        ServerKind::Threaded,
        &pki.path("ecdsa-p256.pem"),
        &pki.path("ecdsa-p256.key"),
        &["--client-ca", &ca],
        VERSIONS.len(),
    );
    let (cert, key) = (pki.arg("ecdsa-p256.pem"), pki.arg("ecdsa-p256.key"));
    for version in VERSIONS {
        let extra = ["--version", version.python, "--cert", &cert, "--key", &key];
        let report = python_echo_client(&pki, &server.addr(), &extra, DATA);
        assert_eq!(report["version"], version.name);
    }
    let out = server.finish();
    for (summary, version) in assert_server_ok(&out, VERSIONS.len()).iter().zip(VERSIONS) {
        assert_eq!(summary.get("version"), version.name);
        assert_eq!(summary.get("client_certs"), "2");
    }
}

// ---------------------------------------------------------------------------------------
// Key pinning: examples-c/client --pin-sha256
// ---------------------------------------------------------------------------------------

/// The pin of a certificate's key, made with the openssl CLI as a user would.
fn openssl_pin(cert: &Path) -> String {
    let script = "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der \
                  | openssl dgst -sha256 -binary | base64";
    let out = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(cert)
        .output()
        .expect("run sh");
    let pin = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && pin.len() == 44 && pin.ends_with('='),
        "making the pin of {} failed: {pin:?}\n{}",
        cert.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    pin
}

fn self_signed_server(pki: &Pki, extra: &[&str]) -> OpensslServer {
    OpensslServer::serve(
        &pki.path("selfsigned.pem"),
        None,
        &pki.path("selfsigned.key"),
        extra,
    )
}

#[test]
fn pinned_self_signed_server_is_accepted() {
    let pki = Pki::shared();
    let pin = openssl_pin(&pki.path("selfsigned.pem"));
    // Trusting the built-in roots (as one would for a pinned server), then ca.pem: no CA
    // vouches for the certificate either way.
    for version in VERSIONS {
        let server = self_signed_server(&pki, &[version.openssl]);
        let pinned = [version.ember, "--pin-sha256", &pin];
        let args = if version.name == "TLSv1.3" {
            args_without_ca(&server.addr(), &pinned)
        } else {
            client_args(&pki, &server.addr(), &pinned)
        };
        let out = run_client(&args, DATA);
        assert_sent_to_openssl(&out, server, version.name);
    }
}

#[test]
fn key_matching_no_pin_is_rejected() {
    let pki = Pki::shared();
    let wrong = openssl_pin(&pki.path("ecdsa-p256-leaf.pem"));
    let actual = openssl_pin(&pki.path("selfsigned.pem"));
    let server = self_signed_server(&pki, &[]);
    let args = args_without_ca(&server.addr(), &["--pin-sha256", &wrong]);
    // A rejection by the verification callback: certificate_unknown (46) for the server.
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REJECTED", 46);
    assert_names(&detail, "the verification callback rejected");
    assert_names(
        &detail,
        &format!("the server's key (SPKI SHA-256 {actual}) matches no --pin-sha256"),
    );
}

#[test]
fn pin_stands_in_for_a_ca() {
    let pki = Pki::shared();
    let p256 = openssl_pin(&pki.path("ecdsa-p256-leaf.pem"));
    let unknown = openssl_pin(&pki.path("unknown-ca-leaf.pem"));
    let other = openssl_pin(&pki.path("selfsigned.pem"));

    // Without its intermediate (EMBER_ERR_CERT_MISSING_INTERMEDIATE for the CA)...
    let server = OpensslServer::serve(
        &pki.path("ecdsa-p256-leaf.pem"),
        None,
        &pki.path("ecdsa-p256.key"),
        &[],
    );
    let out = client_to(&pki, &server.addr(), &["--pin-sha256", &p256], DATA);
    assert_sent_to_openssl(&out, server, "TLSv1.3");

    // ...from a CA we do not trust (EMBER_ERR_CERT_UNKNOWN_ISSUER), among several pins...
    let server = OpensslServer::start(&pki, "unknown-ca", &[]);
    let pins = ["--pin-sha256", &other, "--pin-sha256", &unknown];
    let out = client_to(&pki, &server.addr(), &pins, DATA);
    assert_sent_to_openssl(&out, server, "TLSv1.3");

    // ...and a chain the CA vouches for still needs a pinned key.
    let server = OpensslServer::start(&pki, "ecdsa-p256", &[]);
    let out = client_to(&pki, &server.addr(), &["--pin-sha256", &p256], DATA);
    assert_sent_to_openssl(&out, server, "TLSv1.3");
    let server = OpensslServer::start(&pki, "ecdsa-p256", &[]);
    let args = client_args(&pki, &server.addr(), &["--pin-sha256", &other]);
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REJECTED", 46);
    assert_names(
        &detail,
        &format!("(SPKI SHA-256 {p256}) matches no --pin-sha256"),
    );
}

/// A pinned key does not override the other verdicts. Once a verification callback is set
/// its answer is final, and a refusal is EMBER_ERR_CERT_REJECTED with the alert
/// certificate_unknown (46), as ember_config_set_verify_callback() documents: the built-in
/// code (EMBER_ERR_CERT_EXPIRED...) survives only in the reason, where the example names it.
#[test]
fn pin_does_not_override_other_verdicts() {
    let pki = Pki::shared();
    let crls = pki.arg("crls.pem");
    // The callback upholds these verdicts: the handshake fails exactly as without a pin,
    // with the verdict's own code, detail and alert.
    for (name, mut extra, verdict, alert, detail_has) in [
        (
            "expired",
            vec![],
            "EMBER_ERR_CERT_EXPIRED",
            45,
            "expired at",
        ),
        (
            "wronghost",
            vec![],
            "EMBER_ERR_CERT_HOSTNAME_MISMATCH",
            42,
            "valid for other.example",
        ),
        (
            "revoked",
            vec!["--crl", crls.as_str()],
            "EMBER_ERR_CERT_REVOKED",
            44,
            "(serial 0e:b0:01)",
        ),
    ] {
        let pin = openssl_pin(&pki.path(&format!("{name}-leaf.pem")));
        let server = OpensslServer::start(&pki, name, &[]);
        extra.extend(["--pin-sha256", pin.as_str()]);
        let args = client_args(&pki, &server.addr(), &extra);
        let detail = client_refuses(server, &args, verdict, alert);
        assert_names(&detail, detail_has);
    }
}

/// A pinned self-signed certificate is accepted only for a name it is valid for: the
/// example checks the name itself (ember_cert_check_name), since verification stopped at
/// the untrusted chain before the names.
#[test]
fn a_pinned_certificate_must_still_match_the_name() {
    let pki = Pki::shared();
    let pin = openssl_pin(&pki.path("selfsigned.pem"));
    let server = OpensslServer::serve(
        &pki.path("selfsigned.pem"),
        None,
        &pki.path("selfsigned.key"),
        &[],
    );
    let args: Vec<String> = [
        "--connect",
        &server.addr(),
        "--servername",
        "other.example",
        "--ca",
        &pki.arg("ca.pem"),
        "--pin-sha256",
        &pin,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let detail = client_refuses(server, &args, "EMBER_ERR_CERT_REJECTED", 46);
    assert_names(&detail, "not valid for \"other.example\"");
}
