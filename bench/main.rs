//! `bench/run [OPTIONS]`: embertls side by side with OpenSSL and native rustls, one core,
//! client and server in one process talking through memory, plus the limits of the
//! primitives and the handshake latency of the C examples over loopback TCP. See
//! bench/README.md for what each figure measures.
//!
//! The binary is both the driver and the native rustls peer (`bench native ...`, see
//! native.rs); the embertls and OpenSSL peers are C programs it compiles (bench/*.c).

mod alloc;
mod compile;
mod latency;
mod native;
mod pki;
mod procs;
mod report;
mod speed;

// The tests' helpers, for the few the bench shares with them (where cargo put the library,
// the examples' summary line).
#[allow(dead_code)]
#[path = "../tests/all/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use procs::Runner;
use report::{Context, Peer, Results, PEERS};

/// Counts the heap, for the native peer's heap figures.
#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn usage() -> String {
    format!(
        "\
usage: bench/run [--runs K] [--secs S] [--heap-conns N] [--latency-conns N]
                 [--cpu N | --no-pin] [--only LIST] [--peers LIST]
                 [--out FILE | --no-out] [--glibc-memcpy] [--quick] [--keep-pki]
                 [--verbose]

  --runs K            runs of every figure; the table shows the median (default 5)
  --secs S            seconds each timed figure runs, per run (default 1)
  --heap-conns N      connections held open for the heap figures (default 200)
  --latency-conns N   connections per latency run (default 200)
  --cpu N             pin every peer to CPU N (default: the highest CPU, with taskset)
  --no-pin            do not pin
  --only LIST         only these figures: comma-separated prefixes of figure ids
                      (hs13-ecdsa-full, hs13-rsa-full, hs13-ecdsa-resumed, hs12-ecdsa-full,
                      bulk-SUITE-CHUNK with SUITE aes128|aes256|chacha and CHUNK 16384|1024,
                      heap, latency, limits), e.g. --only bulk-aes128,limits
  --peers LIST        only these peers: embertls,openssl,rustls (default all three)
  --out FILE          write the report to FILE too (default bench/results.md; quick: none)
  --no-out            write the report to stdout only
  --glibc-memcpy      leave glibc's memcpy strategy alone (by default the programs run
                      with GLIBC_TUNABLES={}:
                      `rep movsb` is slow for some alignments on some CPUs, which would
                      make bulk figures depend on heap layout)
  --quick             tiny counts, one run, no pinning: checks that everything works
                      (the smoke test); the figures mean nothing
  --keep-pki          keep the generated certificates (their directory is printed), to
                      run a peer by hand: see --verbose for the commands
  --verbose           print every command run
",
        procs::VECTOR_MEMCPY
    )
}

/// The command line.
struct Options {
    runs: usize,
    secs: f64,
    heap_conns: usize,
    latency_conns: usize,
    /// None: choose; Some(None): no pinning; Some(Some(n)): CPU n.
    cpu: Option<Option<usize>>,
    only: Vec<String>,
    peers: Vec<Peer>,
    /// None: the default for the mode.
    out: Option<Option<PathBuf>>,
    glibc_memcpy: bool,
    quick: bool,
    keep_pki: bool,
    verbose: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runs: 5,
        secs: 1.0,
        heap_conns: 200,
        latency_conns: 200,
        cpu: None,
        only: Vec::new(),
        peers: PEERS.to_vec(),
        out: None,
        glibc_memcpy: false,
        quick: false,
        keep_pki: false,
        verbose: false,
    };
    if args.iter().any(|a| a == "--quick") {
        o.quick = true;
        o.runs = 1;
        o.secs = 0.02;
        o.heap_conns = 4;
        o.latency_conns = 3;
        o.cpu = Some(None);
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{}", usage()))
        };
        let number = |name: &str, v: String| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|n| *n > 0.0 && n.is_finite())
                .ok_or_else(|| format!("{name} takes a positive number, not \"{v}\""))
        };
        match arg.as_str() {
            "--runs" => o.runs = number(arg, value(arg)?)? as usize,
            "--secs" => o.secs = number(arg, value(arg)?)?,
            "--heap-conns" => o.heap_conns = number(arg, value(arg)?)? as usize,
            "--latency-conns" => o.latency_conns = number(arg, value(arg)?)? as usize,
            "--cpu" => {
                let v = value(arg)?;
                o.cpu =
                    Some(Some(v.parse().map_err(|_| {
                        format!("--cpu takes a CPU number, not \"{v}\"")
                    })?))
            }
            "--no-pin" => o.cpu = Some(None),
            "--only" => o.only = value(arg)?.split(',').map(str::to_owned).collect(),
            "--peers" => {
                o.peers = Vec::new();
                for name in value(arg)?.split(',') {
                    let peer = PEERS
                        .into_iter()
                        .find(|p| p.name() == name)
                        .ok_or_else(|| {
                            format!("unknown peer \"{name}\" (embertls, openssl, rustls)")
                        })?;
                    o.peers.push(peer);
                }
            }
            "--out" => o.out = Some(Some(PathBuf::from(value(arg)?))),
            "--no-out" => o.out = Some(None),
            "--glibc-memcpy" => o.glibc_memcpy = true,
            "--quick" => {}
            "--keep-pki" => o.keep_pki = true,
            "--verbose" => o.verbose = true,
            "-h" | "--help" => {
                print!("{}", usage());
                std::process::exit(0);
            }
            other => return Err(format!("unknown option \"{other}\"\n{}", usage())),
        }
    }
    if o.runs == 0 || o.heap_conns == 0 || o.latency_conns == 0 {
        return Err("--runs, --heap-conns and --latency-conns must be at least 1".to_owned());
    }
    Ok(o)
}

impl Options {
    fn selected(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|prefix| id.starts_with(prefix.as_str()))
    }
}

/// One invocation of a peer: its arguments and the figures it prints.
struct Job {
    id: String,
    args: Vec<String>,
}

fn jobs(o: &Options, pki: &Path) -> Vec<Job> {
    let dir = pki.display().to_string();
    let secs = o.secs.to_string();
    let mut jobs = Vec::new();
    for (cert, tls, mode) in [
        ("ecdsa", "13", "full"),
        ("rsa", "13", "full"),
        ("ecdsa", "13", "resumed"),
        ("ecdsa", "12", "full"),
    ] {
        jobs.push(Job {
            id: format!("hs{tls}-{cert}-{mode}"),
            args: vec![
                "hs".into(),
                dir.clone(),
                cert.into(),
                tls.into(),
                mode.into(),
                secs.clone(),
            ],
        });
    }
    for suite in ["aes128", "aes256", "chacha"] {
        for chunk in ["16384", "1024"] {
            jobs.push(Job {
                id: format!("bulk-{suite}-{chunk}"),
                args: vec![
                    "bulk".into(),
                    dir.clone(),
                    suite.into(),
                    chunk.into(),
                    secs.clone(),
                ],
            });
        }
    }
    jobs.push(Job {
        id: "heap".to_owned(),
        args: vec!["heap".into(), dir, o.heap_conns.to_string()],
    });
    jobs.into_iter().filter(|j| o.selected(&j.id)).collect()
}

/// The executables of the peers.
struct PeerExes {
    ember: PathBuf,
    openssl: PathBuf,
    native: PathBuf,
}

impl PeerExes {
    fn command(&self, peer: Peer, runner: Runner) -> std::process::Command {
        match peer {
            Peer::Ember => runner.command(&self.ember),
            Peer::Openssl => runner.command(&self.openssl),
            Peer::Rustls => {
                let mut cmd = runner.command(&self.native);
                cmd.arg("native");
                cmd
            }
        }
    }
}

/// One `result` line of a peer.
struct Line {
    figure: String,
    value: f64,
    fields: Vec<(String, String)>,
}

fn result_lines(out: &str) -> Vec<Line> {
    out.lines()
        .filter_map(|l| l.strip_prefix("result "))
        .filter_map(|rest| {
            let mut line = Line {
                figure: String::new(),
                value: f64::NAN,
                fields: rest
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            };
            line.figure = field(&line, "figure")?.to_owned();
            line.value = field(&line, "value")?.parse().ok()?;
            Some(line)
        })
        .collect()
}

fn field<'a>(line: &'a Line, key: &str) -> Option<&'a str> {
    line.fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// "TLSv1.3 TLS_AES_256_GCM_SHA384" for a line's version= and suite= fields.
fn negotiated(line: &Line) -> Option<String> {
    let id = |key| u16::from_str_radix(field(line, key)?.trim_start_matches("0x"), 16).ok();
    let version = match id("version")? {
        0x0304 => "TLSv1.3".to_owned(),
        0x0303 => "TLSv1.2".to_owned(),
        v => format!("0x{v:04x}"),
    };
    let suite = match id("suite")? {
        0x1301 => "TLS_AES_128_GCM_SHA256".to_owned(),
        0x1302 => "TLS_AES_256_GCM_SHA384".to_owned(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".to_owned(),
        0xc02b => "ECDHE-ECDSA-AES128-GCM-SHA256".to_owned(),
        0xc02c => "ECDHE-ECDSA-AES256-GCM-SHA384".to_owned(),
        0xcca9 => "ECDHE-ECDSA-CHACHA20-POLY1305".to_owned(),
        0xc02f => "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
        0xc030 => "ECDHE-RSA-AES256-GCM-SHA384".to_owned(),
        s => format!("0x{s:04x}"),
    };
    Some(format!("{version} {suite}"))
}

/// CPU time of the whole machine (busy, steal; in clock ticks) from /proc/stat, and ours
/// (this process and its waited-for children; in seconds).
struct CpuClock {
    busy: u64,
    steal: u64,
    ours: f64,
    at: Instant,
}

impl CpuClock {
    fn now() -> Option<CpuClock> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let busy = cpu[0] + cpu[1] + cpu[2] + cpu.get(5)? + cpu.get(6)?;
        let steal = *cpu.get(7)?;
        let mut ours = 0.0;
        for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
            // SAFETY: getrusage fills the struct it is given.
            let usage = unsafe {
                let mut usage: libc::rusage = std::mem::zeroed();
                libc::getrusage(who, &mut usage);
                usage
            };
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            ours += secs(usage.ru_utime) + secs(usage.ru_stime);
        }
        Some(CpuClock {
            busy,
            steal,
            ours,
            at: Instant::now(),
        })
    }

    /// "others kept X of the N CPUs busy" since `start`.
    fn others_since(&self, start: &CpuClock, cpus: usize) -> String {
        // SAFETY: sysconf has no preconditions.
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let wall = self.at.duration_since(start.at).as_secs_f64().max(1e-9);
        let busy = (self.busy - start.busy) as f64 / tick;
        let others = ((busy - (self.ours - start.ours)) / wall).max(0.0);
        let steal = (self.steal - start.steal) as f64 / tick / wall;
        format!(
            "other processes kept {others:.2} of the {cpus} CPUs busy on average during the \
             run; steal {steal:.2} CPUs"
        )
    }
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}

fn machine() -> (String, usize) {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = info
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    (
        format!("{model}, {cpus} CPUs, Linux {}", kernel.trim()),
        cpus,
    )
}

fn utc_now() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn drive(o: &Options) -> Result<(), String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let lib = support::lib_dir();
    // target/<profile>/bench: the C programs, beside the library they are linked with.
    let build_dir = lib.with_file_name("bench");
    let profile = build_dir
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if profile != "release" && !o.quick {
        eprintln!("bench: warning: this is a {profile} build; bench/run builds with --release");
    }
    let pki = pki::Pki::generate(o.keep_pki)?;
    if o.keep_pki || o.verbose {
        eprintln!("bench: certificates in {}", pki.dir().display());
    }
    let programs = compile::build(manifest, &lib, &build_dir)?;
    let exes = PeerExes {
        ember: programs.ember_peer.clone(),
        openssl: programs.openssl_peer.clone(),
        native: std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let cpu = match o.cpu {
        Some(Some(cpu)) => Ok(cpu),
        Some(None) => Err("none (--no-pin or --quick)".to_owned()),
        None => procs::choose_cpu().map_err(|why| format!("none: {why}")),
    };
    let (pin, pinning) = match cpu {
        Ok(cpu) => (
            Some(cpu),
            format!("every program pinned to CPU {cpu} with taskset"),
        ),
        Err(none) => (None, none),
    };
    let runner = Runner {
        pin,
        vector_memcpy: !o.glibc_memcpy,
    };
    let memcpy = if o.glibc_memcpy {
        "glibc's default (--glibc-memcpy)".to_owned()
    } else {
        format!("GLIBC_TUNABLES={} for every program", procs::VECTOR_MEMCPY)
    };
    let (machine, cpus) = machine();
    let load_start = loadavg();
    let clock_start = CpuClock::now();
    let timeout = Duration::from_secs_f64(o.secs * 4.0 + 120.0);

    let mut versions = Vec::new();
    for peer in PEERS {
        let plain = Runner {
            pin: None,
            vector_memcpy: false,
        };
        let out = procs::run_ok(exes.command(peer, plain).arg("versions"), timeout)?;
        let text = out
            .lines()
            .find_map(|l| l.strip_prefix("versions "))
            .ok_or_else(|| format!("{} printed no versions line", peer.name()))?;
        let text = text.split_once(' ').map_or(text, |(_, rest)| rest);
        versions.push(match peer {
            Peer::Ember => format!(
                "embertls peer: {text}, libembertls.so from {}",
                lib.strip_prefix(manifest).unwrap_or(&lib).display()
            ),
            Peer::Openssl => format!(
                "OpenSSL peer: {text}; limits measured with the CLI, {}",
                speed::Primitives::cli_version()
            ),
            Peer::Rustls => format!(
                "native rustls peer: {text}, ring {}",
                env!("EMBER_RING_VERSION")
            ),
        });
    }
    versions.push(format!(
        "Builds: bench binary and libembertls {profile}; C peers and examples {} ({})",
        compile::PEER_CFLAGS[1],
        programs.compiler
    ));

    // Measured in every run, beside the peers; the report takes the medians.
    let mut measured_primitives = Vec::new();

    let jobs = jobs(o, pki.dir());
    let mut results = Results::default();
    // The timed figures' CPU and wall-clock time, summed: how much of the core they had.
    let (mut cpu_time, mut wall_time) = (0.0, 0.0);
    for run in 0..o.runs {
        for job in &jobs {
            for i in 0..o.peers.len() {
                // Each run starts with another peer, so none always runs first.
                let peer = o.peers[(i + run) % o.peers.len()];
                let mut cmd = exes.command(peer, runner);
                cmd.args(&job.args);
                if o.verbose {
                    eprintln!("bench: {cmd:?}");
                }
                let out = procs::run_ok(&mut cmd, timeout)?;
                let lines = result_lines(&out);
                if lines.is_empty() {
                    return Err(format!(
                        "{} {} printed no result:\n{out}",
                        peer.name(),
                        job.id
                    ));
                }
                for line in lines {
                    let key = (line.figure.clone(), peer);
                    if let Some(n) = negotiated(&line) {
                        results.negotiated.entry(key.clone()).or_insert(n);
                    }
                    let time = |k| field(&line, k).and_then(|v| v.parse::<f64>().ok());
                    if let (Some(cpu), Some(wall)) = (time("secs"), time("wall")) {
                        cpu_time += cpu;
                        wall_time += wall;
                    }
                    eprintln!(
                        "bench: run {}/{}: {} {} = {} {}",
                        run + 1,
                        o.runs,
                        line.figure,
                        peer.name(),
                        report::num(line.value),
                        field(&line, "unit").unwrap_or("")
                    );
                    results.samples.entry(key).or_default().push(line.value);
                }
            }
        }
        if o.selected("limits") {
            eprintln!(
                "bench: run {}/{}: openssl speed, ring's AEAD and signatures",
                run + 1,
                o.runs
            );
            measured_primitives.push(speed::measure(
                runner,
                &exes.native,
                pki.dir(),
                1,
                o.secs,
                o.quick,
            )?);
        }
        if o.selected("latency") && o.peers.contains(&Peer::Ember) {
            let log = build_dir.join("latency-server.log");
            let times = latency::measure(&programs, pki.dir(), o.latency_conns, runner, &log)?;
            for (id, p) in [("latency-p50", 50.0), ("latency-p99", 99.0)] {
                let v = latency::percentile(&times, p);
                eprintln!(
                    "bench: run {}/{}: {id} embertls = {} ms",
                    run + 1,
                    o.runs,
                    report::num(v)
                );
                results
                    .samples
                    .entry((id.to_owned(), Peer::Ember))
                    .or_default()
                    .push(v);
            }
        }
    }

    let mut load = match (clock_start, CpuClock::now()) {
        (Some(start), Some(end)) => format!(
            "load average {load_start} at the start, {} at the end; {}",
            loadavg(),
            end.others_since(&start, cpus)
        ),
        _ => format!(
            "load average {load_start} at the start, {} at the end",
            loadavg()
        ),
    };
    if wall_time > 0.0 {
        load.push_str(&format!(
            "; the timed figures had {:.0}% of their core (CPU time / wall-clock time)",
            100.0 * cpu_time / wall_time
        ));
    }
    let ctx = Context {
        date: utc_now(),
        machine,
        load,
        pinning,
        memcpy,
        versions,
        settings: format!(
            "median of {} run(s); timed figures {} s each; heap over {} connections; latency \
             over {} connections per run{}; took {:.0} s",
            o.runs,
            o.secs,
            o.heap_conns,
            o.latency_conns,
            if o.quick {
                "; QUICK MODE: the figures mean nothing"
            } else {
                ""
            },
            started.elapsed().as_secs_f64()
        ),
    };
    let primitives = speed::Primitives::median(measured_primitives);
    let text = report::render(&ctx, &results, primitives.as_ref());
    print!("{text}");
    let out = match &o.out {
        Some(out) => out.clone(),
        None if o.quick => None,
        None => Some(manifest.join("bench").join("results.md")),
    };
    if let Some(path) = out {
        fs::write(&path, &text).map_err(|e| format!("write {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("native") {
        return ExitCode::from(native::main(&args[1..]) as u8);
    }
    match parse(&args).and_then(|o| drive(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
