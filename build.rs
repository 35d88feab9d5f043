//! Generates include/embertls.h from src/capi with cbindgen, tells the crate which rustls
//! and ring versions it was built with, and gives the shared library its soname when it is
//! built for installation.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src/capi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    for (var, name) in [
        ("EMBER_RUSTLS_VERSION", "rustls"),
        ("EMBER_RING_VERSION", "ring"),
    ] {
        println!("cargo:rustc-env={var}={}", locked_version(&crate_dir, name));
    }
    soname();

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    config.header = Some(header_preamble());
    config.trailer = Some(TRAILER.to_owned());
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read src/capi");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let generated = out_dir.join("embertls.h");
    bindings.write_to_file(&generated);
    // The committed header must equal the generated one (tests/all/header.rs checks it);
    // refreshing it here keeps a developer's tree in step with the code.
    let committed = crate_dir.join("include/embertls.h");
    let text = fs::read(&generated).expect("the header was just written");
    if fs::read(&committed).ok().as_deref() != Some(text.as_slice()) {
        fs::create_dir_all(committed.parent().expect("include/ has a parent"))
            .expect("include/ can be made");
        fs::write(&committed, &text).expect("include/embertls.h is writable");
    }
}

/// `make` (the top-level Makefile) builds with EMBERTLS_SONAME=1: the installed
/// libembertls.so.X.Y.Z then carries the soname libembertls.so.X, the name programs linked
/// against it record and the dynamic loader looks for. A plain `cargo build` leaves it out,
/// so programs linked against target/*/libembertls.so (the tests, examples-c/Makefile) find
/// that file by its own name, with no libembertls.so.X link beside it.
///
/// Which symbols the library exports needs no flag: rustc gives a cdylib a linker version
/// script that exports exactly its `#[no_mangle]` functions (and makes everything else
/// local), and tests/all/packaging.rs checks them against packaging/embertls.symbols. A
/// second version script cannot narrow it: GNU ld refuses two anonymous version scripts,
/// and lld merges them with rustc's exact names taking precedence.
fn soname() {
    println!("cargo:rerun-if-env-changed=EMBERTLS_SONAME");
    if env::var_os("EMBERTLS_SONAME").is_some_and(|v| v == "1") {
        let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libembertls.so.{major}");
    }
}

/// The version of `name` that Cargo.lock pins, or "unknown" when built without one.
fn locked_version(crate_dir: &std::path::Path, name: &str) -> String {
    let lock = fs::read_to_string(crate_dir.join("Cargo.lock")).unwrap_or_default();
    let marker = format!("name = \"{name}\"\nversion = \"");
    lock.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(|| "unknown".to_owned(), |(version, _)| version.to_owned())
}

fn header_preamble() -> String {
    let v =
        |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).expect("cargo sets the version");
    format!(
        r#"/*
 * embertls.h: the embertls C API. This header is its manual: anything not declared here is
 * not API. It is generated from src/capi by cbindgen; edit the Rust doc comments, not this.
 *
 * Objects: ember_config (what connections are made from), ember_trust (trusted roots),
 * ember_conn (one connection). Each is made by ember_<object>_new() and released by
 * ember_<object>_free(), which accepts NULL. No call takes ownership of an object passed to it.
 *
 * Results: every fallible function returns an ember_result and writes outputs through
 * out-pointers. ember_result_str() and ember_result_name() describe a code;
 * ember_conn_last_error() and ember_config_last_error() give the detail of a failure.
 *
 * Threads: no global initialisation is needed. A config and its trust store are frozen by
 * the first connection made from them and may then be shared by any number of threads; a
 * connection is used by one thread at a time.
 *
 * Callbacks run inside the embertls call that triggered them, on that call's thread. From
 * inside a connection's own callback, calls on that connection return
 * EMBER_ERR_WRONG_STATE and change nothing (the call in progress goes on), except
 * ember_conn_free(), which frees it when the call in progress returns.
 *
 * Failures: a connection that failed fatally stays failed. Every later call that would move
 * data or keys (handshake, read, write, flush, close, feed, key update, export) returns that
 * same error, except that ember_conn_read() first returns data received before the failure
 * and ember_conn_drain() still gives the alert to send to the peer. Facts already known
 * (version, suite, peer certificates, last error) stay readable.
 *
 * Strings in are NUL-terminated UTF-8; strings out are copied into the caller's buffer with
 * the full length reported, or are static.
 */

/* The include guard is written here, not by cbindgen, so that the macros before the
 * declarations and after them are inside it. */
#ifndef EMBERTLS_H
#define EMBERTLS_H

#define EMBER_VERSION_MAJOR {major}
#define EMBER_VERSION_MINOR {minor}
#define EMBER_VERSION_PATCH {patch}
#define EMBER_VERSION_STRING "{major}.{minor}.{patch}"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define EMBER_VERSION_NUMBER ({major} * 10000 + {minor} * 100 + {patch})

/* Protocol versions, as on the wire (ember_config_set_versions, ember_conn_protocol_version). */
#define EMBER_TLS1_2 0x0303
#define EMBER_TLS1_3 0x0304
"#,
        major = v("MAJOR"),
        minor = v("MINOR"),
        patch = v("PATCH"),
    )
}

const TRAILER: &str = r#"
/* The class of a result: 0 progress, 100 misuse, 200 I/O, 300 certificate, 400 handshake
 * or protocol, 500 internal. */
#define EMBER_RESULT_CLASS(r) ((((int)(r)) / 100) * 100)
#define EMBER_RESULT_IS_ERROR(r) (((int)(r)) >= 100)
#define EMBER_RESULT_IS_MISUSE(r) (EMBER_RESULT_CLASS(r) == 100)
#define EMBER_RESULT_IS_IO_ERROR(r) (EMBER_RESULT_CLASS(r) == 200)
#define EMBER_RESULT_IS_CERT_ERROR(r) (EMBER_RESULT_CLASS(r) == 300)
#define EMBER_RESULT_IS_HANDSHAKE_ERROR(r) (EMBER_RESULT_CLASS(r) == 400)
#define EMBER_RESULT_IS_INTERNAL_ERROR(r) (EMBER_RESULT_CLASS(r) == 500)

#endif /* EMBERTLS_H */
"#;
