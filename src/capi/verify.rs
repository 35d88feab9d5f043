//! The verification callback: the C function that decides on a server's chain, wrapped as
//! the engine's [`Check`].

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Arc;

use super::error::{code_of, ember_result};
use crate::engine::verify::{Check, Presented, Refusal};

/// A borrowed run of bytes: `len` bytes at `data`. The layout is frozen: these two members,
/// in this order, for every future version.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_bytes {
    /// The first byte (may be NULL only when `len` is 0).
    pub data: *const u8,
    /// How many bytes.
    pub len: usize,
}

/// Verification callback (see ember_config_set_verify_callback()): decides on the chain the
/// server presented. `server_name` is the name the connection was made with (NUL-terminated);
/// `chain` holds `chain_len` DER certificates as the server sent them, its own first;
/// `builtin_verdict` is what embertls' own verification (webpki, against the config's trust
/// store) concluded: EMBER_OK, or the 300s code it would have failed with. Return 0 to accept
/// the chain. Return `builtin_verdict` itself (when it is not EMBER_OK) to uphold it: the
/// handshake then fails exactly as it would without a callback (that code, its detail, its
/// alert). Return any other non-zero value to reject the chain for a reason of the
/// callback's: EMBER_ERR_CERT_REJECTED, explained by the NUL-terminated reason of at most
/// `reason_len` bytes (NUL included) it may write to `reason`, which starts out "".
/// Every pointer is valid only during the call.
pub type ember_verify_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server_name: *const c_char,
        chain: *const ember_bytes,
        chain_len: usize,
        builtin_verdict: ember_result,
        reason: *mut c_char,
        reason_len: usize,
    ) -> c_int,
>;

/// The room a callback has for its reason, NUL included.
const REASON_LEN: usize = 256;

type VerifyFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const ember_bytes,
    usize,
    ember_result,
    *mut c_char,
    usize,
) -> c_int;

/// The embedder's callback and the pointer it is given.
struct Callback {
    call: VerifyFn,
    userdata: *mut c_void,
}

// SAFETY: the header makes thread safety of the callback and its userdata the embedder's
// promise: it may be called from any thread that drives a connection made from the config.
unsafe impl Send for Callback {}
// SAFETY: as above; the struct itself is never mutated after it is made.
unsafe impl Sync for Callback {}

impl Callback {
    fn decide(&self, presented: &Presented<'_>) -> Result<(), Refusal> {
        // A server name is a DNS name or an IP literal: it never holds a NUL.
        let name = CString::new(presented.server_name).unwrap_or_default();
        let chain: Vec<ember_bytes> = presented
            .chain
            .iter()
            .map(|der| ember_bytes {
                data: der.as_ptr(),
                len: der.len(),
            })
            .collect();
        let verdict = presented
            .builtin
            .map_or(ember_result::EMBER_OK, |e| code_of(e.kind()));
        let mut reason: [c_char; REASON_LEN] = [0; REASON_LEN];
        // SAFETY: the callback was given by the embedder for exactly this signature; every
        // pointer is valid for the length passed with it during the call.
        let rc = unsafe {
            (self.call)(
                self.userdata,
                name.as_ptr(),
                chain.as_ptr(),
                chain.len(),
                verdict,
                reason.as_mut_ptr(),
                reason.len(),
            )
        };
        if rc == 0 {
            return Ok(());
        }
        if verdict != ember_result::EMBER_OK && rc == verdict as c_int {
            return Err(Refusal::Builtin);
        }
        // A callback that filled the buffer without a NUL is cut at its last byte.
        reason[REASON_LEN - 1] = 0;
        // SAFETY: the buffer is NUL-terminated (its last byte at the latest).
        let text = unsafe { CStr::from_ptr(reason.as_ptr()) };
        Err(Refusal::Reason(text.to_string_lossy().into_owned()))
    }
}

/// The engine check that calls `call` with `userdata`.
pub(crate) fn check(call: VerifyFn, userdata: *mut c_void) -> Arc<Check> {
    let callback = Callback { call, userdata };
    Arc::new(move |presented: &Presented<'_>| callback.decide(presented))
}
