//! One memory-mode connection, driven through the C ABI, with every answer checked against
//! what include/embertls.h promises. A broken promise panics, which libFuzzer reports.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use crate::configs;
use crate::ffi::{self, ember_conn, ember_result, CLOSED, ERR_INVALID_ARG, ERR_WRONG_STATE, OK};
use crate::handles::{cipher_suite_named, group_named, Config};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// The application data each side writes: byte `i` of a stream is `pattern(i)`, so that a
/// reader can tell data that was lost, duplicated, reordered or forged.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

pub struct Endpoint {
    conn: *mut ember_conn,
    pub side: Side,
    traced: bool,
    id: u64,
    /// The name a client was made with.
    server_name: Option<CString>,
    read_size: usize,
    /// The handshake completed (a call that completes it returned OK).
    pub ready: bool,
    /// The fatal error the connection ended with: every later call must return it.
    pub fatal: Option<ember_result>,
    /// A read returned CLOSED: the peer's close_notify arrived.
    pub closed: bool,
    /// ember_conn_close was called.
    pub close_sent: bool,
    eof_fed: bool,
    /// Application bytes accepted by writes, and read (and found in order).
    pub sent: usize,
    pub received: usize,
    records: RecordFollower,
}

impl Endpoint {
    /// A connection from `cfg`; a client connects to `server_name`.
    pub fn new(
        cfg: &Config,
        side: Side,
        server_name: &CStr,
        traced: bool,
        read_size: usize,
    ) -> Endpoint {
        let name = match side {
            Side::Client => Some(server_name),
            Side::Server => None,
        };
        let conn = Endpoint::make(cfg, name).unwrap_or_else(|r| {
            panic!(
                "ember_conn_new returned {r} for a harness config: {}",
                cfg.last_error()
            )
        });
        Endpoint::from_handle(conn, side, name, traced, read_size)
    }

    /// ember_conn_new: the handle, or the code it failed with.
    pub fn make(cfg: &Config, name: Option<&CStr>) -> Result<*mut ember_conn, ember_result> {
        let mut conn = ptr::null_mut();
        // SAFETY: the config is live, the name NUL-terminated or NULL, `conn` an out-pointer.
        let r = unsafe {
            ffi::ember_conn_new(cfg.ptr(), name.map_or(ptr::null(), CStr::as_ptr), &mut conn)
        };
        if r == OK {
            assert!(
                !conn.is_null(),
                "ember_conn_new returned OK and no connection"
            );
            Ok(conn)
        } else {
            Err(r)
        }
    }

    /// Takes over a handle ember_conn_new made.
    pub fn from_handle(
        conn: *mut ember_conn,
        side: Side,
        name: Option<&CStr>,
        traced: bool,
        read_size: usize,
    ) -> Endpoint {
        let mut id = 0;
        // SAFETY: `conn` is live; `id` is an out-pointer.
        let r = unsafe { ffi::ember_conn_id(conn, &mut id) };
        ffi::expect("ember_conn_id", r, |r| r == OK);
        Endpoint {
            conn,
            side,
            traced,
            id,
            server_name: name.map(CStr::to_owned),
            read_size,
            ready: false,
            fatal: None,
            closed: false,
            close_sent: false,
            eof_fed: false,
            sent: 0,
            received: 0,
            records: RecordFollower::default(),
        }
    }

    /// Every call's common judgement: a code the header allows, and a fatal error is final.
    fn outcome(&mut self, what: &str, r: ember_result) {
        if !ffi::conn_outcome(r) {
            let detail = self.last_error();
            ffi::expect(
                &format!("{what} (detail: {detail:?})"),
                r,
                ffi::conn_outcome,
            );
        }
        if let Some(fatal) = self.fatal {
            assert_eq!(
                r, fatal,
                "{what} returned {r} after the connection failed with {fatal}: a fatal error is final"
            );
        } else if ffi::is_fatal(r) {
            self.fatal = Some(r);
            self.failed(what, r);
        }
    }

    /// The connection just failed with `r`: it must say why, and a traced handshake that
    /// failed must have reported it.
    fn failed(&self, what: &str, r: ember_result) {
        let detail = self.last_error();
        if crate::verbose() {
            eprintln!("    {:?} failed: {what} returned {r}: {detail}", self.side);
        }
        assert!(
            !detail.is_empty(),
            "{what} failed with {r} and ember_conn_last_error says nothing"
        );
        if self.traced && !self.handshake_done() {
            let failed = configs::traced(self.id, ffi::TRACE_FAILED);
            assert!(
                failed.contains(&detail),
                "the handshake failed ({what}: {detail}) but the trace reported {failed:?}"
            );
        }
    }

    /// The handshake completed: the facts the header promises from then on.
    fn became_ready(&mut self) {
        if self.ready {
            return;
        }
        self.ready = true;
        if self.traced {
            assert!(
                !configs::traced(self.id, ffi::TRACE_COMPLETE).is_empty(),
                "the handshake completed without a COMPLETE trace event"
            );
        }
        self.facts();
    }

    pub fn handshake(&mut self) -> ember_result {
        // SAFETY: `conn` is live.
        let r = unsafe { ffi::ember_conn_handshake(self.conn) };
        self.outcome("ember_conn_handshake", r);
        if self.ready && self.fatal.is_none() {
            assert_eq!(r, OK, "ember_conn_handshake after completion returned {r}");
        }
        if r == OK {
            self.became_ready();
        }
        r
    }

    /// Reads until the connection has nothing more; returns how many bytes came.
    pub fn read_all(&mut self) -> usize {
        let mut buf = vec![0u8; self.read_size];
        let mut total = 0;
        loop {
            let mut n = usize::MAX;
            // SAFETY: `conn` is live; `buf` is writable for its length; `n` an out-pointer.
            let r = unsafe { ffi::ember_conn_read(self.conn, buf.as_mut_ptr(), buf.len(), &mut n) };
            if r == OK && self.fatal.is_some() {
                // Data that arrived before the failure is still delivered.
                ffi::expect("ember_conn_read", r, ffi::conn_outcome);
            } else {
                self.outcome("ember_conn_read", r);
            }
            if r != OK {
                assert_eq!(
                    n, 0,
                    "ember_conn_read returned {r} with *out_n = {n} (must be 0)"
                );
                if r == CLOSED {
                    self.became_ready();
                    self.closed = true;
                }
                return total;
            }
            self.became_ready();
            assert!(
                (1..=buf.len()).contains(&n),
                "ember_conn_read returned OK with {n} bytes for a {}-byte buffer",
                buf.len()
            );
            for (i, &b) in buf[..n].iter().enumerate() {
                assert_eq!(
                    b,
                    pattern(self.received + i),
                    "byte {} of the data read is not the one the peer wrote",
                    self.received + i
                );
            }
            self.received += n;
            total += n;
        }
    }

    /// Writes `len` more bytes of this side's stream; returns how many were accepted.
    pub fn write(&mut self, len: usize) -> usize {
        let data: Vec<u8> = (self.sent..self.sent + len).map(pattern).collect();
        let refused = self.close_sent && self.fatal.is_none();
        let mut n = usize::MAX;
        // SAFETY: `conn` is live; `data` is readable for its length; `n` an out-pointer.
        let r = unsafe { ffi::ember_conn_write(self.conn, data.as_ptr(), data.len(), &mut n) };
        self.outcome("ember_conn_write", r);
        if refused {
            assert_eq!(
                r, ERR_WRONG_STATE,
                "ember_conn_write after ember_conn_close returned {r}"
            );
        }
        if r != OK {
            return 0;
        }
        self.became_ready();
        assert!(
            n <= len && (n > 0 || len == 0),
            "ember_conn_write returned OK having accepted {n} of {len} bytes"
        );
        self.sent += n;
        n
    }

    /// Feeds `bytes` in pieces of `chunk` bytes (0: all at once), reading whenever the
    /// connection takes less than it was offered, as the header says to.
    pub fn feed(&mut self, bytes: &[u8], chunk: usize) {
        let chunk = if chunk == 0 {
            bytes.len().max(1)
        } else {
            chunk
        };
        for piece in bytes.chunks(chunk) {
            let mut at = 0;
            while at < piece.len() {
                if self.fatal.is_some() || self.eof_fed {
                    // Refused (the same fatal error, or WRONG_STATE after end of stream).
                    self.feed_once(&piece[at..]);
                    return;
                }
                let taken = self.feed_once(&piece[at..]);
                if self.fatal.is_some() {
                    return;
                }
                at += taken;
                if at < piece.len() {
                    // "It takes fewer than len only when decrypted data waits to be read."
                    let read = self.read_all();
                    if self.fatal.is_some() || self.closed {
                        return;
                    }
                    assert!(
                        taken > 0 || read > 0,
                        "ember_conn_feed took 0 of {} bytes and ember_conn_read had no data: \
                         a memory-mode caller can never make progress",
                        piece.len() - at
                    );
                }
            }
        }
    }

    fn feed_once(&mut self, bytes: &[u8]) -> usize {
        let mut n = usize::MAX;
        // SAFETY: `conn` is live; `bytes` is readable for its length; `n` an out-pointer.
        let r = unsafe { ffi::ember_conn_feed(self.conn, bytes.as_ptr(), bytes.len(), &mut n) };
        let refused_after_eof = self.eof_fed && self.fatal.is_none();
        self.outcome("ember_conn_feed", r);
        if refused_after_eof {
            assert_eq!(
                r, ERR_WRONG_STATE,
                "ember_conn_feed after end of stream returned {r}"
            );
        }
        if r != OK {
            return 0;
        }
        assert!(
            n <= bytes.len(),
            "ember_conn_feed took {n} of {} bytes",
            bytes.len()
        );
        if bytes.is_empty() {
            self.eof_fed = true;
        }
        n
    }

    /// Feeds end of stream.
    pub fn eof(&mut self) {
        self.feed_once(&[]);
    }

    /// Drains every pending output byte.
    pub fn drain(&mut self) -> Vec<u8> {
        // SAFETY: `conn` is live.
        let pending = unsafe { ffi::ember_conn_pending_output(self.conn) };
        let mut out = Vec::with_capacity(pending);
        let mut buf = [0u8; 16384];
        loop {
            let mut n = usize::MAX;
            // SAFETY: `conn` is live; `buf` is writable for its length; `n` an out-pointer.
            let r =
                unsafe { ffi::ember_conn_drain(self.conn, buf.as_mut_ptr(), buf.len(), &mut n) };
            ffi::expect("ember_conn_drain", r, |r| r == OK);
            assert!(
                n <= buf.len(),
                "ember_conn_drain gave {n} bytes for a {}-byte buffer",
                buf.len()
            );
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(
            out.len(),
            pending,
            "ember_conn_pending_output said {pending} bytes, ember_conn_drain gave {}",
            out.len()
        );
        self.records.follow(&out);
        out
    }

    pub fn close(&mut self) {
        // SAFETY: `conn` is live.
        let r = unsafe { ffi::ember_conn_close(self.conn) };
        self.outcome("ember_conn_close", r);
        if r == OK {
            self.close_sent = true;
        }
    }

    pub fn key_update(&mut self) {
        let refused = !self.handshake_done() && self.fatal.is_none();
        // SAFETY: `conn` is live.
        let r = unsafe { ffi::ember_conn_key_update(self.conn) };
        self.outcome("ember_conn_key_update", r);
        if refused {
            assert_eq!(
                r, ERR_WRONG_STATE,
                "ember_conn_key_update before the handshake returned {r}"
            );
        }
    }

    /// Whether the handshake has completed, as the connection itself says.
    fn handshake_done(&self) -> bool {
        let mut resumed: c_int = 0;
        // SAFETY: `conn` is live; `resumed` is an out-pointer.
        let r = unsafe { ffi::ember_conn_is_resumed(self.conn, &mut resumed) };
        ffi::expect("ember_conn_is_resumed", r, |r| {
            r == OK || r == ERR_WRONG_STATE
        });
        r == OK
    }

    pub fn flush(&mut self) {
        // SAFETY: `conn` is live.
        let r = unsafe { ffi::ember_conn_flush(self.conn) };
        self.outcome("ember_conn_flush", r);
        if self.fatal.is_none() {
            assert_eq!(r, OK, "ember_conn_flush in memory mode returned {r}");
        }
    }

    /// Keying material for a fixed label, when the connection can export it.
    pub fn export(&mut self) -> Option<[u8; 32]> {
        let label = b"EXPERIMENTAL embertls fuzz";
        let done = self.handshake_done();
        let mut out = [0u8; 32];
        // SAFETY: `conn` is live; label and out are valid for their lengths; no context.
        let r = unsafe {
            ffi::ember_conn_export_keying_material(
                self.conn,
                label.as_ptr(),
                label.len(),
                ptr::null(),
                0,
                out.as_mut_ptr(),
                out.len(),
            )
        };
        self.outcome("ember_conn_export_keying_material", r);
        if r == OK {
            self.became_ready();
            Some(out)
        } else {
            assert!(
                self.fatal.is_some() || (r == ERR_WRONG_STATE && !done),
                "ember_conn_export_keying_material returned {r} on a connection that completed its handshake"
            );
            None
        }
    }

    pub fn last_error(&self) -> String {
        let conn = self.conn;
        ffi::copied_text(
            "ember_conn_last_error",
            // SAFETY: `conn` is live; the buffer and out-pointer come from copied_text.
            |buf, len, n| unsafe { ffi::ember_conn_last_error(conn, buf, len, n) },
            |_| false,
        )
        .expect("ember_conn_last_error always answers")
    }

    /// A fact function's answer: Some(value) on OK, None on WRONG_STATE (not known yet).
    fn fact<T: Copy + Default>(
        &self,
        what: &str,
        call: unsafe extern "C" fn(*const ember_conn, *mut T) -> ember_result,
    ) -> Option<T> {
        let mut value = T::default();
        // SAFETY: `conn` is live; `value` is an out-pointer of the function's type.
        let r = unsafe { call(self.conn, &mut value) };
        ffi::expect(what, r, |r| r == OK || r == ERR_WRONG_STATE);
        (r == OK).then_some(value)
    }

    /// A text fact (server name, ALPN protocol).
    fn text_fact(
        &self,
        what: &str,
        call: unsafe extern "C" fn(
            *const ember_conn,
            *mut c_char,
            usize,
            *mut usize,
        ) -> ember_result,
    ) -> Option<String> {
        let conn = self.conn;
        ffi::copied_text(
            what,
            // SAFETY: `conn` is live; the buffer and out-pointer come from copied_text.
            |buf, len, n| unsafe { call(conn, buf, len, n) },
            |r| r == ERR_WRONG_STATE,
        )
    }

    /// Queries every fact of the connection and checks what the header promises of each.
    pub fn facts(&self) -> Facts {
        let version = self.fact(
            "ember_conn_protocol_version",
            ffi::ember_conn_protocol_version,
        );
        let suite = self.fact("ember_conn_cipher_suite", ffi::ember_conn_cipher_suite);
        let group = self.fact("ember_conn_kx_group", ffi::ember_conn_kx_group);
        let resumed = self.fact("ember_conn_is_resumed", ffi::ember_conn_is_resumed);
        let duration = self.fact("ember_conn_handshake_ns", ffi::ember_conn_handshake_ns);
        let alert = self.fact("ember_conn_peer_alert", ffi::ember_conn_peer_alert);
        let certs = self.fact(
            "ember_conn_peer_cert_count",
            ffi::ember_conn_peer_cert_count,
        );
        let alpn = self.text_fact("ember_conn_alpn", ffi::ember_conn_alpn);
        let name = self.text_fact("ember_conn_server_name", ffi::ember_conn_server_name);
        // SAFETY: `conn` is live.
        let os_error = unsafe { ffi::ember_conn_os_error(self.conn) };
        assert_eq!(
            os_error, 0,
            "a memory-mode connection reported errno {os_error}"
        );
        self.last_error();

        if let Some(v) = version {
            // SAFETY: takes any value.
            let named = ffi::static_str(unsafe { ffi::ember_protocol_version_name(v) });
            assert!(named.is_some(), "negotiated protocol version 0x{v:04x}");
        }
        if let Some(s) = suite {
            assert!(cipher_suite_named(s), "negotiated cipher suite 0x{s:04x}");
        }
        if let Some(g) = group {
            assert!(group_named(g), "negotiated group 0x{g:04x}");
        }
        if let Some(a) = alert {
            // SAFETY: takes any value.
            ffi::static_str(unsafe { ffi::ember_alert_name(a) });
        }
        if let Some(p) = &alpn {
            assert!(
                configs::ALPN.iter().any(|a| a == &p.as_bytes()),
                "the connection agreed on ALPN {p:?}, which no config offers"
            );
        }
        if let (Side::Client, Some(expected)) = (self.side, &self.server_name) {
            assert_eq!(
                name.as_deref(),
                Some(expected.to_str().expect("names are UTF-8")),
                "a client's server name is the one it was made with"
            );
        }
        if let Some(n) = certs {
            assert!(
                n > 0,
                "ember_conn_peer_cert_count answered OK with 0 certificates"
            );
            for index in 0..=n {
                let mut der = ptr::null();
                let mut len = 0;
                // SAFETY: `conn` is live; both out-pointers are locals.
                let r = unsafe { ffi::ember_conn_peer_cert(self.conn, index, &mut der, &mut len) };
                if index < n {
                    ffi::expect("ember_conn_peer_cert", r, |r| r == OK);
                    assert!(
                        !der.is_null() && len > 0,
                        "peer certificate {index} is empty"
                    );
                } else {
                    ffi::expect("ember_conn_peer_cert past the count", r, |r| {
                        r == ERR_INVALID_ARG
                    });
                }
            }
        }

        let done = resumed.is_some();
        if self.ready {
            assert!(
                done,
                "ember_conn_is_resumed does not answer after the handshake completed"
            );
        }
        if done {
            let what = "after the handshake completed";
            assert!(version.is_some(), "no protocol version {what}");
            assert!(suite.is_some(), "no cipher suite {what}");
            assert!(duration.is_some(), "no handshake duration {what}");
            let resumed_tls12 = resumed == Some(1) && version == Some(ffi::TLS1_2);
            assert!(
                group.is_some() || resumed_tls12,
                "no key exchange group {what}"
            );
            if self.side == Side::Client && resumed == Some(0) {
                assert!(certs.is_some(), "a client has no server certificate {what}");
            }
        }
        Facts {
            version,
            suite,
            resumed,
            alpn,
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: the handle came from ember_conn_new and is freed once, here.
        unsafe { ffi::ember_conn_free(self.conn) }
    }
}

/// What both ends of a completed handshake must agree on.
#[derive(Debug, PartialEq, Eq)]
pub struct Facts {
    pub version: Option<u16>,
    pub suite: Option<u16>,
    pub resumed: Option<c_int>,
    pub alpn: Option<String>,
}

/// Follows the records a connection sends: whatever the input, a connection must only ever
/// produce well-formed TLS records.
#[derive(Default)]
struct RecordFollower {
    header: Vec<u8>,
    body_left: usize,
}

impl RecordFollower {
    fn follow(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (5 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.header.len() < 5 {
                return;
            }
            let h = std::mem::take(&mut self.header);
            let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
            assert!(
                (20..=23).contains(&h[0]) && h[1] == 3 && (1..=3).contains(&h[2]),
                "the connection sent a record header {h:02x?}"
            );
            // RFC 8446 5.2 and RFC 5246 6.2.3: at most 2^14 + 2048 bytes, never empty here.
            assert!(
                (1..=16384 + 2048).contains(&len),
                "the connection sent a {len}-byte record"
            );
            self.body_left = len;
        }
    }
}
