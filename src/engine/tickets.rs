//! Session tickets a server can decrypt in any process that shares its keys.
//!
//! rustls' own ticketer makes its key when the first ticket is needed and refuses tickets
//! longer than any it encrypted itself in that process, so two workers forked from one
//! config could never resume each other's sessions. This ticketer is made with the config
//! and holds no per-process state that decides anything:
//!
//! - By default its keys derive from a random master secret drawn in `ember_config_new`:
//!   time is cut into periods of [`PERIOD_SECS`]; the key of a period is
//!   HKDF-SHA256(master, period number). Tickets are sealed with the current period's key
//!   and opened with the current or the previous one, so keys rotate without any process
//!   talking to another, and every worker forked after the config was made agrees on them.
//! - An application can supply its own keys, for a fleet: 80-byte keys as nginx's
//!   `ssl_session_ticket_key` files hold them (`openssl rand 80`): 16 bytes of key name,
//!   64 of secret. The first key seals, every key opens; rotating means making a new config
//!   with the new key first and the old ones after it.
//!
//! A ticket is `key name (16) || nonce (12) || AES-256-GCM(state)`, the key name as
//! associated data.

use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;

use super::error::{Error, ErrorKind};

/// How long one derived key seals tickets; a ticket stays usable for one to two periods.
pub(crate) const PERIOD_SECS: u64 = 12 * 60 * 60;
/// The length of one supplied key.
pub(crate) const KEY_LEN: usize = 80;
const NAME_LEN: usize = 16;

/// One ticket key: the name tickets carry, and the AEAD key.
struct TicketKey {
    name: [u8; NAME_LEN],
    aead: LessSafeKey,
}

impl TicketKey {
    /// Derives a key named `name` from `secret`.
    fn derive(name: [u8; NAME_LEN], secret: &[u8]) -> Self {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"embertls ticket key").extract(secret);
        let mut key = [0u8; 32];
        prk.expand(&[b"aes-256-gcm"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut key))
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self {
            name,
            aead: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &key).expect("AES-256 takes 32-byte keys"),
            ),
        }
    }

    fn seal(&self, plain: &[u8], rng: &SystemRandom) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce).ok()?;
        let mut body = plain.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.name),
                &mut body,
            )
            .ok()?;
        Some([&self.name[..], &nonce, &body].concat())
    }

    fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        let nonce = ticket.get(NAME_LEN..NAME_LEN + NONCE_LEN)?;
        let mut body = ticket.get(NAME_LEN + NONCE_LEN..)?.to_vec();
        let plain = self
            .aead
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).ok()?,
                Aad::from(&self.name),
                &mut body,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

/// A period's number, its key (sealing) and the previous period's (opening only).
type PeriodKeys = (u64, [TicketKey; 2]);

enum Keys {
    /// Keys per period, derived from the master secret; the last pair derived is kept.
    Derived {
        master: [u8; 32],
        cache: Mutex<Option<Box<PeriodKeys>>>,
    },
    /// The application's keys: the first seals, all open.
    Supplied(Vec<TicketKey>),
}

/// A server config's ticketer.
pub struct Tickets {
    keys: Keys,
    rng: SystemRandom,
}

impl fmt::Debug for Tickets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.keys {
            Keys::Derived { .. } => "derived",
            Keys::Supplied(_) => "supplied",
        };
        f.debug_struct("Tickets").field("keys", &kind).finish()
    }
}

impl Tickets {
    /// A ticketer with a fresh random master secret.
    pub fn generate() -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let mut master = [0u8; 32];
        rng.fill(&mut master).map_err(|_| {
            Error::new(
                ErrorKind::Internal,
                "the system's random number generator failed",
            )
        })?;
        Ok(Self {
            keys: Keys::Derived {
                master,
                cache: Mutex::new(None),
            },
            rng,
        })
    }

    /// A ticketer with the application's keys: `bytes` holds one or more [`KEY_LEN`]-byte
    /// keys, current first. `InvalidArg` for any other length. `what` names the input.
    pub fn from_keys(bytes: &[u8], what: &str) -> Result<Self, Error> {
        if bytes.is_empty() || bytes.len() % KEY_LEN != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArg,
                format!(
                    "{what} holds {} bytes; ticket keys are {KEY_LEN} bytes each (16 of name, \
                     64 of secret, e.g. from `openssl rand {KEY_LEN}`), current key first",
                    bytes.len()
                ),
            ));
        }
        let keys = bytes
            .chunks_exact(KEY_LEN)
            .map(|key| {
                let mut name = [0u8; NAME_LEN];
                name.copy_from_slice(&key[..NAME_LEN]);
                TicketKey::derive(name, &key[NAME_LEN..])
            })
            .collect();
        Ok(Self {
            keys: Keys::Supplied(keys),
            rng: SystemRandom::new(),
        })
    }

    /// Runs `use_keys` with the sealing key first, then the other keys that open tickets.
    fn with_keys<T>(&self, use_keys: impl FnOnce(&[TicketKey]) -> T) -> T {
        match &self.keys {
            Keys::Supplied(keys) => use_keys(keys),
            Keys::Derived { master, cache } => {
                let period = unix_secs() / PERIOD_SECS;
                let mut cache = cache
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if cache.as_ref().map(|entry| entry.0) != Some(period) {
                    let derive = |p: u64| {
                        let mut secret = master.to_vec();
                        secret.extend_from_slice(&p.to_be_bytes());
                        let mut name = [0u8; NAME_LEN];
                        name[..8].copy_from_slice(b"embertls");
                        name[8..].copy_from_slice(&p.to_be_bytes());
                        TicketKey::derive(name, &secret)
                    };
                    *cache = Some(Box::new((
                        period,
                        [derive(period), derive(period.saturating_sub(1))],
                    )));
                }
                let entry = cache.as_ref().expect("filled just above");
                use_keys(&entry.1)
            }
        }
    }
}

impl ProducesTickets for Tickets {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        match self.keys {
            Keys::Derived { .. } => PERIOD_SECS as u32,
            // The application rotates its keys; a day is the usual ticket lifetime hint.
            Keys::Supplied(_) => 24 * 60 * 60,
        }
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.with_keys(|keys| keys.first()?.seal(plain, &self.rng))
    }

    fn decrypt(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        let name = ticket.get(..NAME_LEN)?;
        self.with_keys(|keys| {
            keys.iter()
                .find(|key| key.name == name)
                .and_then(|key| key.open(ticket))
        })
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_with_the_keys_that_sealed_it_only() {
        let keys: Vec<u8> = (0..2 * KEY_LEN).map(|i| i as u8).collect();
        let both = Tickets::from_keys(&keys, "keys").unwrap();
        let first_only = Tickets::from_keys(&keys[..KEY_LEN], "keys").unwrap();
        let second_first =
            Tickets::from_keys(&[&keys[KEY_LEN..], &keys[..KEY_LEN]].concat(), "keys").unwrap();
        let ticket = both.encrypt(b"session state").unwrap();
        assert_eq!(first_only.decrypt(&ticket).unwrap(), b"session state");
        // A fleet that rotated keeps opening tickets sealed with the old key.
        assert_eq!(second_first.decrypt(&ticket).unwrap(), b"session state");
        let newer = second_first.encrypt(b"x").unwrap();
        assert!(first_only.decrypt(&newer).is_none());

        let mut altered = ticket.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(both.decrypt(&altered).is_none());
        assert!(both.decrypt(&ticket[..20]).is_none());
        assert!(Tickets::from_keys(&keys[..79], "keys").is_err());
    }

    #[test]
    fn derived_keys_are_shared_by_copies_and_differ_between_masters() {
        let one = Tickets::generate().unwrap();
        let other = Tickets::generate().unwrap();
        let ticket = one.encrypt(b"state").unwrap();
        assert_eq!(one.decrypt(&ticket).unwrap(), b"state");
        assert!(other.decrypt(&ticket).is_none());
    }
}
