//! Session resumption: `ember_session_cache` (client), tickets and the session store
//! (server), and the config setters that choose them.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use super::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, code, free_handle, guard, guard_result, into_handle,
    Userdata,
};
use super::config::ember_config;
use super::error::ember_result;
use crate::engine::sessions::{SessionCache, SessionStore};

/// A client session cache that several configs can share (opaque). Made by
/// ember_session_cache_new(), freed by ember_session_cache_free().
pub struct ember_session_cache {
    inner: Arc<SessionCache>,
}

/// ember_session_cache_new makes a client session cache for the sessions of up to
/// `capacity` servers (when one more comes, the server remembered first is forgotten) and
/// writes it to `*out`. Give it to client configs
/// with ember_config_set_session_cache(): connections made from any of them resume sessions
/// that any of them obtained, provided they verify servers alike: the same ember_trust
/// object (or both the built-in roots), the same verification callback, and the same client
/// certificates, if any. rustls never resumes a session under a different trust policy.
///
/// Sessions live in memory only and never outlive the process: rustls, the engine, cannot
/// turn a client session into bytes, so there is no way to save one to disk.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `capacity` is 0 or above 1048576 (2^20);
/// EMBER_ERR_NULL_ARG when `out` is NULL.
///
/// Ownership: the caller owns `*out` and frees it with ember_session_cache_free(); configs
/// keep their own reference. Threads: a cache may be used by any number of threads.
#[no_mangle]
pub extern "C" fn ember_session_cache_new(
    capacity: usize,
    out: *mut *mut ember_session_cache,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `out` is NULL or writable, per the header.
        let out = unsafe { arg_mut(out)? };
        let cache = SessionCache::new(capacity).map_err(code)?;
        *out = into_handle(ember_session_cache {
            inner: Arc::new(cache),
        });
        Ok(())
    })
}

/// ember_session_cache_free releases the caller's reference to `cache`; configs that use it
/// keep theirs. Passing NULL is a harmless no-op.
///
/// Threads: call it once no other thread is using this handle.
#[no_mangle]
pub extern "C" fn ember_session_cache_free(cache: *mut ember_session_cache) {
    // SAFETY: `cache` is NULL or a handle from ember_session_cache_new not yet freed.
    guard(|| unsafe { free_handle(cache) })
}

/// ember_config_set_session_cache makes the client config `cfg` keep its sessions in
/// `cache`, shared with every other config given the same cache, instead of its own.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a server config (a server resumes from tickets
/// and its session store); EMBER_ERR_CONFIG_FROZEN once connections were made;
/// EMBER_ERR_NULL_ARG when `cfg` or `cache` is NULL.
///
/// Ownership: the config keeps its own reference to `cache`. Threads: one thread at a time
/// until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_session_cache(
    cfg: *mut ember_config,
    cache: *const ember_session_cache,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` and `cache` are NULL or live handles, per the header.
        let (cfg, cache) = unsafe { (arg_ref(cfg)?, arg_ref(cache)?) };
        cfg.inner
            .set_session_cache(cache.inner.clone())
            .map_err(code)
    })
}

/// ember_config_set_session_cache_size sets how many sessions the config keeps in memory.
/// On a client: the capacity of the config's own cache (256 by default); 0 turns client
/// resumption off; this replaces a cache set with ember_config_set_session_cache(). On a
/// server: the capacity of the in-memory session store that resumes clients by session id
/// (TLS 1.2) and, with tickets off, by stateful TLS 1.3 tickets (256 by default); 0 keeps no
/// sessions; this replaces a store set with ember_config_set_session_store(). Tickets are
/// separate: see ember_config_set_tickets().
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `size` is above 1048576 (2^20; the cache's
/// table is allocated for its full size up front); EMBER_ERR_CONFIG_FROZEN once connections
/// were made; EMBER_ERR_NULL_ARG when `cfg` is NULL.
///
/// Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_session_cache_size(
    cfg: *mut ember_config,
    size: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        cfg.inner.set_session_cache_size(size).map_err(code)
    })
}

/// ember_config_set_tickets turns session tickets on (`enable` non-zero, the default) or off
/// for the server config `cfg`. With tickets, a server resumes sessions without keeping any
/// state: the session travels, encrypted, in the ticket the client keeps.
///
/// The ticket keys are drawn in ember_config_new() and rotate every 12 hours (a ticket is
/// accepted for 12 to 24 hours) by derivation from that draw, so every worker process forked
/// after ember_config_new() agrees on them without talking to the others. Servers on other
/// machines need keys of the application's: ember_config_set_ticket_keys(). Turning tickets
/// off and on again draws new keys.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
/// connections were made; EMBER_ERR_INTERNAL if the system's random number generator fails;
/// EMBER_ERR_NULL_ARG when `cfg` is NULL.
///
/// Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_tickets(cfg: *mut ember_config, enable: c_int) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        cfg.inner.set_tickets(enable != 0).map_err(code)
    })
}

/// ember_config_set_ticket_keys makes the server config `cfg` seal and open session tickets
/// with the application's keys, so that servers given the same keys (a fleet behind a load
/// balancer) resume each other's sessions, and turns tickets on. `keys` holds one or more
/// keys of EMBER_TICKET_KEY_LEN (80) bytes each, as nginx's ssl_session_ticket_key files do
/// (`openssl rand 80`): 16 bytes of key name, 64 of secret. The first key seals new
/// tickets; every key opens the tickets it sealed. To rotate, make a new config with the new
/// key first and the previous ones after it. Keep the keys secret: they decrypt every
/// session resumed with them.
///
/// The tickets are embertls' own (AES-256-GCM, keys derived from the secret with HKDF), not
/// nginx's: the file format is shared, the tickets are not.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `len` is 0 or not a multiple of 80 (nothing
/// changes then); EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
/// connections were made; EMBER_ERR_NULL_ARG when `cfg` is NULL, or `keys` is NULL with
/// `len` > 0.
///
/// Ownership: the bytes are copied. Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_ticket_keys(
    cfg: *mut ember_config,
    keys: *const u8,
    len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `keys` holds `len` bytes, per the header.
        let (cfg, keys) = unsafe { (arg_ref(cfg)?, arg_bytes(keys, len)?) };
        cfg.inner
            .set_ticket_keys(keys, "the ticket keys")
            .map_err(code)
    })
}

/// ember_config_set_ticket_key_file is ember_config_set_ticket_keys() with the keys read
/// from the file at `path` (a NUL-terminated UTF-8 path).
///
/// Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read; otherwise as
/// ember_config_set_ticket_keys().
///
/// Threads: one thread at a time until the config is frozen.
#[no_mangle]
pub extern "C" fn ember_config_set_ticket_key_file(
    cfg: *mut ember_config,
    path: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `path` NULL or a C string, per the header.
        let (cfg, path) = unsafe { (arg_ref(cfg)?, arg_str(path)?) };
        cfg.inner.set_ticket_key_file(path).map_err(code)
    })
}

/// The length of one session ticket key (ember_config_set_ticket_keys()).
pub const EMBER_TICKET_KEY_LEN: usize = 80;

// cbindgen writes the value above into the header; the engine checks with its own.
const _: () = assert!(EMBER_TICKET_KEY_LEN == crate::engine::tickets::KEY_LEN);

/// The largest session value a store is asked to keep (ember_session_get_cb's buffer).
pub const EMBER_SESSION_VALUE_MAX: usize = 16384;

/// Session store callback: keep `value` (`value_len` bytes) under `key` (`key_len` bytes),
/// replacing what is there. Return 0 when stored, non-zero otherwise (the session is then
/// simply not resumable). Both pointers are valid only during the call.
pub type ember_session_put_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
    ) -> c_int,
>;

/// Session store callback: copy the value stored under `key` into `buf` (room for `buf_len`
/// bytes, EMBER_SESSION_VALUE_MAX) and its length into `*out_len`. Return 0 when found,
/// non-zero when there is none (or it does not fit).
pub type ember_session_get_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key: *const u8,
        key_len: usize,
        buf: *mut u8,
        buf_len: usize,
        out_len: *mut usize,
    ) -> c_int,
>;

/// Session store callback: remove the value stored under `key`. Return 0 when a value was
/// removed, non-zero when there was none.
pub type ember_session_remove_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, key: *const u8, key_len: usize) -> c_int>;

type PutFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *const u8, usize) -> c_int;
type GetFn =
    unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize, *mut usize) -> c_int;
type RemoveFn = unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int;

/// The application's three callbacks as the engine's store.
struct CallbackStore {
    put: PutFn,
    get: GetFn,
    remove: RemoveFn,
    userdata: Userdata,
}

impl SessionStore for CallbackStore {
    fn put(&self, key: &[u8], value: &[u8]) -> bool {
        if value.len() > EMBER_SESSION_VALUE_MAX {
            return false;
        }
        // SAFETY: the callback was given for this signature; both slices are valid during
        // the call.
        let rc = unsafe {
            (self.put)(
                self.userdata.ptr(),
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
            )
        };
        rc == 0
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; EMBER_SESSION_VALUE_MAX];
        let mut len = 0usize;
        // SAFETY: the callback was given for this signature; `key`, `buf` (with its length)
        // and `len` are valid during the call.
        let rc = unsafe {
            (self.get)(
                self.userdata.ptr(),
                key.as_ptr(),
                key.len(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
            )
        };
        // A length past the buffer is a broken callback: treat it as "not found".
        if rc != 0 || len > buf.len() {
            return None;
        }
        buf.truncate(len);
        Some(buf)
    }

    fn remove(&self, key: &[u8]) -> bool {
        // SAFETY: the callback was given for this signature; `key` is valid during the call.
        unsafe { (self.remove)(self.userdata.ptr(), key.as_ptr(), key.len()) == 0 }
    }
}

/// ember_config_set_session_store makes the server config `cfg` keep sessions in the
/// application's store (memcached, Redis, a table shared by worker processes) through three
/// callbacks, instead of its in-memory cache, so that servers sharing the store resume each
/// other's sessions by session id (TLS 1.2) or stateful ticket (TLS 1.3 with tickets off).
/// Keys are up to 32 bytes and values a few hundred bytes, at most EMBER_SESSION_VALUE_MAX;
/// both are opaque and values must be kept exactly. A TLS 1.3 session is used once: embertls
/// gets it, then removes it, and resumes only if the removal succeeded (so two servers can
/// never both accept one session). Keep values secret: they hold session keys.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
/// connections were made; EMBER_ERR_NULL_ARG when `cfg` or any callback is NULL.
/// ember_config_set_session_cache_size() replaces the store with an in-memory cache again.
///
/// Ownership: `userdata` is passed to the callbacks unchanged and never freed; it must stay
/// valid as long as connections made from `cfg` live. Threads: the callbacks run on the
/// threads that drive connections, concurrently: they and `userdata` must be safe for that.
#[no_mangle]
pub extern "C" fn ember_config_set_session_store(
    cfg: *mut ember_config,
    put: ember_session_put_cb,
    get: ember_session_get_cb,
    remove: ember_session_remove_cb,
    userdata: *mut c_void,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, per the header.
        let cfg = unsafe { arg_ref(cfg)? };
        let (Some(put), Some(get), Some(remove)) = (put, get, remove) else {
            return Err(ember_result::EMBER_ERR_NULL_ARG);
        };
        let store = CallbackStore {
            put,
            get,
            remove,
            userdata: Userdata(userdata),
        };
        cfg.inner.set_session_store(Arc::new(store)).map_err(code)
    })
}
