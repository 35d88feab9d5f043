//! The library's version, for a program to check against the header it was built with.

use std::ffi::c_char;

use super::boundary::guard;

/// ember_version returns "embertls X.Y.Z (rustls A.B.C)": this library's version and the
/// version of the rustls engine inside it. Compare with the EMBER_VERSION_* macros to check
/// that the header and the library match.
///
/// The string is static: never NULL, never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_version() -> *const c_char {
    guard(|| {
        concat!(
            "embertls ",
            env!("CARGO_PKG_VERSION"),
            " (rustls ",
            env!("EMBER_RUSTLS_VERSION"),
            ")\0"
        )
        .as_ptr()
        .cast()
    })
}
