//! Handshake latency over loopback TCP between the C examples: examples-c/server (one
//! thread per connection, blocking fd mode) serving `conns` connections, and that many runs
//! of examples-c/client, one after the other, each a new process doing one full TLS 1.3
//! handshake (X25519, ECDSA P-256 chain) and a clean close. The figure is the client's own
//! measurement, `handshake_ms` in its summary line: from its first ember_conn_handshake
//! call (TCP already connected) to the handshake's completion.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::compile::Programs;
use crate::procs::{self, Runner};
use crate::support;

/// The handshake times of `conns` connections, in ms, in the order they were made.
pub fn measure(
    programs: &Programs,
    pki: &Path,
    conns: usize,
    runner: Runner,
    log: &Path,
) -> Result<Vec<f64>, String> {
    let mut server = runner
        .command(&programs.server)
        .args(["--listen", "127.0.0.1:0", "--cert"])
        .arg(pki.join("ecdsa.pem"))
        .arg("--key")
        .arg(pki.join("ecdsa.key"))
        .args(["--max-conns", &conns.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?)
        .spawn()
        .map_err(|e| format!("cannot start examples-c/server: {e}"))?;
    let mut stdout = BufReader::new(server.stdout.take().expect("piped"));
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    let Some(port) = line
        .trim()
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok())
    else {
        let _ = server.kill();
        let _ = server.wait();
        return Err(format!(
            "examples-c/server did not say where it listens (\"{}\"); see {}",
            line.trim(),
            log.display()
        ));
    };
    // Whatever else it prints, so it never blocks on a full pipe.
    thread::spawn(move || {
        let _ = stdout.read_to_end(&mut Vec::new());
    });

    let addr = format!("127.0.0.1:{port}");
    let mut times = Vec::with_capacity(conns);
    let mut failure = None;
    for _ in 0..conns {
        let mut client = runner.command(&programs.client);
        client
            .args(["--connect", &addr, "--servername", "localhost", "--ca"])
            .arg(pki.join("ca.pem"));
        match procs::run(&mut client, Duration::from_secs(30)) {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                // Not only_summary(), which panics: a failed client is reported like the rest.
                let ms = match support::summaries(&stderr).as_slice() {
                    [summary] => summary
                        .field("handshake_ms")
                        .and_then(|ms| ms.parse::<f64>().ok()),
                    _ => None,
                };
                match ms {
                    Some(ms) if out.status.success() => times.push(ms),
                    _ => {
                        failure = Some(format!(
                            "examples-c/client failed ({}):\n{stderr}",
                            out.status
                        ));
                        break;
                    }
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // The server exits by itself after --max-conns connections; not if a client failed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(server.try_wait(), Ok(Some(_))) {
        if failure.is_some() || Instant::now() > deadline {
            let _ = server.kill();
            let _ = server.wait();
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(times),
    }
}

/// The nearest-rank percentile `p` (0-100) of `values`.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
