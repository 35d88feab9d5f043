//! Many threads sharing configs, trust stores and session caches, in memory mode, through
//! the engine's safe API: what the C ABI's objects wrap (an `ember_config` holds an
//! `Arc<Config>`, and ember_config_free drops that reference; likewise trust stores and
//! session caches).
//!
//! [`THREADS`] workers each run [`CONNS_PER_THREAD`] client/server pairs, every pair made
//! from configs the workers share, and every one checked: both handshakes complete, both
//! ends agree on version, suite, group, resumption, server name and certificates (each side
//! sees the other's two-certificate chain, mTLS throughout), data goes both ways intact, and
//! both sides close cleanly. Five kinds of pairs take turns, so every kind of resumption
//! state is shared and contended:
//!
//! | client config            | server config                 | resumes by                        |
//! |--------------------------|-------------------------------|-----------------------------------|
//! | A (TLS 1.2 and 1.3)      | T (tickets, mTLS required)    | TLS 1.3 stateless tickets         |
//! | B (TLS 1.2 only)         | T                             | TLS 1.2 tickets                   |
//! | A                        | S (no tickets, mTLS optional) | TLS 1.3 tickets in S's session cache |
//! | B                        | S                             | TLS 1.2 session ids in that cache |
//! | F (no resumption)        | T                             | nothing: a full handshake each time |
//!
//! A and B share one client session cache; A, B and F share one trust store. Each kind
//! asks for its own server name (see [`Kind::server_name`]). Meanwhile a rotator thread
//! keeps replacing A, B, F and T with new configs (T with a new trust store each time) and
//! drops its references to the old ones, which are freed while connections made from them
//! are still running on the workers: a worker lets go of the configs right after making
//! its pair. The new configs share the ticket keys and the session cache, so resumption
//! goes on across generations. The test's own references to everything go before the
//! workers start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use embertls::engine::sessions::SessionCache;
use embertls::engine::{ClientAuth, Config, Conn, Error, ErrorKind, Role, Trust};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use crate::support::pseudo_random;

const THREADS: usize = 8;
const CONNS_PER_THREAD: usize = 1000;

/// The four kinds of pairs, in the order workers take them.
const KINDS: [Kind; 5] = [
    Kind {
        name: "TLS 1.3, stateless tickets",
        client: ClientKind::A,
        server: ServerKind::T,
        server_name: "tickets.tls13.test",
    },
    Kind {
        name: "TLS 1.2, tickets",
        client: ClientKind::B,
        server: ServerKind::T,
        server_name: "tickets.tls12.test",
    },
    Kind {
        name: "TLS 1.3, server session cache",
        client: ClientKind::A,
        server: ServerKind::S,
        server_name: "cache.tls13.test",
    },
    Kind {
        name: "TLS 1.2, server session cache",
        client: ClientKind::B,
        server: ServerKind::S,
        server_name: "cache.tls12.test",
    },
    Kind {
        name: "TLS 1.3, no resumption",
        client: ClientKind::F,
        server: ServerKind::T,
        server_name: "full.test",
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    /// TLS 1.2 and 1.3, the shared session cache.
    A,
    /// TLS 1.2 only, the shared session cache.
    B,
    /// TLS 1.2 and 1.3, no resumption: a full handshake every time.
    F,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerKind {
    T,
    S,
}

struct Kind {
    name: &'static str,
    client: ClientKind,
    server: ServerKind,
    /// The name the client asks for, one per kind: the client cache keeps a server's
    /// TLS 1.2 session and TLS 1.3 tickets by name, and rustls drops the TLS 1.2 session
    /// of a server it has just reached over TLS 1.3.
    server_name: &'static str,
}

impl Kind {
    fn version(&self) -> u16 {
        match self.client {
            ClientKind::A | ClientKind::F => 0x0304,
            ClientKind::B => 0x0303,
        }
    }
}

/// The PEM the configs are made from, read once.
struct Material {
    ca: Vec<u8>,
    chain: Vec<u8>,
    key: Vec<u8>,
    ticket_keys: Vec<u8>,
}

impl Material {
    /// A root, an intermediate, and a leaf for every kind's name (server and client
    /// authentication both): the chain each side presents is the leaf and intermediate.
    fn generate() -> Material {
        let key = || KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        let named = |names: Vec<String>, cn: &str| {
            let mut params = CertificateParams::new(names).expect("valid names");
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, cn);
            params.distinguished_name = dn;
            params
        };
        let ca_params = |cn: &str| {
            let mut params = named(vec![], cn);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params
        };
        let root_key = key();
        let root_params = ca_params("concurrency root");
        let root_pem = root_params.self_signed(&root_key).expect("root").pem();
        let root = Issuer::new(root_params, root_key);
        let ca_key = key();
        let ica_params = ca_params("concurrency intermediate");
        let ica_pem = ica_params
            .signed_by(&ca_key, &root)
            .expect("intermediate")
            .pem();
        let ica = Issuer::new(ica_params, ca_key);
        let leaf_key = key();
        let names = KINDS.iter().map(|k| k.server_name.to_owned()).collect();
        let mut leaf = named(names, "concurrency leaf");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let leaf_pem = leaf.signed_by(&leaf_key, &ica).expect("leaf").pem();
        let mut ticket_keys = pseudo_random(77, 80);
        ticket_keys[..16].copy_from_slice(b"concurrency-test");
        Material {
            ca: root_pem.into_bytes(),
            chain: format!("{leaf_pem}{ica_pem}").into_bytes(),
            key: leaf_key.serialize_pem().into_bytes(),
            ticket_keys,
        }
    }

    fn trust(&self) -> Arc<Trust> {
        let trust = Trust::new();
        trust.add_pem(&self.ca, "ca.pem").expect("the CA loads");
        Arc::new(trust)
    }

    /// A client config trusting `trust`, presenting the test chain, keeping sessions in
    /// `cache` (None: no resumption); TLS 1.2 only when `tls12_only`.
    fn client(
        &self,
        trust: &Arc<Trust>,
        cache: Option<&Arc<SessionCache>>,
        tls12_only: bool,
    ) -> Config {
        let cfg = Config::new(Role::Client).expect("client config");
        cfg.set_trust(trust.clone()).expect("trust");
        cfg.add_cert_pem(&self.chain, &self.key)
            .expect("client certificate");
        match cache {
            Some(cache) => cfg.set_session_cache(cache.clone()),
            None => cfg.set_session_cache_size(0),
        }
        .expect("session cache");
        if tls12_only {
            cfg.set_versions(0x0303, 0x0303).expect("versions");
        }
        cfg
    }

    /// Server T: tickets sealed with the shared keys, client certificates required.
    fn server_t(&self, trust: Arc<Trust>) -> Config {
        let cfg = Config::new(Role::Server).expect("server config");
        cfg.add_cert_pem(&self.chain, &self.key)
            .expect("certificate");
        cfg.set_trust(trust).expect("trust");
        cfg.set_ticket_keys(&self.ticket_keys, "the test's ticket keys")
            .expect("ticket keys");
        cfg
    }

    /// Server S: no tickets (sessions in its memory cache), client certificates optional.
    fn server_s(&self, trust: Arc<Trust>) -> Config {
        let cfg = Config::new(Role::Server).expect("server config");
        cfg.add_cert_pem(&self.chain, &self.key)
            .expect("certificate");
        cfg.set_trust(trust).expect("trust");
        cfg.set_client_auth(ClientAuth::Optional)
            .expect("client auth");
        cfg.set_tickets(false).expect("tickets off");
        cfg
    }
}

/// The configs that the rotator replaces.
struct Generation {
    a: Config,
    b: Config,
    f: Config,
    t: Config,
}

/// What the rotator saw: configs and trust stores it retired, and how many of them were
/// gone (freed) while the workers were still running.
#[derive(Default)]
struct Rotation {
    generations: usize,
    retired: Vec<(Weak<Generation>, Weak<Trust>)>,
    freed_while_running: usize,
}

/// A worker's tally: (kind, resumed) -> connections.
type Tally = BTreeMap<(usize, bool), usize>;

#[test]
fn threads_share_configs_trust_and_session_caches() {
    let material = Arc::new(Material::generate());
    let client_trust = material.trust();
    let cache = Arc::new(SessionCache::new(KINDS.len()).expect("session cache"));
    let first = Arc::new(Generation {
        a: material.client(&client_trust, Some(&cache), false),
        b: material.client(&client_trust, Some(&cache), true),
        f: material.client(&client_trust, None, false),
        t: material.server_t(material.trust()),
    });
    let server_s = Arc::new(material.server_s(material.trust()));
    let current = Arc::new(Mutex::new(first));
    // The rotator waits too: a generation it frees before the workers start would count as
    // freed while connections ran.
    let start = Arc::new(Barrier::new(THREADS + 2));
    let running = Arc::new(AtomicUsize::new(THREADS));

    let workers: Vec<_> = (0..THREADS)
        .map(|id| {
            let (current, server_s, start) = (current.clone(), server_s.clone(), start.clone());
            let running = running.clone();
            thread::Builder::new()
                .name(format!("worker {id}"))
                .spawn(move || {
                    let done = worker(id, &current, &server_s, &start);
                    running.fetch_sub(1, Ordering::SeqCst);
                    done
                })
                .expect("start a worker")
        })
        .collect();
    let rotator = {
        let (current, material, start) = (current.clone(), material.clone(), start.clone());
        let (trust, cache) = (client_trust.clone(), cache.clone());
        thread::spawn(move || rotate(&current, &material, &trust, &cache, &start, &running))
    };
    // From here on the workers and the rotator hold the only references: the trust store
    // and cache live on in the configs, S in the workers.
    drop((client_trust, cache, server_s, current, material));
    let began = Instant::now();
    start.wait();

    let mut tally = Tally::new();
    let mut errors = Vec::new();
    for worker in workers {
        let (counts, failures) = worker.join().expect("a worker panicked");
        for (key, n) in counts {
            *tally.entry(key).or_default() += n;
        }
        errors.extend(failures);
    }
    let elapsed = began.elapsed();
    let rotation = rotator.join().expect("the rotator panicked");

    assert!(
        errors.is_empty(),
        "{} failures, e.g.:\n{}",
        errors.len(),
        errors[..errors.len().min(5)].join("\n")
    );
    let total: usize = tally.values().sum();
    assert_eq!(total, THREADS * CONNS_PER_THREAD);
    let mut report = format!(
        "{total} connections on {THREADS} threads in {elapsed:?}; {} config generations, \
         {} freed while connections ran\n",
        rotation.generations, rotation.freed_while_running
    );
    for (k, kind) in KINDS.iter().enumerate() {
        let resumed = tally.get(&(k, true)).copied().unwrap_or(0);
        let full = tally.get(&(k, false)).copied().unwrap_or(0);
        report.push_str(&format!(
            "  {}: {resumed} resumed, {full} full\n",
            kind.name
        ));
        if kind.client == ClientKind::F {
            assert_eq!(resumed, 0, "{report}");
        } else {
            // Full handshakes come first and after the odd race for a single-use TLS 1.3
            // ticket; then each worker's pairs of a kind resume the sessions before them.
            assert!(resumed * 2 > resumed + full, "too few resumed:\n{report}");
        }
    }
    println!("{report}");
    assert!(rotation.generations >= 3, "{report}");
    assert!(
        rotation.freed_while_running > 0,
        "no retired config was freed while connections ran:\n{report}"
    );
    // Once every connection is gone, so is every retired config and trust store.
    for (generation, trust) in &rotation.retired {
        assert!(generation.upgrade().is_none() && trust.upgrade().is_none());
    }
}

/// Replaces A, B and T with new configs every few milliseconds until the workers are done
/// (`running` counts those that are not); T gets a new trust store each time. Returns what
/// happened to the retired ones.
fn rotate(
    current: &Mutex<Arc<Generation>>,
    material: &Material,
    trust: &Arc<Trust>,
    cache: &Arc<SessionCache>,
    start: &Barrier,
    running: &AtomicUsize,
) -> Rotation {
    let mut rotation = Rotation::default();
    // Dropped from here on the pass that finds them gone, so that each is counted once.
    let mut alive: Vec<Weak<Generation>> = Vec::new();
    start.wait();
    while running.load(Ordering::SeqCst) > 0 {
        thread::sleep(Duration::from_millis(15));
        let server_trust = material.trust();
        let next = Arc::new(Generation {
            a: material.client(trust, Some(cache), false),
            b: material.client(trust, Some(cache), true),
            f: material.client(trust, None, false),
            t: material.server_t(server_trust.clone()),
        });
        let old = std::mem::replace(&mut *current.lock().expect("lock"), next);
        rotation.generations += 1;
        rotation
            .retired
            .push((Arc::downgrade(&old), Arc::downgrade(&server_trust)));
        alive.push(Arc::downgrade(&old));
        // The new generation's trust store lives in its T only.
        drop(server_trust);
        // The last reference to the old configs, unless a worker is making a pair from them.
        drop(old);
        let before = alive.len();
        alive.retain(|generation| generation.upgrade().is_some());
        let freed = before - alive.len();
        // Read after the frees were seen: a worker still running now was running when they
        // happened (here or on a worker), and the connections made from them live on. Those
        // seen only once every worker had returned do not count.
        if running.load(Ordering::SeqCst) > 0 {
            rotation.freed_while_running += freed;
        }
    }
    rotation
}

/// One worker's connections: the kinds in turn, the configs taken from the current
/// generation (and S) and let go of as soon as the pair is made.
fn worker(
    id: usize,
    current: &Mutex<Arc<Generation>>,
    server_s: &Arc<Config>,
    start: &Barrier,
) -> (Tally, Vec<String>) {
    start.wait();
    let mut tally = Tally::new();
    let mut errors = Vec::new();
    for i in 0..CONNS_PER_THREAD {
        let k = (i + id) % KINDS.len();
        let kind = &KINDS[k];
        let generation = current.lock().expect("lock").clone();
        let client_cfg = match kind.client {
            ClientKind::A => &generation.a,
            ClientKind::B => &generation.b,
            ClientKind::F => &generation.f,
        };
        let server_cfg = match kind.server {
            ServerKind::T => &generation.t,
            ServerKind::S => &**server_s,
        };
        let pair = Conn::new(client_cfg, Some(kind.server_name))
            .and_then(|client| Ok((client, Conn::new(server_cfg, None)?)));
        drop(generation);
        let data = pseudo_random((id * CONNS_PER_THREAD + i) as u64, 1 + (i * 977) % 8192);
        match pair
            .map_err(|e| describe("making the pair", &e))
            .and_then(|(client, server)| exchange(client, server, kind, &data))
        {
            Ok(resumed) => *tally.entry((k, resumed)).or_default() += 1,
            Err(e) => errors.push(format!("worker {id}, connection {i} ({}): {e}", kind.name)),
        }
    }
    (tally, errors)
}

fn describe(what: &str, e: &Error) -> String {
    format!("{what}: {:?}: {}", e.kind(), e.detail())
}

/// Moves everything `from` has to send into `to`; whether anything moved.
fn pass(from: &mut Conn, to: &mut Conn, buf: &mut [u8]) -> Result<bool, String> {
    let mut moved = false;
    loop {
        let n = from.drain(buf).map_err(|e| describe("drain", &e))?;
        if n == 0 {
            return Ok(moved);
        }
        moved = true;
        let taken = to.feed(&buf[..n]).map_err(|e| describe("feed", &e))?;
        // Records are read as they come, so the receiver always has room.
        if taken != n {
            return Err(format!("feed took {taken} of {n} bytes"));
        }
    }
}

/// `result` unless it is WantRead (more input needed), which is None.
fn progress<T>(result: Result<T, Error>, what: &str) -> Result<Option<T>, String> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind() == ErrorKind::WantRead => Ok(None),
        Err(e) => Err(describe(what, &e)),
    }
}

/// Reads exactly `n` bytes from `to`, moving `from`'s output to it as needed.
fn receive(from: &mut Conn, to: &mut Conn, n: usize, buf: &mut [u8]) -> Result<Vec<u8>, String> {
    let mut got = Vec::with_capacity(n);
    let mut chunk = vec![0u8; 4096];
    while got.len() < n {
        match progress(to.read(&mut chunk), "read")? {
            Some(k) => got.extend_from_slice(&chunk[..k]),
            None => {
                if !pass(from, to, buf)? {
                    return Err(format!("stalled after {} of {n} bytes", got.len()));
                }
            }
        }
    }
    Ok(got)
}

/// Runs one pair: handshake, checks, data both ways, close both ways. Returns whether the
/// session was resumed.
fn exchange(mut client: Conn, mut server: Conn, kind: &Kind, data: &[u8]) -> Result<bool, String> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let client_done = progress(client.handshake(), "client handshake")?.is_some();
        let moved = pass(&mut client, &mut server, &mut buf)?;
        let server_done = progress(server.handshake(), "server handshake")?.is_some();
        let answered = pass(&mut server, &mut client, &mut buf)?;
        if client_done && server_done {
            break;
        }
        if !moved && !answered {
            return Err("the handshake stalled".into());
        }
    }

    let agree = |what: &str, c: Option<u16>, s: Option<u16>| {
        if c == s {
            Ok(())
        } else {
            Err(format!("{what}: client {c:x?}, server {s:x?}"))
        }
    };
    agree(
        "version",
        client.protocol_version(),
        server.protocol_version(),
    )?;
    if client.protocol_version() != Some(kind.version()) {
        return Err(format!("version {:x?}", client.protocol_version()));
    }
    agree("suite", client.cipher_suite(), server.cipher_suite())?;
    agree("group", client.kx_group(), server.kx_group())?;
    let resumed = client.is_resumed();
    if resumed != server.is_resumed() || resumed.is_none() {
        return Err(format!(
            "resumed: client {resumed:?}, server {:?}",
            server.is_resumed()
        ));
    }
    let resumed = resumed == Some(true);
    // A resumed TLS 1.2 session has no key exchange of its own.
    if client.kx_group().is_none() != (resumed && kind.version() == 0x0303) {
        return Err(format!(
            "group {:?} on a resumed={resumed} connection",
            client.kx_group()
        ));
    }
    // Both chains are the test's leaf and intermediate, also when a session brings them back.
    for (side, chain) in [
        ("server", server.peer_certificates()),
        ("client", client.peer_certificates()),
    ] {
        if chain.map(<[_]>::len) != Some(2) {
            return Err(format!(
                "the {side} sees a peer chain of {:?} certificates",
                chain.map(<[_]>::len)
            ));
        }
    }
    if client.server_name() != Some(kind.server_name)
        || server.server_name() != Some(kind.server_name)
    {
        return Err(format!(
            "server name: client {:?}, server {:?}",
            client.server_name(),
            server.server_name()
        ));
    }

    // The data to the server and back (the client's reads take in the tickets too).
    if client
        .write(data)
        .map_err(|e| describe("client write", &e))?
        != data.len()
    {
        return Err("the client's write took part of the data".into());
    }
    let arrived = receive(&mut client, &mut server, data.len(), &mut buf)?;
    if arrived != data {
        return Err("the server received other bytes than were sent".into());
    }
    if server
        .write(&arrived)
        .map_err(|e| describe("server write", &e))?
        != data.len()
    {
        return Err("the server's write took part of the data".into());
    }
    let echoed = receive(&mut server, &mut client, data.len(), &mut buf)?;
    if echoed != data {
        return Err("the echo differs from what was sent".into());
    }

    // close_notify each way, each seen as Closed by the other side.
    client.close().map_err(|e| describe("client close", &e))?;
    pass(&mut client, &mut server, &mut buf)?;
    expect_closed(&mut server, "server")?;
    server.close().map_err(|e| describe("server close", &e))?;
    pass(&mut server, &mut client, &mut buf)?;
    expect_closed(&mut client, "client")?;
    Ok(resumed)
}

fn expect_closed(conn: &mut Conn, side: &str) -> Result<(), String> {
    match conn.read(&mut [0u8; 64]) {
        Err(e) if e.kind() == ErrorKind::Closed => Ok(()),
        Err(e) => Err(describe(&format!("{side} read after close_notify"), &e)),
        Ok(n) => Err(format!("{side} read {n} bytes after close_notify")),
    }
}
