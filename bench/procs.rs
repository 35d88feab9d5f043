//! Running the peers: pinned to one CPU with taskset when possible, never longer than a
//! deadline, output collected.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// glibc's memcpy uses `rep movsb` from 8 KiB up (with AVX-512); on some CPUs (AMD Zen 3
/// and 4 among them) that runs two to three times slower for some source/destination
/// alignments, so a program's bulk figure would depend on where its heap happens to put
/// buffers. This keeps memcpy on its vector loop, whatever the alignment.
pub const VECTOR_MEMCPY: &str = "glibc.cpu.x86_rep_movsb_threshold=1073741824";

/// How every measured program is started.
#[derive(Clone, Copy)]
pub struct Runner {
    /// Run under `taskset -c CPU`.
    pub pin: Option<usize>,
    /// Set [`VECTOR_MEMCPY`] in GLIBC_TUNABLES.
    pub vector_memcpy: bool,
}

impl Runner {
    /// A command for `program`, pinned and tuned as the runner says.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = match self.pin {
            Some(cpu) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(cpu.to_string()).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        if self.vector_memcpy {
            let tunables = match std::env::var("GLIBC_TUNABLES") {
                Ok(t) if !t.is_empty() => format!("{t}:{VECTOR_MEMCPY}"),
                _ => VECTOR_MEMCPY.to_owned(),
            };
            cmd.env("GLIBC_TUNABLES", tunables);
        }
        cmd
    }
}

/// The CPU to pin to: the highest one this process may run on, if taskset works here.
/// Otherwise None and why.
pub fn choose_cpu() -> Result<usize, String> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it for this process.
    let cpu = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err("sched_getaffinity failed".to_owned());
        }
        (0..libc::CPU_SETSIZE as usize)
            .rev()
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .ok_or("no CPU in the affinity mask")?
    };
    let runner = Runner {
        pin: Some(cpu),
        vector_memcpy: false,
    };
    match runner.command(Path::new("true")).output() {
        Ok(out) if out.status.success() => Ok(cpu),
        Ok(out) => Err(format!(
            "taskset -c {cpu} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("taskset is not available ({e})")),
    }
}

/// Runs `cmd` with stdin from /dev/null until it exits; kills it after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let pid = child.id();
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("piped")));
    let stderr = collect(Box::new(child.stderr.take().expect("piped")));
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(status) => status.map_err(|e| format!("waiting for {what}: {e}"))?,
        Err(_) => {
            // SAFETY: kill(2) on the pid of our child, which has not been reaped yet.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let _ = waiter.join();
            return Err(format!("{what} did not finish within {timeout:?} (killed)"));
        }
    };
    let _ = waiter.join();
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// [`run`], then the stdout of a successful exit; a failure carries the stderr.
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<String, String> {
    let what = format!("{cmd:?}");
    let out = run(cmd, timeout)?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{what} wrote non-UTF-8 output"))
}
