//! Where sessions are kept for resumption: a client's cache, a server's store.
//!
//! A client keeps the sessions servers gave it in a [`SessionCache`], one per config by
//! default; configs that share one resume each other's sessions. rustls 0.23 cannot turn a
//! client session into bytes, so a client session never outlives its process.
//!
//! A server resumes from tickets (see [`super::tickets`]) and, for clients that resume by
//! session id or when tickets are off, from a session store: an in-memory cache, or the
//! application's [`SessionStore`] (memcached, Redis, a shared-memory table) behind
//! callbacks.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::{ClientSessionMemoryCache, ResolvesClientCert};
use rustls::server::StoresServerSessions;
use rustls::sign::CertifiedKey;

use super::error::{Error, ErrorKind};
use super::trust::Trust;
use super::verify::Check;

/// How many sessions a cache keeps when the application does not say.
pub(crate) const DEFAULT_CAPACITY: usize = 256;

/// The largest in-memory cache (client: servers, server: sessions) a config or a
/// [`SessionCache`] accepts. rustls allocates its caches' tables for their full capacity up
/// front, so a larger value (SIZE_MAX, say) made it panic or abort on the allocation.
const MAX_CAPACITY: usize = 1 << 20;

/// `InvalidArg` for a cache capacity above [`MAX_CAPACITY`].
pub(crate) fn check_capacity(capacity: usize) -> Result<(), Error> {
    if capacity <= MAX_CAPACITY {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArg,
        format!("a session cache holds at most {MAX_CAPACITY} entries (asked for {capacity})"),
    ))
}

/// rustls keeps up to 8 TLS 1.3 tickets per server, and sizes its client cache in tickets:
/// `ClientSessionMemoryCache::new(n)` remembers `n / 8` servers, rounded up (its
/// documented rule).
const TICKETS_PER_SERVER: usize = 8;

/// A client session cache that several configs can share.
///
/// rustls resumes a session only through the very verifier and client-certificate resolver
/// objects of the config that stored it, so that a session verified under one trust policy
/// is never resumed under another. Configs sharing a cache that verify alike (the same
/// trust store, the same verification callback) and present the same certificates get
/// those objects from the cache, made once; configs that differ get their own and do not
/// resume each other's sessions. Tracing makes no difference.
pub struct SessionCache {
    pub(crate) inner: Arc<ClientSessionMemoryCache>,
    verifiers: Mutex<Vec<(VerifierKey, Arc<dyn ServerCertVerifier>)>>,
    resolvers: Mutex<Vec<SharedResolver>>,
}

/// A client-certificate resolver and the certificates it presents.
type SharedResolver = (Vec<Arc<CertifiedKey>>, Arc<dyn ResolvesClientCert>);

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache").finish_non_exhaustive()
    }
}

/// What makes two configs verify alike. The key holds its objects, so that none can be
/// freed and another take its address.
#[derive(Clone)]
pub(crate) struct VerifierKey {
    pub(crate) trust: Option<Arc<Trust>>,
    pub(crate) check: Option<Arc<Check>>,
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        fn same<T: ?Sized>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        same(&self.trust, &other.trust) && same(&self.check, &other.check)
    }
}

impl SessionCache {
    /// A cache for the sessions of up to `capacity` servers (when one more comes, the
    /// server remembered first is forgotten). `InvalidArg` for 0: a config without
    /// resumption sets its cache size to 0 instead.
    pub fn new(capacity: usize) -> Result<Self, Error> {
        if capacity == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                "a session cache needs room for at least one session; to turn client \
                 resumption off, set the config's session cache size to 0",
            ));
        }
        check_capacity(capacity)?;
        Ok(Self {
            inner: Arc::new(ClientSessionMemoryCache::new(
                capacity.saturating_mul(TICKETS_PER_SERVER),
            )),
            verifiers: Mutex::default(),
            resolvers: Mutex::default(),
        })
    }

    /// The verifier for configs that verify as `key` says, made by `make` the first time.
    pub(crate) fn verifier(
        &self,
        key: VerifierKey,
        make: impl FnOnce() -> Result<Arc<dyn ServerCertVerifier>, Error>,
    ) -> Result<Arc<dyn ServerCertVerifier>, Error> {
        let mut verifiers = self.verifiers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, verifier)) = verifiers.iter().find(|(k, _)| *k == key) {
            return Ok(verifier.clone());
        }
        let verifier = make()?;
        verifiers.push((key, verifier.clone()));
        Ok(verifier)
    }

    /// The client-certificate resolver for configs presenting `certs`, made by `make` the
    /// first time.
    pub(crate) fn resolver(
        &self,
        certs: &[Arc<CertifiedKey>],
        make: impl FnOnce() -> Arc<dyn ResolvesClientCert>,
    ) -> Arc<dyn ResolvesClientCert> {
        let mut resolvers = self.resolvers.lock().unwrap_or_else(|p| p.into_inner());
        // The same chains (each key was checked against its chain when loaded), even if
        // each config loaded them from the file itself.
        let same = |held: &[Arc<CertifiedKey>]| {
            held.len() == certs.len() && held.iter().zip(certs).all(|(a, b)| a.cert == b.cert)
        };
        if let Some((_, resolver)) = resolvers.iter().find(|(held, _)| same(held)) {
            return resolver.clone();
        }
        let resolver = make();
        resolvers.push((certs.to_vec(), resolver.clone()));
        resolver
    }
}

/// The application's server-side session store. Keys and values are opaque bytes (a
/// session id and the encoded session state, a few hundred bytes); every method may be
/// called from any thread driving a connection.
pub trait SessionStore: Send + Sync {
    /// Stores `value` under `key`, replacing any value there; false if it was not stored.
    fn put(&self, key: &[u8], value: &[u8]) -> bool;
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Removes the value under `key`; false if there was none or it could not be removed.
    fn remove(&self, key: &[u8]) -> bool;
}

/// The longest key the application's store is given (the header promises 32 bytes: session
/// ids and rustls' ticket ids). rustls also looks up a TLS 1.3 client's PSK identity as a key,
/// and the client chooses that, up to 2^16 - 1 bytes: a longer key is no session of ours.
const MAX_KEY_LEN: usize = 32;

/// The application's store as rustls sees it.
pub(crate) struct Store(pub(crate) Arc<dyn SessionStore>);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store(application)")
    }
}

impl StoresServerSessions for Store {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        key.len() <= MAX_KEY_LEN && self.0.put(&key, &value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if key.len() > MAX_KEY_LEN {
            return None;
        }
        self.0.get(key)
    }

    /// A TLS 1.3 session is used once: only a session this call removed may resume, so two
    /// servers racing for one session cannot both accept it.
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.get(key)?;
        self.0.remove(key).then_some(value)
    }

    fn can_cache(&self) -> bool {
        true
    }
}
