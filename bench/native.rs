//! The native rustls peer: bench/harness.c's loops, line for line, over rustls itself (the
//! ring provider, the engine embertls wraps) with no embertls code in between. Run as
//! `bench native ARGS...` with the C peers' arguments; prints the same lines.
//!
//! Configs as a rustls user would make them with embertls' choices: ring's default suites
//! and groups, TLS 1.2 and 1.3, the client trusting ca.pem with webpki's verifier and a
//! 256-session cache for resumption (disabled otherwise), the server with one certificate
//! chain, rustls' ring ticketer (two tickets per TLS 1.3 handshake) and its default
//! 256-session cache. Bytes move with read_tls/process_new_packets and write_tls.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, Connection, HandshakeKind, RootCertStore, ServerConfig,
    ServerConnection, SignatureScheme, SupportedProtocolVersion,
};

use crate::alloc;

/// The wire's size and the read buffer's, as in harness.c.
const WIRE: usize = 64 * 1024;
const SINK: usize = 16 * 1024;

type Fallible<T> = Result<T, String>;

/// What the configs of one run are made of (harness.c's `struct setup`).
struct Setup<'a> {
    dir: &'a Path,
    cert: &'a str,
    tls12_only: bool,
    resume: bool,
    /// The one TLS 1.3 suite allowed (IANA id), 0: ring's defaults.
    suite: u16,
}

struct Ctx {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

/// What a connection negotiated.
struct Info {
    version: u16,
    suite: u16,
    resumed: bool,
}

/// The buffers the loops move bytes through.
struct Buffers {
    wire: Vec<u8>,
    sink: Vec<u8>,
}

/// The CPU time this process has used, in seconds: rates are per CPU second, as in
/// harness.c (see there).
fn cpu_secs() -> f64 {
    // SAFETY: clock_gettime fills the timespec it is given.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts);
        ts
    };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// A CPU-time stopwatch that also keeps the wall-clock time.
struct Stopwatch {
    cpu: f64,
    wall: Instant,
}

impl Stopwatch {
    fn start() -> Self {
        Self {
            cpu: cpu_secs(),
            wall: Instant::now(),
        }
    }

    fn cpu(&self) -> f64 {
        cpu_secs() - self.cpu
    }

    fn wall(&self) -> f64 {
        self.wall.elapsed().as_secs_f64()
    }
}

fn why(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

fn setup(s: &Setup) -> Fallible<Ctx> {
    let mut provider = rustls::crypto::ring::default_provider();
    if s.suite != 0 {
        provider
            .cipher_suites
            .retain(|cs| u16::from(cs.suite()) == s.suite);
    }
    let provider = Arc::new(provider);
    let versions: &[&'static SupportedProtocolVersion] = if s.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(s.dir.join("ca.pem")).map_err(|e| why("ca.pem", e))? {
        roots
            .add(cert.map_err(|e| why("ca.pem", e))?)
            .map_err(|e| why("ca.pem", e))?;
    }
    let mut client = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| why("client config", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = if s.resume {
        Resumption::default()
    } else {
        Resumption::disabled()
    };

    let chain_path = s.dir.join(format!("{}.pem", s.cert));
    let chain = CertificateDer::pem_file_iter(&chain_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| why("chain", e))?;
    let key = PrivateKeyDer::from_pem_file(s.dir.join(format!("{}.key", s.cert)))
        .map_err(|e| why("key", e))?;
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| why("server config", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| why("server certificate", e))?;
    server.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| why("ticketer", e))?;
    Ok(Ctx {
        client: Arc::new(client),
        server: Arc::new(server),
    })
}

fn client(ctx: &Ctx) -> Fallible<Connection> {
    let name = ServerName::try_from("localhost").expect("a valid DNS name");
    ClientConnection::new(ctx.client.clone(), name)
        .map(Connection::from)
        .map_err(|e| format!("client connection: {e}"))
}

fn server(ctx: &Ctx) -> Fallible<Connection> {
    ServerConnection::new(ctx.server.clone())
        .map(Connection::from)
        .map_err(|e| format!("server connection: {e}"))
}

/// true once the handshake is complete (what arrives is processed as it is fed).
fn handshake(c: &mut Connection) -> bool {
    !c.is_handshaking()
}

fn drain(c: &mut Connection, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while c.wants_write() && n < buf.len() {
        let mut out = &mut buf[n..];
        match c.write_tls(&mut out) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn feed(c: &mut Connection, data: &[u8]) -> Fallible<usize> {
    let mut taken = 0;
    while taken < data.len() {
        match c.read_tls(&mut &data[taken..]) {
            Ok(0) | Err(_) => break, // decrypted data fills the buffer: read it first
            Ok(n) => {
                taken += n;
                c.process_new_packets()
                    .map_err(|e| format!("processing received bytes: {e}"))?;
            }
        }
    }
    Ok(taken)
}

fn read(c: &mut Connection, buf: &mut [u8]) -> Fallible<usize> {
    match c.reader().read(buf) {
        Ok(0) => Err("the peer closed the connection".to_owned()),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn write(c: &mut Connection, data: &[u8]) -> Fallible<usize> {
    c.writer().write(data).map_err(|e| format!("write: {e}"))
}

fn info(c: &Connection) -> Info {
    Info {
        version: c.protocol_version().map_or(0, u16::from),
        suite: c
            .negotiated_cipher_suite()
            .map_or(0, |s| u16::from(s.suite())),
        resumed: c.handshake_kind() == Some(HandshakeKind::Resumed),
    }
}

fn read_all(c: &mut Connection, sink: &mut [u8], got: &mut u64) -> Fallible<()> {
    loop {
        match read(c, sink)? {
            0 => return Ok(()),
            n => *got += n as u64,
        }
    }
}

fn pass(
    from: &mut Connection,
    to: &mut Connection,
    b: &mut Buffers,
    got: &mut u64,
) -> Fallible<usize> {
    let mut moved = 0;
    loop {
        let n = drain(from, &mut b.wire);
        if n == 0 {
            return Ok(moved);
        }
        let mut off = 0;
        while off < n {
            let took = feed(to, &b.wire[off..n])?;
            off += took;
            if off < n {
                let before = *got;
                read_all(to, &mut b.sink, got)?;
                if took == 0 && *got == before {
                    return Err("the receiver takes no bytes and has nothing to read".to_owned());
                }
            }
        }
        moved += n;
    }
}

fn connect_pair(ctx: &Ctx, b: &mut Buffers) -> Fallible<(Connection, Connection)> {
    let mut got = 0;
    let (mut c, mut s) = (client(ctx)?, server(ctx)?);
    for round in 0.. {
        if round == 16 {
            return Err("the handshake makes no progress".to_owned());
        }
        let dc = handshake(&mut c);
        let mut moved = pass(&mut c, &mut s, b, &mut got)?;
        let ds = handshake(&mut s);
        moved += pass(&mut s, &mut c, b, &mut got)?;
        if dc && ds && moved == 0 {
            break;
        }
    }
    read_all(&mut c, &mut b.sink, &mut got)?;
    if got != 0 || pass(&mut c, &mut s, b, &mut got)? != 0 {
        return Err("unexpected bytes after the handshake".to_owned());
    }
    Ok((c, s))
}

fn run_handshakes(dir: &Path, cert: &str, tls: u16, mode: &str, secs: f64) -> Fallible<()> {
    let resumed = mode == "resumed";
    let ctx = setup(&Setup {
        dir,
        cert,
        tls12_only: tls == 12,
        resume: resumed,
        suite: 0,
    })?;
    let mut b = Buffers::new();
    drop(connect_pair(&ctx, &mut b)?);

    let mut count = 0u64;
    let start = Stopwatch::start();
    let (elapsed, last) = loop {
        let (c, s) = connect_pair(&ctx, &mut b)?;
        let last = info(&c);
        if last.resumed != resumed {
            return Err(if resumed {
                "a handshake did not resume"
            } else {
                "a handshake resumed"
            }
            .to_owned());
        }
        drop((c, s));
        count += 1;
        let elapsed = start.cpu();
        if elapsed >= secs {
            break (elapsed, last);
        }
    };
    println!(
        "result figure=hs{tls}-{cert}-{mode} peer=rustls value={} unit=handshakes/s count={count} \
         secs={elapsed:.4} wall={:.4} version=0x{:04x} suite=0x{:04x}",
        count as f64 / elapsed,
        start.wall(),
        last.version,
        last.suite
    );
    Ok(())
}

fn run_bulk(dir: &Path, suite_name: &str, chunk: usize, secs: f64) -> Fallible<()> {
    let suite = match suite_name {
        "aes128" => 0x1301,
        "aes256" => 0x1302,
        "chacha" => 0x1303,
        _ => return Err("unknown suite (aes128, aes256, chacha)".to_owned()),
    };
    if chunk == 0 || chunk > WIRE / 2 {
        return Err("bad chunk size".to_owned());
    }
    let figure = format!("bulk-{suite_name}-{chunk}");
    let ctx = setup(&Setup {
        dir,
        cert: "ecdsa",
        tls12_only: false,
        resume: false,
        suite,
    })?;
    let mut b = Buffers::new();
    let (mut c, mut s) = connect_pair(&ctx, &mut b)?;
    let negotiated = info(&c);
    if negotiated.suite != suite {
        return Err("negotiated another suite".to_owned());
    }

    let data: Vec<u8> = (0..chunk).map(|i| (i * 131 + 7) as u8).collect();
    let batch = if chunk >= 256 * 1024 {
        1
    } else {
        256 * 1024 / chunk
    };
    let (mut sent, mut got) = (0u64, 0u64);
    let one = |c: &mut Connection, s: &mut Connection, b: &mut Buffers, got: &mut u64| {
        if write(c, &data)? != chunk {
            return Err("a write was not taken whole".to_owned());
        }
        pass(c, s, b, got)?;
        read_all(s, &mut b.sink, got)
    };
    for _ in 0..batch {
        one(&mut c, &mut s, &mut b, &mut got)?;
    }
    got = 0;
    let start = Stopwatch::start();
    let elapsed = loop {
        for _ in 0..batch {
            one(&mut c, &mut s, &mut b, &mut got)?;
            sent += chunk as u64;
        }
        let elapsed = start.cpu();
        if elapsed >= secs {
            break elapsed;
        }
    };
    if got != sent {
        return Err("the server read a different number of bytes than the client wrote".to_owned());
    }
    println!(
        "result figure={figure} peer=rustls value={} unit=MB/s count={got} secs={elapsed:.4} \
         wall={:.4} version=0x{:04x} suite=0x{:04x}",
        got as f64 / elapsed / 1e6,
        start.wall(),
        negotiated.version,
        negotiated.suite
    );
    Ok(())
}

fn run_heap(dir: &Path, conns: usize) -> Fallible<()> {
    let ctx = setup(&Setup {
        dir,
        cert: "ecdsa",
        tls12_only: false,
        resume: false,
        suite: 0,
    })?;
    let mut b = Buffers::new();
    let mut clients = Vec::with_capacity(conns);
    let mut servers = Vec::with_capacity(conns);
    for _ in 0..2 {
        drop(connect_pair(&ctx, &mut b)?);
    }
    let base = alloc::live_bytes();
    for _ in 0..conns {
        let (c, s) = connect_pair(&ctx, &mut b)?;
        // Boxed, as the C libraries' connection objects are: the connection's own struct
        // is part of what it holds (in the vectors, made before `base`, it would not be).
        clients.push(Box::new(c));
        servers.push(Box::new(s));
    }
    let all = alloc::live_bytes();
    // Emptied in place: the vectors' own blocks stay until the end, as harness.c's arrays.
    servers.clear();
    let without_servers = alloc::live_bytes();
    clients.clear();
    let after = alloc::live_bytes();

    let per = |bytes: i64| bytes as f64 / conns as f64;
    println!(
        "result figure=heap-client peer=rustls value={} unit=bytes count={conns} kept={}",
        per(without_servers - after),
        after - base
    );
    println!(
        "result figure=heap-server peer=rustls value={} unit=bytes count={conns} kept={}",
        per(all - without_servers),
        after - base
    );
    Ok(())
}

impl Buffers {
    fn new() -> Self {
        Self {
            wire: vec![0; WIRE],
            sink: vec![0; SINK],
        }
    }
}

/// ring's AEAD alone on 16 KiB buffers, the engine's own ceiling: sealing (MB/s), and
/// sealing then opening each buffer, as the two ends of a connection on one core do.
fn run_aead(suite_name: &str, secs: f64) -> Fallible<()> {
    use ring::aead::{
        Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305,
    };
    let alg = match suite_name {
        "aes128" => &AES_128_GCM,
        "aes256" => &AES_256_GCM,
        "chacha" => &CHACHA20_POLY1305,
        _ => return Err("unknown suite (aes128, aes256, chacha)".to_owned()),
    };
    let key = LessSafeKey::new(
        UnboundKey::new(alg, &[7u8; 32][..alg.key_len()]).map_err(|_| "bad key length")?,
    );
    let nonce = |n: u64| {
        let mut bytes = [0u8; 12];
        bytes[4..].copy_from_slice(&n.to_be_bytes());
        Nonce::assume_unique_for_key(bytes)
    };
    let mut buf: Vec<u8> = (0..16384).map(|i| (i * 131 + 7) as u8).collect();
    buf.reserve(alg.tag_len());
    let mut n = 0u64;
    let mut time = |pair: bool| -> Fallible<f64> {
        let start = Stopwatch::start();
        let mut bytes = 0u64;
        loop {
            for _ in 0..16 {
                n += 1;
                key.seal_in_place_append_tag(nonce(n), Aad::empty(), &mut buf)
                    .map_err(|_| "seal failed")?;
                if pair {
                    key.open_in_place(nonce(n), Aad::empty(), &mut buf)
                        .map_err(|_| "open failed")?;
                }
                buf.truncate(16384);
                bytes += 16384;
            }
            let elapsed = start.cpu();
            if elapsed >= secs {
                return Ok(bytes as f64 / elapsed / 1e6);
            }
        }
    };
    let seal = time(false)?;
    let pair = time(true)?;
    println!(
        "result figure=ring-{suite_name} peer=ring value={pair} unit=MB/s seal={seal} bytes=16384"
    );
    Ok(())
}

/// The server's signature in a full handshake, made as the engine makes it: the bench's
/// `KEY.key` through rustls' ring provider, with the scheme TLS 1.3 uses for that key.
fn run_sign(dir: &Path, key_name: &str, secs: f64) -> Fallible<()> {
    let scheme = match key_name {
        "ecdsa" => SignatureScheme::ECDSA_NISTP256_SHA256,
        "rsa" => SignatureScheme::RSA_PSS_SHA256,
        _ => return Err("unknown key (ecdsa, rsa)".to_owned()),
    };
    let key = PrivateKeyDer::from_pem_file(dir.join(format!("{key_name}.key")))
        .map_err(|e| why("key", e))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| why("signing key", e))?
        .choose_scheme(&[scheme])
        .ok_or_else(|| format!("the {key_name} key cannot sign with {scheme:?}"))?;
    // As long as what a TLS 1.3 CertificateVerify signs (64 spaces, the 33-byte context
    // string, a zero byte, a SHA-256 hash); the content does not change the cost.
    let message = [0x20u8; 130];
    let start = Stopwatch::start();
    let mut signatures = 0u64;
    loop {
        for _ in 0..8 {
            signer.sign(&message).map_err(|e| why("sign", e))?;
            signatures += 1;
        }
        let elapsed = start.cpu();
        if elapsed >= secs {
            let rate = signatures as f64 / elapsed;
            println!("result figure=sign-{key_name} peer=ring value={rate} unit=op/s");
            return Ok(());
        }
    }
}

fn positive(arg: &str, what: &str) -> Fallible<f64> {
    match arg.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{what} must be a positive number, not \"{arg}\"")),
    }
}

/// `bench native ARGS...`: the C peers' command line (see harness.c); the exit status.
pub fn main(args: &[String]) -> i32 {
    // As harness.c: only the heap figures need the count, which slows the others down.
    if args.first().is_some_and(|cmd| cmd == "heap") {
        alloc::start_counting();
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["versions"] => {
            println!(
                "versions peer=rustls library=\"rustls {} (ring provider)\"",
                env!("EMBER_RUSTLS_VERSION")
            );
            Ok(())
        }
        ["hs", dir, cert @ ("ecdsa" | "rsa"), tls @ ("13" | "12"), mode @ ("full" | "resumed"), secs] => {
            positive(secs, "SECS").and_then(|secs| {
                run_handshakes(
                    Path::new(dir),
                    cert,
                    tls.parse().expect("12 or 13"),
                    mode,
                    secs,
                )
            })
        }
        ["bulk", dir, suite, chunk, secs] => positive(chunk, "CHUNK").and_then(|chunk| {
            positive(secs, "SECS")
                .and_then(|secs| run_bulk(Path::new(dir), suite, chunk as usize, secs))
        }),
        ["aead", suite, secs] => positive(secs, "SECS").and_then(|secs| run_aead(suite, secs)),
        ["sign", dir, key, secs] => {
            positive(secs, "SECS").and_then(|secs| run_sign(Path::new(dir), key, secs))
        }
        ["heap", dir, conns] => {
            positive(conns, "CONNS").and_then(|n| run_heap(Path::new(dir), n as usize))
        }
        _ => {
            eprintln!(
                "usage: bench native versions\n\
                 \x20      bench native hs PKI_DIR ecdsa|rsa 13|12 full|resumed SECS\n\
                 \x20      bench native bulk PKI_DIR aes128|aes256|chacha CHUNK SECS\n\
                 \x20      bench native heap PKI_DIR CONNS\n\
                 \x20      bench native aead aes128|aes256|chacha SECS\n\
                 \x20      bench native sign PKI_DIR ecdsa|rsa SECS"
            );
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
