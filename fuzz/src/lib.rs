//! The fuzz targets' bodies and what they share. Each target in fuzz_targets/ is one line
//! calling [`conn_server`], [`conn_client`] or [`loaders`]; fuzz/README.md says what each
//! reaches and how to run them.
//!
//! Everything goes through the C ABI, as a C program would use the library: the harness
//! links to the `ember_*` symbols (ffi.rs). Whatever the input, every answer must be one
//! the header documents for that call; a broken promise panics, and libFuzzer's panic hook
//! turns that (and any panic inside embertls, even one the library would have caught at its
//! boundary) into a crash report.

#![deny(clippy::undocumented_unsafe_blocks)]

mod configs;
mod endpoint;
mod exchange;
mod ffi;
mod handles;
mod loaders;
mod pki;
mod script;
mod seeds;

// The library is reached through its exported symbols only; this links it.
use embertls as _;

/// A fresh server connection meets the input (see script.rs for its format).
pub fn conn_server(data: &[u8]) {
    exchange::run(endpoint::Side::Server, data);
}

/// A fresh client connection meets the input (see script.rs for its format).
pub fn conn_client(data: &[u8]) {
    exchange::run(endpoint::Side::Client, data);
}

/// The input goes to one of the library's parsers (see loaders.rs).
pub fn loaders(data: &[u8]) {
    loaders::run(data);
}

/// Whether to print what an input does (EMBERTLS_FUZZ_VERBOSE=1): the connection targets'
/// setup and script, and each failure with its detail. For reading a crash input.
fn verbose() -> bool {
    static VERBOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("EMBERTLS_FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}

/// Once per process, before the first input: the log callback (the engine's records must
/// reach C intact whatever a peer sent), and the seed generator when
/// `EMBERTLS_FUZZ_WRITE_SEEDS` names a directory (`fuzz/run --seeds`): it writes every
/// target's seeds there and exits.
pub fn init() {
    // SAFETY: the callback keeps no state; NULL userdata.
    let r = unsafe { ffi::ember_log_set_callback(Some(configs::on_log), std::ptr::null_mut(), 2) };
    ffi::expect("ember_log_set_callback", r, |r| r == ffi::OK);
    if let Some(dir) = std::env::var_os("EMBERTLS_FUZZ_WRITE_SEEDS") {
        seeds::write_all(std::path::Path::new(&dir));
        std::process::exit(0);
    }
}

/// Without libFuzzer or instrumentation (`cd fuzz && cargo test`): every seed and every
/// regression input through its target's body, once.
#[cfg(test)]
mod replay {
    use std::path::Path;

    fn replay(target: &str, body: fn(&[u8])) {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut count = 0;
        for dir in ["seeds", "regressions"] {
            let dir = fuzz.join(dir).join(target);
            for entry in std::fs::read_dir(&dir).expect("the target's directory") {
                let path = entry.expect("a directory entry").path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("README"))
                {
                    continue;
                }
                body(&std::fs::read(&path).expect("an input file"));
                count += 1;
            }
        }
        assert!(count > 0, "no inputs for {target}");
    }

    #[test]
    fn conn_server_inputs() {
        replay("conn_server", super::conn_server);
    }

    #[test]
    fn conn_client_inputs() {
        replay("conn_client", super::conn_client);
    }

    #[test]
    fn loaders_inputs() {
        replay("loaders", super::loaders);
    }
}
