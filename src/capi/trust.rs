//! `ember_trust`: a store of trusted root certificates.

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::{
    arg_bytes, arg_mut, arg_ref, arg_str, code, copy_text, free_handle, guard, guard_result,
    into_handle,
};
use super::error::ember_result;
use crate::engine::revocation;
use crate::engine::Trust;

/// ember_trust_set_revocation flag: check only the peer's own certificate against the CRLs,
/// not the intermediate CA certificates above it.
pub const EMBER_REVOCATION_END_ENTITY_ONLY: u32 = 1;
/// ember_trust_set_revocation flag: a certificate whose issuer has no CRL in the store
/// passes, instead of failing with EMBER_ERR_CERT_REVOCATION_UNKNOWN.
pub const EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS: u32 = 2;
/// ember_trust_set_revocation flag: a CRL whose nextUpdate time has passed is still used,
/// instead of failing with EMBER_ERR_CERT_REVOCATION_UNKNOWN.
pub const EMBER_REVOCATION_ALLOW_EXPIRED_CRL: u32 = 4;

// cbindgen writes the values above into the header; the engine decides with its own.
const _: () = assert!(
    EMBER_REVOCATION_END_ENTITY_ONLY == revocation::END_ENTITY_ONLY
        && EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS == revocation::ALLOW_UNKNOWN_STATUS
        && EMBER_REVOCATION_ALLOW_EXPIRED_CRL == revocation::ALLOW_EXPIRED_CRL
);

/// A set of trusted root certificates (opaque). Made by ember_trust_new(), freed by
/// ember_trust_free().
pub struct ember_trust {
    pub(crate) inner: Arc<Trust>,
}

/// ember_trust_new makes an empty trust store and writes it to `*out`. An empty store
/// trusts nothing; add roots with ember_trust_add_pem(), ember_trust_add_pem_file(),
/// ember_trust_add_der(), ember_trust_add_pem_dir(), ember_trust_add_system() or
/// ember_trust_add_builtin(), then give it to a config with ember_config_set_trust().
///
/// A store keeps each root once: adding a root it already holds (the same subject, key and
/// name constraints, e.g. the same certificate from another file) changes nothing and is
/// counted neither added nor skipped.
///
/// Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `out` is NULL.
///
/// Ownership: the caller owns `*out` and frees it with ember_trust_free(). Threads: a store
/// may change until a connection is made from a config that uses it; from then on it is
/// frozen and may be shared by any number of threads.
#[no_mangle]
pub extern "C" fn ember_trust_new(out: *mut *mut ember_trust) -> ember_result {
    guard_result(|| {
        // SAFETY: `out` is NULL or a writable pointer, per the header.
        let out = unsafe { arg_mut(out)? };
        *out = into_handle(ember_trust {
            inner: Arc::new(Trust::new()),
        });
        Ok(())
    })
}

/// ember_trust_free releases the caller's reference to `trust`. Configs that were given the
/// store keep their own reference, so it may be freed right after ember_config_set_trust().
/// Passing NULL is a harmless no-op.
///
/// Threads: call it once no other thread is using this handle.
#[no_mangle]
pub extern "C" fn ember_trust_free(trust: *mut ember_trust) {
    // SAFETY: `trust` is NULL or came from ember_trust_new, per the header.
    guard(|| unsafe { free_handle(trust) })
}

/// ember_trust_add_pem adds every CERTIFICATE block in the `len` bytes at `pem` as a
/// trusted root. The input is copied; the caller keeps ownership of `pem`. A root the store
/// already holds is kept once (ember_trust_count() tells how many it holds).
///
/// All or nothing: returns EMBER_OK when every certificate was added; EMBER_ERR_BAD_PEM
/// when the input is empty, is not PEM, has no CERTIFICATE block, or holds a certificate
/// that cannot be parsed (nothing is added then); EMBER_ERR_CONFIG_FROZEN once a connection
/// uses the store; EMBER_ERR_NULL_ARG when `trust` is NULL, or `pem` is NULL with `len` > 0.
/// ember_trust_last_error() explains a failure.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_pem(
    trust: *mut ember_trust,
    pem: *const u8,
    len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `pem` holds `len` bytes, per the header.
        let (trust, pem) = unsafe { (arg_ref(trust)?, arg_bytes(pem, len)?) };
        trust
            .inner
            .add_pem(pem, "the PEM input")
            .map(drop)
            .map_err(code)
    })
}

/// ember_trust_add_pem_file adds every CERTIFICATE block in the PEM file at `path` (a
/// NUL-terminated UTF-8 path) as a trusted root, all or nothing.
///
/// Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read (the detail names the path
/// and the OS error); otherwise as ember_trust_add_pem().
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_pem_file(
    trust: *mut ember_trust,
    path: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `path` NULL or a C string, per the header.
        let (trust, path) = unsafe { (arg_ref(trust)?, arg_str(path)?) };
        trust.inner.add_pem_file(path).map(drop).map_err(code)
    })
}

/// ember_trust_add_der adds the one certificate in the `len` bytes at `der` (DER, e.g. from
/// an OS keychain) as a trusted root. The input is copied; the caller keeps ownership of
/// `der`. Adding a root the store already holds is a harmless no-op.
///
/// Returns EMBER_OK; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate
/// (nothing is added then); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
/// EMBER_ERR_NULL_ARG when `trust` is NULL, or `der` is NULL with `len` > 0.
/// ember_trust_last_error() explains a failure.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_der(
    trust: *mut ember_trust,
    der: *const u8,
    len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `der` holds `len` bytes, per the header.
        let (trust, der) = unsafe { (arg_ref(trust)?, arg_bytes(der, len)?) };
        trust.inner.add_der(der).map(drop).map_err(code)
    })
}

/// ember_trust_add_pem_dir adds the certificates of every regular file in the directory
/// `dir` (a NUL-terminated UTF-8 path): not its subdirectories; symbolic links are
/// followed; files are read in name order. It suits directories such as /etc/ssl/certs,
/// whose hashed links name each root a second time (a root already held counts neither
/// added nor skipped).
///
/// Lenient, unlike ember_trust_add_pem_file(): a file that cannot be read, is not PEM or has
/// no CERTIFICATE block is skipped, and so is each certificate that cannot be parsed (the
/// other certificates of its file are added). `*out_added` receives how many roots were new
/// to the store, `*out_skipped` how many entries were skipped; when it is not 0,
/// ember_trust_last_error() says how many and names the first few with the reason.
///
/// Returns EMBER_OK when at least one usable certificate was found (new or already held);
/// EMBER_ERR_FILE when the directory cannot be read (the detail names it and the OS error);
/// EMBER_ERR_BAD_PEM when it holds no usable certificate (nothing is added then);
/// EMBER_ERR_CONFIG_FROZEN once a connection uses the store; EMBER_ERR_NULL_ARG when
/// `trust`, `dir`, `out_added` or `out_skipped` is NULL. The counts are written on EMBER_OK
/// only.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_pem_dir(
    trust: *mut ember_trust,
    dir: *const c_char,
    out_added: *mut usize,
    out_skipped: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `dir` NULL or a C string, the out-pointers
        // NULL or writable, per the header.
        let (trust, dir, added, skipped) = unsafe {
            (
                arg_ref(trust)?,
                arg_str(dir)?,
                arg_mut(out_added)?,
                arg_mut(out_skipped)?,
            )
        };
        let tally = trust.inner.add_pem_dir(dir).map_err(code)?;
        (*added, *skipped) = (tally.added, tally.skipped);
        Ok(())
    })
}

/// ember_trust_add_system adds the system's trusted roots: the PEM file named by the
/// environment variable SSL_CERT_FILE and the directories (colon-separated) named by
/// SSL_CERT_DIR when either is set, otherwise the platform's usual bundle (e.g.
/// /etc/ssl/certs/ca-certificates.crt). The environment is read at each call.
///
/// Lenient and counted as ember_trust_add_pem_dir(): `*out_added` receives how many roots
/// were new to the store, `*out_skipped` how many certificates could not be parsed plus how
/// many files or directories could not be read; when it is not 0, ember_trust_last_error()
/// describes them.
///
/// Returns EMBER_OK when at least one usable certificate was found (new or already held);
/// EMBER_ERR_BAD_PEM when none was (nothing is added then; the detail says where it
/// looked and what failed); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
/// EMBER_ERR_NULL_ARG when `trust`, `out_added` or `out_skipped` is NULL. The counts are
/// written on EMBER_OK only.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_system(
    trust: *mut ember_trust,
    out_added: *mut usize,
    out_skipped: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, the out-pointers NULL or writable, per
        // the header.
        let (trust, added, skipped) =
            unsafe { (arg_ref(trust)?, arg_mut(out_added)?, arg_mut(out_skipped)?) };
        let tally = trust.inner.add_system().map_err(code)?;
        (*added, *skipped) = (tally.added, tally.skipped);
        Ok(())
    })
}

/// ember_trust_add_builtin adds the Mozilla roots built into embertls (webpki-roots), the
/// roots a client config without ember_config_set_trust() trusts, so that they can be
/// combined with others. `*out_added` receives how many were new to the store.
///
/// Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
/// EMBER_ERR_NULL_ARG when `trust` or `out_added` is NULL.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_builtin(
    trust: *mut ember_trust,
    out_added: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `out_added` NULL or writable, per the
        // header.
        let (trust, added) = unsafe { (arg_ref(trust)?, arg_mut(out_added)?) };
        *added = trust.inner.add_builtin().map_err(code)?;
        Ok(())
    })
}

/// ember_trust_add_crl adds the certificate revocation lists in the `len` bytes at `data`:
/// one CRL in DER, or every "X509 CRL" block of PEM. The input is copied; the caller keeps
/// ownership of `data`. A CRL the store already holds (the same bytes) is kept once.
///
/// Once a store holds a CRL, every connection verifying a peer against it checks
/// revocation, as ember_trust_set_revocation() says: by default every certificate of the
/// peer's chain below the root must be covered by a current CRL from its issuer. A revoked
/// certificate fails the handshake with EMBER_ERR_CERT_REVOKED, whose detail names the
/// certificate (subject and serial), the CRL's issuer, the date and the reason; a certificate
/// no CRL covers, or an expired CRL, fails it with EMBER_ERR_CERT_REVOCATION_UNKNOWN. A store
/// without CRLs checks no revocation. The CRL's own signature is checked during the
/// handshake, against the issuer's key as found in the peer's chain.
///
/// All or nothing: returns EMBER_OK when every CRL was added; EMBER_ERR_BAD_PEM when the
/// input is empty, is neither DER nor PEM, or has no X509 CRL block; EMBER_ERR_BAD_CRL when
/// a CRL cannot be parsed or uses what embertls does not support, e.g. a delta CRL (nothing
/// is added then); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
/// EMBER_ERR_NULL_ARG when `trust` is NULL, or `data` is NULL with `len` > 0.
/// ember_trust_last_error() explains a failure.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_crl(
    trust: *mut ember_trust,
    data: *const u8,
    len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `data` holds `len` bytes, per the header.
        let (trust, data) = unsafe { (arg_ref(trust)?, arg_bytes(data, len)?) };
        trust
            .inner
            .add_crl(data, "the CRL input")
            .map(drop)
            .map_err(code)
    })
}

/// ember_trust_add_crl_file adds the CRLs in the file at `path` (a NUL-terminated UTF-8
/// path; DER or PEM), all or nothing, as ember_trust_add_crl() does.
///
/// Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read (the detail names the path
/// and the OS error); otherwise as ember_trust_add_crl().
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_add_crl_file(
    trust: *mut ember_trust,
    path: *const c_char,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `path` NULL or a C string, per the header.
        let (trust, path) = unsafe { (arg_ref(trust)?, arg_str(path)?) };
        trust.inner.add_crl_file(path).map(drop).map_err(code)
    })
}

/// ember_trust_set_revocation sets how the store's CRLs are applied, as a bitwise OR of
/// EMBER_REVOCATION_* flags; 0 (the default) is the strictest policy: every certificate of
/// the chain below the root is checked, a certificate whose issuer has no CRL in the store
/// fails, and so does one whose CRL is past its nextUpdate time (as OpenSSL does with
/// X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL). The policy has no effect while the
/// store holds no CRL. A later call replaces the policy. The flags are independent:
/// EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS does not make an expired CRL acceptable (that is
/// EMBER_REVOCATION_ALLOW_EXPIRED_CRL). A CRL whose signature does not verify against its
/// issuer in the peer's chain fails the handshake with EMBER_ERR_CERT_REVOCATION_UNKNOWN
/// whatever the flags (the peer receives the alert handshake_failure).
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `flags` has a bit that is not an
/// EMBER_REVOCATION_* flag (the policy is unchanged); EMBER_ERR_CONFIG_FROZEN once a
/// connection uses the store; EMBER_ERR_NULL_ARG when `trust` is NULL.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_set_revocation(trust: *mut ember_trust, flags: u32) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, per the header.
        let trust = unsafe { arg_ref(trust)? };
        trust.inner.set_revocation(flags).map_err(code)
    })
}

/// ember_trust_crl_count writes how many CRLs the store holds to `*out_n` (each once).
///
/// Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_crl_count(
    trust: *const ember_trust,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `out_n` NULL or writable, per the header.
        let (trust, out_n) = unsafe { (arg_ref(trust)?, arg_mut(out_n)?) };
        *out_n = trust.inner.crl_count().map_err(code)?;
        Ok(())
    })
}

/// ember_trust_count writes how many roots the store holds to `*out_n` (each root once),
/// e.g. to see what an all-or-nothing ember_trust_add_pem_file() took. It also works on a
/// frozen store.
///
/// Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_count(trust: *const ember_trust, out_n: *mut usize) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, `out_n` NULL or writable, per the header.
        let (trust, out_n) = unsafe { (arg_ref(trust)?, arg_mut(out_n)?) };
        *out_n = trust.inner.count().map_err(code)?;
        Ok(())
    })
}

/// ember_trust_last_error copies the detail of the store's last failed call, or of the last
/// ember_trust_add_pem_dir() / ember_trust_add_system() that skipped entries, into `buf` (at
/// most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`. With no
/// failure so far the detail is "" .
///
/// Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the
/// buffer `*out_n + 1`); EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL, or `buf` is
/// NULL with `len` > 0.
///
/// Threads: one thread at a time until the store is frozen, any number after.
#[no_mangle]
pub extern "C" fn ember_trust_last_error(
    trust: *const ember_trust,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `trust` is NULL or a live handle, per the header.
        let trust = unsafe { arg_ref(trust)? };
        let last = trust.inner.last_error().map_err(code)?;
        let detail = last.as_ref().map_or("", |e| e.detail());
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(detail, buf, len, out_n) }
    })
}
