//! The interoperability matrix: embertls (the C examples) as client and as server against
//! OpenSSL (`s_client` / `s_server`), GnuTLS (`gnutls-cli` / `gnutls-serv`) and Python's
//! `ssl` (tests/peers/*.py), over 127.0.0.1 with the generated test PKI.
//!
//! Every peer and role runs the same [`CELLS`]: each cipher suite rustls offers once (three
//! TLS 1.3, six TLS 1.2), each key-exchange group three times per row and at least once per
//! version, with and without a client certificate, with and without a resumed second
//! connection, and several certificate types. The peer is limited to the cell's version,
//! suite and groups (the only thing it may pick is what the cell says); embertls offers
//! everything, so what is negotiated shows that both sides agree. Each cell checks, from
//! both ends wherever the peer reports it: the version, the suite, the group, whether the
//! session was resumed, the client certificate, and the data echoed.
//!
//! The README's table of the matrix is made from [`CELLS`] and [`ROWS`]
//! ([`readme_table`]); a test keeps the two in step.
//!
//! Cells are independent (their own peer, server and ports), so each row runs its cells on
//! parallel threads.

use std::collections::BTreeSet;
use std::process::Command;
use std::thread;

use crate::support::{
    clean_summaries, client_args, client_command, count_occurrences, gnutls_cli, key_values,
    manifest_dir, pseudo_random, python_echo_client_reports, run, sha256_hex, EmberServer,
    GnutlsServer, OpensslServer, Pki, Proc, PythonServer, ServerKind, Summary, TempDir, Tls,
};

// ---------------------------------------------------------------------------------------
// What the matrix is made of
// ---------------------------------------------------------------------------------------

/// The server certificates a suite can be used with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    /// TLS 1.3: the suite does not name the signature algorithm.
    Any,
    Ecdsa,
    Rsa,
}

/// A cipher suite under its names in each program.
#[derive(Debug)]
struct Suite {
    /// IANA name: our summaries, and OpenSSL's and Python's for TLS 1.3.
    iana: &'static str,
    /// OpenSSL's name (`-cipher`, s_client and s_server reports, Python).
    openssl: &'static str,
    /// GnuTLS' cipher (priority string `+NAME`, "- Cipher: NAME").
    gnutls: &'static str,
    version: Tls,
    auth: Auth,
}

/// Every suite rustls' ring provider offers (and so embertls).
const SUITES: [Suite; 9] = [
    Suite {
        iana: "TLS_AES_256_GCM_SHA384",
        openssl: "TLS_AES_256_GCM_SHA384",
        gnutls: "AES-256-GCM",
        version: Tls::V13,
        auth: Auth::Any,
    },
    Suite {
        iana: "TLS_AES_128_GCM_SHA256",
        openssl: "TLS_AES_128_GCM_SHA256",
        gnutls: "AES-128-GCM",
        version: Tls::V13,
        auth: Auth::Any,
    },
    Suite {
        iana: "TLS_CHACHA20_POLY1305_SHA256",
        openssl: "TLS_CHACHA20_POLY1305_SHA256",
        gnutls: "CHACHA20-POLY1305",
        version: Tls::V13,
        auth: Auth::Any,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
        gnutls: "AES-256-GCM",
        version: Tls::V12,
        auth: Auth::Ecdsa,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
        gnutls: "AES-128-GCM",
        version: Tls::V12,
        auth: Auth::Ecdsa,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
        gnutls: "CHACHA20-POLY1305",
        version: Tls::V12,
        auth: Auth::Ecdsa,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-RSA-AES256-GCM-SHA384",
        gnutls: "AES-256-GCM",
        version: Tls::V12,
        auth: Auth::Rsa,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-RSA-AES128-GCM-SHA256",
        gnutls: "AES-128-GCM",
        version: Tls::V12,
        auth: Auth::Rsa,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-RSA-CHACHA20-POLY1305",
        gnutls: "CHACHA20-POLY1305",
        version: Tls::V12,
        auth: Auth::Rsa,
    },
];

impl Suite {
    /// The TLS 1.2 key exchange in GnuTLS' terms ("- Key Exchange: ECDHE-ECDSA").
    fn gnutls_kx(&self) -> Option<&'static str> {
        match self.auth {
            Auth::Any => None,
            Auth::Ecdsa => Some("ECDHE-ECDSA"),
            Auth::Rsa => Some("ECDHE-RSA"),
        }
    }
}

/// A key-exchange group under its names in each program.
#[derive(Debug, PartialEq, Eq)]
struct Group {
    /// The README's name, and OpenSSL's `-groups` and `Groups =` name.
    label: &'static str,
    /// Our summaries' (IANA) name.
    ours: &'static str,
    /// GnuTLS' name (priority `+GROUP-NAME`, "(ECDHE-NAME)", "Using curve: NAME").
    gnutls: &'static str,
    /// How s_client reports the server's key share ("Server Temp Key: ...").
    temp_key: &'static str,
    /// OpenSSL's short name, in s_server's "Shared groups:".
    shared: &'static str,
}

const X25519: Group = Group {
    label: "X25519",
    ours: "X25519",
    gnutls: "X25519",
    temp_key: "X25519, 253 bits",
    shared: "x25519",
};

const P256: Group = Group {
    label: "P-256",
    ours: "secp256r1",
    gnutls: "SECP256R1",
    temp_key: "ECDH, prime256v1, 256 bits",
    shared: "secp256r1",
};

const P384: Group = Group {
    label: "P-384",
    ours: "secp384r1",
    gnutls: "SECP384R1",
    temp_key: "ECDH, secp384r1, 384 bits",
    shared: "secp384r1",
};

/// Every group rustls' ring provider offers.
const GROUPS: [&Group; 3] = [&X25519, &P256, &P384];

/// One configuration every peer and role is tried with.
#[derive(Debug)]
struct Cell {
    suite: &'static Suite,
    group: &'static Group,
    /// The server's chain `NAME.pem` / `NAME-leaf.pem` / `NAME.key` of the test PKI.
    server_cert: &'static str,
    /// The chain the client presents to a server that requires one (mTLS); None: the
    /// server asks for none.
    client_cert: Option<&'static str>,
    /// A second connection offers the first one's session and must resume it.
    resume: bool,
}

/// The matrix: each suite once, each group three times (at least once per version), a
/// client certificate in five cells (RSA, ECDSA P-256/P-384 and Ed25519 chains) and
/// resumption in five, with both, either and neither in TLS 1.2; server certificates RSA,
/// ECDSA P-256 and P-384 and Ed25519.
const CELLS: [Cell; 9] = [
    Cell {
        suite: &SUITES[0],
        group: &X25519,
        server_cert: "ecdsa-p256",
        client_cert: None,
        resume: true,
    },
    Cell {
        suite: &SUITES[1],
        group: &P256,
        server_cert: "rsa",
        client_cert: Some("ecdsa-p256"),
        resume: false,
    },
    Cell {
        suite: &SUITES[2],
        group: &P384,
        server_cert: "ed25519",
        client_cert: Some("rsa"),
        resume: true,
    },
    Cell {
        suite: &SUITES[3],
        group: &P384,
        server_cert: "ecdsa-p384",
        client_cert: None,
        resume: false,
    },
    Cell {
        suite: &SUITES[4],
        group: &X25519,
        server_cert: "ecdsa-p256",
        client_cert: Some("rsa"),
        resume: true,
    },
    Cell {
        suite: &SUITES[5],
        group: &P256,
        server_cert: "ecdsa-p256",
        client_cert: None,
        resume: true,
    },
    Cell {
        suite: &SUITES[6],
        group: &X25519,
        server_cert: "rsa",
        client_cert: Some("ed25519"),
        resume: false,
    },
    Cell {
        suite: &SUITES[7],
        group: &P256,
        server_cert: "rsa",
        client_cert: None,
        resume: false,
    },
    Cell {
        suite: &SUITES[8],
        group: &P384,
        server_cert: "rsa",
        client_cert: Some("ecdsa-p384"),
        resume: true,
    },
];

impl Cell {
    fn version(&self) -> Tls {
        self.suite.version
    }

    /// How many connections the cell makes.
    fn conns(&self) -> usize {
        if self.resume {
            2
        } else {
            1
        }
    }

    /// The groups the peer offers or accepts, the cell's first. In TLS 1.2 an ECDSA
    /// certificate's curve must also be a group both sides support (OpenSSL refuses the
    /// certificate otherwise), so when the cell's group is another it comes second; rustls
    /// and the peers take the first group of the client's list that they support, and
    /// embertls lists X25519, P-256, P-384 in that order.
    fn peer_groups(&self) -> Vec<&'static Group> {
        let curve = match self.server_cert {
            "ecdsa-p256" => Some(&P256),
            "ecdsa-p384" => Some(&P384),
            _ => None,
        };
        let mut groups = vec![self.group];
        if let Some(curve) = curve.filter(|c| self.version() == Tls::V12 && *c != self.group) {
            groups.push(curve);
        }
        groups
    }

    /// The group connection `k` (0 or 1) reports: a resumed TLS 1.2 session has no key
    /// exchange of its own; TLS 1.3 resumes with one (psk_dhe_ke).
    fn group_of(&self, k: usize) -> &'static str {
        if k == 1 && self.version() == Tls::V12 {
            "-"
        } else {
            self.group.ours
        }
    }

    /// The data a connection of the cell sends: lines of text, different for each cell
    /// and peer (gnutls-serv turns "\r\n" into "\n", and s_server reads its stdin by lines).
    fn data(&self, seed: u64) -> Vec<u8> {
        let mut text = String::new();
        for (i, chunk) in pseudo_random(seed, 16 * 60).chunks(60).enumerate() {
            text.push_str(&format!("matrix {seed} line {i:02} "));
            for b in chunk {
                text.push_str(&format!("{b:02x}"));
            }
            text.push('\n');
        }
        text.into_bytes()
    }

    /// GnuTLS' priority string for the cell: only its version, cipher, groups (and in TLS
    /// 1.2, key exchange).
    fn gnutls_priority(&self) -> String {
        let mut priority = format!(
            "NORMAL:-VERS-ALL:+VERS-{}:-CIPHER-ALL:+{}:-GROUP-ALL",
            self.version().gnutls(),
            self.suite.gnutls
        );
        for group in self.peer_groups() {
            priority.push_str(&format!(":+GROUP-{}", group.gnutls));
        }
        if let Some(kx) = self.suite.gnutls_kx() {
            priority.push_str(&format!(":-KX-ALL:+{kx}"));
        }
        priority
    }

    /// OpenSSL's options limiting s_client or s_server to the cell's version, suite and
    /// groups.
    fn openssl_args(&self) -> Vec<String> {
        let suite_option = match self.version() {
            Tls::V13 => "-ciphersuites",
            Tls::V12 => "-cipher",
        };
        vec![
            self.version().openssl_flag().to_owned(),
            suite_option.to_owned(),
            self.suite.openssl.to_owned(),
            "-groups".to_owned(),
            self.openssl_groups(),
        ]
    }

    fn openssl_groups(&self) -> String {
        let names: Vec<&str> = self.peer_groups().iter().map(|g| g.label).collect();
        names.join(":")
    }

    /// tests/peers/*.py options limiting Python's ssl to the cell's version, suite, groups.
    fn python_args(&self) -> Vec<String> {
        let suite_option = match self.version() {
            Tls::V13 => "--ciphersuites",
            Tls::V12 => "--ciphers",
        };
        vec![
            "--version".to_owned(),
            self.version().python().to_owned(),
            suite_option.to_owned(),
            self.suite.openssl.to_owned(),
            "--groups".to_owned(),
            self.openssl_groups(),
        ]
    }

    /// Our server for the cell: the threaded one for even cells, poll_server for odd ones,
    /// requiring a client certificate when the cell has one.
    fn ember_server(&self, pki: &Pki, index: usize) -> EmberServer {
        let kind = if index % 2 == 0 {
            ServerKind::Threaded
        } else {
            ServerKind::Poll
        };
        let ca = pki.arg("ca.pem");
        let extra: Vec<&str> = match self.client_cert {
            Some(_) => vec!["--client-ca", &ca],
            None => vec![],
        };
        EmberServer::start(
            kind,
            &pki.path(&format!("{}.pem", self.server_cert)),
            &pki.path(&format!("{}.key", self.server_cert)),
            &extra,
            self.conns(),
        )
    }

    /// Our client's options for the cell (one --connect per connection, all to `addr`).
    fn ember_client_args(&self, pki: &Pki, addr: &str) -> Vec<String> {
        let mut extra = vec![self.version().ember_flag().to_owned()];
        if self.resume {
            extra.extend(["--connect".to_owned(), addr.to_owned()]);
        }
        if let Some(name) = self.client_cert {
            extra.extend([
                "--cert".to_owned(),
                pki.arg(&format!("{name}.pem")),
                "--key".to_owned(),
                pki.arg(&format!("{name}.key")),
            ]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        client_args(pki, addr, &extra)
    }

    /// Our client's connections for the cell to the echo server at `addr`, checked, with
    /// `whole_echo` the message for everything echoed. With one connection, stdin EOF would
    /// close it: the echo must be back first. With two, the client sends the same data on
    /// both, read from stdin beforehand: nothing comes back until stdin ends.
    fn run_our_client(&self, pki: &Pki, addr: &str, seed: u64, whole_echo: &str, context: &str) {
        let data = self.data(seed);
        let mut client = spawn_ember_client(&self.ember_client_args(pki, addr), &data);
        if !self.resume {
            assert_eq!(
                client.stdout_exactly(data.len()),
                data,
                "{context}: the echo"
            );
        }
        client.close_stdin();
        let out = client.finish();
        self.check_ours(
            &clean_summaries(&out, "client", self.conns()),
            Side::Client,
            context,
        );
        assert_eq!(out.stdout, data.repeat(self.conns()), "{whole_echo}");
    }

    /// Checks the summaries of our program (`side`) for the cell's connections.
    ///
    /// The threaded server prints each summary from the connection's thread: when a client
    /// does not wait for anything from the first connection before making the second
    /// (gnutls-cli --resume), the second's line may come first. So a server's lines are
    /// taken in the order full handshake, then resumed.
    fn check_ours(&self, all: &[Summary], side: Side, context: &str) {
        assert_eq!(all.len(), self.conns(), "{context}");
        let mut all: Vec<&Summary> = all.iter().collect();
        if side == Side::Server {
            all.sort_by_key(|summary| summary.get("resumed") == "yes");
        }
        for (k, summary) in all.into_iter().enumerate() {
            let at = format!("{context}, connection {}", k + 1);
            assert_eq!(summary.get("version"), self.version().name(), "{at}");
            assert_eq!(summary.get("suite"), self.suite.iana, "{at}");
            assert_eq!(summary.get("group"), self.group_of(k), "{at}");
            assert_eq!(summary.get("server_name"), "localhost", "{at}");
            let resumed = if k == 1 { "yes" } else { "no" };
            assert_eq!(summary.get("resumed"), resumed, "{at}");
            if side == Side::Server {
                // The chain presented (leaf and intermediate), also when a resumed session
                // brings it back.
                let certs = self.client_cert.map(|_| "2");
                assert_eq!(summary.field("client_certs"), certs, "{at}");
            }
        }
    }
}

/// Which end embertls plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    OpenSsl,
    GnuTls,
    Python,
}

impl Peer {
    fn label(self, side: Side) -> &'static str {
        match (self, side) {
            (Peer::OpenSsl, Side::Client) => "OpenSSL `s_server`",
            (Peer::OpenSsl, Side::Server) => "OpenSSL `s_client`",
            (Peer::GnuTls, Side::Client) => "GnuTLS `gnutls-serv`",
            (Peer::GnuTls, Side::Server) => "GnuTLS `gnutls-cli`",
            (Peer::Python, Side::Client) => "Python `ssl` (server)",
            (Peer::Python, Side::Server) => "Python `ssl` (client)",
        }
    }
}

/// The matrix's rows: each peer with embertls on each side.
const ROWS: [(Peer, Side); 6] = [
    (Peer::OpenSsl, Side::Client),
    (Peer::OpenSsl, Side::Server),
    (Peer::GnuTls, Side::Client),
    (Peer::GnuTls, Side::Server),
    (Peer::Python, Side::Client),
    (Peer::Python, Side::Server),
];

/// Runs every cell of row `row` of [`ROWS`] on its own thread; a failing cell names itself
/// (its thread).
fn run_row(row: usize) {
    let (peer, side) = ROWS[row];
    let pki = Pki::shared();
    thread::scope(|scope| {
        for (index, cell) in CELLS.iter().enumerate() {
            let pki = &pki;
            let name = format!(
                "{peer:?} with our {side:?}, cell {index} ({} {} {}{}{})",
                cell.suite.iana,
                cell.group.label,
                cell.server_cert,
                cell.client_cert
                    .map_or(String::new(), |c| format!(" mTLS {c}")),
                if cell.resume { " resumed" } else { "" }
            );
            thread::Builder::new()
                .name(name.clone())
                .spawn_scoped(scope, move || {
                    // Different data for every cell of every row.
                    let seed = 9000 + 100 * row as u64 + 10 * index as u64;
                    match (peer, side) {
                        (Peer::OpenSsl, Side::Client) => openssl_server(pki, cell, seed, &name),
                        (Peer::OpenSsl, Side::Server) => {
                            openssl_client(pki, cell, index, seed, &name)
                        }
                        (Peer::GnuTls, Side::Client) => gnutls_server(pki, cell, seed, &name),
                        (Peer::GnuTls, Side::Server) => {
                            gnutls_client(pki, cell, index, seed, &name)
                        }
                        (Peer::Python, Side::Client) => python_server(pki, cell, seed, &name),
                        (Peer::Python, Side::Server) => {
                            python_client(pki, cell, index, seed, &name)
                        }
                    }
                })
                .expect("start a cell's thread");
        }
    });
}

/// The one line of `text` that starts with `prefix` (leading blanks ignored), without it.
fn only_line_after<'a>(text: &'a str, prefix: &str, context: &str) -> &'a str {
    let found: Vec<&str> = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(prefix))
        .collect();
    match found[..] {
        [one] => one,
        _ => panic!("{context}: expected one line {prefix:?}, found {found:?} in:\n{text}"),
    }
}

/// Whether some line of `text` is `line` (leading and trailing blanks ignored).
fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

/// Starts our client with `args`, `data` queued on its stdin (which stays open: with one
/// connection, the client sends close_notify on stdin EOF).
fn spawn_ember_client(args: &[String], data: &[u8]) -> Proc {
    let client = Proc::spawn("examples-c/client", client_command(args));
    client.send(data.to_vec());
    client
}

// ---------------------------------------------------------------------------------------
// OpenSSL
// ---------------------------------------------------------------------------------------

/// `openssl s_server` (verbose: it reports each connection on stdout) and our client.
/// s_server prints what it receives; in a one-connection cell it then sends a reply that
/// our client must print. With two connections our client sends the same data on both
/// (read from stdin beforehand), so there the data goes one way.
fn openssl_server(pki: &Pki, cell: &Cell, seed: u64, context: &str) {
    let mut extra = cell.openssl_args();
    extra.extend(["-naccept".to_owned(), cell.conns().to_string()]);
    if cell.client_cert.is_some() {
        extra.extend(["-Verify", "1", "-verify_return_error", "-CAfile"].map(String::from));
        extra.push(pki.arg("ca.pem"));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = OpensslServer::start_verbose(pki, cell.server_cert, &extra);
    let data = cell.data(seed);
    // Starts with "reply", not with one of s_server's one-letter commands.
    let reply = format!("reply {}\n", sha256_hex(&data));
    let args = cell.ember_client_args(pki, &server.addr());
    let mut client = spawn_ember_client(&args, &data);
    if !cell.resume {
        server.proc.stdout_contains(&data, 1);
        // The handshake is over (s_server printed the data): its stdin can be read
        // without stalling it (see interop.rs, large_download_from_openssl_server).
        server.proc.send(reply.as_bytes().to_vec());
        assert_eq!(client.stdout_exactly(reply.len()), reply.as_bytes());
    }
    client.close_stdin();
    let out = client.finish();
    cell.check_ours(
        &clean_summaries(&out, "client", cell.conns()),
        Side::Client,
        context,
    );
    let expected_stdout = if cell.resume { "" } else { &reply };
    assert_eq!(
        out.stdout_text(),
        expected_stdout,
        "{context}: our client's stdout"
    );

    // Not finish(): stdin EOF would stop s_server; it exits after -naccept connections.
    let served = server.proc.wait_for_exit();
    assert_eq!(served.code(), 0, "{context}: s_server:\n{}", served.stderr);
    let text = served.stdout_text();
    assert_eq!(
        count_occurrences(&served.stdout, &data),
        cell.conns(),
        "{context}: the data s_server received:\n{text}"
    );
    // A connection's report starts with its session (PEM), then the client's certificate,
    // shared groups, cipher, "Reused session-id", and the data.
    let marker = "-----BEGIN SSL SESSION PARAMETERS-----";
    let reports: Vec<&str> = text.split(marker).skip(1).collect();
    assert_eq!(reports.len(), cell.conns(), "{context}: s_server:\n{text}");
    for (k, report) in reports.iter().enumerate() {
        let at = format!("{context}, s_server's connection {}", k + 1);
        let session = session_text(&format!("{marker}{report}"), &at);
        assert_eq!(
            only_line_after(&session, "Protocol  : ", &at),
            cell.version().name(),
            "{at}"
        );
        assert_eq!(
            only_line_after(report, "CIPHER is ", &at),
            cell.suite.openssl,
            "{at}"
        );
        // The groups both sides support (the one agreed is not shown), except on a resumed
        // TLS 1.2 session, which has no key exchange.
        let shared: Vec<&str> = cell.peer_groups().iter().map(|g| g.shared).collect();
        let shown: Vec<&str> = report
            .lines()
            .filter_map(|line| line.strip_prefix("Shared groups: "))
            .collect();
        let expected = if cell.group_of(k) == "-" {
            vec![]
        } else {
            vec![shared.join(":")]
        };
        assert_eq!(shown, expected, "{at}:\n{report}");
        assert_eq!(
            has_line(report, "Reused session-id"),
            k == 1,
            "{at}:\n{report}"
        );
        let client_cert = has_line(report, "Client certificate");
        assert_eq!(client_cert, cell.client_cert.is_some(), "{at}:\n{report}");
        if client_cert {
            assert_eq!(only_line_after(report, "subject=", &at), "CN = localhost");
        }
    }
}

/// `openssl sess_id -text` of the first session in `pem` (s_server prints each one).
fn session_text(pem: &str, context: &str) -> String {
    let end = "-----END SSL SESSION PARAMETERS-----";
    let block = &pem[..pem
        .find(end)
        .unwrap_or_else(|| panic!("{context}: no session"))];
    let mut cmd = Command::new("openssl");
    cmd.args(["sess_id", "-noout", "-text"]);
    let out = run("openssl sess_id", cmd, format!("{block}{end}\n").as_bytes());
    assert_eq!(out.code(), 0, "{context}: openssl sess_id:\n{}", out.stderr);
    out.stdout_text()
}

/// `openssl s_client` (verbose: "New,"/"Reused," and "Server Temp Key:" are only in its
/// full report) with our server; a resumed cell runs it twice, `-sess_out` then `-sess_in`.
fn openssl_client(pki: &Pki, cell: &Cell, index: usize, seed: u64, context: &str) {
    let server = cell.ember_server(pki, index);
    let dir = TempDir::new("matrix");
    let session = dir.arg("session.pem");
    let data = cell.data(seed);
    for k in 0..cell.conns() {
        let at = format!("{context}, s_client's connection {}", k + 1);
        let mut extra = cell.openssl_args();
        if let Some(name) = cell.client_cert {
            extra.extend([
                "-cert".to_owned(),
                pki.arg(&format!("{name}-leaf.pem")),
                "-cert_chain".to_owned(),
                pki.arg("intermediate.pem"),
                "-key".to_owned(),
                pki.arg(&format!("{name}.key")),
            ]);
        }
        if cell.resume {
            let option = if k == 0 { "-sess_out" } else { "-sess_in" };
            extra.extend([option.to_owned(), session.clone()]);
        }
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &server.addr()])
            .args(["-servername", "localhost", "-verify_hostname", "localhost"])
            .args([
                "-verify_return_error",
                "-no_ign_eof",
                "-nocommands",
                "-CAfile",
            ])
            .arg(pki.path("ca.pem"))
            .args(&extra);
        let mut client = Proc::spawn("openssl s_client", cmd);
        client.send(data.clone());
        // By the time the echo is back, a TLS 1.3 ticket (sent before it) has arrived and
        // -sess_out has it. Closing stdin earlier would stop s_client reading.
        client.stdout_contains(&data, 1);
        client.close_stdin();
        let out = client.finish();
        assert_eq!(out.code(), 0, "{at}: s_client:\n{}", out.stderr);
        let text = out.stdout_text();
        let how = if k == 1 { "Reused" } else { "New" };
        assert_eq!(
            only_line_after(&text, &format!("{how}, "), &at),
            format!(
                "{}, Cipher is {}",
                cell.version().name(),
                cell.suite.openssl
            ),
            "{at}"
        );
        assert!(
            has_line(&text, "Verify return code: 0 (ok)"),
            "{at}:\n{text}"
        );
        // A resumed TLS 1.2 session has no key exchange: s_client shows no server key.
        let temp_key = text
            .lines()
            .find_map(|line| line.strip_prefix("Server Temp Key: "));
        let expected = (cell.group_of(k) != "-").then_some(cell.group.temp_key);
        assert_eq!(temp_key, expected, "{at}:\n{text}");
        assert_eq!(count_occurrences(&out.stdout, &data), 1, "{at}: the echo");
    }
    let served = server.finish();
    cell.check_ours(
        &clean_summaries(&served, "server", cell.conns()),
        Side::Server,
        context,
    );
}

// ---------------------------------------------------------------------------------------
// GnuTLS
// ---------------------------------------------------------------------------------------

/// What GnuTLS says of a connection in its "- Description: (A)-(B)-...-(Z)" line: the
/// version with the certificate type first, the cipher last, and between them the key
/// exchange ("ECDHE-X25519"; empty, with no parentheses, for a resumed TLS 1.3 session:
/// "(TLS1.3-X.509)--(AES-256-GCM)") and, on a full handshake, the server's signature.
fn gnutls_description<'a>(block: &'a str, context: &str) -> Vec<&'a str> {
    let text = only_line_after(block, "- Description: ", context);
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
            Some((part, after)) => {
                parts.push(part);
                rest = after;
            }
            None => parts.push(""),
        }
        match rest.strip_prefix('-') {
            Some(after) => rest = after,
            None => break,
        }
    }
    assert!(rest.is_empty(), "{context}: description {text:?}");
    parts
}

/// Checks one connection's description in a GnuTLS report (`k`: which connection).
fn check_gnutls_description(cell: &Cell, block: &str, k: usize, context: &str) {
    let parts = gnutls_description(block, context);
    assert_eq!(
        parts.first().copied(),
        Some(format!("{}-X.509", cell.version().gnutls()).as_str()),
        "{context}: {parts:?}"
    );
    assert_eq!(
        parts.last().copied(),
        Some(cell.suite.gnutls),
        "{context}: {parts:?}"
    );
    // On resumption GnuTLS shows no key exchange in TLS 1.3, and in TLS 1.2 the one of the
    // session's first handshake (there is none of its own: our side says "-").
    let kx = match (k, cell.version()) {
        (1, Tls::V13) => String::new(),
        _ => format!("ECDHE-{}", cell.group.gnutls),
    };
    assert_eq!(
        parts.get(1).copied(),
        Some(kx.as_str()),
        "{context}: {parts:?}"
    );
}

/// `gnutls-serv --echo` and our client.
fn gnutls_server(pki: &Pki, cell: &Cell, seed: u64, context: &str) {
    let priority = cell.gnutls_priority();
    let ca = pki.arg("ca.pem");
    let mut extra = vec!["--priority", &priority];
    match cell.client_cert {
        Some(_) => extra.extend([
            "--require-client-cert",
            "--verify-client-cert",
            "--x509cafile",
            &ca,
        ]),
        None => extra.push("--disable-client-cert"),
    }
    let server = GnutlsServer::start(pki, cell.server_cert, &extra);
    cell.run_our_client(
        pki,
        &server.addr(),
        seed,
        &format!("{context}: the echo from gnutls-serv"),
        context,
    );

    let served = server.stop();
    let text = served.stdout_text();
    let blocks: Vec<&str> = text.split("\n* Accepted connection from").skip(1).collect();
    assert_eq!(
        blocks.len(),
        cell.conns(),
        "{context}: gnutls-serv:\n{text}"
    );
    for (k, block) in blocks.iter().enumerate() {
        let at = format!("{context}, gnutls-serv's connection {}", k + 1);
        assert_eq!(
            only_line_after(block, "- Version: ", &at),
            cell.version().gnutls()
        );
        assert_eq!(only_line_after(block, "- Cipher: ", &at), cell.suite.gnutls);
        assert_eq!(
            only_line_after(block, "- Using curve: ", &at),
            cell.group.gnutls,
            "{at}"
        );
        if let Some(kx) = cell.suite.gnutls_kx() {
            assert_eq!(only_line_after(block, "- Key Exchange: ", &at), kx);
        }
        check_gnutls_description(cell, block, k, &at);
        assert_eq!(
            only_line_after(block, "- Given server name[1]: ", &at),
            "localhost"
        );
        assert_eq!(
            has_line(block, "*** This is a resumed session"),
            k == 1,
            "{at}:\n{block}"
        );
        // The client's chain (leaf and intermediate), verified on the full handshake and
        // brought back by the session when resumed.
        let chain = has_line(block, "- Got a certificate list of 2 certificates.");
        assert_eq!(chain, cell.client_cert.is_some(), "{at}:\n{block}");
        let verified = has_line(block, "- Status: The certificate is trusted.");
        assert_eq!(
            verified,
            cell.client_cert.is_some() && k == 0,
            "{at}:\n{block}"
        );
    }
}

/// `gnutls-cli` with our server; a resumed cell uses its `--resume`, which connects a
/// second time with the session of the first and sends stdin on that connection only.
fn gnutls_client(pki: &Pki, cell: &Cell, index: usize, seed: u64, context: &str) {
    let server = cell.ember_server(pki, index);
    let priority = cell.gnutls_priority();
    let mut extra = vec!["--priority".to_owned(), priority];
    if let Some(name) = cell.client_cert {
        extra.extend([
            "--x509certfile".to_owned(),
            pki.arg(&format!("{name}.pem")),
            "--x509keyfile".to_owned(),
            pki.arg(&format!("{name}.key")),
        ]);
    }
    if cell.resume {
        // In TLS 1.3 the ticket comes after the handshake; gnutls-cli waits 50 ms for it
        // unless told to wait until it is there.
        extra.extend(["--resume", "--waitresumption"].map(String::from));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let data = cell.data(seed);
    let mut client = gnutls_cli(pki, &server.addr(), &extra);
    client.send(data.clone());
    // gnutls-cli sends close_notify on stdin EOF and stops: close only after the echo.
    client.stdout_contains(&data, 1);
    client.close_stdin();
    let out = client.finish();
    assert_eq!(out.code(), 0, "{context}: gnutls-cli:\n{}", out.stderr);
    let text = out.stdout_text();
    assert_eq!(count_occurrences(&out.stdout, &data), 1, "{context}: echo");
    // With --resume, the report of the first connection, then the second's after this.
    let (first, second) = match text.split_once("- Connecting again- trying to resume") {
        Some((first, second)) => (first, Some(second)),
        None => (text.as_str(), None),
    };
    assert_eq!(
        second.is_some(),
        cell.resume,
        "{context}: gnutls-cli:\n{text}"
    );
    for (k, block) in [Some(first), second].into_iter().flatten().enumerate() {
        let at = format!("{context}, gnutls-cli's connection {}", k + 1);
        check_gnutls_description(cell, block, k, &at);
        assert_eq!(
            has_line(block, "*** This is a resumed session"),
            k == 1,
            "{at}:\n{block}"
        );
        // The server's chain is verified on the full handshake.
        assert_eq!(
            has_line(block, "- Status: The certificate is trusted."),
            k == 0,
            "{at}:\n{block}"
        );
        let sent = has_line(block, "- Successfully sent 2 certificate(s) to server.");
        assert_eq!(sent, cell.client_cert.is_some() && k == 0, "{at}:\n{block}");
    }
    let served = server.finish();
    cell.check_ours(
        &clean_summaries(&served, "server", cell.conns()),
        Side::Server,
        context,
    );
}

// ---------------------------------------------------------------------------------------
// Python
// ---------------------------------------------------------------------------------------

/// tests/peers/echo_server.py and our client. Python's ssl cannot say which group was
/// agreed; it accepts only the cell's (see [`Cell::peer_groups`]).
fn python_server(pki: &Pki, cell: &Cell, seed: u64, context: &str) {
    let mut extra = cell.python_args();
    if cell.client_cert.is_some() {
        extra.extend(["--client-ca".to_owned(), pki.arg("ca.pem")]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = PythonServer::start(pki, cell.server_cert, &extra, cell.conns());
    cell.run_our_client(
        pki,
        &server.addr(),
        seed,
        &format!("{context}: the echo"),
        context,
    );

    // The python server exits 1 if a connection failed or ended without close_notify.
    let served = server.proc.finish();
    assert_eq!(
        served.code(),
        0,
        "{context}: python server:\n{}",
        served.stderr
    );
    let seen = key_values(&served.stderr, "python: ");
    assert_eq!(seen.len(), cell.conns(), "{context}: {}", served.stderr);
    for (k, view) in seen.iter().enumerate() {
        let at = format!("{context}, python's connection {}", k + 1);
        assert_eq!(view["version"], cell.version().name(), "{at}");
        assert_eq!(view["cipher"], cell.suite.openssl, "{at}");
        assert_eq!(view["sni"], "localhost", "{at}");
        let resumed = if k == 1 { "yes" } else { "no" };
        assert_eq!(view["resumed"], resumed, "{at}");
        let client_cert = cell.client_cert.map_or("-", |_| "localhost");
        assert_eq!(view["client_cert"], client_cert, "{at}");
    }
}

/// tests/peers/echo_client.py (`--resume`: a second connection offering the first's
/// session) with our server.
fn python_client(pki: &Pki, cell: &Cell, index: usize, seed: u64, context: &str) {
    let server = cell.ember_server(pki, index);
    let mut extra = cell.python_args();
    if let Some(name) = cell.client_cert {
        extra.extend([
            "--cert".to_owned(),
            pki.arg(&format!("{name}.pem")),
            "--key".to_owned(),
            pki.arg(&format!("{name}.key")),
        ]);
    }
    if cell.resume {
        extra.push("--resume".to_owned());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let reports = python_echo_client_reports(pki, &server.addr(), &extra, &cell.data(seed));
    assert_eq!(reports.len(), cell.conns(), "{context}");
    for (k, report) in reports.iter().enumerate() {
        let at = format!("{context}, python's connection {}", k + 1);
        assert_eq!(report["version"], cell.version().name(), "{at}");
        assert_eq!(report["cipher"], cell.suite.openssl, "{at}");
        let resumed = if k == 1 { "yes" } else { "no" };
        assert_eq!(report["resumed"], resumed, "{at}");
    }
    let served = server.finish();
    cell.check_ours(
        &clean_summaries(&served, "server", cell.conns()),
        Side::Server,
        context,
    );
}

// ---------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------

#[test]
fn matrix_openssl_server_with_our_client() {
    run_row(0);
}

#[test]
fn matrix_openssl_client_with_our_servers() {
    run_row(1);
}

#[test]
fn matrix_gnutls_server_with_our_client() {
    run_row(2);
}

#[test]
fn matrix_gnutls_client_with_our_servers() {
    run_row(3);
}

#[test]
fn matrix_python_server_with_our_client() {
    run_row(4);
}

#[test]
fn matrix_python_client_with_our_servers() {
    run_row(5);
}

// ---------------------------------------------------------------------------------------
// The README's table
// ---------------------------------------------------------------------------------------

/// The README's section on the matrix, made from [`ROWS`] and [`CELLS`]: a row per peer
/// and role saying what its cells cover, then the cells.
fn readme_table() -> String {
    let count = |pick: &dyn Fn(&Cell) -> bool| CELLS.iter().filter(|c| pick(c)).count();
    let versions = |v: Tls| {
        let n = count(&|c| c.version() == v);
        let suites: BTreeSet<&str> = CELLS
            .iter()
            .filter(|c| c.version() == v)
            .map(|c| c.suite.iana)
            .collect();
        let groups: BTreeSet<&str> = CELLS
            .iter()
            .filter(|c| c.version() == v)
            .map(|c| c.group.label)
            .collect();
        format!(
            "✓ {n} cells, {} suites, {} groups",
            suites.len(),
            groups.len()
        )
    };
    let suites: BTreeSet<&str> = CELLS.iter().map(|c| c.suite.iana).collect();
    let all_suites = if suites.len() == SUITES.len() {
        format!("all {}", SUITES.len())
    } else {
        format!("{} of {}", suites.len(), SUITES.len())
    };
    let groups: Vec<&str> = GROUPS
        .iter()
        .filter(|g| CELLS.iter().any(|c| c.group == **g))
        .map(|g| g.label)
        .collect();
    let with_without = |pick: &dyn Fn(&Cell) -> bool| {
        let with = count(pick);
        format!("✓ {with} with, {} without", CELLS.len() - with)
    };

    let mut out = String::new();
    out.push_str(
        "| Peer | embertls as | TLS 1.2 | TLS 1.3 | Suites | Groups | mTLS | Resumption |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for (peer, side) in ROWS {
        let ember = match side {
            Side::Client => "client",
            Side::Server => "server",
        };
        out.push_str(&format!(
            "| {} | {ember} | {} | {} | {all_suites} | {} | {} | {} |\n",
            peer.label(side),
            versions(Tls::V12),
            versions(Tls::V13),
            groups.join(", "),
            with_without(&|c| c.client_cert.is_some()),
            with_without(&|c| c.resume),
        ));
    }
    out.push_str("\nEvery row runs these cells:\n\n");
    out.push_str(
        "| Version | Suite | Group | Server certificate | Client certificate | Resumed |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    let mut cells: Vec<&Cell> = CELLS.iter().collect();
    cells.sort_by_key(|c| c.version());
    let cert = |name: &str| match name {
        "ecdsa-p256" => "ECDSA P-256",
        "ecdsa-p384" => "ECDSA P-384",
        "rsa" => "RSA 2048",
        "ed25519" => "Ed25519",
        other => panic!("no README name for the certificate {other}"),
    };
    for cell in cells {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            cell.version().label(),
            cell.suite.iana,
            cell.group.label,
            cert(cell.server_cert),
            cell.client_cert.map_or("-", cert),
            if cell.resume { "yes" } else { "-" },
        ));
    }
    out
}

/// The README shows the matrix these tests run: its text between the markers is
/// [`readme_table`]'s.
#[test]
fn readme_shows_the_matrix() {
    const START: &str = "<!-- interop-matrix: generated by tests/all/matrix.rs -->\n";
    const END: &str = "<!-- /interop-matrix -->";
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("read README.md");
    let table = readme_table();
    let section = readme
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(section, _)| section);
    assert_eq!(
        section,
        Some(table.as_str()),
        "README.md must show the interop matrix the tests run, between these lines:\n\
         {START}{table}{END}"
    );
}
