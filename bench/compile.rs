//! The C programs of a run, compiled with optimisation against the libembertls.so cargo
//! built beside this binary (target/<profile>/deps), into target/<profile>/bench/.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// Flags of the benchmark's own C peers.
pub const PEER_CFLAGS: &[&str] = &["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror"];
/// Flags of examples-c/ (its Makefile's CFLAGS).
pub const EXAMPLE_CFLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-O2", "-g"];

/// The executables a run uses.
pub struct Programs {
    pub ember_peer: PathBuf,
    pub openssl_peer: PathBuf,
    pub client: PathBuf,
    pub server: PathBuf,
    /// "cc --version", first line.
    pub compiler: String,
}

/// Compiles the four programs (in parallel).
pub fn build(manifest: &Path, lib: &Path, out: &Path) -> Result<Programs, String> {
    fs::create_dir_all(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let bench = manifest.join("bench");
    let examples = manifest.join("examples-c");
    let include = manifest.join("include");
    let embertls: Vec<String> = vec![
        format!("-L{}", lib.display()),
        "-lembertls".to_owned(),
        "-lpthread".to_owned(),
        format!("-Wl,-rpath,{}", lib.display()),
        // DT_RPATH, searched before LD_LIBRARY_PATH: `cargo run` puts target/<profile> on
        // it, where a plain `cargo build` may have left another libembertls.so.
        "-Wl,--disable-new-dtags".to_owned(),
    ];
    let peer = |name: &str, libs: &[String]| -> (PathBuf, Vec<String>) {
        let mut args: Vec<String> = PEER_CFLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("-I{}", include.display()));
        for src in ["harness.c", name, "count_alloc.c"] {
            args.push(bench.join(src).display().to_string());
        }
        // -rdynamic: the libraries allocate through count_alloc.c's malloc.
        args.push("-rdynamic".to_owned());
        args.extend(libs.iter().cloned());
        args.push("-lm".to_owned());
        (out.join(name.trim_end_matches(".c")), args)
    };
    let example = |name: &str| -> (PathBuf, Vec<String>) {
        let mut args: Vec<String> = EXAMPLE_CFLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("-I{}", include.display()));
        args.push(examples.join(format!("{name}.c")).display().to_string());
        args.push(examples.join("common.c").display().to_string());
        args.extend(embertls.iter().cloned());
        (out.join(name), args)
    };
    let openssl_libs = ["-lssl".to_owned(), "-lcrypto".to_owned()];
    let jobs = [
        peer("ember_peer.c", &embertls),
        peer("openssl_peer.c", &openssl_libs),
        example("client"),
        example("server"),
    ];
    let handles: Vec<_> = jobs
        .iter()
        .cloned()
        .map(|(exe, args)| thread::spawn(move || cc(&exe, &args)))
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "a compiler thread panicked")??;
    }
    let [ember_peer, openssl_peer, client, server] = jobs.map(|(exe, _)| exe);
    let compiler = Command::new("cc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "cc".to_owned());
    Ok(Programs {
        ember_peer,
        openssl_peer,
        client,
        server,
        compiler,
    })
}

/// Compiles into a temporary name and renames, so a running copy is never overwritten.
fn cc(exe: &Path, args: &[String]) -> Result<(), String> {
    let tmp = exe.with_extension(format!("tmp{}", std::process::id()));
    let out = Command::new("cc")
        .args(args)
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "compiling {} failed: cc {}\n{}",
            exe.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::rename(&tmp, exe).map_err(|e| format!("rename to {}: {e}", exe.display()))
}
