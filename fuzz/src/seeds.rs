//! The seed corpus: small meaningful inputs for each target, made with the same configs
//! and script encoding the targets use. `fuzz/run --seeds` writes them to fuzz/seeds/;
//! they are committed, so regenerate them only when the input format or the PKI changes.

use std::ffi::CStr;
use std::fs;
use std::path::Path;

use crate::configs;
use crate::endpoint::{Endpoint, Side};
use crate::exchange::exchange;
use crate::pki;
use crate::script::{Edit, EditKind, Mode, Op, Setup};

/// Writes every target's seeds under `root` (one directory per target), replacing what
/// was there.
pub fn write_all(root: &Path) {
    for (target, seeds) in [
        ("conn_server", connection_seeds(Side::Server)),
        ("conn_client", connection_seeds(Side::Client)),
        ("loaders", loader_seeds()),
    ] {
        let dir = root.join(target);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the seed directory");
        for (name, bytes) in seeds {
            fs::write(dir.join(name), bytes).expect("write a seed");
        }
    }
}

type Seeds = Vec<(String, Vec<u8>)>;

fn script(setup: Setup, ops: &[Op]) -> Vec<u8> {
    let mut bytes = Vec::new();
    setup.encode(&mut bytes);
    for op in ops {
        op.encode(&mut bytes);
    }
    bytes
}

fn setup(mode: Mode, client_flavor: usize, server_flavor: usize) -> Setup {
    Setup {
        mode,
        traced: true,
        resume: false,
        client_flavor,
        server_flavor,
        server_name: 0,
        chunk: 0,
        read_size: 0,
    }
}

/// What each end sends first: the client's hello and the server's answer to it, and the
/// hello of a client resuming a session (from a fresh config's first exchange).
struct Flights {
    hello: Vec<u8>,
    answer: Vec<u8>,
    resuming_hello: Vec<u8>,
}

fn flights(client_flavor: usize, server_flavor: usize, name: &CStr) -> Flights {
    let server_cfg = configs::server(server_flavor, false);
    let mut client = Endpoint::new(
        configs::client(client_flavor, false),
        Side::Client,
        name,
        false,
        16384,
    );
    let mut server = Endpoint::new(server_cfg, Side::Server, name, false, 16384);
    client.handshake();
    let hello = client.drain();
    server.feed(&hello, 0);
    server.handshake();
    let answer = server.drain();

    let resumable = configs::resumable_client(client_flavor, false);
    exchange(
        Endpoint::new(&resumable, Side::Client, name, false, 16384),
        Endpoint::new(server_cfg, Side::Server, name, false, 16384),
    );
    let mut again = Endpoint::new(&resumable, Side::Client, name, false, 16384);
    again.handshake();
    Flights {
        hello,
        answer,
        resuming_hello: again.drain(),
    }
}

/// A record the peer cannot have sent: application data no key opens.
fn garbage_record() -> Vec<u8> {
    let mut record = vec![23, 3, 3, 0, 40];
    record.extend((0..40u8).map(|i| i.wrapping_mul(37)));
    record
}

/// A plaintext close_notify alert (warning level).
const PLAIN_CLOSE_NOTIFY: [u8; 7] = [21, 3, 3, 0, 2, 1, 0];

fn connection_seeds(side: Side) -> Seeds {
    let mut seeds = Seeds::new();
    let mut add = |name: String, setup: Setup, ops: &[Op]| seeds.push((name, script(setup, ops)));
    // (client flavor, server flavor): each client flavor, each server flavor, TLS 1.2 too.
    let pairs = [(0, 0), (1, 0), (2, 1), (3, 0), (0, 1), (1, 1)];
    for (cf, sf) in pairs {
        let tag = format!("c{cf}-s{sf}");
        let f = flights(cf, sf, configs::SERVER_NAMES[0]);
        // What the target receives from the peer in the first flight.
        let (first, resumed) = match side {
            Side::Server => (&f.hello, &f.resuming_hello),
            Side::Client => (&f.answer, &f.answer),
        };
        let raw = setup(Mode::Raw, cf, sf);
        let feed = |bytes: &Vec<u8>| [Op::Feed(bytes.clone()), Op::Handshake, Op::Pump, Op::Facts];
        add(format!("raw-{tag}"), raw, &feed(first));
        if side == Side::Server {
            add(format!("raw-resuming-{tag}"), raw, &feed(resumed));
        }
        add(
            format!("raw-in-pieces-{tag}"),
            Setup { chunk: 3, ..raw },
            &feed(first),
        );

        let tamper = setup(Mode::Tamper, cf, sf);
        // Offsets in the record header, the hello's fixed fields, its extensions, and deep
        // in a flight (a TLS 1.2 server's Certificate and ServerKeyExchange).
        for (at, kind) in [
            (4, EditKind::Xor(0x01)),
            (9, EditKind::Set(0xff)),
            (45, EditKind::Xor(0x80)),
            (120, EditKind::Insert(vec![0, 0, 0, 4])),
            (200, EditKind::Delete(3)),
            (500, EditKind::Xor(0x10)),
            (900, EditKind::Set(0)),
            (300, EditKind::Cut),
        ] {
            let ops = [
                Op::Tamper(Edit {
                    delta: at,
                    kind: kind.clone(),
                }),
                Op::Pump,
                Op::Facts,
            ];
            add(format!("tamper-{at}-{tag}"), tamper, &ops);
        }
        add(
            format!("tamper-resumed-{tag}"),
            Setup {
                resume: true,
                ..tamper
            },
            &[
                Op::Tamper(Edit {
                    delta: 300,
                    kind: EditKind::Xor(4),
                }),
                Op::Pump,
                Op::Facts,
            ],
        );

        let after = setup(Mode::After, cf, sf);
        add(
            format!("after-data-{tag}"),
            Setup {
                read_size: 2,
                ..after
            },
            &[
                Op::PeerWrite(5000),
                Op::Pump,
                Op::Write(700),
                Op::KeyUpdate,
                Op::Pump,
                Op::PeerKeyUpdate,
                Op::PeerWrite(20),
                Op::Pump,
                Op::Export,
                Op::Facts,
                Op::Close,
                Op::Pump,
                Op::PeerClose,
                Op::Pump,
            ],
        );
        add(
            format!("after-garbage-{tag}"),
            after,
            &[
                Op::PeerWrite(100),
                Op::Feed(garbage_record()),
                Op::Read,
                Op::Pump,
                Op::Write(10),
            ],
        );
        add(
            format!("after-plain-close-{tag}"),
            after,
            &[
                Op::Feed(PLAIN_CLOSE_NOTIFY.to_vec()),
                Op::Read,
                Op::Pump,
                Op::Eof,
                Op::Read,
            ],
        );
        add(
            format!("after-eof-{tag}"),
            Setup {
                resume: true,
                ..after
            },
            &[
                Op::PeerWrite(300),
                Op::Tamper(Edit {
                    delta: 10,
                    kind: EditKind::Cut,
                }),
                Op::Pump,
                Op::Facts,
            ],
        );
    }
    seeds
}

fn loader_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let mut add = |name: &str, selector: u8, parts: &[&[u8]]| {
        let mut bytes = vec![selector];
        parts.iter().for_each(|p| bytes.extend_from_slice(p));
        seeds.push((name.to_owned(), bytes));
    };
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    let chain_then_key = |chain: &[u8], key: &[u8]| {
        let len = u16::try_from(chain.len()).expect("small").to_be_bytes();
        [&len[..], chain, key].concat()
    };
    const USE: u8 = 8;
    let leaf = pki::SERVER_LEAF_DER;

    add("trust-pem-root", USE, &[pki::CA_PEM]);
    add("trust-pem-chain", 0, &[pki::SERVER_PEM]);
    add(
        "trust-pem-two",
        USE,
        &[&cat(pki::INTERMEDIATE_PEM, pki::CA_PEM)],
    );
    add(
        "trust-pem-not-a-cert",
        0,
        &[b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
    );
    add("trust-der-root", 1 | USE, &[pki::CA_DER]);
    add("trust-der-leaf", 1, &[leaf]);
    add("crl-der", 2 | USE, &[pki::CRL_INTERMEDIATE_DER]);
    add("crl-pem", 2, &[pki::CRL_INTERMEDIATE_PEM]);
    add(
        "crl-pem-both",
        2 | USE | 0x10,
        &[&cat(pki::CRL_INTERMEDIATE_PEM, pki::CRL_ROOT_PEM)],
    );
    add(
        "cert-server",
        3 | USE,
        &[&chain_then_key(pki::SERVER_PEM, pki::SERVER_KEY)],
    );
    add(
        "cert-server-sec1",
        3,
        &[&chain_then_key(pki::SERVER_PEM, pki::SERVER_SEC1_KEY)],
    );
    add(
        "cert-ed25519",
        3 | USE,
        &[&chain_then_key(pki::OTHER_PEM, pki::OTHER_KEY)],
    );
    add(
        "cert-mismatch",
        3,
        &[&chain_then_key(pki::SERVER_PEM, pki::OTHER_KEY)],
    );
    add(
        "cert-client",
        3 | USE | 0x10,
        &[&chain_then_key(pki::CLIENT_PEM, pki::CLIENT_KEY)],
    );
    add("cert-functions", 4, &[&[9], b"localhost", leaf]);
    add("cert-functions-ip", 4, &[&[9], b"127.0.0.1", pki::CA_DER]);
    for (name, host) in [
        ("name-dns", &b"localhost"[..]),
        ("name-ip4", b"127.0.0.1"),
        ("name-ip6", b"::1"),
        ("name-wildcard", b"*.example.com"),
        ("name-idna", b"xn--bcher-kva.example"),
        ("name-trailing-dot", b"localhost."),
    ] {
        add(name, 5 | USE, &[host]);
    }
    let setters = |versions: [u16; 2], alpn: &[&[u8]], suites: &[u16], groups: &[u16]| {
        let mut bytes = Vec::new();
        versions
            .iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_be_bytes()));
        bytes.push(alpn.len() as u8);
        for p in alpn {
            bytes.extend_from_slice(&(p.len() as u16).to_be_bytes());
            bytes.extend_from_slice(p);
        }
        for list in [suites, groups] {
            bytes.push(list.len() as u8);
            list.iter()
                .for_each(|v| bytes.extend_from_slice(&v.to_be_bytes()));
        }
        bytes.extend_from_slice(&[0, 16, 40]);
        bytes.extend_from_slice(&pki::TICKET_KEYS[..80]);
        bytes.push(0); // no client authentication
        bytes
    };
    add(
        "setters-server",
        6 | USE,
        &[&setters(
            [0x0303, 0x0304],
            &[b"h2"],
            &[0x1301, 0xc02b],
            &[0x001d, 0x0017],
        )],
    );
    add(
        "setters-client-tls12",
        6 | USE | 0x10,
        &[&setters(
            [0x0303, 0x0303],
            &[b"http/1.1", b"h2"],
            &[0xcca9],
            &[0x0018],
        )],
    );
    add(
        "setters-no-usable-suite",
        6,
        &[&setters([0x0304, 0x0304], &[], &[0xc02b], &[])],
    );
    add("file-trust-pem", 7, &[pki::CA_PEM]);
    add("file-crl", 7 | 0x10, &[pki::CRL_INTERMEDIATE_DER]);
    add(
        "file-cert-and-key",
        7 | 0x20,
        &[&cat(pki::SERVER_PEM, pki::SERVER_KEY)],
    );
    add("file-ticket-keys", 7 | 0x30, &[&pki::TICKET_KEYS]);
    add(
        "file-dir",
        7 | 0x40,
        &[&cat(
            pki::CA_PEM,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )],
    );
    seeds
}
