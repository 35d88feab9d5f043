//! What connections are made from: role, versions, certificates, trust.
//!
//! A config changes freely until the first connection is made from it. That connection
//! freezes it: the rustls config is built once, and from then on every connection shares
//! it and every setter fails with `ConfigFrozen`. Frozen, a config is read-only and may be
//! shared by any number of threads.

use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig, SignatureScheme, SupportedProtocolVersion,
};

use super::error::{Error, ErrorKind};
use super::revocation::Revocation;
use super::trust::{Anchors, Trust};
use super::verify::{Check, ClientVerifier, ServerVerifier};
use super::{credentials, lock, provider};

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
                client_auth: None,
                verify: None,
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
    let first_cert = state.certs.first().cloned();
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
            let verifier = ServerVerifier::new(anchors, state.verify.clone())?;
            let builder = ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(&versions)
                .map_err(internal)?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier));
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
