//! What every exported function shares: the panic guard, argument checks and handle
//! ownership. All raw-pointer handling of the ABI goes through the helpers here, each with
//! its contract written down, so the functions in the other files stay short.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{code_of, ember_result};
use crate::engine::Error;

/// What an exported function returns when Rust panicked inside it.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for ember_result {
    fn on_panic() -> Self {
        ember_result::EMBER_ERR_PANIC
    }
}

impl OnPanic for () {
    fn on_panic() -> Self {}
}

impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for c_int {
    fn on_panic() -> Self {
        0
    }
}

impl OnPanic for *const c_char {
    fn on_panic() -> Self {
        c"embertls panicked".as_ptr()
    }
}

/// Runs an exported function's body so that no panic crosses into C. Inlined, so that an
/// exported function and its body are one frame.
#[inline(always)]
pub(crate) fn guard<R: OnPanic>(body: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| R::on_panic())
}

/// [`guard`] for bodies that use `?` on argument checks and engine calls.
#[inline(always)]
pub(crate) fn guard_result(body: impl FnOnce() -> Result<(), ember_result>) -> ember_result {
    guard(|| body().err().unwrap_or(ember_result::EMBER_OK))
}

/// The C code of an engine error (its detail stays with the object that failed).
pub(crate) fn code(err: Error) -> ember_result {
    code_of(err.kind())
}

/// Gives a Rust object to C as an owning handle, freed with [`free_handle`].
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `handle` is NULL or came from `into_handle::<T>` and has not been freed.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: per this function's contract the pointer owns a live Box<T>.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// A shared reference to the object behind a handle, or EMBER_ERR_NULL_ARG.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` not mutated elsewhere during `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T) -> Result<&'a T, ember_result> {
    // SAFETY: per this function's contract.
    unsafe { ptr.as_ref() }.ok_or(ember_result::EMBER_ERR_NULL_ARG)
}

/// An exclusive reference to the object behind a handle or out-pointer, or
/// EMBER_ERR_NULL_ARG.
///
/// # Safety
/// `ptr` is NULL or points to a live, writable `T` used by no one else during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, ember_result> {
    // SAFETY: per this function's contract.
    unsafe { ptr.as_mut() }.ok_or(ember_result::EMBER_ERR_NULL_ARG)
}

/// EMBER_ERR_INVALID_ARG for `count` elements of `T` that no object can hold: a Rust slice
/// (like a C object) is at most `isize::MAX` (PTRDIFF_MAX) bytes, and making a longer one is
/// undefined behaviour (debug builds abort). A caller passing SIZE_MAX "for the whole
/// buffer" gets an error instead.
fn arg_count<T>(count: usize) -> Result<(), ember_result> {
    match count.checked_mul(std::mem::size_of::<T>().max(1)) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(ember_result::EMBER_ERR_INVALID_ARG),
    }
}

/// The caller's input bytes: [`arg_slice`] of bytes.
///
/// # Safety
/// As [`arg_slice`].
pub(crate) unsafe fn arg_bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], ember_result> {
    // SAFETY: per this function's contract.
    unsafe { arg_slice(ptr, len) }
}

/// The caller's array of `count` values (bytes, IANA ids, string pointers). NULL is allowed
/// only with `count == 0`; a `count` larger than any array can be is EMBER_ERR_INVALID_ARG
/// ([`arg_count`]).
///
/// # Safety
/// When `count > 0`, `ptr` is NULL or points to `count` readable, aligned values that stay
/// unchanged during `'a`.
pub(crate) unsafe fn arg_slice<'a, T>(
    ptr: *const T,
    count: usize,
) -> Result<&'a [T], ember_result> {
    match (ptr.is_null(), count) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(ember_result::EMBER_ERR_NULL_ARG),
        (false, _) => {
            arg_count::<T>(count)?;
            // SAFETY: non-NULL, at most isize::MAX bytes, and per this function's contract
            // valid for `count` values.
            Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
        }
    }
}

/// The caller's output buffer. NULL is allowed only with `len == 0`; a `len` larger than any
/// buffer can be is EMBER_ERR_INVALID_ARG ([`arg_count`]).
///
/// # Safety
/// When `len > 0`, `ptr` is NULL or points to `len` writable bytes used by no one else
/// during `'a`.
pub(crate) unsafe fn arg_buf<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], ember_result> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&mut []),
        (true, _) => Err(ember_result::EMBER_ERR_NULL_ARG),
        (false, _) => {
            arg_count::<u8>(len)?;
            // SAFETY: non-NULL, at most isize::MAX bytes, and per this function's contract
            // valid for `len` bytes.
            Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
        }
    }
}

/// A NUL-terminated UTF-8 string argument: EMBER_ERR_NULL_ARG for NULL,
/// EMBER_ERR_INVALID_ARG for bytes that are not UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays unchanged during `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char) -> Result<&'a str, ember_result> {
    if ptr.is_null() {
        return Err(ember_result::EMBER_ERR_NULL_ARG);
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| ember_result::EMBER_ERR_INVALID_ARG)
}

/// Copies `text` into the caller's buffer as a NUL-terminated string.
///
/// `*out_n` receives the full length of `text` (without the NUL) so a caller can size a
/// second attempt. When it does not fit, the copy is truncated (still NUL-terminated when
/// `len > 0`) and the result is EMBER_ERR_BUFFER_TOO_SMALL.
///
/// # Safety
/// As for [`arg_buf`] with `buf`/`len`, and `out_n` as for [`arg_mut`].
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> Result<(), ember_result> {
    // SAFETY: forwarded from this function's contract.
    let (buf, out_n) = unsafe { (arg_buf(buf.cast(), len)?, arg_mut(out_n)?) };
    *out_n = text.len();
    let Some(room) = buf.len().checked_sub(1) else {
        return Err(ember_result::EMBER_ERR_BUFFER_TOO_SMALL);
    };
    let n = text.len().min(room);
    buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    buf[n] = 0;
    if n < text.len() {
        Err(ember_result::EMBER_ERR_BUFFER_TOO_SMALL)
    } else {
        Ok(())
    }
}

/// A static NUL-terminated name for C, or NULL.
pub(crate) fn static_name(name: Option<&'static CStr>) -> *const c_char {
    name.map_or(std::ptr::null(), CStr::as_ptr)
}

/// The `void *userdata` an embedder registers with a callback, carried to whichever thread
/// calls it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Userdata(pub(crate) *mut c_void);

// SAFETY: the header makes every callback's thread safety, and its userdata's, the
// embedder's promise: a callback may be called from any thread that drives a connection.
unsafe impl Send for Userdata {}
// SAFETY: as above; embertls never dereferences the pointer, it only passes it back.
unsafe impl Sync for Userdata {}

impl Userdata {
    /// The pointer, to pass back to the callback. (A method, so that closures capture the
    /// whole Send + Sync value and not its raw-pointer field.)
    pub(crate) fn ptr(self) -> *mut c_void {
        self.0
    }
}
