//! Owning wrappers for the config and trust store handles, with a safe method for each C
//! function the harnesses call on them: the unsafe calls of configs and stores are all here.
//! Each method returns the raw result; judging it is the caller's business.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

use crate::ffi::{self, ember_config, ember_result, ember_trust, OK};

/// A config handle, freed on drop (connections keep their own reference).
pub struct Config(*mut ember_config);

// SAFETY: a config is frozen by its first connection and may then be shared by any number
// of threads (embertls.h, ember_config_new); the harness changes configs only while it
// builds them, before any connection and before they are shared.
unsafe impl Send for Config {}
// SAFETY: as above.
unsafe impl Sync for Config {}

/// Every method below passes the live handle and arguments valid for the call: slices with
/// their own lengths, NUL-terminated strings, callbacks of the header's types.
impl Config {
    /// A new config for `role` (ffi::ROLE_CLIENT or ffi::ROLE_SERVER).
    pub fn new(role: c_int) -> Config {
        let mut cfg = ptr::null_mut();
        // SAFETY: `cfg` is a valid out-pointer.
        let r = unsafe { ffi::ember_config_new(role, &mut cfg) };
        ffi::expect("ember_config_new", r, |r| r == OK);
        Config(cfg)
    }

    pub fn ptr(&self) -> *mut ember_config {
        self.0
    }

    /// Panics unless `r`, what the setter `what` returned, is OK: the harness' own configs
    /// are valid.
    pub fn must(&self, what: &str, r: ember_result) {
        if r != OK {
            panic!("{what} failed on a harness config: {}", self.last_error());
        }
    }

    pub fn add_cert(&self, chain: &[u8], key: &[u8]) -> ember_result {
        // SAFETY: live handle; both slices valid for their lengths.
        unsafe {
            ffi::ember_config_add_cert_pem(
                self.0,
                chain.as_ptr(),
                chain.len(),
                key.as_ptr(),
                key.len(),
            )
        }
    }

    pub fn add_cert_file(&self, chain: &CStr, key: &CStr) -> ember_result {
        // SAFETY: live handle; NUL-terminated paths.
        unsafe { ffi::ember_config_add_cert_pem_file(self.0, chain.as_ptr(), key.as_ptr()) }
    }

    pub fn set_alpn(&self, protocols: &[&[u8]]) -> ember_result {
        let owned: Vec<CString> = protocols
            .iter()
            .map(|p| CString::new(p.to_vec()).expect("protocol names hold no NUL"))
            .collect();
        let ptrs: Vec<*const c_char> = owned.iter().map(|p| p.as_ptr()).collect();
        // SAFETY: live handle; `ptrs` holds `len` NUL-terminated strings that outlive the
        // call (the library copies them).
        unsafe { ffi::ember_config_set_alpn(self.0, ptrs.as_ptr(), ptrs.len()) }
    }

    pub fn set_versions(&self, min: u16, max: u16) -> ember_result {
        // SAFETY: live handle.
        unsafe { ffi::ember_config_set_versions(self.0, min, max) }
    }

    pub fn set_trust(&self, trust: &Trust) -> ember_result {
        // SAFETY: both handles live.
        unsafe { ffi::ember_config_set_trust(self.0, trust.0) }
    }

    pub fn set_client_auth(&self, mode: c_int) -> ember_result {
        // SAFETY: live handle; any int is allowed (invalid modes are refused).
        unsafe { ffi::ember_config_set_client_auth(self.0, mode) }
    }

    pub fn set_verify_callback(&self, cb: ffi::ember_verify_cb) -> ember_result {
        // SAFETY: live handle; the callback keeps its state in thread-locals (NULL userdata).
        unsafe { ffi::ember_config_set_verify_callback(self.0, Some(cb), ptr::null_mut()) }
    }

    pub fn set_cipher_suites(&self, suites: &[u16]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_config_set_cipher_suites(self.0, suites.as_ptr(), suites.len()) }
    }

    pub fn set_groups(&self, groups: &[u16]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_config_set_groups(self.0, groups.as_ptr(), groups.len()) }
    }

    pub fn set_session_cache_size(&self, size: usize) -> ember_result {
        // SAFETY: live handle.
        unsafe { ffi::ember_config_set_session_cache_size(self.0, size) }
    }

    pub fn set_tickets(&self, enable: bool) -> ember_result {
        // SAFETY: live handle.
        unsafe { ffi::ember_config_set_tickets(self.0, c_int::from(enable)) }
    }

    pub fn set_ticket_keys(&self, keys: &[u8]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_config_set_ticket_keys(self.0, keys.as_ptr(), keys.len()) }
    }

    pub fn set_ticket_key_file(&self, path: &CStr) -> ember_result {
        // SAFETY: live handle; NUL-terminated path.
        unsafe { ffi::ember_config_set_ticket_key_file(self.0, path.as_ptr()) }
    }

    pub fn set_session_store(
        &self,
        put: ffi::ember_session_put_cb,
        get: ffi::ember_session_get_cb,
        remove: ffi::ember_session_remove_cb,
    ) -> ember_result {
        // SAFETY: live handle; the callbacks keep their state in thread-locals (NULL
        // userdata).
        unsafe {
            ffi::ember_config_set_session_store(
                self.0,
                Some(put),
                Some(get),
                Some(remove),
                ptr::null_mut(),
            )
        }
    }

    pub fn set_trace_callback(&self, cb: ffi::ember_trace_cb) -> ember_result {
        // SAFETY: live handle; the callback keeps its state in a thread-local (NULL userdata).
        unsafe { ffi::ember_config_set_trace_callback(self.0, Some(cb), ptr::null_mut()) }
    }

    /// ember_config_last_error's text.
    pub fn last_error(&self) -> String {
        let cfg = self.0;
        ffi::copied_text(
            "ember_config_last_error",
            // SAFETY: live handle; the buffer and out-pointer come from copied_text.
            |buf, len, n| unsafe { ffi::ember_config_last_error(cfg, buf, len, n) },
            |_| false,
        )
        .unwrap_or_default()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: the handle came from ember_config_new and is freed once, here.
        unsafe { ffi::ember_config_free(self.0) }
    }
}

/// A trust store handle, freed on drop (configs keep their own reference).
pub struct Trust(*mut ember_trust);

/// As for Config: each method passes the live handle and valid arguments.
impl Trust {
    pub fn new() -> Trust {
        let mut trust = ptr::null_mut();
        // SAFETY: `trust` is a valid out-pointer.
        let r = unsafe { ffi::ember_trust_new(&mut trust) };
        ffi::expect("ember_trust_new", r, |r| r == OK);
        Trust(trust)
    }

    /// A store holding the fixed PKI's root, and its CRLs if `crls`.
    pub fn fixed(crls: bool) -> Trust {
        let trust = Trust::new();
        let mut loads = vec![("ember_trust_add_pem", trust.add_pem(crate::pki::CA_PEM))];
        if crls {
            for crl in [crate::pki::CRL_INTERMEDIATE_PEM, crate::pki::CRL_ROOT_PEM] {
                loads.push(("ember_trust_add_crl", trust.add_crl(crl)));
            }
        }
        for (what, r) in loads {
            if r != OK {
                panic!("{what} failed on the fixed PKI: {}", trust.last_error());
            }
        }
        trust
    }

    pub fn add_pem(&self, pem: &[u8]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_trust_add_pem(self.0, pem.as_ptr(), pem.len()) }
    }

    pub fn add_pem_file(&self, path: &CStr) -> ember_result {
        // SAFETY: live handle; NUL-terminated path.
        unsafe { ffi::ember_trust_add_pem_file(self.0, path.as_ptr()) }
    }

    /// ember_trust_add_pem_dir: the result, and the counts of roots added and entries skipped.
    pub fn add_pem_dir(&self, dir: &CStr) -> (ember_result, usize, usize) {
        let (mut added, mut skipped) = (usize::MAX, usize::MAX);
        // SAFETY: live handle; NUL-terminated path; two out-pointers.
        let r =
            unsafe { ffi::ember_trust_add_pem_dir(self.0, dir.as_ptr(), &mut added, &mut skipped) };
        (r, added, skipped)
    }

    pub fn add_der(&self, der: &[u8]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_trust_add_der(self.0, der.as_ptr(), der.len()) }
    }

    pub fn add_crl(&self, data: &[u8]) -> ember_result {
        // SAFETY: live handle; the slice is valid for its length.
        unsafe { ffi::ember_trust_add_crl(self.0, data.as_ptr(), data.len()) }
    }

    pub fn add_crl_file(&self, path: &CStr) -> ember_result {
        // SAFETY: live handle; NUL-terminated path.
        unsafe { ffi::ember_trust_add_crl_file(self.0, path.as_ptr()) }
    }

    pub fn set_revocation(&self, flags: u32) -> ember_result {
        // SAFETY: live handle; any flags are allowed (unknown bits are refused).
        unsafe { ffi::ember_trust_set_revocation(self.0, flags) }
    }

    /// How many roots the store holds.
    pub fn count(&self) -> usize {
        let mut n = usize::MAX;
        // SAFETY: live handle; `n` is an out-pointer.
        let r = unsafe { ffi::ember_trust_count(self.0, &mut n) };
        ffi::expect("ember_trust_count", r, |r| r == OK);
        n
    }

    /// How many CRLs the store holds.
    pub fn crl_count(&self) -> usize {
        let mut n = usize::MAX;
        // SAFETY: live handle; `n` is an out-pointer.
        let r = unsafe { ffi::ember_trust_crl_count(self.0, &mut n) };
        ffi::expect("ember_trust_crl_count", r, |r| r == OK);
        n
    }

    /// ember_trust_last_error's text.
    pub fn last_error(&self) -> String {
        let trust = self.0;
        ffi::copied_text(
            "ember_trust_last_error",
            // SAFETY: live handle; the buffer and out-pointer come from copied_text.
            |buf, len, n| unsafe { ffi::ember_trust_last_error(trust, buf, len, n) },
            |_| false,
        )
        .unwrap_or_default()
    }
}

impl Drop for Trust {
    fn drop(&mut self) {
        // SAFETY: the handle came from ember_trust_new and is freed once, here.
        unsafe { ffi::ember_trust_free(self.0) }
    }
}

/// The name functions, which take any value and return NULL or a static string.
pub fn cipher_suite_named(suite: u16) -> bool {
    // SAFETY: takes any value; returns NULL or a static string.
    ffi::static_str(unsafe { ffi::ember_cipher_suite_name(suite) }).is_some()
}

pub fn group_named(group: u16) -> bool {
    // SAFETY: takes any value; returns NULL or a static string.
    ffi::static_str(unsafe { ffi::ember_group_name(group) }).is_some()
}
