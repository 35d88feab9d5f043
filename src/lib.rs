//! embertls: a TLS library for C, C++ and Python programs.
//!
//! The crate has two halves with a one-way dependency between them:
//!
//! - [`engine`]: safe Rust around rustls. Configuration, certificates and trust, the
//!   connection state machine and its I/O pumping. It never sees a raw pointer and does not
//!   know it is called from C.
//! - `capi`: the C ABI (`ember_*` functions) and nothing else. It checks pointers, guards
//!   against panics and turns engine errors into `ember_result` codes. `include/embertls.h`
//!   is generated from it by cbindgen.

#![warn(missing_docs)]

pub mod engine;

mod capi;
