//! The integration tests, one binary (`cargo test --test all`) so the C programs and the
//! test PKI are built once per run and shared.
//!
//! Needs, besides cargo: a C compiler (`cc`), a C++ compiler (`c++`), the `openssl` command
//! (3.x), GnuTLS' `gnutls-cli` and `gnutls-serv` (Debian's gnutls-bin), `python3` with its
//! `ssl` and `venv` modules (pytest is installed in a venv: see python.rs), and for the
//! packaging tests `make`, `pkg-config`, `cmake` and binutils (`nm`, `readelf`); valgrind
//! for sanitizers.rs (whose AddressSanitizer runs need only gcc); the benchmark's smoke test
//! also libssl's headers (libssl-dev); fuzz.rs builds libFuzzer (C++, `c++`) from the
//! libfuzzer-sys crate, which cargo fetches from crates.io like the other dependencies.

mod bench_smoke;
mod capi;
mod concurrency;
mod cpp;
mod fuzz;
mod header;
mod interop;
mod matrix;
mod packaging;
mod python;
mod sanitizers;
mod session_interop;
mod support;
mod trust_interop;
