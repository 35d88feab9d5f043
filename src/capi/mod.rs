//! The C ABI: one file per public object, plus `boundary` for what every function shares
//! (the panic guard, pointer checks, handle ownership). Nothing here knows TLS: it checks
//! arguments, calls the engine and turns its answers into `ember_result` codes.

#![allow(non_camel_case_types)]

mod boundary;
mod cert;
mod config;
mod conn;
mod error;
mod keylog;
mod log;
mod names;
mod session;
mod trace;
mod transport;
mod trust;
mod verify;
mod version;
