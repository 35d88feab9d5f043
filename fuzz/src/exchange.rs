//! The connection targets: one connection under test (the target, a client or a server)
//! runs a script, alone or against a real embertls peer whose bytes the script may tamper
//! with. See script.rs for the input format and configs.rs for the configs.

use std::ffi::CStr;

use crate::configs;
use crate::endpoint::{Endpoint, Side};
use crate::handles::Config;
use crate::script::{Input, Mode, Op, Setup, Tamper, FEED_CHUNKS, READ_SIZES};

/// How many rounds a pump makes at most: a handshake needs 4, a resumption and a close a
/// few more; more means two ends that keep answering each other.
const PUMP_ROUNDS: usize = 16;

/// Runs one input against a fresh connection on `side`.
pub fn run(side: Side, data: &[u8]) {
    configs::reset();
    let mut input = Input::new(data);
    let setup = Setup::decode(&mut input);
    let verbose = crate::verbose();
    if verbose {
        eprintln!("{side:?} target: {setup:?}");
    }
    let mut world = World::new(side, &setup);
    while let Some(op) = Op::decode(&mut input) {
        if verbose {
            eprintln!("  {op:?}");
        }
        world.apply(op);
    }
    world.finish();
}

/// The configs one input uses: the shared ones, or (when the client resumes) a client
/// config of its own, whose session cache must not outlive the input.
struct Configs {
    client: Option<Config>,
    setup: Setup,
    side: Side,
}

impl Configs {
    fn client(&self, traced: bool) -> &Config {
        match &self.client {
            Some(own) => own,
            None => configs::client(self.setup.client_flavor, traced),
        }
    }

    fn server(&self, traced: bool) -> &'static Config {
        configs::server(self.setup.server_flavor, traced)
    }

    /// A connection on `side`, traced when it is the target and the setup says so.
    fn endpoint(&self, side: Side) -> Endpoint {
        let traced = side == self.side && self.setup.traced;
        let read_size = if side == self.side {
            READ_SIZES[self.setup.read_size]
        } else {
            16384
        };
        let cfg = match side {
            Side::Client => self.client(traced),
            Side::Server => self.server(traced),
        };
        Endpoint::new(cfg, side, self.server_name(), traced, read_size)
    }

    fn server_name(&self) -> &'static CStr {
        configs::SERVER_NAMES[self.setup.server_name]
    }
}

pub struct World {
    target: Endpoint,
    /// The real connection at the other end, if the mode has one.
    peer: Option<Endpoint>,
    /// The script's edits to what the peer sends the target.
    tamper: Tamper,
    chunk: usize,
    mode: Mode,
}

impl World {
    fn new(side: Side, setup: &Setup) -> World {
        let resumes = setup.resume && setup.mode != Mode::Raw;
        // A resuming client config of its own is traced when the target is that client.
        let own_client = resumes.then(|| {
            configs::resumable_client(setup.client_flavor, side == Side::Client && setup.traced)
        });
        let configs = Configs {
            client: own_client,
            setup: *setup,
            side,
        };
        if resumes {
            // The session comes from a clean exchange of the same configs.
            let mut first = World::pair(&configs, Mode::After);
            first.pump();
            first.read_both();
            first.target.close();
            first.pump();
        }
        World::pair(&configs, setup.mode)
    }

    fn pair(configs: &Configs, mode: Mode) -> World {
        let other = match configs.side {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        let mut world = World {
            target: configs.endpoint(configs.side),
            peer: (mode != Mode::Raw).then(|| configs.endpoint(other)),
            tamper: Tamper::default(),
            chunk: FEED_CHUNKS[configs.setup.chunk],
            mode,
        };
        if mode == Mode::After {
            world.pump();
        }
        world
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Pump => self.pump(),
            Op::Feed(bytes) => self.target.feed(&bytes, self.chunk),
            Op::Handshake => {
                self.target.handshake();
            }
            Op::Read => {
                self.target.read_all();
            }
            Op::Write(n) => {
                self.target.write(usize::from(n));
            }
            Op::PeerWrite(n) => {
                if let Some(peer) = &mut self.peer {
                    peer.write(usize::from(n));
                }
            }
            Op::PeerRead => {
                if let Some(peer) = &mut self.peer {
                    peer.read_all();
                }
            }
            Op::Close => self.target.close(),
            Op::PeerClose => {
                if let Some(peer) = &mut self.peer {
                    peer.close();
                }
            }
            Op::KeyUpdate => self.target.key_update(),
            Op::PeerKeyUpdate => {
                if let Some(peer) = &mut self.peer {
                    peer.key_update();
                }
            }
            Op::Eof => self.target.eof(),
            Op::Facts => self.compare_facts(),
            Op::Tamper(edit) => self.tamper.schedule(edit),
            Op::Export => {
                self.target.export();
            }
            Op::Discard => {
                self.target.drain();
            }
        }
        self.check();
    }

    /// Drives both ends and moves their bytes until nothing moves.
    fn pump(&mut self) {
        for _ in 0..PUMP_ROUNDS {
            advance(&mut self.target);
            let Some(peer) = &mut self.peer else {
                // Alone, the target's output goes nowhere (but is still checked).
                self.target.drain();
                self.check();
                return;
            };
            advance(peer);
            let from_peer = peer.drain();
            let to_target = self.tamper.apply(&from_peer);
            self.target.feed(&to_target, self.chunk);
            if self.tamper.cut && !self.target.closed {
                self.target.eof();
            }
            let from_target = self.target.drain();
            peer.feed(&from_target, self.chunk);
            self.target.flush();
            self.check();
            if from_peer.is_empty() && from_target.is_empty() {
                return;
            }
        }
    }

    fn read_both(&mut self) {
        self.target.read_all();
        if let Some(peer) = &mut self.peer {
            peer.read_all();
        }
    }

    /// What must hold after every step, whatever the input.
    fn check(&self) {
        match &self.peer {
            // Without a peer nobody has the keys: a handshake that completes, or data or a
            // close_notify that is accepted, was forged.
            None => assert!(
                !self.target.ready && self.target.received == 0 && !self.target.closed,
                "a connection with no peer completed its handshake or accepted data"
            ),
            // Data is checked byte by byte as it is read (Endpoint::read_all); a clean close
            // must be the peer's.
            Some(peer) => {
                assert!(
                    !self.target.closed || peer.close_sent,
                    "the target read a close_notify the peer never sent"
                );
                assert!(
                    !peer.closed || self.target.close_sent,
                    "the peer read a close_notify the target never sent"
                );
                assert!(self.target.received <= peer.sent && peer.received <= self.target.sent);
            }
        }
    }

    /// Both ends' facts, which must agree once both completed the handshake.
    fn compare_facts(&mut self) {
        let target = self.target.facts();
        let Some(peer) = &mut self.peer else { return };
        let theirs = peer.facts();
        if self.target.ready && peer.ready && self.target.fatal.is_none() && peer.fatal.is_none() {
            assert_eq!(
                target, theirs,
                "the two ends disagree on what they negotiated"
            );
            let (a, b) = (self.target.export(), peer.export());
            assert_eq!(a, b, "the two ends export different keying material");
        }
    }

    fn finish(mut self) {
        if self.mode != Mode::Raw {
            self.pump();
        }
        self.compare_facts();
    }
}

/// One step of an end's own work: the handshake until it completes, then reading what
/// arrived (which also answers key updates and takes tickets).
fn advance(end: &mut Endpoint) {
    if !end.ready {
        end.handshake();
    }
    if end.ready {
        end.read_all();
    }
}

/// A whole exchange between two connections made from configs an input built (the loaders
/// target's): handshake, some data each way, a close, and the same checks as a script.
pub fn exchange(client: Endpoint, server: Endpoint) {
    let mut world = World {
        target: client,
        peer: Some(server),
        tamper: Tamper::default(),
        chunk: 0,
        mode: Mode::After,
    };
    for op in [
        Op::Pump,
        Op::Write(300),
        Op::PeerWrite(300),
        Op::Pump,
        Op::Close,
    ] {
        world.apply(op);
    }
    world.finish();
}
