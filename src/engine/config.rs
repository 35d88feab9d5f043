//! What connections are made from: role, versions, certificates, trust.
//!
//! A config changes freely until the first connection is made from it. That connection
//! freezes it: the rustls config is built once, and from then on every connection shares
//! it and every setter fails with `ConfigFrozen`. Frozen, a config is read-only and may be
//! shared by any number of threads.

use std::sync::{Arc, Mutex};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, KeyLog, KeyLogFile, NoKeyLog, RootCertStore, ServerConfig, SupportedCipherSuite,
    SupportedProtocolVersion,
};

use super::error::{Error, ErrorKind};
use super::keylog::{KeyLogSink, Secrets};
use super::revocation::Revocation;
use super::sessions::{self, SessionCache, SessionStore, Store, VerifierKey};
use super::sni::{CertChooser, NoClientCert};
use super::tickets::Tickets;
use super::trace::Tracer;
use super::trust::{Anchors, Trust};
use super::verify::{Check, ClientVerifier, ServerVerifier};
use super::{credentials, lock, names, provider};

/// Which end of the connection a config makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends the ClientHello and verifies the server's certificate.
    Client,
    /// Answers ClientHellos and presents a certificate.
    Server,
}

/// Whether a server asks connecting clients for a certificate (mutual TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is requested.
    None,
    /// A certificate is requested; a client without one is let in, one with a certificate
    /// that does not verify against the trust store is refused.
    Optional,
    /// Every client must present a certificate that verifies against the trust store.
    Required,
}

/// TLS 1.2 on the wire.
pub const TLS1_2: u16 = 0x0303;
/// TLS 1.3 on the wire.
pub const TLS1_3: u16 = 0x0304;

/// A connection configuration, shared by the connections made from it.
pub struct Config {
    role: Role,
    state: Mutex<State>,
}

struct State {
    min_version: u16,
    max_version: u16,
    certs: Vec<Arc<CertifiedKey>>,
    trust: Option<Arc<Trust>>,
    /// Set by `set_client_auth`; unset means Required with a trust store, None without.
    client_auth: Option<ClientAuth>,
    /// Client only: the application's check on the server's chain.
    verify: Option<Arc<Check>>,
    /// Application protocols, most preferred first (ALPN).
    alpn: Vec<Vec<u8>>,
    /// The cipher suites and key-exchange groups offered, most preferred first (IANA ids);
    /// empty for the provider's defaults.
    suites: Vec<u16>,
    groups: Vec<u16>,
    /// Client: its own cache's capacity (0: no resumption), unless it shares `shared_cache`.
    /// Server: the in-memory session store's capacity (0: none), unless `store` is set.
    cache_size: usize,
    shared_cache: Option<Arc<SessionCache>>,
    /// Server only: the application's session store.
    store: Option<Arc<dyn SessionStore>>,
    /// Server only: the ticketer, made with the config so forked workers share its keys;
    /// None when tickets are turned off.
    tickets: Option<Arc<Tickets>>,
    keylog: Option<Arc<KeyLogSink>>,
    sslkeylogfile: bool,
    tracer: Option<Arc<Tracer>>,
    built: Option<Built>,
    last_error: Option<Error>,
}

const TICKETS_ARE_SERVER_SIDE: &str =
    "session tickets are a server setting: a client uses the tickets servers give it";

/// The rustls config a frozen [`Config`] makes its connections from.
#[derive(Clone)]
pub(crate) enum Built {
    Client(Arc<ClientConfig>),
    Server(Arc<ServerConfig>),
}

impl Config {
    /// A config for `role` allowing TLS 1.2 and 1.3, trusting the built-in Mozilla roots,
    /// with resumption on: a client caches sessions, a server issues tickets (its keys are
    /// made here) and keeps a session cache. `Internal` only if the system's random number
    /// generator fails.
    pub fn new(role: Role) -> Result<Self, Error> {
        let tickets = match role {
            Role::Client => None,
            Role::Server => Some(Arc::new(Tickets::generate()?)),
        };
        Ok(Self {
            role,
            state: Mutex::new(State {
                min_version: TLS1_2,
                max_version: TLS1_3,
                certs: Vec::new(),
                trust: None,
                client_auth: None,
                verify: None,
                alpn: Vec::new(),
                suites: Vec::new(),
                groups: Vec::new(),
                cache_size: sessions::DEFAULT_CAPACITY,
                shared_cache: None,
                store: None,
                tickets,
                keylog: None,
                sslkeylogfile: false,
                tracer: None,
                built: None,
                last_error: None,
            }),
        })
    }

    /// The role connections made from this config play.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Limits the protocol versions to `min..=max` (each `TLS1_2` or `TLS1_3`).
    pub fn set_versions(&self, min: u16, max: u16) -> Result<(), Error> {
        self.change(|state| {
            for v in [min, max] {
                if v != TLS1_2 && v != TLS1_3 {
                    return Err(Error::new(
                        ErrorKind::InvalidArg,
                        format!("0x{v:04x} is not a supported version: use 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3)"),
                    ));
                }
            }
            if min > max {
                return Err(Error::new(
                    ErrorKind::InvalidArg,
                    format!("the minimum version 0x{min:04x} is above the maximum 0x{max:04x}"),
                ));
            }
            state.min_version = min;
            state.max_version = max;
            Ok(())
        })
    }

    /// Sets the roots used to verify the peer: the server's chain on a client (replacing
    /// the built-in Mozilla roots), client certificates on a server (which then requires one
    /// unless [`Config::set_client_auth`] says otherwise).
    pub fn set_trust(&self, trust: Arc<Trust>) -> Result<(), Error> {
        self.change(|state| {
            state.trust = Some(trust);
            Ok(())
        })
    }

    /// Server only: whether clients are asked for a certificate. Without a call, a server
    /// with a trust store requires one and a server without a trust store asks for none.
    /// `Optional` and `Required` need a trust store: without one, making a connection fails
    /// with `InvalidArg` (checked then, so the setters may be called in any order).
    pub fn set_client_auth(&self, mode: ClientAuth) -> Result<(), Error> {
        self.require_role(
            Role::Server,
            "client authentication is a server setting; a client presents the certificate \
             added with ember_config_add_cert_pem when the server asks for one",
        )?;
        self.change(|state| {
            state.client_auth = Some(mode);
            Ok(())
        })
    }

    /// Client only: lets `check` decide on the server's chain, shown webpki's verdict
    /// (see [`super::verify`]); None removes a check set before.
    pub fn set_verify(&self, check: Option<Arc<Check>>) -> Result<(), Error> {
        self.require_role(
            Role::Client,
            "a verification callback is a client setting: it decides on the server's chain",
        )?;
        self.change(|state| {
            state.verify = check;
            Ok(())
        })
    }

    /// Sets the application protocols offered (client) or accepted (server) with ALPN, most
    /// preferred first; an empty list turns ALPN off. `InvalidArg` for an empty protocol
    /// name or one longer than 255 bytes.
    pub fn set_alpn(&self, protocols: Vec<Vec<u8>>) -> Result<(), Error> {
        self.change(|state| {
            if let Some(bad) = protocols.iter().find(|p| p.is_empty() || p.len() > 255) {
                return Err(Error::new(
                    ErrorKind::InvalidArg,
                    format!(
                        "an ALPN protocol name must be 1 to 255 bytes long (got {} bytes)",
                        bad.len()
                    ),
                ));
            }
            state.alpn = protocols;
            Ok(())
        })
    }

    /// Limits the cipher suites to `suites` (IANA ids), in this order of preference; an
    /// empty list restores the defaults. `InvalidArg` naming an id embertls does not offer.
    pub fn set_cipher_suites(&self, suites: &[u16]) -> Result<(), Error> {
        self.change(|state| {
            let ids = ids(&provider().cipher_suites, suite_id);
            check_offered(suites, &ids, "cipher suite", names::cipher_suite_name)?;
            state.suites = suites.to_vec();
            Ok(())
        })
    }

    /// Limits the key-exchange groups to `groups` (IANA ids), in this order of preference;
    /// an empty list restores the defaults. `InvalidArg` naming an id embertls does not offer.
    pub fn set_groups(&self, groups: &[u16]) -> Result<(), Error> {
        self.change(|state| {
            let ids = ids(&provider().kx_groups, group_id);
            check_offered(groups, &ids, "key-exchange group", names::group_name)?;
            state.groups = groups.to_vec();
            Ok(())
        })
    }

    /// Client: the capacity of the config's own session cache (0 turns resumption off),
    /// replacing a shared cache set before. Server: the capacity of the in-memory session
    /// store (0: none), replacing an application store set before.
    pub fn set_session_cache_size(&self, size: usize) -> Result<(), Error> {
        self.change(|state| {
            sessions::check_capacity(size)?;
            state.cache_size = size;
            state.shared_cache = None;
            state.store = None;
            Ok(())
        })
    }

    /// Client only: keeps sessions in `cache`, which other configs may share.
    pub fn set_session_cache(&self, cache: Arc<SessionCache>) -> Result<(), Error> {
        self.require_role(
            Role::Client,
            "a shared session cache is a client setting; a server keeps sessions in its \
             session store and tickets",
        )?;
        self.change(|state| {
            state.shared_cache = Some(cache);
            Ok(())
        })
    }

    /// Server only: keeps sessions in the application's `store` instead of memory.
    pub fn set_session_store(&self, store: Arc<dyn SessionStore>) -> Result<(), Error> {
        self.require_role(
            Role::Server,
            "a session store is a server setting; a client keeps sessions in its session cache",
        )?;
        self.change(|state| {
            state.store = Some(store);
            Ok(())
        })
    }

    /// Server only: turns tickets on (with the keys made by [`Config::new`], or supplied
    /// before) or off.
    pub fn set_tickets(&self, on: bool) -> Result<(), Error> {
        self.require_role(Role::Server, TICKETS_ARE_SERVER_SIDE)?;
        self.change(|state| {
            if !on {
                state.tickets = None;
            } else if state.tickets.is_none() {
                state.tickets = Some(Arc::new(Tickets::generate()?));
            }
            Ok(())
        })
    }

    /// Server only: seals and opens tickets with the application's keys (see
    /// [`Tickets::from_keys`]); turns tickets on. `what` names the input in details.
    pub fn set_ticket_keys(&self, keys: &[u8], what: &str) -> Result<(), Error> {
        self.require_role(Role::Server, TICKETS_ARE_SERVER_SIDE)?;
        self.change(|state| {
            state.tickets = Some(Arc::new(Tickets::from_keys(keys, what)?));
            Ok(())
        })
    }

    /// Server only: as [`Config::set_ticket_keys`] with the keys in the file at `path`.
    pub fn set_ticket_key_file(&self, path: &str) -> Result<(), Error> {
        self.require_role(Role::Server, TICKETS_ARE_SERVER_SIDE)?;
        self.change(|state| {
            let keys = super::pem::read_file(path)?;
            state.tickets = Some(Arc::new(Tickets::from_keys(&keys, path)?));
            Ok(())
        })
    }

    /// Sends every secret the connections derive to `sink` (NSS key log lines); None stops.
    pub fn set_keylog(&self, sink: Option<Arc<KeyLogSink>>) -> Result<(), Error> {
        self.change(|state| {
            state.keylog = sink;
            Ok(())
        })
    }

    /// Appends secrets to the file named by `SSLKEYLOGFILE` when the variable is set (read
    /// when the first connection is made); `false` stops.
    pub fn set_sslkeylogfile(&self, on: bool) -> Result<(), Error> {
        self.change(|state| {
            state.sslkeylogfile = on;
            Ok(())
        })
    }

    /// Reports every connection's handshake steps to `tracer`; None stops.
    pub fn set_tracer(&self, tracer: Option<Arc<Tracer>>) -> Result<(), Error> {
        self.change(|state| {
            state.tracer = tracer;
            Ok(())
        })
    }

    /// The tracer connections report to, if any.
    pub(crate) fn tracer(&self) -> Option<Arc<Tracer>> {
        lock(&self.state).ok()?.tracer.clone()
    }

    /// Adds a certificate chain and its key from PEM in memory.
    pub fn add_cert_pem(&self, chain: &[u8], key: &[u8]) -> Result<(), Error> {
        self.change(|state| {
            state.certs.push(credentials::load(
                chain,
                "the chain PEM",
                key,
                "the key PEM",
            )?);
            Ok(())
        })
    }

    /// Adds a certificate chain and its key from PEM files.
    pub fn add_cert_pem_file(&self, chain_path: &str, key_path: &str) -> Result<(), Error> {
        self.change(|state| {
            state
                .certs
                .push(credentials::load_files(chain_path, key_path)?);
            Ok(())
        })
    }

    /// The detail of the last failed change or connection attempt, if any.
    pub fn last_error(&self) -> Result<Option<Error>, Error> {
        Ok(lock(&self.state)?.last_error.clone())
    }

    /// `WrongRole` (remembered for `last_error`) unless this config is for `role`.
    fn require_role(&self, role: Role, why: &str) -> Result<(), Error> {
        if self.role == role {
            return Ok(());
        }
        let err = Error::new(ErrorKind::WrongRole, why);
        self.remember(&err);
        Err(err)
    }

    /// Remembers a failure to make a connection from this config, for `last_error`.
    pub(crate) fn remember(&self, err: &Error) {
        if let Ok(mut state) = lock(&self.state) {
            state.last_error = Some(err.clone());
        }
    }

    /// Freezes the config (on first use) and returns the rustls config to connect with.
    pub(crate) fn freeze(&self) -> Result<Built, Error> {
        let mut state = lock(&self.state)?;
        if let Some(built) = &state.built {
            return Ok(built.clone());
        }
        let result = build(self.role, &state);
        match &result {
            Ok(built) => state.built = Some(built.clone()),
            Err(e) => state.last_error = Some(e.clone()),
        }
        result
    }

    /// Applies one setter, refusing once frozen and remembering the failure for
    /// `last_error`: the single place where "config frozen" is decided.
    fn change(&self, apply: impl FnOnce(&mut State) -> Result<(), Error>) -> Result<(), Error> {
        let mut state = lock(&self.state)?;
        let result = if state.built.is_some() {
            Err(Error::new(
                ErrorKind::ConfigFrozen,
                "the config has made connections; it can no longer change (make a new one)",
            ))
        } else {
            apply(&mut state)
        };
        if let Err(e) = &result {
            state.last_error = Some(e.clone());
        }
        result
    }
}

fn build(role: Role, state: &State) -> Result<Built, Error> {
    let versions: Vec<&'static SupportedProtocolVersion> = [
        (TLS1_2, &rustls::version::TLS12),
        (TLS1_3, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (state.min_version..=state.max_version).contains(v))
    .map(|(_, version)| version)
    .collect();
    let internal = |e: rustls::Error| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot build the TLS config: {e}"),
        )
    };
    let certs = (!state.certs.is_empty()).then(|| Arc::new(CertChooser::new(&state.certs)));
    let trace = state.tracer.is_some();
    let provider = config_provider(state)?;
    let anchors = match &state.trust {
        Some(trust) => Some(trust.freeze()?),
        None => None,
    };

    match role {
        Role::Client => {
            let anchors = anchors.unwrap_or_else(|| Anchors {
                roots: RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
                revocation: Revocation::default(),
            });
            let make_verifier = || -> Result<Arc<dyn ServerCertVerifier>, Error> {
                Ok(Arc::new(ServerVerifier::new(
                    anchors,
                    state.verify.clone(),
                )?))
            };
            let make_resolver = || -> Arc<dyn ResolvesClientCert> {
                match certs {
                    Some(certs) => certs,
                    None => Arc::new(NoClientCert),
                }
            };
            // Configs sharing a cache must share these objects to resume each other's
            // sessions (see SessionCache).
            let (verifier, resolver) = match &state.shared_cache {
                Some(cache) => {
                    let key = VerifierKey {
                        trust: state.trust.clone(),
                        check: state.verify.clone(),
                    };
                    (
                        cache.verifier(key, make_verifier)?,
                        cache.resolver(&state.certs, make_resolver),
                    )
                }
                None => (make_verifier()?, make_resolver()),
            };
            let mut config = ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&versions)
                .map_err(internal)?
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_client_cert_resolver(resolver);
            config.alpn_protocols = state.alpn.clone();
            // As for servers below: rustls' default cache goes before ours is made.
            config.resumption = Resumption::disabled();
            config.resumption = match (&state.shared_cache, state.cache_size) {
                (Some(shared), _) => Resumption::store(shared.inner.clone()),
                (None, 0) => Resumption::disabled(),
                (None, size) => Resumption::in_memory_sessions(size),
            };
            config.key_log = key_log(state, trace);
            Ok(Built::Client(Arc::new(config)))
        }
        Role::Server => {
            let certs = certs.ok_or_else(|| {
                Error::new(
                    ErrorKind::NoCertificate,
                    "a server config needs a certificate: call ember_config_add_cert_pem or \
                     ember_config_add_cert_pem_file before making connections",
                )
            })?;
            let builder = ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&versions)
                .map_err(internal)?;
            let mode = state.client_auth.unwrap_or(if anchors.is_some() {
                ClientAuth::Required
            } else {
                ClientAuth::None
            });
            let builder = match (mode, anchors) {
                (ClientAuth::None, _) => builder.with_no_client_auth(),
                (_, None) => {
                    return Err(Error::new(
                        ErrorKind::InvalidArg,
                        format!(
                            "client authentication is {} but the server config has no trust \
                             store to verify client certificates with: call \
                             ember_config_set_trust",
                            if mode == ClientAuth::Required {
                                "required"
                            } else {
                                "optional"
                            }
                        ),
                    ))
                }
                (_, Some(anchors)) => {
                    let optional = mode == ClientAuth::Optional;
                    builder.with_client_cert_verifier(Arc::new(ClientVerifier::new(
                        anchors, optional,
                    )?))
                }
            };
            let mut config = builder.with_cert_resolver(certs);
            config.alpn_protocols = state.alpn.clone();
            // The builder made rustls' default cache (about 30 KB). Free it before making
            // ours, so ours takes its place in the heap instead of leaving a hole there:
            // glibc serves blocks above 1032 bytes from such holes before the top of the
            // heap, and then split and re-merged one for every record's buffer rustls
            // allocates (about 200 instructions per 1 KiB record, `bench/instructions`).
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.session_storage = match (&state.store, state.cache_size) {
                (Some(store), _) => Arc::new(Store(store.clone())),
                (None, 0) => Arc::new(NoServerSessionStorage {}),
                (None, size) => ServerSessionMemoryCache::new(size),
            };
            // Without a ticketer of ours, rustls' default never issues tickets.
            if let Some(tickets) = &state.tickets {
                config.ticketer = tickets.clone();
            }
            config.key_log = key_log(state, trace);
            Ok(Built::Server(Arc::new(config)))
        }
    }
}

/// `InvalidArg` unless every id of `wanted` is one of `offered` (each once).
fn check_offered(
    wanted: &[u16],
    offered: &[u16],
    what: &str,
    name: fn(u16) -> Option<&'static std::ffi::CStr>,
) -> Result<(), Error> {
    let label = |id: u16| match name(id).and_then(|n| n.to_str().ok()) {
        Some(n) => format!("0x{id:04x} ({n})"),
        None => format!("0x{id:04x}"),
    };
    for (i, id) in wanted.iter().enumerate() {
        if !offered.contains(id) {
            let choices: Vec<String> = offered.iter().map(|o| label(*o)).collect();
            return Err(Error::new(
                ErrorKind::InvalidArg,
                format!(
                    "{} is not a {what} embertls offers; it offers {}",
                    label(*id),
                    choices.join(", ")
                ),
            ));
        }
        if wanted[..i].contains(id) {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                format!("{} is listed twice", label(*id)),
            ));
        }
    }
    Ok(())
}

/// The crypto provider a config's connections use: the engine's, with its suites and groups
/// limited (and ordered) as the config says. `InvalidArg` when no chosen suite exists for
/// the chosen versions.
fn config_provider(state: &State) -> Result<Arc<CryptoProvider>, Error> {
    if state.suites.is_empty() && state.groups.is_empty() {
        return Ok(provider());
    }
    let mut custom = (*provider()).clone();
    if !state.suites.is_empty() {
        custom.cipher_suites = chosen(&state.suites, &custom.cipher_suites, suite_id);
        let usable = custom.cipher_suites.iter().any(|s| {
            let v = u16::from(s.version().version);
            (state.min_version..=state.max_version).contains(&v)
        });
        if !usable {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                "none of the cipher suites set with ember_config_set_cipher_suites belongs to \
                 a TLS version this config allows (TLS 1.3 and TLS 1.2 suites are distinct)",
            ));
        }
    }
    if !state.groups.is_empty() {
        custom.kx_groups = chosen(&state.groups, &custom.kx_groups, group_id);
    }
    Ok(Arc::new(custom))
}

fn suite_id(suite: &SupportedCipherSuite) -> u16 {
    u16::from(suite.suite())
}

fn group_id(group: &&'static dyn SupportedKxGroup) -> u16 {
    u16::from(group.name())
}

/// The IANA ids of `items`.
fn ids<T>(items: &[T], id: fn(&T) -> u16) -> Vec<u16> {
    items.iter().map(id).collect()
}

/// The items of `available` that `wanted` names, in `wanted`'s order.
fn chosen<T: Copy>(wanted: &[u16], available: &[T], id: fn(&T) -> u16) -> Vec<T> {
    wanted
        .iter()
        .filter_map(|w| available.iter().find(|item| id(item) == *w).copied())
        .collect()
}

/// Where the secrets of a config's connections go: nowhere unless someone listens.
fn key_log(state: &State, trace: bool) -> Arc<dyn KeyLog> {
    if state.keylog.is_none() && !state.sslkeylogfile && !trace {
        return Arc::new(NoKeyLog {});
    }
    Arc::new(Secrets {
        sink: state.keylog.clone(),
        file: state.sslkeylogfile.then(KeyLogFile::new),
    })
}
