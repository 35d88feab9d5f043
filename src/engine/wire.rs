//! The hello messages as they cross the wire, read from plaintext records for the trace.
//!
//! Until encryption starts, TLS handshake messages travel in plaintext records, so what a
//! ClientHello offered and what the ServerHello chose can be read from the bytes themselves
//! at the moment they are sent or received. A [`HelloScanner`] follows one direction of a
//! connection: it reassembles handshake messages across records, reports the ones the
//! trace wants, and stops at the first record that is not a plaintext handshake record
//! (ChangeCipherSpec or encrypted data), after which it costs nothing.

use std::fmt::Write as _;

use super::names;
use super::trace::{Event, Step};

const CONTENT_HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const SERVER_KEY_EXCHANGE: u8 = 12;
/// The ServerHello random that marks a HelloRetryRequest (RFC 8446, section 4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Which way the scanned bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Sent,
    Received,
}

/// What the scanner of one direction must know of the other's hello: the session id the
/// ClientHello carried, which a TLS 1.2 ServerHello echoes when it resumes that session.
#[derive(Debug, Default)]
pub(crate) struct Hellos {
    client_session_id: Vec<u8>,
}

/// Follows the plaintext handshake records of one direction of a connection.
#[derive(Debug)]
pub(crate) struct HelloScanner {
    direction: Direction,
    /// Bytes of a record not complete yet.
    record: Vec<u8>,
    /// Handshake bytes of a message not complete yet.
    message: Vec<u8>,
    done: bool,
}

impl HelloScanner {
    pub(crate) fn new(direction: Direction) -> Self {
        Self {
            direction,
            record: Vec::new(),
            message: Vec::new(),
            done: false,
        }
    }

    /// Whether the plaintext part of this direction is over: nothing more to read.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Reads the next bytes of this direction; returns the events they complete.
    pub(crate) fn scan(&mut self, bytes: &[u8], hellos: &mut Hellos) -> Vec<Event> {
        let mut events = Vec::new();
        if self.done {
            return events;
        }
        self.record.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(header) = self.record.get(at..at + 5) {
            let (kind, len) = (
                header[0],
                usize::from(u16::from_be_bytes([header[3], header[4]])),
            );
            if kind != CONTENT_HANDSHAKE {
                self.finish();
                return events;
            }
            let Some(body) = self.record.get(at + 5..at + 5 + len) else {
                break;
            };
            self.message.extend_from_slice(body);
            at += 5 + len;
            self.take_messages(&mut events, hellos);
        }
        self.record.drain(..at);
        events
    }

    /// Reports every complete message of the handshake buffer.
    fn take_messages(&mut self, events: &mut Vec<Event>, hellos: &mut Hellos) {
        let mut at = 0;
        while let Some(header) = self.message.get(at..at + 4) {
            let kind = header[0];
            let len =
                usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
            let Some(body) = self.message.get(at + 4..at + 4 + len) else {
                break;
            };
            let direction = self.direction;
            let event = match kind {
                CLIENT_HELLO => client_hello(body, hellos).map(|text| {
                    let step = match direction {
                        Direction::Sent => Step::ClientHelloSent,
                        Direction::Received => Step::ClientHelloReceived,
                    };
                    vec![Event::now(step, text)]
                }),
                SERVER_HELLO => server_hello(body, direction, hellos),
                SERVER_KEY_EXCHANGE => server_key_exchange(body),
                _ => None,
            };
            events.extend(event.into_iter().flatten());
            at += 4 + len;
        }
        self.message.drain(..at);
    }

    fn finish(&mut self) {
        self.done = true;
        self.record = Vec::new();
        self.message = Vec::new();
    }
}

/// A cursor over a message body; every read fails softly on truncated input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one- or two-byte length prefix.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    /// The (type, body) pairs of an extensions block.
    fn extensions(&mut self) -> Vec<(u16, &'a [u8])> {
        let mut found = Vec::new();
        let mut block = Reader(self.vec16().unwrap_or_default());
        while let (Some(kind), Some(body)) = (block.u16(), block.vec16()) {
            found.push((kind, body));
        }
        found
    }
}

fn u16s(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn label(name: Option<&'static std::ffi::CStr>, value: u16) -> String {
    name.and_then(|n| n.to_str().ok())
        .map_or_else(|| format!("0x{value:04x}"), str::to_owned)
}

fn version_label(v: u16) -> String {
    label(names::version_name(v), v)
}

fn suite_label(s: u16) -> String {
    label(
        names::cipher_suite_name(s).or_else(|| names::rsa_key_transport_suite_name(s)),
        s,
    )
}

fn group_label(g: u16) -> String {
    label(names::group_name(g), g)
}

/// GREASE values (RFC 8701) and the signalling suites TLS_EMPTY_RENEGOTIATION_INFO_SCSV and
/// TLS_FALLBACK_SCSV are not offers: left out of the trace.
fn is_grease(v: u16) -> bool {
    (v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff) || v == 0x00ff || v == 0x5600
}

fn list(values: impl Iterator<Item = u16>, name: fn(u16) -> String) -> String {
    values
        .filter(|v| !is_grease(*v))
        .map(name)
        .collect::<Vec<_>>()
        .join(",")
}

/// "versions TLSv1.3,TLSv1.2; suites ...; groups ...; key shares X25519; server_name ...".
fn client_hello(body: &[u8], hellos: &mut Hellos) -> Option<String> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    r.take(32)?;
    hellos.client_session_id = r.vec8()?.to_vec();
    let suites = r.vec16()?;
    r.vec8()?;
    let mut versions = None;
    let mut text = String::new();
    let mut tail = String::new();
    let mut groups = String::new();
    for (kind, ext) in r.extensions() {
        let mut e = Reader(ext);
        match kind {
            43 => versions = e.vec8().map(|v| list(u16s(v), version_label)),
            10 => {
                groups = e
                    .vec16()
                    .map(|g| list(u16s(g), group_label))
                    .unwrap_or_default()
            }
            51 => {
                let mut shares = Reader(e.vec16().unwrap_or_default());
                let mut offered = Vec::new();
                while let (Some(group), Some(_)) = (shares.u16(), shares.vec16()) {
                    if !is_grease(group) {
                        offered.push(group_label(group));
                    }
                }
                let _ = write!(tail, "; key shares {}", offered.join(","));
            }
            0 => {
                // server_name_list: one host_name entry (type 0) in practice.
                let mut names = Reader(e.vec16().unwrap_or_default());
                if let (Some(0), Some(name)) = (names.u8(), names.vec16()) {
                    let _ = write!(tail, "; server_name {}", String::from_utf8_lossy(name));
                }
            }
            16 => {
                let mut protocols = Reader(e.vec16().unwrap_or_default());
                let mut offered = Vec::new();
                while let Some(p) = protocols.vec8() {
                    offered.push(String::from_utf8_lossy(p).into_owned());
                }
                let _ = write!(tail, "; alpn {}", offered.join(","));
            }
            41 => tail.push_str("; offers resumption (pre_shared_key)"),
            35 if !ext.is_empty() => tail.push_str("; offers resumption (session ticket)"),
            _ => {}
        }
    }
    let versions = versions.unwrap_or_else(|| version_label(legacy_version));
    let _ = write!(
        text,
        "versions {versions}; suites {}; groups {groups}{tail}",
        list(u16s(suites), suite_label)
    );
    Some(text)
}

/// The ServerHello's choice, and the key exchange it settles in TLS 1.3.
fn server_hello(body: &[u8], direction: Direction, hellos: &Hellos) -> Option<Vec<Event>> {
    let mut r = Reader(body);
    let legacy_version = r.u16()?;
    let random = r.take(32)?;
    let session_id = r.vec8()?;
    let suite = r.u16()?;
    r.u8()?;
    let retry = random == HELLO_RETRY_RANDOM;
    let mut version = legacy_version;
    let mut group = None;
    let mut resumed = false;
    for (kind, ext) in r.extensions() {
        let mut e = Reader(ext);
        match kind {
            43 => version = e.u16().unwrap_or(version),
            // A HelloRetryRequest's key_share is the group alone; a ServerHello's starts with it.
            51 => group = e.u16(),
            41 => resumed = true,
            _ => {}
        }
    }
    // TLS 1.2 resumes by echoing the session id the client offered (a TLS 1.3 ServerHello
    // echoes it too, for middleboxes, so only the pre_shared_key extension counts there).
    if version == 0x0303 && !session_id.is_empty() && session_id == hellos.client_session_id {
        resumed = true;
    }
    let step = match direction {
        Direction::Sent => Step::ServerHelloSent,
        Direction::Received => Step::ServerHelloReceived,
    };
    let mut events = Vec::new();
    if retry {
        let wanted = group.map(group_label).unwrap_or_default();
        events.push(Event::now(
            step,
            format!(
                "HelloRetryRequest: {} asks for a key share for {wanted}",
                version_label(version)
            ),
        ));
        return Some(events);
    }
    events.push(Event::now(
        step,
        format!(
            "{} {}{}",
            version_label(version),
            suite_label(suite),
            if resumed { " (resuming a session)" } else { "" }
        ),
    ));
    if let Some(group) = group {
        events.push(Event::now(
            Step::KeyExchange,
            format!("ECDHE over {} (TLS 1.3 key share)", group_label(group)),
        ));
    }
    Some(events)
}

/// The TLS 1.2 ECDHE group, from ServerKeyExchange (curve_type 3 = named_curve).
fn server_key_exchange(body: &[u8]) -> Option<Vec<Event>> {
    let mut r = Reader(body);
    if r.u8()? != 3 {
        return None;
    }
    let group = r.u16()?;
    Some(vec![Event::now(
        Step::KeyExchange,
        format!(
            "ECDHE over {} (TLS 1.2 ServerKeyExchange)",
            group_label(group)
        ),
    )])
}
