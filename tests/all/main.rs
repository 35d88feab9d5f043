//! The integration tests, one binary (`cargo test --test all`) so the C programs and the
//! test PKI are built once per run and shared.
//!
//! Needs, besides cargo: a C compiler (`cc`), the `openssl` command (3.x) and `python3`
//! with its `ssl` module; the benchmark's smoke test also libssl's headers (libssl-dev).

mod bench_smoke;
mod capi;
mod header;
mod interop;
mod session_interop;
mod support;
mod trust_interop;
