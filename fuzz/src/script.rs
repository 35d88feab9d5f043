//! How a connection target reads its input: a two-byte setup, then a script of operations,
//! each one byte followed by its arguments. Decoding and encoding live side by side so
//! that the seed generator writes exactly what the targets read.
//!
//! Every byte string decodes to something (missing bytes read as zero, unknown values wrap),
//! so libFuzzer's mutations always produce a runnable script.

/// A cursor over the fuzz input.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.0.len())
    }
}

/// Whether the target meets a real embertls peer, and when the script takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No peer: the target gets only the script's bytes.
    Raw,
    /// A real peer from the start; the script may tamper with what it sends the target.
    Tamper,
    /// A real peer and a clean handshake first; the script runs on the open connection.
    After,
}

/// The first two bytes of a connection target's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    pub mode: Mode,
    /// The target's config has the trace callback (which runs our own hello parser).
    pub traced: bool,
    /// The client resumes a session from a clean handshake made just before.
    pub resume: bool,
    pub client_flavor: usize,
    pub server_flavor: usize,
    /// Index into configs::SERVER_NAMES.
    pub server_name: usize,
    /// Index into FEED_CHUNKS: how finely bytes from the peer are cut up when fed.
    pub chunk: usize,
    /// Index into READ_SIZES: the target's read buffer.
    pub read_size: usize,
}

/// Sizes of the pieces bytes are fed in (0: all at once).
pub const FEED_CHUNKS: [usize; 8] = [0, 1, 2, 5, 16, 100, 1000, 4096];
/// Sizes of the target's read buffer.
pub const READ_SIZES: [usize; 8] = [16384, 1, 7, 100, 1000, 4096, 16384, 65536];

impl Setup {
    pub fn decode(input: &mut Input) -> Setup {
        let (a, b) = (input.byte(), input.byte());
        Setup {
            mode: match a & 3 {
                0 => Mode::Raw,
                2 => Mode::After,
                _ => Mode::Tamper,
            },
            traced: a & 4 != 0,
            resume: a & 8 != 0,
            client_flavor: usize::from(a >> 4 & 3) % crate::configs::CLIENT_FLAVORS,
            server_flavor: usize::from(a >> 6) % crate::configs::SERVER_FLAVORS,
            server_name: usize::from(b & 3) % crate::configs::SERVER_NAMES.len(),
            chunk: usize::from(b >> 2 & 7),
            read_size: usize::from(b >> 5),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let mode = match self.mode {
            Mode::Raw => 0,
            Mode::Tamper => 1,
            Mode::After => 2,
        };
        out.push(
            mode | u8::from(self.traced) << 2
                | u8::from(self.resume) << 3
                | (self.client_flavor as u8) << 4
                | (self.server_flavor as u8) << 6,
        );
        out.push(self.server_name as u8 | (self.chunk as u8) << 2 | (self.read_size as u8) << 5);
    }
}

/// A change to the byte stream from the peer to the target, at `delta` bytes past the
/// point the stream had reached when the edit was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub delta: u16,
    pub kind: EditKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditKind {
    Xor(u8),
    Set(u8),
    /// These bytes go in before the byte at the edit's offset.
    Insert(Vec<u8>),
    /// This many bytes (from the edit's offset) disappear.
    Delete(u8),
    /// The stream ends here: nothing after reaches the target, which then sees end of stream.
    Cut,
}

/// One step of a connection target's script. "Target" is the connection under test; the
/// "peer" is the real embertls connection at the other end, when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Move bytes both ways (through the edits), driving both ends, until nothing moves.
    Pump,
    /// Feed these bytes to the target.
    Feed(Vec<u8>),
    Handshake,
    Read,
    Write(u16),
    PeerWrite(u16),
    PeerRead,
    Close,
    PeerClose,
    KeyUpdate,
    PeerKeyUpdate,
    /// Feed end of stream to the target.
    Eof,
    /// Query every fact of the target and check them.
    Facts,
    Tamper(Edit),
    Export,
    /// Drain the target's output and lose it.
    Discard,
}

impl Op {
    /// The next operation, or None at the end of the input.
    pub fn decode(input: &mut Input) -> Option<Op> {
        if input.is_empty() {
            return None;
        }
        Some(match input.byte() % 16 {
            0 => Op::Pump,
            1 => {
                let len = usize::from(input.u16());
                Op::Feed(input.take(len).to_vec())
            }
            2 => Op::Handshake,
            3 => Op::Read,
            4 => Op::Write(input.u16()),
            5 => Op::PeerWrite(input.u16()),
            6 => Op::PeerRead,
            7 => Op::Close,
            8 => Op::PeerClose,
            9 => Op::KeyUpdate,
            10 => Op::PeerKeyUpdate,
            11 => Op::Eof,
            12 => Op::Facts,
            13 => {
                let delta = input.u16();
                let kind = match input.byte() % 5 {
                    0 => EditKind::Xor(input.byte()),
                    1 => EditKind::Set(input.byte()),
                    2 => {
                        let len = usize::from(input.byte());
                        EditKind::Insert(input.take(len).to_vec())
                    }
                    3 => EditKind::Delete(input.byte()),
                    _ => EditKind::Cut,
                };
                Op::Tamper(Edit { delta, kind })
            }
            14 => Op::Export,
            _ => Op::Discard,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let u16 = |out: &mut Vec<u8>, code: u8, v: u16| {
            out.push(code);
            out.extend_from_slice(&v.to_be_bytes());
        };
        match self {
            Op::Pump => out.push(0),
            Op::Feed(bytes) => {
                let len = u16::try_from(bytes.len()).expect("a Feed holds at most 64 KiB");
                u16(out, 1, len);
                out.extend_from_slice(bytes);
            }
            Op::Handshake => out.push(2),
            Op::Read => out.push(3),
            Op::Write(n) => u16(out, 4, *n),
            Op::PeerWrite(n) => u16(out, 5, *n),
            Op::PeerRead => out.push(6),
            Op::Close => out.push(7),
            Op::PeerClose => out.push(8),
            Op::KeyUpdate => out.push(9),
            Op::PeerKeyUpdate => out.push(10),
            Op::Eof => out.push(11),
            Op::Facts => out.push(12),
            Op::Tamper(edit) => {
                u16(out, 13, edit.delta);
                match &edit.kind {
                    EditKind::Xor(v) => out.extend_from_slice(&[0, *v]),
                    EditKind::Set(v) => out.extend_from_slice(&[1, *v]),
                    EditKind::Insert(bytes) => {
                        let len =
                            u8::try_from(bytes.len()).expect("an Insert holds at most 255 bytes");
                        out.extend_from_slice(&[2, len]);
                        out.extend_from_slice(bytes);
                    }
                    EditKind::Delete(n) => out.extend_from_slice(&[3, *n]),
                    EditKind::Cut => out.push(4),
                }
            }
            Op::Export => out.push(14),
            Op::Discard => out.push(15),
        }
    }
}

/// Applies the script's edits to the stream from the peer to the target as it flows.
#[derive(Default)]
pub struct Tamper {
    /// Bytes of the peer's stream seen so far.
    pos: usize,
    /// Pending edits by absolute offset, in the order they were made.
    edits: Vec<(usize, EditKind)>,
    /// Bytes still to delete.
    skip: usize,
    /// The stream was cut.
    pub cut: bool,
}

impl Tamper {
    pub fn schedule(&mut self, edit: Edit) {
        let at = self.pos + usize::from(edit.delta);
        // Stable: edits at one offset apply in the order they were made.
        let index = self.edits.partition_point(|(a, _)| *a <= at);
        self.edits.insert(index, (at, edit.kind));
    }

    /// What reaches the target of `bytes`, the next bytes the peer sent.
    pub fn apply(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.edits.is_empty() && self.skip == 0 && !self.cut {
            self.pos += bytes.len();
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            let here = self.pos;
            self.pos += 1;
            let mut byte = b;
            let due = self.edits.partition_point(|(a, _)| *a <= here);
            for (_, kind) in self.edits.drain(..due) {
                match kind {
                    EditKind::Xor(v) => byte ^= v,
                    EditKind::Set(v) => byte = v,
                    EditKind::Insert(inserted) if !self.cut => out.extend_from_slice(&inserted),
                    EditKind::Insert(_) => {}
                    EditKind::Delete(n) => self.skip += usize::from(n) + 1,
                    EditKind::Cut => self.cut = true,
                }
            }
            if self.cut {
                continue;
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            out.push(byte);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_survive_a_round_trip() {
        let ops = vec![
            Op::Pump,
            Op::Feed(vec![1, 2, 3]),
            Op::Write(300),
            Op::Tamper(Edit {
                delta: 7,
                kind: EditKind::Insert(vec![9, 9]),
            }),
            Op::Tamper(Edit {
                delta: 1,
                kind: EditKind::Cut,
            }),
            Op::Discard,
        ];
        let setup = Setup {
            mode: Mode::After,
            traced: true,
            resume: true,
            client_flavor: 3,
            server_flavor: 1,
            server_name: 2,
            chunk: 5,
            read_size: 7,
        };
        let mut bytes = Vec::new();
        setup.encode(&mut bytes);
        ops.iter().for_each(|op| op.encode(&mut bytes));
        let mut input = Input::new(&bytes);
        assert_eq!(Setup::decode(&mut input), setup);
        let decoded: Vec<Op> = std::iter::from_fn(|| Op::decode(&mut input)).collect();
        assert_eq!(decoded, ops);
    }

    #[test]
    fn edits_apply_at_their_offsets() {
        let mut tamper = Tamper::default();
        tamper.schedule(Edit {
            delta: 1,
            kind: EditKind::Xor(0xff),
        });
        tamper.schedule(Edit {
            delta: 3,
            kind: EditKind::Insert(vec![7]),
        });
        tamper.schedule(Edit {
            delta: 4,
            kind: EditKind::Delete(0),
        });
        assert_eq!(tamper.apply(&[0, 0]), vec![0, 0xff]);
        assert_eq!(tamper.apply(&[1, 2, 3, 4]), vec![1, 7, 2, 4]);
        tamper.schedule(Edit {
            delta: 1,
            kind: EditKind::Cut,
        });
        assert_eq!(tamper.apply(&[5, 6, 7]), vec![5]);
        assert!(tamper.cut);
    }
}
