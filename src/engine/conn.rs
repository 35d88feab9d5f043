//! A connection: the lifecycle around a rustls connection, and the loop that moves its bytes.
//!
//! rustls leaves the I/O loop (read_tls, process_new_packets, write_tls) to its caller.
//! This module runs that loop inside `handshake`, `read`, `write`, `flush` and `close`, the
//! way OpenSSL's SSL_do_handshake does, for two kinds of I/O:
//!
//! - a [`Transport`] (the embedder's callbacks or a file descriptor, blocking or not):
//!   the loop reads and writes it directly and reports WantRead/WantWrite when it would block;
//! - memory mode: the embedder feeds received bytes with [`Conn::feed`] and takes bytes to
//!   send with [`Conn::drain`]; the loop never blocks and reports WantRead when it needs input.
//!
//! In memory mode, bytes to send stay in rustls until they are drained: encrypted records
//! are copied once, straight into the caller's buffer. They are moved into the connection's
//! own outgoing buffer only where something must look at them first (the hello scanner of a
//! traced handshake; `pending_output`, which counts them) or, with a transport, to leave in
//! as few writes as possible (a partial write keeps the rest there). Bytes in that buffer
//! always go out before rustls'.

use std::cell::OnceCell;
use std::io::{self, Read, Write};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};

use rustls::HandshakeKind;

use super::config::{Built, Config, Role};
use super::error::{Error, ErrorKind};
use super::notes::{self, Notes};
use super::trace::{self, ConnTracer, Event, Step};
use super::wire::{Direction, HelloScanner, Hellos};

/// The embedder's byte stream: a socket, a pipe, anything.
///
/// `read` returns Ok(0) at end of stream. Errors of kind `WouldBlock` mean "try again when
/// ready" (non-blocking I/O), `Interrupted` is retried at once, anything else is fatal.
pub trait Transport {
    /// Reads up to `buf.len()` bytes.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes some prefix of `buf` (a partial write is fine) and says how much.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
}

/// How much output the connection holds ahead of the transport. Past this, `write`
/// accepts nothing more until output has been flushed or drained.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// The connection's place in its lifecycle. Every "wrong state" answer comes from
/// [`Conn::allow`], which reads this.
#[derive(Debug)]
enum Phase {
    /// Made, no byte moved yet: the I/O mode can still be chosen.
    New,
    /// The handshake is under way (or done) and data may flow.
    Active,
    /// `close` queued our close_notify: no more writes, reads continue to the peer's end.
    Closing,
    /// A fatal error ended the connection; every later call reports it again.
    Failed(Box<Error>),
}

/// What a caller asks of the connection, for the one state check.
#[derive(Clone, Copy, Debug)]
enum Op {
    SetIo,
    Feed,
    Drain,
    Handshake,
    Read,
    Write,
    Flush,
    Close,
    KeyUpdate,
}

impl Op {
    /// Whether the operation may move bytes, which fixes the I/O mode and starts the
    /// handshake clock. Choosing the I/O and asking for a key update (refused before the
    /// handshake) do not.
    fn moves_bytes(self) -> bool {
        !matches!(self, Op::SetIo | Op::KeyUpdate)
    }
}

enum Io {
    Memory { eof_fed: bool },
    Stream(Box<dyn Transport>),
}

/// One TLS connection.
pub struct Conn {
    tls: Connection,
    io: Io,
    phase: Phase,
    /// Collected TLS bytes not yet written or drained, from `out_start` on; they go out
    /// before what rustls still holds.
    out: Vec<u8>,
    out_start: usize,
    /// Memory mode: bytes were fed that rustls has not processed yet.
    unprocessed: bool,
    server_name: Option<Box<str>>,
    peer_alert: Option<u8>,
    /// The peer's certificate chain (DER, leaf first), copied from rustls the first time it
    /// is asked for and never changed afterwards, so borrowed pointers into it stay valid
    /// while the Conn lives. Copied on demand: most connections never ask, and an idle
    /// connection should not hold the chain twice.
    peer_certs: OnceCell<Vec<Vec<u8>>>,
    /// Whether the outgoing buffer was given back once the handshake's flights left: an
    /// idle connection keeps no buffer sized for a certificate chain.
    handshake_buffer_released: bool,
    last_error: Option<Box<Error>>,
    id: u64,
    /// Set when the config traces handshakes.
    trace: Option<Box<Trace>>,
    handshake_clock: HandshakeClock,
}

/// The handshake's duration, from the first call that moved the connection to completion.
#[derive(Clone, Copy)]
enum HandshakeClock {
    NotStarted,
    /// Started at this monotonic time (ns).
    Running(u64),
    /// Completed; took this many ns.
    Done(u64),
}

/// A traced connection's tracer and the scanners reading its hello messages.
struct Trace {
    tracer: ConnTracer,
    sent: HelloScanner,
    received: HelloScanner,
    hellos: Hellos,
}

impl Conn {
    /// A connection made from `config`, which is frozen by it.
    ///
    /// A client needs `server_name` (a DNS name or an IP literal), the name its peer's
    /// certificate is checked against; a server takes none. The connection starts in memory
    /// mode; [`Conn::set_transport`] switches it to a transport before any byte moves.
    /// A failure is also remembered by the config, whose `last_error` then explains it.
    pub fn new(config: &Config, server_name: Option<&str>) -> Result<Self, Error> {
        Self::make(config, server_name).inspect_err(|e| config.remember(e))
    }

    fn make(config: &Config, server_name: Option<&str>) -> Result<Self, Error> {
        let tls: Connection = match (config.role(), server_name) {
            (Role::Client, None) => {
                return Err(Error::new(
                    ErrorKind::InvalidArg,
                    "a client connection needs the server name its peer's certificate is checked against",
                ))
            }
            (Role::Server, Some(name)) => {
                return Err(Error::new(
                    ErrorKind::InvalidArg,
                    format!("a server connection takes no server name (got \"{name}\"); the client sends one"),
                ))
            }
            (Role::Client, Some(name)) => {
                let server_name = ServerName::try_from(name.to_owned()).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidArg,
                        format!("\"{name}\" is neither a valid DNS name nor an IP address"),
                    )
                })?;
                let Built::Client(cfg) = config.freeze()? else {
                    unreachable!("a client config builds a client config")
                };
                ClientConnection::new(cfg, server_name)
                    .map_err(|e| Error::from_tls(&e, &Notes::default()))?
                    .into()
            }
            (Role::Server, None) => {
                let Built::Server(cfg) = config.freeze()? else {
                    unreachable!("a server config builds a server config")
                };
                ServerConnection::new(cfg)
                    .map_err(|e| Error::from_tls(&e, &Notes::default()))?
                    .into()
            }
        };
        let id = trace::next_conn_id();
        let mut conn = Self {
            tls,
            io: Io::Memory { eof_fed: false },
            phase: Phase::New,
            out: Vec::new(),
            out_start: 0,
            unprocessed: false,
            server_name: server_name.map(Box::from),
            peer_alert: None,
            peer_certs: OnceCell::new(),
            handshake_buffer_released: false,
            last_error: None,
            id,
            trace: config.tracer().map(|tracer| {
                Box::new(Trace {
                    tracer: ConnTracer { id, tracer },
                    sent: HelloScanner::new(Direction::Sent),
                    received: HelloScanner::new(Direction::Received),
                    hellos: Hellos::default(),
                })
            }),
            handshake_clock: HandshakeClock::NotStarted,
        };
        // `write` sets the limit on application data; handshake messages have none.
        conn.tls.set_buffer_limit(None);
        conn.collect_output();
        Ok(conn)
    }

    /// Moves the connection's I/O to `transport`. Only before any byte has moved, once.
    pub fn set_transport(&mut self, transport: Box<dyn Transport>) -> Result<(), Error> {
        self.run(Op::SetIo, |conn| {
            conn.io = Io::Stream(transport);
            Ok(())
        })
    }

    /// Memory mode: takes bytes received from the network; returns how many were taken
    /// (fewer than offered when unread plaintext fills the receive buffer: read, then feed
    /// the rest). An empty `data` means the peer's transport reached end of stream.
    #[inline]
    pub fn feed(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.run(Op::Feed, |conn| conn.feed_inner(data))
    }

    /// Memory mode: moves up to `buf.len()` bytes of pending output into `buf`.
    #[inline]
    pub fn drain(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.run(Op::Drain, |conn| {
            conn.collect_output();
            let mut n = 0;
            if conn.collected_output() > 0 {
                let collected = &conn.out[conn.out_start..];
                n = collected.len().min(buf.len());
                buf[..n].copy_from_slice(&collected[..n]);
                conn.consume_output(n);
                if conn.collected_output() > 0 {
                    return Ok(n);
                }
            }
            while n < buf.len() && conn.tls.wants_write() {
                let mut rest = &mut buf[n..];
                match conn.tls.write_tls(&mut rest) {
                    Ok(k) if k > 0 => n += k,
                    _ => break, // a slice takes bytes until it is full
                }
            }
            Ok(n)
        })
    }

    /// How many bytes are waiting to be written to the transport or drained. Counting them
    /// moves them out of rustls, into the outgoing buffer.
    pub fn pending_output(&mut self) -> usize {
        self.collect_all_output();
        self.collected_output()
    }

    /// The bytes in the outgoing buffer (not those rustls still holds).
    fn collected_output(&self) -> usize {
        self.out.len() - self.out_start
    }

    /// Drives the handshake until it completes (Ok), needs I/O (WantRead/WantWrite) or fails.
    pub fn handshake(&mut self) -> Result<(), Error> {
        self.run(Op::Handshake, Self::drive_handshake)
    }

    /// Reads decrypted application data into `buf`. Ok(n > 0) with data; `Closed` after the
    /// peer's close_notify; `UnexpectedEof` when the transport ended without one.
    #[inline]
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.run(Op::Read, |conn| {
            // After a fatal error, what arrived before it is still delivered (see
            // `deliver_before`), then the error.
            if let Phase::Failed(e) = &conn.phase {
                let e = Error::clone(e);
                return match conn.tls.reader().read(buf) {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(e),
                };
            }
            conn.finish_handshake()?;
            if buf.is_empty() {
                return Ok(0);
            }
            // Fed bytes come before a fed end of stream: process them, or rustls would
            // report the end first and lose the data.
            if conn.unprocessed {
                if let Err(e) = conn.process() {
                    return conn.deliver_before(e, buf);
                }
            }
            loop {
                match conn.tls.reader().read(buf) {
                    Ok(0) => return Err(Error::progress(ErrorKind::Closed)),
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Err(Error::new(
                            ErrorKind::UnexpectedEof,
                            "the peer closed the connection without close_notify: the data may be truncated",
                        ))
                    }
                    Err(e) => return Err(Error::from_io("reading decrypted data failed", &e)),
                }
                // Memory mode with nothing new fed: flushing does nothing and there is
                // nothing to receive (the common end of a read loop, kept short).
                if matches!(conn.io, Io::Memory { .. }) && !conn.unprocessed {
                    return Err(Error::progress(ErrorKind::WantRead));
                }
                // Post-handshake messages (tickets, key updates) may owe the peer a reply;
                // sending it must not keep us from reading what already arrived, or two
                // peers that both wait on a full socket would wait forever.
                let write_blocked = match conn.flush_output() {
                    Ok(()) => false,
                    Err(e) if e.kind() == ErrorKind::WantWrite => true,
                    Err(e) => return Err(e),
                };
                match conn.receive() {
                    Err(e) if e.kind() == ErrorKind::WantRead && write_blocked => {
                        return Err(Error::progress(ErrorKind::WantWrite))
                    }
                    Err(e) => return conn.deliver_before(e, buf),
                    Ok(()) => {}
                }
            }
        })
    }

    /// For `read`, when processing what the peer sent failed with `err`: rustls processes
    /// every record it holds, so plaintext of records that came before the failing one (the
    /// peer's alert, a record that does not decrypt) may be waiting. Those records were
    /// authenticated and the peer sent them first: they are returned before the error. The
    /// error is made final now (its alert queued), and later reads give the rest of that
    /// plaintext, then `err`.
    fn deliver_before(&mut self, err: Error, buf: &mut [u8]) -> Result<usize, Error> {
        if err.kind().is_fatal() {
            match self.tls.reader().read(buf) {
                Ok(n) if n > 0 => {
                    self.settle(&err);
                    return Ok(n);
                }
                _ => {}
            }
        }
        Err(err)
    }

    /// Encrypts application data. With a blocking transport all of `data` is written;
    /// otherwise as much as fits is accepted (Ok(n)) and sent by later calls, and WantWrite
    /// says that nothing could be accepted until output moves.
    #[inline]
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.run(Op::Write, |conn| {
            conn.finish_handshake()?;
            let mut accepted = 0;
            while accepted < data.len() {
                // rustls takes plaintext while its unsent records and our buffer together
                // stay within the limit.
                let room = OUTPUT_LIMIT.saturating_sub(conn.collected_output());
                conn.tls.set_buffer_limit(Some(room));
                accepted += conn
                    .tls
                    .writer()
                    .write(&data[accepted..])
                    .map_err(|e| Error::from_io("encrypting data failed", &e))?;
                conn.collect_output();
                if matches!(conn.io, Io::Memory { .. }) {
                    // Nothing drains while we wait: what rustls took is all there is room for.
                    return match accepted {
                        0 => Err(Error::progress(ErrorKind::WantWrite)),
                        n => Ok(n),
                    };
                }
                match conn.flush_output() {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::WantWrite && accepted > 0 => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(accepted)
        })
    }

    /// Writes all pending output to the transport. In memory mode there is nothing to do:
    /// output waits for `drain`.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.run(Op::Flush, Self::flush_output)
    }

    /// Queues close_notify (once) and flushes it. Reads stay possible until `Closed`.
    pub fn close(&mut self) -> Result<(), Error> {
        self.run(Op::Close, |conn| {
            if !matches!(conn.phase, Phase::Closing) {
                conn.tls.send_close_notify();
                conn.collect_output();
                conn.phase = Phase::Closing;
            }
            conn.flush_output()
        })
    }

    /// The detail of the last failure, if any.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_deref()
    }

    /// The negotiated protocol version (0x0303, 0x0304), once known.
    pub fn protocol_version(&self) -> Option<u16> {
        self.tls.protocol_version().map(u16::from)
    }

    /// The negotiated cipher suite's IANA id, once known.
    pub fn cipher_suite(&self) -> Option<u16> {
        self.tls
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()))
    }

    /// The negotiated key-exchange group's IANA id, once known.
    pub fn kx_group(&self) -> Option<u16> {
        self.tls
            .negotiated_key_exchange_group()
            .map(|g| u16::from(g.name()))
    }

    /// The server name: the one a client was made with, or the SNI a server received.
    pub fn server_name(&self) -> Option<&str> {
        match &self.tls {
            Connection::Client(_) => self.server_name.as_deref(),
            Connection::Server(server) => server.server_name(),
        }
    }

    /// The fatal alert the peer sent, if it sent one.
    pub fn peer_alert(&self) -> Option<u8> {
        self.peer_alert
    }

    /// The certificate chain the peer presented (DER, leaf first), once it is known: on a
    /// client once the server's certificate was received and verified, on a server once the
    /// client's was. None before that, and on a server whose client presented none.
    pub fn peer_certificates(&self) -> Option<&[Vec<u8>]> {
        if let Some(chain) = self.peer_certs.get() {
            return Some(chain);
        }
        let chain = self.tls.peer_certificates().filter(|c| !c.is_empty())?;
        Some(
            self.peer_certs
                .get_or_init(|| chain.iter().map(|cert| cert.as_ref().to_vec()).collect()),
        )
    }

    /// The application protocol agreed with ALPN, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls.alpn_protocol()
    }

    /// Whether the handshake resumed a session; None until it has completed.
    pub fn is_resumed(&self) -> Option<bool> {
        if self.tls.is_handshaking() {
            return None;
        }
        self.tls
            .handshake_kind()
            .map(|kind| kind == HandshakeKind::Resumed)
    }

    /// How long the handshake took, in ns, from the first call that moved the connection
    /// to its completion; None until it has completed.
    pub fn handshake_duration_ns(&self) -> Option<u64> {
        match self.handshake_clock {
            HandshakeClock::Done(took) => Some(took),
            _ => None,
        }
    }

    /// The connection's id, unique in the process: the one trace events carry.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// TLS 1.3: sends a KeyUpdate that also asks the peer to update, so both directions
    /// move to new keys. `WrongState` before the handshake completed, after `close`, or
    /// on TLS 1.2, which has no key update.
    pub fn key_update(&mut self) -> Result<(), Error> {
        self.run(Op::KeyUpdate, |conn| {
            if conn.tls.is_handshaking() {
                return Err(Error::new(
                    ErrorKind::WrongState,
                    "the handshake has not completed; keys can be updated only after it",
                ));
            }
            conn.tls.refresh_traffic_keys().map_err(|e| match e {
                rustls::Error::HandshakeNotComplete => Error::new(
                    ErrorKind::WrongState,
                    "key update needs TLS 1.3; this connection uses TLS 1.2 (renegotiation is never done)",
                ),
                other => Error::from_tls(&other, &Notes::default()),
            })?;
            conn.collect_output();
            match conn.flush_output() {
                // The KeyUpdate is queued and goes out with the next flush or write.
                Err(e) if e.kind() == ErrorKind::WantWrite => Ok(()),
                other => other,
            }
        })
    }

    /// Fills `out` with keying material exported from the session (RFC 5705 / RFC 8446
    /// section 7.5) for `label` and, if given, `context`. `WrongState` until the handshake
    /// has completed.
    pub fn export_keying_material(
        &mut self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        let result = self.export(label, context, out);
        if let Err(e) = &result {
            self.last_error = Some(Box::new(e.clone()));
        }
        result
    }

    fn export(&self, label: &[u8], context: Option<&[u8]>, out: &mut [u8]) -> Result<(), Error> {
        if let Phase::Failed(e) = &self.phase {
            return Err(Error::clone(e));
        }
        if self.tls.is_handshaking() {
            return Err(Error::new(
                ErrorKind::WrongState,
                "the handshake has not completed; keying material exists only after it",
            ));
        }
        if out.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                "the exported keying material must be at least one byte long",
            ));
        }
        self.tls
            .export_keying_material(out, label, context)
            .map(drop)
            .map_err(|e| Error::from_tls(&e, &Notes::default()))
    }

    /// Runs one operation: the single state check before, the bookkeeping after. Inlined
    /// into each public operation, which is a call of its own from C.
    #[inline(always)]
    fn run<T>(
        &mut self,
        op: Op,
        body: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let result = self.allow(op).and_then(|()| {
            if matches!(self.phase, Phase::New) && op.moves_bytes() {
                self.start();
            }
            body(self)
        });
        if let Err(e) = &result {
            self.settle(e);
        }
        result
    }

    /// The first call that moves bytes: the I/O mode is fixed and the handshake clock starts.
    /// Once per connection, so kept out of the record path's code.
    #[cold]
    fn start(&mut self) {
        self.phase = Phase::Active;
        self.handshake_clock = HandshakeClock::Running(trace::now_ns());
    }

    /// The connection lifecycle in one place: whether `op` is allowed now.
    #[inline(always)]
    fn allow(&self, op: Op) -> Result<(), Error> {
        let memory = matches!(self.io, Io::Memory { .. });
        let refuse = |why: &str| Err(Error::new(ErrorKind::WrongState, why));
        match (&self.phase, op) {
            // The alert a failure queued must still reach the peer in memory mode.
            (Phase::Failed(_), Op::Drain) => Ok(()),
            // Data that arrived before the failure is still read (`read` decides).
            (Phase::Failed(_), Op::Read) => Ok(()),
            (Phase::Failed(e), _) => Err(Error::clone(e)),
            (Phase::New, Op::SetIo) if memory => Ok(()),
            (_, Op::SetIo) if !memory => refuse("the connection's I/O is already set; it can be chosen only once"),
            (_, Op::SetIo) => refuse("the I/O mode must be chosen before the connection moves any byte"),
            (_, Op::Feed | Op::Drain) if !memory => {
                refuse("feed and drain are for memory mode; this connection uses a transport (callbacks or fd)")
            }
            (Phase::Closing, Op::Write | Op::KeyUpdate) => refuse("the connection was closed with ember_conn_close; no more writes"),
            _ => Ok(()),
        }
    }

    /// After a failed operation: remember the detail, and make a fatal error final,
    /// sending the peer the alert rustls queued for it where the transport allows.
    #[inline]
    fn settle(&mut self, err: &Error) {
        if !matches!(
            err.kind(),
            ErrorKind::WantRead | ErrorKind::WantWrite | ErrorKind::Closed
        ) {
            self.settle_failure(err);
        }
    }

    #[inline(never)]
    fn settle_failure(&mut self, err: &Error) {
        self.last_error = Some(Box::new(err.clone()));
        if err.kind().is_fatal() && !matches!(self.phase, Phase::Failed(_)) {
            if self.tls.is_handshaking() {
                self.emit(Event::now(Step::Failed, err.detail()));
            }
            self.phase = Phase::Failed(Box::new(err.clone()));
            self.collect_output();
            let _best_effort = self.flush_output();
        }
    }

    /// For read and write: completes the handshake if it is still running. Once it is
    /// done, pending output is the caller's business (flush, or the next write).
    fn finish_handshake(&mut self) -> Result<(), Error> {
        if self.tls.is_handshaking() {
            self.drive_handshake()
        } else {
            Ok(())
        }
    }

    /// Runs the handshake to completion, including sending our last flight.
    fn drive_handshake(&mut self) -> Result<(), Error> {
        loop {
            self.flush_output()?;
            if !self.tls.is_handshaking() {
                return Ok(());
            }
            self.receive()?;
        }
    }

    /// Brings in and processes what the peer sent: from the transport, or (memory mode)
    /// what was fed. WantRead when nothing new is available.
    fn receive(&mut self) -> Result<(), Error> {
        let eof = match &mut self.io {
            Io::Memory { eof_fed } => {
                if !self.unprocessed {
                    return Err(Error::progress(ErrorKind::WantRead));
                }
                *eof_fed
            }
            Io::Stream(transport) => loop {
                // While the hellos are traced, keep a copy of what arrives for the scanner.
                let mut copy = self
                    .trace
                    .as_ref()
                    .filter(|t| !t.received.is_done())
                    .map(|_| Vec::new());
                let read = self.tls.read_tls(&mut TransportIo {
                    transport: transport.as_mut(),
                    copy: copy.as_mut(),
                });
                if let (Some(copy), Some(trace)) = (copy, self.trace.as_mut()) {
                    trace.scan(Direction::Received, &copy);
                }
                match read {
                    Ok(n) => break n == 0,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Err(Error::progress(ErrorKind::WantRead))
                    }
                    Err(e) => return Err(Error::from_io("reading from the transport failed", &e)),
                }
            },
        };
        // Processing comes before the EOF verdict: an alert that preceded the EOF is the
        // better explanation.
        self.process()?;
        if eof && self.tls.is_handshaking() {
            return Err(Error::new(
                ErrorKind::UnexpectedEof,
                "the peer closed the connection during the handshake",
            ));
        }
        Ok(())
    }

    #[inline]
    fn feed_inner(&mut self, data: &[u8]) -> Result<usize, Error> {
        let Io::Memory { eof_fed } = &mut self.io else {
            unreachable!("allow() admits feed only in memory mode")
        };
        if *eof_fed {
            return Err(Error::new(
                ErrorKind::WrongState,
                "end of stream was already fed",
            ));
        }
        if data.is_empty() {
            *eof_fed = true;
            // An empty reader makes rustls record the end of stream.
            let _eof = self.tls.read_tls(&mut io::empty());
            self.unprocessed = true;
            return Ok(0);
        }
        let mut taken = 0;
        let mut just_processed = false;
        while taken < data.len() {
            match self.tls.read_tls(&mut &data[taken..]) {
                // rustls takes nothing after the peer's close_notify, whose followers are to
                // be ignored (RFC 8446, section 6.1): taken, or the caller would feed forever.
                Ok(0) => taken = data.len(),
                Ok(n) => {
                    if let Some(trace) = self.trace.as_mut() {
                        trace.scan(Direction::Received, &data[taken..taken + n]);
                    }
                    taken += n;
                    self.unprocessed = true;
                    just_processed = false;
                }
                // rustls' buffers are full. Processing frees the record buffer; if that was
                // done already, unread plaintext is what fills it and the caller must read.
                Err(_) if just_processed || !self.unprocessed => break,
                Err(_) => {
                    self.process()?;
                    just_processed = true;
                }
            }
        }
        Ok(taken)
    }

    /// Processes what was received. After the handshake this is the record path (inlined
    /// into read and feed); during it, [`Self::process_handshake`] also gathers its notes.
    #[inline]
    fn process(&mut self) -> Result<(), Error> {
        self.unprocessed = false;
        if self.tls.is_handshaking() {
            return self.process_handshake();
        }
        let result = self.tls.process_new_packets();
        self.collect_output();
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.refusal(&e, &Notes::default())),
        }
    }

    /// [`Self::process`] while handshaking: the notes (what the hellos offered, why a
    /// verifier refused) exist only then, so the record path pays nothing for them.
    #[inline(never)]
    fn process_handshake(&mut self) -> Result<(), Error> {
        notes::begin(self.trace.is_some());
        let result = self.tls.process_new_packets();
        let mut notes = notes::take();
        for event in std::mem::take(&mut notes.events) {
            self.emit(event);
        }
        self.collect_output();
        // rustls stops handshaking only once the handshake succeeded; a record after the last
        // flight may still fail in this same call, and the handshake was complete all the same.
        if !self.tls.is_handshaking() {
            self.completed();
        }
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.refusal(&e, &notes)),
        }
    }

    /// The error for what rustls refused while processing, noting the peer's alert.
    #[cold]
    fn refusal(&mut self, err: &rustls::Error, notes: &Notes) -> Error {
        if let rustls::Error::AlertReceived(alert) = err {
            self.peer_alert = Some(u8::from(*alert));
        }
        Error::from_tls(err, notes)
    }

    /// Moves what rustls has ready to send into the outgoing buffer while the hello scanner
    /// must see it; otherwise it stays with rustls until drained or flushed.
    #[inline]
    fn collect_output(&mut self) {
        if self
            .trace
            .as_ref()
            .is_some_and(|trace| !trace.sent.is_done())
        {
            self.collect_all_output();
        }
    }

    /// Moves every byte rustls has ready to send into the outgoing buffer.
    #[inline(never)]
    fn collect_all_output(&mut self) {
        let start = self.out.len();
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut self.out).is_err() {
                break; // writing into a Vec cannot fail
            }
        }
        if let Some(trace) = self.trace.as_mut() {
            trace.scan(Direction::Sent, &self.out[start..]);
        }
    }

    /// Reports one trace event, if the connection is traced.
    fn emit(&self, event: Event) {
        if let Some(trace) = &self.trace {
            trace.tracer.emit(&event);
        }
    }

    /// The handshake just completed: note its duration and report the last steps.
    fn completed(&mut self) {
        let duration = match self.handshake_clock {
            HandshakeClock::Running(since) => trace::now_ns().saturating_sub(since),
            _ => 0,
        };
        self.handshake_clock = HandshakeClock::Done(duration);
        if self.trace.is_none() {
            return;
        }
        let (peer, us) = match self.tls {
            Connection::Client(_) => ("server", "client"),
            Connection::Server(_) => ("client", "server"),
        };
        self.emit(Event::now(
            Step::Finished,
            format!("{peer} Finished verified; {us} Finished sent"),
        ));
        let kind = match self.tls.handshake_kind() {
            Some(HandshakeKind::Resumed) => "resumed session",
            Some(HandshakeKind::FullWithHelloRetryRequest) => {
                "full handshake with HelloRetryRequest"
            }
            _ => "full handshake",
        };
        self.emit(Event::now(
            Step::Complete,
            format!(
                "{kind} in {}.{:03} ms",
                duration / 1_000_000,
                duration / 1_000 % 1_000
            ),
        ));
    }

    /// Writes everything pending to the transport; a no-op in memory mode.
    ///
    /// What rustls holds is collected first, so that a flight of several records leaves in
    /// one write: written record by record, the second small write would wait for the
    /// peer's delayed ACK of the first (Nagle's algorithm), 40 ms per flight on Linux.
    fn flush_output(&mut self) -> Result<(), Error> {
        if matches!(self.io, Io::Memory { .. }) {
            return Ok(());
        }
        self.collect_all_output();
        let Io::Stream(transport) = &mut self.io else {
            unreachable!("memory mode returned above")
        };
        while self.out_start < self.out.len() {
            match transport.write(&self.out[self.out_start..]) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        "the transport accepted no bytes (write returned 0)",
                    ))
                }
                Ok(n) => self.out_start += n.min(self.out.len() - self.out_start),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(Error::progress(ErrorKind::WantWrite))
                }
                Err(e) => return Err(Error::from_io("writing to the transport failed", &e)),
            }
        }
        self.consume_output(0);
        Ok(())
    }

    /// Marks `n` more output bytes as sent, reclaiming the buffer once all are.
    fn consume_output(&mut self, n: usize) {
        self.out_start += n;
        if self.out_start == self.out.len() {
            self.out_start = 0;
            if !self.handshake_buffer_released && !self.tls.is_handshaking() {
                // The last handshake flight (and a server's tickets) left: give the buffer
                // back. Data records grow a new one, kept from then on (no allocation per
                // record).
                self.out = Vec::new();
                self.handshake_buffer_released = true;
            } else {
                self.out.clear();
            }
        }
    }
}

impl Trace {
    /// Shows bytes going one way to that direction's hello scanner, while it reads.
    fn scan(&mut self, direction: Direction, bytes: &[u8]) {
        let scanner = match direction {
            Direction::Sent => &mut self.sent,
            Direction::Received => &mut self.received,
        };
        if scanner.is_done() {
            return;
        }
        for event in scanner.scan(bytes, &mut self.hellos) {
            self.tracer.emit(&event);
        }
    }
}

/// A transport as rustls reads it, copying what it reads when `copy` is given.
struct TransportIo<'a> {
    transport: &'a mut dyn Transport,
    copy: Option<&'a mut Vec<u8>>,
}

impl Read for TransportIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.transport.read(buf)?;
        if let Some(copy) = self.copy.as_mut() {
            copy.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::config::TLS1_3;
    use crate::engine::sessions::SessionCache;
    use crate::engine::Trust;

    /// A client and a server config around one self-signed certificate for `names`.
    fn configs(names: &[&str]) -> (Config, Config) {
        let (server, root) = server_and_root(names);
        let client = Config::new(Role::Client).unwrap();
        client.set_trust(trusting(&root)).expect("trust is set");
        (client, server)
    }

    /// A server config with a self-signed certificate for `names`, and that certificate.
    fn server_and_root(names: &[&str]) -> (Config, String) {
        let cert = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .expect("rcgen makes a certificate");
        let (chain, key) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let server = Config::new(Role::Server).unwrap();
        server
            .add_cert_pem(chain.as_bytes(), key.as_bytes())
            .expect("the pair loads");
        (server, chain)
    }

    /// A trust store holding the root `pem`.
    fn trusting(pem: &str) -> Arc<Trust> {
        let trust = Trust::new();
        trust
            .add_pem(pem.as_bytes(), "test root")
            .expect("the root loads");
        Arc::new(trust)
    }

    /// A client (for "localhost") and a server whose first flights have been exchanged.
    fn started_pair(client_cfg: &Config, server_cfg: &Config) -> (Conn, Conn) {
        started_pair_for("localhost", client_cfg, server_cfg)
    }

    /// A client for `name` and a server whose first flights have been exchanged.
    fn started_pair_for(name: &str, client_cfg: &Config, server_cfg: &Config) -> (Conn, Conn) {
        let mut client = Conn::new(client_cfg, Some(name)).unwrap();
        let mut server = Conn::new(server_cfg, None).unwrap();
        let _ = client.handshake();
        transfer(&mut client, &mut server);
        (client, server)
    }

    /// Moves bytes both ways until neither side has anything to send.
    fn transfer(a: &mut Conn, b: &mut Conn) {
        while pass(a, b) | pass(b, a) {}
    }

    /// Moves what `from` has pending into `to`; says whether anything moved.
    fn pass(from: &mut Conn, to: &mut Conn) -> bool {
        let mut buf = vec![0u8; 4096];
        let n = from.drain(&mut buf).expect("drain works");
        let mut off = 0;
        while off < n {
            off += to.feed(&buf[off..n]).expect("feed works");
            let _ = to.handshake();
        }
        n > 0
    }

    #[test]
    fn memory_pair_handshakes_moves_data_and_closes_cleanly() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        let mut client = Conn::new(&client_cfg, Some("localhost")).unwrap();
        let mut server = Conn::new(&server_cfg, None).unwrap();
        assert_eq!(client.handshake().unwrap_err().kind(), ErrorKind::WantRead);
        transfer(&mut client, &mut server);
        client.handshake().unwrap();
        server.handshake().unwrap();
        assert_eq!(client.protocol_version(), Some(0x0304));
        assert_eq!(server.server_name(), Some("localhost"));

        assert_eq!(client.write(b"hello").unwrap(), 5);
        transfer(&mut client, &mut server);
        let mut buf = [0u8; 16];
        assert_eq!(server.read(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(
            server.read(&mut buf).unwrap_err().kind(),
            ErrorKind::WantRead
        );

        client.close().unwrap();
        assert_eq!(
            client.write(b"x").unwrap_err().kind(),
            ErrorKind::WrongState
        );
        transfer(&mut client, &mut server);
        assert_eq!(server.read(&mut buf).unwrap_err().kind(), ErrorKind::Closed);
    }

    #[test]
    fn wrong_name_is_rejected_and_the_server_hears_why() {
        let (client_cfg, server_cfg) = configs(&["other.example"]);
        let (mut client, mut server) = started_pair(&client_cfg, &server_cfg);
        let err = client.handshake().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertHostnameMismatch);
        assert!(err.detail().contains("\"localhost\""), "{}", err.detail());
        assert_eq!(
            server.handshake().unwrap_err().kind(),
            ErrorKind::AlertReceived
        );
        assert_eq!(server.peer_alert(), Some(42));
    }

    #[test]
    fn the_verify_check_sees_the_chain_and_its_rejection_is_cert_rejected() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        client_cfg
            .set_verify(Some(Arc::new(
                |presented: &crate::engine::verify::Presented<'_>| {
                    assert_eq!(presented.server_name, "localhost");
                    assert_eq!(presented.chain.len(), 1);
                    assert!(presented.builtin.is_none());
                    Err(crate::engine::verify::Refusal::Reason(
                        "not this one".to_owned(),
                    ))
                },
            )))
            .unwrap();
        assert_eq!(
            server_cfg.set_verify(None).unwrap_err().kind(),
            ErrorKind::WrongRole
        );
        let (mut client, server) = started_pair(&client_cfg, &server_cfg);
        let err = client.handshake().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertRejected);
        assert_eq!(
            err.detail(),
            "the verification callback rejected the peer's certificate: not this one"
        );
        assert!(client.peer_certificates().is_none());
        assert_eq!(server.peer_alert(), Some(46));
    }

    #[test]
    fn the_peer_chain_is_known_after_the_handshake() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        let mut client = Conn::new(&client_cfg, Some("localhost")).unwrap();
        let mut server = Conn::new(&server_cfg, None).unwrap();
        assert!(client.peer_certificates().is_none());
        let _ = client.handshake();
        transfer(&mut client, &mut server);
        client.handshake().unwrap();
        assert_eq!(client.peer_certificates().map(<[_]>::len), Some(1));
        assert!(server.peer_certificates().is_none());
    }

    #[test]
    fn eof_without_close_notify_is_truncation() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        let (mut client, _server) = started_pair(&client_cfg, &server_cfg);
        client.handshake().unwrap();
        assert_eq!(client.feed(&[]).unwrap(), 0);
        let mut buf = [0u8; 8];
        assert_eq!(
            client.read(&mut buf).unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
        assert_eq!(
            client.read(&mut buf).unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
    }

    /// A full handshake between a new client and server connection; returns them.
    fn handshaken(client_cfg: &Config, server_cfg: &Config) -> (Conn, Conn) {
        handshaken_for("localhost", client_cfg, server_cfg)
    }

    /// As [`handshaken`], the client asking for `name`.
    fn handshaken_for(name: &str, client_cfg: &Config, server_cfg: &Config) -> (Conn, Conn) {
        let (mut client, mut server) = started_pair_for(name, client_cfg, server_cfg);
        transfer(&mut client, &mut server);
        client.handshake().expect("client completes");
        server.handshake().expect("server completes");
        // Let the server's tickets reach the client.
        let mut buf = [0u8; 16];
        let _ = client.read(&mut buf);
        transfer(&mut client, &mut server);
        let _ = client.read(&mut buf);
        (client, server)
    }

    #[test]
    fn sessions_resume_within_a_config_and_across_configs_sharing_a_cache() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        let (first, _) = handshaken(&client_cfg, &server_cfg);
        assert_eq!(first.is_resumed(), Some(false));
        assert!(first.handshake_duration_ns().is_some());
        let (second, second_server) = handshaken(&client_cfg, &server_cfg);
        assert_eq!(second.is_resumed(), Some(true));
        assert_eq!(second_server.is_resumed(), Some(true));

        // Two client configs sharing one cache (and verifying alike) resume each other's
        // sessions; a config with the same cache but another trust store does not.
        let shared = Arc::new(SessionCache::new(8).unwrap());
        let (server_cfg, root) = server_and_root(&["localhost"]);
        let trust = trusting(&root);
        let client_with = |trust: Arc<Trust>| {
            let cfg = Config::new(Role::Client).unwrap();
            cfg.set_trust(trust).unwrap();
            cfg.set_session_cache(shared.clone()).unwrap();
            cfg
        };
        let (one, two) = (client_with(trust.clone()), client_with(trust));
        let (full, _) = handshaken(&one, &server_cfg);
        assert_eq!(full.is_resumed(), Some(false));
        let (resumed, _) = handshaken(&two, &server_cfg);
        assert_eq!(resumed.is_resumed(), Some(true));
        let three = client_with(trusting(&root));
        let (separate, _) = handshaken(&three, &server_cfg);
        assert_eq!(separate.is_resumed(), Some(false));

        // A cache size of 0 turns resumption off.
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        client_cfg.set_session_cache_size(0).unwrap();
        let _ = handshaken(&client_cfg, &server_cfg);
        let (again, _) = handshaken(&client_cfg, &server_cfg);
        assert_eq!(again.is_resumed(), Some(false));
    }

    #[test]
    fn a_shared_cache_keeps_the_sessions_of_capacity_servers() {
        // rustls sizes its cache in tickets (8 per server): a capacity of 3 once kept one
        // server, so only the last one resumed.
        let names = ["a.test", "b.test", "c.test", "d.test"];
        let (server_cfg, root) = server_and_root(&names);
        let client_cfg = Config::new(Role::Client).unwrap();
        client_cfg.set_trust(trusting(&root)).unwrap();
        let cache = Arc::new(SessionCache::new(3).unwrap());
        client_cfg.set_session_cache(cache).unwrap();
        let resumed = |name: &str| {
            handshaken_for(name, &client_cfg, &server_cfg)
                .0
                .is_resumed()
        };
        for name in &names[..3] {
            assert_eq!(resumed(name), Some(false), "{name}");
        }
        for name in &names[..3] {
            assert_eq!(resumed(name), Some(true), "{name}");
        }
        // A fourth server: the one remembered first is forgotten, the others stay.
        assert_eq!(resumed("d.test"), Some(false));
        assert_eq!(resumed("a.test"), Some(false));
        assert_eq!(resumed("c.test"), Some(true));
    }

    #[test]
    fn alpn_key_update_and_exporter_agree_on_both_sides() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        client_cfg
            .set_alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()])
            .unwrap();
        server_cfg.set_alpn(vec![b"http/1.1".to_vec()]).unwrap();
        let (mut client, mut server) = handshaken(&client_cfg, &server_cfg);
        assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(server.alpn_protocol(), Some(&b"http/1.1"[..]));

        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        client
            .export_keying_material(b"EXPERIMENTAL test", Some(b"ctx"), &mut a)
            .unwrap();
        server
            .export_keying_material(b"EXPERIMENTAL test", Some(b"ctx"), &mut b)
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, [0u8; 32]);

        client.key_update().unwrap();
        client.write(b"after update").unwrap();
        transfer(&mut client, &mut server);
        let mut buf = [0u8; 32];
        let n = server.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"after update");
        server.write(b"reply").unwrap();
        transfer(&mut client, &mut server);
        let n = client.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"reply");
    }

    #[test]
    fn alpn_without_overlap_fails_with_its_own_kind() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        client_cfg.set_alpn(vec![b"h2".to_vec()]).unwrap();
        server_cfg.set_alpn(vec![b"http/1.1".to_vec()]).unwrap();
        let mut client = Conn::new(&client_cfg, Some("localhost")).unwrap();
        let mut server = Conn::new(&server_cfg, None).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = client.drain(&mut buf).unwrap();
        assert_eq!(
            server
                .feed(&buf[..n])
                .and_then(|_| server.handshake())
                .unwrap_err()
                .kind(),
            ErrorKind::NoAlpnOverlap
        );
        let n = server.drain(&mut buf).unwrap();
        assert_eq!(
            client
                .feed(&buf[..n])
                .and_then(|_| client.handshake())
                .unwrap_err()
                .kind(),
            ErrorKind::NoAlpnOverlap
        );
    }

    #[test]
    fn the_trace_reports_each_step_in_order() {
        use std::sync::Mutex;
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        let seen: Arc<Mutex<Vec<(u64, Step, String)>>> = Arc::default();
        let sink = seen.clone();
        let tracer: Arc<crate::engine::trace::Tracer> = Arc::new(move |id, event: &Event| {
            sink.lock()
                .unwrap()
                .push((id, event.step, event.text.clone()));
        });
        client_cfg.set_tracer(Some(tracer.clone())).unwrap();
        server_cfg.set_tracer(Some(tracer)).unwrap();
        let (client, server) = handshaken(&client_cfg, &server_cfg);
        let events = seen.lock().unwrap().clone();
        let steps =
            |id: u64| -> Vec<Step> { events.iter().filter(|e| e.0 == id).map(|e| e.1).collect() };
        let client_steps = steps(client.id());
        let server_steps = steps(server.id());
        let in_order = |steps: &[Step], want: &[Step]| {
            let mut at = steps.iter();
            want.iter().all(|w| at.any(|s| s == w))
        };
        assert!(
            in_order(
                &client_steps,
                &[
                    Step::ClientHelloSent,
                    Step::ServerHelloReceived,
                    Step::KeyExchange,
                    Step::KeysDerived,
                    Step::CertificateReceived,
                    Step::CertificateCheck,
                    Step::SignatureVerified,
                    Step::Finished,
                    Step::Complete,
                ]
            ),
            "client steps: {client_steps:?}\n{events:#?}"
        );
        assert!(
            in_order(
                &server_steps,
                &[
                    Step::ClientHelloReceived,
                    Step::ServerHelloSent,
                    Step::KeyExchange,
                    Step::Finished,
                    Step::Complete,
                ]
            ),
            "server steps: {server_steps:?}\n{events:#?}"
        );
        let hello = events
            .iter()
            .find(|e| e.1 == Step::ClientHelloSent)
            .unwrap();
        assert!(
            hello.2.contains("TLSv1.3") && hello.2.contains("X25519"),
            "{}",
            hello.2
        );
        assert!(hello.2.contains("server_name localhost"), "{}", hello.2);
    }

    #[test]
    fn chosen_suites_and_groups_are_negotiated_and_bad_ids_refused() {
        let (client_cfg, server_cfg) = configs(&["localhost"]);
        client_cfg.set_cipher_suites(&[0x1303, 0x1301]).unwrap();
        client_cfg.set_groups(&[0x0018]).unwrap();
        let (client, server) = handshaken(&client_cfg, &server_cfg);
        assert_eq!(client.cipher_suite(), Some(0x1303));
        assert_eq!(server.cipher_suite(), Some(0x1303));
        assert_eq!(client.kx_group(), Some(0x0018));

        let cfg = Config::new(Role::Client).unwrap();
        let refused = cfg.set_cipher_suites(&[0x1301, 0x0035]).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidArg);
        assert!(refused.detail().contains("0x0035"), "{}", refused.detail());
        assert_eq!(
            cfg.set_groups(&[0x001d, 0x001d]).unwrap_err().kind(),
            ErrorKind::InvalidArg
        );
        // TLS 1.2 suites only, TLS 1.3 only: no usable suite, refused when connecting.
        cfg.set_versions(TLS1_3, TLS1_3).unwrap();
        cfg.set_cipher_suites(&[0xc02b]).unwrap();
        assert_eq!(
            Conn::new(&cfg, Some("localhost")).err().map(|e| e.kind()),
            Some(ErrorKind::InvalidArg)
        );
    }
}
