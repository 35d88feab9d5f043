//! What connections are made from: role, versions, certificates, trust.
//!
//! A config changes freely until the first connection is made from it. That connection
//! freezes it: the rustls config is built once, and from then on every connection shares
//! it and every setter fails with `ConfigFrozen`. Frozen, a config is read-only and may be
//! shared by any number of threads.

use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SignatureScheme, SupportedProtocolVersion,
};

use super::error::{Error, ErrorKind};
use super::trust::Trust;
use super::{credentials, lock, provider};

/// Which end of the connection a config makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends the ClientHello and verifies the server's certificate.
    Client,
    /// Answers ClientHellos and presents a certificate.
    Server,
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
    built: Option<Built>,
    last_error: Option<Error>,
}

/// The rustls config a frozen [`Config`] makes its connections from.
#[derive(Clone)]
pub(crate) enum Built {
    Client(Arc<ClientConfig>),
    Server(Arc<ServerConfig>),
}

impl Config {
    /// A config for `role` allowing TLS 1.2 and 1.3, trusting the built-in Mozilla roots.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            state: Mutex::new(State {
                min_version: TLS1_2,
                max_version: TLS1_3,
                certs: Vec::new(),
                trust: None,
                built: None,
                last_error: None,
            }),
        }
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
    /// the built-in Mozilla roots), client certificates on a server (which then requires one).
    pub fn set_trust(&self, trust: Arc<Trust>) -> Result<(), Error> {
        self.change(|state| {
            state.trust = Some(trust);
            Ok(())
        })
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
    let first_cert = state.certs.first().cloned();
    let roots = match &state.trust {
        Some(trust) => Some(trust.freeze()?),
        None => None,
    };

    match role {
        Role::Client => {
            let roots = roots.unwrap_or_else(|| RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
            let builder = ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(&versions)
                .map_err(internal)?
                .with_root_certificates(roots);
            let config = match first_cert {
                Some(cert) => builder.with_client_cert_resolver(Arc::new(OneCert(cert))),
                None => builder.with_no_client_auth(),
            };
            Ok(Built::Client(Arc::new(config)))
        }
        Role::Server => {
            let cert = first_cert.ok_or_else(|| {
                Error::new(
                    ErrorKind::NoCertificate,
                    "a server config needs a certificate: call ember_config_add_cert_pem or \
                     ember_config_add_cert_pem_file before making connections",
                )
            })?;
            let builder = ServerConfig::builder_with_provider(provider())
                .with_protocol_versions(&versions)
                .map_err(internal)?;
            let builder = match roots {
                Some(roots) => {
                    let verifier =
                        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                            .build()
                            .map_err(|e| {
                                Error::new(
                            ErrorKind::InvalidArg,
                            format!("cannot verify client certificates with this trust store: {e}"),
                        )
                            })?;
                    builder.with_client_cert_verifier(verifier)
                }
                None => builder.with_no_client_auth(),
            };
            Ok(Built::Server(Arc::new(
                builder.with_cert_resolver(Arc::new(OneCert(cert))),
            )))
        }
    }
}

/// Presents the config's first certificate, whatever the peer asked for.
#[derive(Debug)]
struct OneCert(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCert {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        super::hello::record(&hello);
        Some(self.0.clone())
    }
}

impl ResolvesClientCert for OneCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
