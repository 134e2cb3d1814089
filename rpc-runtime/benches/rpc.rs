//! The RPC benchmark of `shared/bench/WORKLOAD.md`: scenarios S1–S3 over TCP and Unix sockets,
//! `peer=rpc-runtime` (real `#[derive(Wire)]` messages, a real `#[service]`, the generated
//! client) against `peer=raw` (blocking sockets, one thread per connection) and `peer=smol-raw`
//! (the same raw frames over async-io sockets on smol executors, no framework) in the same run.
//! smol-raw against raw is what async-io and the executor cost; rpc-runtime against smol-raw is
//! what the framework itself costs.
//!
//! ```sh
//! cargo bench -p rpc-runtime --bench rpc -- [S1|S2|S3|all] [tcp|uds|all] [--secs N] [--reps N]
//!     [--client-executor shared|per-thread]
//! cargo bench -p rpc-runtime --bench rpc -- idle [tcp|uds|all] [--conns N] [--reps N]
//! ```
//!
//! `--client-executor` (or `RPC_BENCH_CLIENT_EXECUTOR`) says how the async clients (rpc-runtime
//! and smol-raw) use their two threads: `shared`, the default, is one smol executor that both
//! threads run and steal from; `per-thread` gives each thread an executor of its own and puts
//! every task the bench spawns for a connection on one of them (a task the runtime spawns to
//! finish a write to a full socket goes to smol's global executor either way). Each line says
//! which as `client_exec=`.
//!
//! Every cell runs in a fresh process (this binary re-runs itself with
//! `--cell PEER SCENARIO TRANSPORT SECS`), repetitions in rep-major order; each cell prints one
//! `peer=... calls_per_s=...` line, and a summary of medians and ratios between the peers
//! follows.
//!
//! The `idle` scenario (not part of `all`) opens `--conns` connections (default 10,000) that
//! each make one ping and then stay idle, and reports the server's resident memory growth per
//! connection and the time the server took to accept them all. Client sockets are plain
//! blocking sockets in the same process, which hold no user-space memory, so the process's RSS
//! growth is the server's.

use hdrhistogram::Histogram;
use rpc_runtime::{Client, Endpoint, Server, Wire, service};
use smol::Async;
use smol::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The workload's request: `id: u32, amount: i64, name: [u8; 32]`, 44 bytes.
#[derive(Wire, Debug, Clone, Copy)]
#[wire(order = "<")]
pub struct BenchRequest {
    /// Per-caller counter.
    pub id: u32,
    /// `id * 3 + 1`.
    pub amount: i64,
    /// A fixed name.
    pub name: [u8; 32],
}

/// The workload's response: `id: u32, balance: i64, ok: bool`, 13 bytes.
#[derive(Wire, Debug, Clone, Copy)]
#[wire(order = "<")]
pub struct BenchResponse {
    /// The request's id.
    pub id: u32,
    /// `amount * 2`.
    pub balance: i64,
    /// Always true.
    pub ok: bool,
}

/// The benchmark service. The workload's handler never waits (no sleeping, no I/O), so it is
/// a plain `fn`: the server runs it inline and frames its reply with no future and no box.
#[service]
pub trait Bench {
    /// Echoes the id and doubles the amount.
    fn call(&self, request: BenchRequest) -> Result<BenchResponse, ()>;
}

struct Handler;

impl Bench for Handler {
    fn call(&self, r: BenchRequest) -> Result<BenchResponse, ()> {
        Ok(respond(&r))
    }
}

fn respond(r: &BenchRequest) -> BenchResponse {
    BenchResponse {
        id: r.id,
        balance: r.amount * 2,
        ok: true,
    }
}

const NAME: [u8; 32] = *b"alice-account-0000000000000000!!";
const WARMUP: Duration = Duration::from_secs(1);
/// The peers of every cell, in the order a repetition runs them.
const PEERS: [&str; 3] = ["raw", "smol-raw", "rpc-runtime"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Tcp,
    Uds,
}

#[derive(Clone, Copy, Debug)]
struct Scenario {
    name: &'static str,
    conns: usize,
    inflight: usize,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "S1",
        conns: 1,
        inflight: 1,
    },
    Scenario {
        name: "S2",
        conns: 1,
        inflight: 64,
    },
    Scenario {
        name: "S3",
        conns: 16,
        inflight: 8,
    },
];

/// The measured window: calls are recorded if they start and end inside it.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    /// A window of `measured` that opens after the warm-up plus `extra`, counted from now.
    fn after_warmup(extra: Duration, measured: Duration) -> Window {
        let start = Instant::now() + WARMUP + extra;
        Window {
            start,
            end: start + measured,
        }
    }
}

/// What one caller measured.
struct Tally {
    calls: u64,
    /// Every call made, in the window or not: instruction counts of a whole run (callgrind)
    /// divide by this.
    all: u64,
    hist: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            calls: 0,
            all: 0,
            hist: Histogram::new_with_bounds(1, 100_000_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }

    fn record(&mut self, w: &Window, started: Instant, done: Instant, n: u64) {
        self.all += n;
        if started >= w.start && done <= w.end {
            let ns = done.duration_since(started).as_nanos() as u64;
            self.hist.saturating_record_n(ns.max(1), n);
            self.calls += n;
        }
    }

    /// All the callers' tallies in one.
    fn sum(tallies: impl IntoIterator<Item = Tally>) -> Tally {
        let mut total = Tally::new();
        for t in tallies {
            total.calls += t.calls;
            total.all += t.all;
            total.hist.add(&t.hist).expect("same bounds");
        }
        total
    }
}

fn request(id: u32) -> BenchRequest {
    BenchRequest {
        id,
        amount: i64::from(id) * 3 + 1,
        name: NAME,
    }
}

fn check(req: &BenchRequest, resp: &BenchResponse) {
    assert!(
        resp.id == req.id && resp.ok && resp.balance == req.amount * 2,
        "bad response {resp:?} to {req:?}"
    );
}

/// Process CPU time (user, system), context switches, and the voluntary ones among them (a
/// thread parking; the rest are preemptions, which follow the machine's load), from /proc
/// (getrusage would need `unsafe`, which this workspace forbids).
fn usage() -> Usage {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat; after the ')' they are at 11 and 12.
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = 100;
    let user = Duration::from_millis(tick(11) * 1000 / hz);
    let sys = Duration::from_millis(tick(12) * 1000 / hz);
    // Context switches are counted per thread: sum over the live threads of the process.
    let (mut ctx, mut voluntary) = (0, 0);
    let statuses = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok());
    for status in statuses {
        for line in status.lines().filter(|l| l.contains("ctxt_switches")) {
            let n: u64 = line
                .split_whitespace()
                .last()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            ctx += n;
            if line.starts_with("voluntary") {
                voluntary += n;
            }
        }
    }
    (user, sys, ctx, voluntary)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--cell") {
        run_cell(&args[1..]);
        return;
    }
    if args.first().map(String::as_str) == Some("--idle-clients") {
        idle_clients(&args[1..]);
        return;
    }
    let mut scenarios: Vec<Scenario> = SCENARIOS.to_vec();
    let mut transports = vec![Transport::Tcp, Transport::Uds];
    let mut secs = 5u64;
    let mut reps = 3usize;
    let mut idle = false;
    let mut conns = 10_000usize;
    let mut layout: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "S1" | "S2" | "S3" => scenarios.retain(|s| s.name == a),
            "idle" => idle = true,
            "--conns" => conns = it.next().and_then(|v| v.parse().ok()).unwrap_or(conns),
            "tcp" => transports = vec![Transport::Tcp],
            "uds" => transports = vec![Transport::Uds],
            "all" => {}
            "--secs" => secs = it.next().and_then(|v| v.parse().ok()).unwrap_or(secs),
            "--reps" => reps = it.next().and_then(|v| v.parse().ok()).unwrap_or(reps),
            "--client-executor" => match it.next().map(String::as_str) {
                Some(v @ ("shared" | "per-thread")) => layout = Some(v.to_owned()),
                v => {
                    eprintln!("--client-executor {v:?}: expected shared or per-thread");
                    std::process::exit(2);
                }
            },
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: rpc [S1|S2|S3|all|idle] [tcp|uds|all] [--secs N] [--reps N] [--conns N] [--client-executor shared|per-thread]"
                );
                std::process::exit(2);
            }
        }
    }
    // A bad RPC_BENCH_CLIENT_EXECUTOR stops the run here, not in its first async cell.
    let _ = Layout::from_env();
    let exe = std::env::current_exe().expect("current exe");
    let mut lines: Vec<String> = Vec::new();
    if idle {
        for _rep in 0..reps {
            for t in &transports {
                let transport = if *t == Transport::Tcp { "tcp" } else { "uds" };
                let out = Command::new(&exe)
                    .args([
                        "--cell",
                        "rpc-runtime",
                        "idle",
                        transport,
                        &conns.to_string(),
                    ])
                    .output()
                    .expect("run a cell");
                if !out.status.success() {
                    eprintln!(
                        "idle cell {transport} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    std::process::exit(1);
                }
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    println!("{line}");
                    lines.push(line.to_owned());
                }
            }
        }
        summarize_idle(&lines);
        return;
    }
    for _rep in 0..reps {
        for s in &scenarios {
            for t in &transports {
                for peer in PEERS {
                    let mut cell = Command::new(&exe);
                    if let Some(layout) = &layout {
                        cell.env("RPC_BENCH_CLIENT_EXECUTOR", layout);
                    }
                    let out = cell
                        .args([
                            "--cell",
                            peer,
                            s.name,
                            if *t == Transport::Tcp { "tcp" } else { "uds" },
                            &secs.to_string(),
                        ])
                        .output()
                        .expect("run a cell");
                    let text = String::from_utf8_lossy(&out.stdout);
                    if !out.status.success() {
                        eprintln!(
                            "cell {peer} {} {t:?} failed: {}",
                            s.name,
                            String::from_utf8_lossy(&out.stderr)
                        );
                        std::process::exit(1);
                    }
                    for line in text.lines() {
                        println!("{line}");
                        lines.push(line.to_owned());
                    }
                }
            }
        }
    }
    let shown = layout
        .or_else(|| std::env::var("RPC_BENCH_CLIENT_EXECUTOR").ok())
        .unwrap_or_else(|| "shared".to_owned());
    println!("client executor: {shown}");
    summarize(&lines);
}

fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn text_field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.get(v.len() / 2).copied().unwrap_or(0.0);
    (
        mid,
        v.first().copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0),
    )
}

/// One peer's medians in one cell of the summary.
struct PeerSummary {
    calls_per_s: f64,
    p99_us: f64,
    /// The peer's part of the summary line.
    text: String,
}

fn summarize(lines: &[String]) {
    println!(
        "\nsummary: medians (min..max) over repetitions; ratio and p99 ratio are rpc-runtime / raw; the last two are calls/s ratios"
    );
    let mut cells: Vec<(String, String)> = Vec::new();
    for l in lines {
        let key = (
            text_field(l, "transport").to_owned(),
            text_field(l, "scenario").to_owned(),
        );
        if !cells.contains(&key) {
            cells.push(key);
        }
    }
    for (transport, scenario) in cells {
        let peer = |peer: &str| -> PeerSummary {
            let pick = |key: &str| -> Vec<f64> {
                lines
                    .iter()
                    .filter(|l| {
                        text_field(l, "peer") == peer
                            && text_field(l, "transport") == transport
                            && text_field(l, "scenario") == scenario
                    })
                    .filter_map(|l| field(l, key))
                    .collect()
            };
            let mid = |key: &str| median(pick(key)).0;
            let (calls_per_s, min, max) = median(pick("calls_per_s"));
            let p99_us = mid("p99_us");
            let text = format!(
                "{peer} {calls_per_s:.0}/s ({min:.0}..{max:.0}) p99 {p99_us:.1}us cpu {:.2}us/call user/sys {:.2}/{:.2}us ctxsw {:.2} (voluntary {:.2})",
                mid("cpu_us_per_call"),
                mid("user_us_per_call"),
                mid("sys_us_per_call"),
                mid("ctxsw_per_call"),
                mid("vol_ctxsw_per_call"),
            );
            PeerSummary {
                calls_per_s,
                p99_us,
                text,
            }
        };
        let raw = peer("raw");
        let smol = peer("smol-raw");
        let ours = peer("rpc-runtime");
        let ratio = |a: &PeerSummary, b: &PeerSummary| a.calls_per_s / b.calls_per_s.max(1.0);
        println!(
            "{transport} {scenario}: {} | {} | {} | ratio {:.2}, p99 ratio {:.2} | rpc-runtime/smol-raw {:.2}, smol-raw/raw {:.2}",
            raw.text,
            smol.text,
            ours.text,
            ratio(&ours, &raw),
            ours.p99_us / raw.p99_us.max(0.001),
            ratio(&ours, &smol),
            ratio(&smol, &raw),
        );
    }
}

fn summarize_idle(lines: &[String]) {
    println!("\nsummary: medians (min..max) over repetitions of the idle scenario");
    for transport in ["tcp", "uds"] {
        let pick = |key: &str| -> Vec<f64> {
            lines
                .iter()
                .filter(|l| text_field(l, "transport") == transport)
                .filter_map(|l| field(l, key))
                .collect()
        };
        let per_conn = pick("rss_bytes_per_conn");
        if per_conn.is_empty() {
            continue;
        }
        let (bytes, bmin, bmax) = median(per_conn);
        let (accept, amin, amax) = median(pick("accept_ms"));
        let (growth, _, _) = median(pick("rss_growth_mib"));
        println!(
            "{transport} idle: {bytes:.0} B/conn ({bmin:.0}..{bmax:.0}), RSS growth {growth:.1} MiB, accepted in {accept:.0} ms ({amin:.0}..{amax:.0})"
        );
    }
}

fn run_cell(args: &[String]) {
    let [peer, scenario, transport, secs] = args else {
        panic!("--cell PEER SCENARIO TRANSPORT SECS");
    };
    let t = if transport == "tcp" {
        Transport::Tcp
    } else {
        Transport::Uds
    };
    let dir = std::env::temp_dir().join(format!("rpc-bench-{}", std::process::id()));
    if scenario == "idle" {
        let conns: usize = secs.parse().expect("conns");
        let _ = std::fs::create_dir_all(&dir);
        idle_cell(t, &dir.join("bench.sock"), conns);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let s = *SCENARIOS
        .iter()
        .find(|s| s.name == scenario)
        .expect("known scenario");
    let secs: u64 = secs.parse().expect("secs");
    let _ = std::fs::create_dir_all(&dir);
    let sock = dir.join("bench.sock");
    let measured = Duration::from_secs(secs);
    // raw's client is one blocking thread per connection, whatever the layout asked for.
    let client_exec = match peer.as_str() {
        "raw" => "threads",
        _ => Layout::from_env().name(),
    };
    let (tally, cpu) = match peer.as_str() {
        "raw" => raw_cell(s, t, &sock, measured),
        "smol-raw" => smol_raw_cell(s, t, &sock, measured),
        "rpc-runtime" => rpc_cell(s, t, &sock, measured),
        other => panic!("unknown peer {other:?}; expected one of {PEERS:?}"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let calls = tally.calls.max(1);
    let (user, sys, ctx, voluntary) = cpu;
    let cpu_total = (user + sys).as_secs_f64() * 1e6;
    let q = |p: f64| tally.hist.value_at_quantile(p) as f64 / 1000.0;
    println!(
        "peer={peer} transport={transport} scenario={} conns={} inflight={} client_exec={} secs={secs} calls={} all_calls={} calls_per_s={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} cpu_us_per_call={:.3} user_us_per_call={:.3} sys_us_per_call={:.3} sys_frac={:.3} ctxsw_per_call={:.4} vol_ctxsw_per_call={:.4}",
        s.name,
        s.conns,
        s.inflight,
        client_exec,
        tally.calls,
        tally.all,
        tally.calls as f64 / measured.as_secs_f64(),
        q(0.5),
        q(0.99),
        q(0.999),
        tally.hist.max() as f64 / 1000.0,
        cpu_total / calls as f64,
        user.as_secs_f64() * 1e6 / calls as f64,
        sys.as_secs_f64() * 1e6 / calls as f64,
        sys.as_secs_f64() / (user + sys).as_secs_f64().max(1e-9),
        ctx as f64 / calls as f64,
        voluntary as f64 / calls as f64,
    );
}

/// User and system CPU time, context switches, voluntary context switches.
type Usage = (Duration, Duration, u64, u64);

/// Runs `work` between two usage samples taken at the window's edges.
fn measure_window(window: Window, done: &AtomicBool) -> Usage {
    std::thread::sleep(window.start.saturating_duration_since(Instant::now()));
    let a = usage();
    std::thread::sleep(window.end.saturating_duration_since(Instant::now()));
    let b = usage();
    done.store(true, Ordering::Relaxed);
    (
        b.0.saturating_sub(a.0),
        b.1.saturating_sub(a.1),
        b.2.saturating_sub(a.2),
        b.3.saturating_sub(a.3),
    )
}

/// Smol executors run by their own threads until [`Pool::stop`]: one executor that every
/// thread runs and steals from ([`Layout::Shared`]), or one per thread ([`Layout::PerThread`]).
///
/// Each thread keeps a [`Tally`] that tasks running on it record into ([`record_here`]):
/// one histogram per thread stays in the cache, where one per caller task (64 in S2, 128 in
/// S3, ~40 kB of each in use) missed it on most calls.
struct Pool {
    executors: Vec<Arc<smol::Executor<'static>>>,
    stop: smol::channel::Sender<()>,
    threads: Vec<std::thread::JoinHandle<Tally>>,
}

thread_local! {
    /// The tally of the [`Pool`] thread this runs on.
    static THREAD_TALLY: std::cell::RefCell<Option<Tally>> = const { std::cell::RefCell::new(None) };
}

/// Records a call into the tally of the pool thread running the caller.
fn record_here(w: &Window, started: Instant, done: Instant) {
    THREAD_TALLY.with_borrow_mut(|t| {
        t.as_mut()
            .expect("callers run on pool threads")
            .record(w, started, done, 1);
    });
}

impl Pool {
    fn new(threads: usize, layout: Layout) -> Pool {
        let count = match layout {
            Layout::Shared => 1,
            Layout::PerThread => threads,
        };
        let executors: Vec<_> = (0..count)
            .map(|_| Arc::new(smol::Executor::new()))
            .collect();
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let threads = (0..threads)
            .map(|i| {
                let ex = Arc::clone(&executors[i % executors.len()]);
                let stopped = stopped.clone();
                // Made before the thread starts its window, as the callers' were (see rpc_cell).
                let tally = Tally::new();
                std::thread::spawn(move || {
                    THREAD_TALLY.set(Some(tally));
                    let _ = smol::block_on(ex.run(stopped.recv()));
                    THREAD_TALLY.take().expect("set above")
                })
            })
            .collect();
        Pool {
            executors,
            stop,
            threads,
        }
    }

    /// The executor for the tasks of connection `c`: the one shared executor, or thread
    /// `c % threads`'s own, so that the bench's tasks of a connection run on one thread.
    fn for_conn(&self, c: usize) -> &smol::Executor<'static> {
        &self.executors[c % self.executors.len()]
    }

    /// Ends every thread's run loop, waits for them, and returns what tasks recorded on them
    /// with [`record_here`].
    fn stop(self) -> Tally {
        drop(self.stop);
        Tally::sum(
            self.threads
                .into_iter()
                .map(|th| th.join().expect("pool thread")),
        )
    }
}

/// How a client's threads run its tasks (`RPC_BENCH_CLIENT_EXECUTOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// One executor that every thread runs and steals from: smol's usual multi-threaded set-up,
    /// and the default. A caller's task runs on whichever thread takes it.
    Shared,
    /// An executor per thread, and the bench's tasks of a connection on one of them
    /// (connection `c` on thread `c % threads`): a connection's callers, and the wake-ups
    /// between them, stay on one thread.
    PerThread,
}

impl Layout {
    /// The value of `RPC_BENCH_CLIENT_EXECUTOR`: `shared` (or unset) or `per-thread`.
    fn from_env() -> Layout {
        match std::env::var("RPC_BENCH_CLIENT_EXECUTOR").as_deref() {
            Err(_) | Ok("shared") => Layout::Shared,
            Ok("per-thread") => Layout::PerThread,
            Ok(other) => {
                eprintln!(
                    "RPC_BENCH_CLIENT_EXECUTOR={other:?}: expected \"shared\" or \"per-thread\""
                );
                std::process::exit(2);
            }
        }
    }

    /// The name printed as `client_exec=`.
    fn name(self) -> &'static str {
        match self {
            Layout::Shared => "shared",
            Layout::PerThread => "per-thread",
        }
    }
}

/// How many threads a client's executor gets: the workload's two, or RPC_BENCH_CLIENT_THREADS
/// to see what the second thread costs (a diagnostic, not a workload cell).
fn client_threads() -> usize {
    std::env::var("RPC_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(2)
        .max(1)
}

fn rpc_cell(s: Scenario, t: Transport, sock: &Path, measured: Duration) -> (Tally, Usage) {
    let endpoint = match t {
        Transport::Tcp => "tcp://127.0.0.1:0".parse().expect("endpoint"),
        Transport::Uds => Endpoint::unix(sock),
    };
    let server = Server::builder()
        .listen(endpoint)
        .serve(ServeBench::new(Handler))
        .workers(2)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    let endpoint = server.endpoints()[0].clone();
    let pool = Pool::new(client_threads(), Layout::from_env());
    let window = Window::after_warmup(Duration::ZERO, measured);
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..s.conns {
        let client = BenchClient::new(Client::new(endpoint.clone()));
        smol::block_on(client.inner().ping()).expect("connect");
        for k in 0..s.inflight {
            let client = client.clone();
            let done = Arc::clone(&done);
            let base = ((c * s.inflight + k) as u32) << 24;
            tasks.push(pool.for_conn(c).spawn(async move {
                let mut n = 0u32;
                while !done.load(Ordering::Relaxed) {
                    let req = request(base | (n & 0x00ff_ffff));
                    n = n.wrapping_add(1);
                    let started = Instant::now();
                    let resp = client.call(req).await.expect("call");
                    let finished = Instant::now();
                    check(&req, &resp);
                    record_here(&window, started, finished);
                }
            }));
        }
    }
    let cpu = measure_window(window, &done);
    tasks.into_iter().for_each(smol::block_on);
    let total = pool.stop();
    server.stop();
    (total, cpu)
}

/// One raw request frame: u32 little-endian payload length, then the payload.
fn raw_request(id: u32) -> [u8; 48] {
    let mut f = [0u8; 48];
    f[..4].copy_from_slice(&44u32.to_le_bytes());
    let r = request(id);
    f[4..8].copy_from_slice(&r.id.to_le_bytes());
    f[8..16].copy_from_slice(&r.amount.to_le_bytes());
    f[16..48].copy_from_slice(&r.name);
    f
}

/// [`check`] for a raw response frame `r` (17 bytes, its length prefix included) to request
/// `id`.
fn check_raw(id: u32, r: &[u8]) {
    let rid = u32::from_le_bytes(r[4..8].try_into().expect("4 bytes"));
    let bal = i64::from_le_bytes(r[8..16].try_into().expect("8 bytes"));
    let amount = i64::from(id) * 3 + 1;
    assert!(
        rid == id && bal == amount * 2 && r[16] == 1,
        "bad raw response {r:?} to request {id}"
    );
}

/// The buffers of one raw server connection: the bytes read and not yet answered, and the
/// responses to the last read.
struct RawServer {
    buf: Vec<u8>,
    filled: usize,
    out: Vec<u8>,
}

impl RawServer {
    fn new() -> RawServer {
        RawServer {
            buf: vec![0u8; 64 * 1024],
            filled: 0,
            out: Vec::with_capacity(64 * 1024),
        }
    }

    /// Where the next read goes.
    fn space(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// Takes `n` bytes just read into [`RawServer::space`] and answers every complete request
    /// frame: the responses, to go out in one write (empty if no frame is complete yet).
    fn answer(&mut self, n: usize) -> &[u8] {
        self.filled += n;
        self.out.clear();
        let at = raw_answer(&self.buf[..self.filled], &mut self.out);
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        &self.out
    }
}

/// Appends to `out` the response to every complete request frame in `buf`; returns the bytes
/// those frames take. (Apart from `self`, so that the compiler knows `out` cannot move `buf`.)
fn raw_answer(buf: &[u8], out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    while buf.len() - at >= 48 {
        let p = &buf[at + 4..at + 48];
        let id = u32::from_le_bytes(p[0..4].try_into().expect("4 bytes"));
        let amount = i64::from_le_bytes(p[4..12].try_into().expect("8 bytes"));
        out.extend_from_slice(&13u32.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(amount * 2).to_le_bytes());
        out.push(1);
        at += 48;
    }
    at
}

fn raw_serve<S: Read + Write>(mut s: S) {
    let mut conn = RawServer::new();
    while let Ok(n @ 1..) = s.read(conn.space()) {
        if s.write_all(conn.answer(n)).is_err() {
            return;
        }
    }
}

fn raw_client<S: Read + Write>(
    mut s: S,
    base: u32,
    k: usize,
    window: Window,
    done: &AtomicBool,
    mut tally: Tally,
) -> Tally {
    let mut n = 0u32;
    let mut out = Vec::with_capacity(48 * k);
    let mut inbuf = vec![0u8; 17 * k];
    let mut ids = Vec::with_capacity(k);
    while !done.load(Ordering::Relaxed) {
        out.clear();
        ids.clear();
        for _ in 0..k {
            let id = base | (n & 0x00ff_ffff);
            n = n.wrapping_add(1);
            ids.push(id);
            out.extend_from_slice(&raw_request(id));
        }
        let started = Instant::now();
        s.write_all(&out).expect("write");
        s.read_exact(&mut inbuf).expect("read");
        let finished = Instant::now();
        for (i, id) in ids.iter().enumerate() {
            check_raw(*id, &inbuf[i * 17..(i + 1) * 17]);
        }
        tally.record(&window, started, finished, k as u64);
    }
    tally
}

fn raw_cell(s: Scenario, t: Transport, sock: &Path, measured: Duration) -> (Tally, Usage) {
    let window = Window::after_warmup(Duration::from_millis(100), measured);
    let done = Arc::new(AtomicBool::new(false));
    let (listener, endpoint) = Listener::bind(t, sock);
    listener.serve_each(|conn| {
        std::thread::spawn(move || raw_serve(conn));
    });
    let clients: Vec<_> = (0..s.conns)
        .map(|c| {
            let conn = Conn::connect(&endpoint);
            let done = Arc::clone(&done);
            let tally = Tally::new();
            std::thread::spawn(move || {
                raw_client(conn, (c as u32) << 24, s.inflight, window, &done, tally)
            })
        })
        .collect();
    let cpu = measure_window(window, &done);
    let total = Tally::sum(
        clients
            .into_iter()
            .map(|c| c.join().expect("client thread")),
    );
    (total, cpu)
}

/// A socket that async-io drives, of either kind.
trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// The smol-raw server's task for one connection: [`raw_serve`] on an async-io socket.
async fn smol_raw_serve(mut s: Box<dyn AsyncStream>) {
    let mut conn = RawServer::new();
    while let Ok(n @ 1..) = s.read(conn.space()).await {
        if s.write_all(conn.answer(n)).await.is_err() {
            return;
        }
    }
}

/// The smol-raw client's task for one connection: a sliding window of `k` requests in flight.
/// Each response read makes a new request, and the requests made from one read go out in one
/// write; a call's latency runs from just before that write to the read that brings its
/// response.
async fn smol_raw_client(
    mut s: Box<dyn AsyncStream>,
    base: u32,
    k: usize,
    window: Window,
    done: Arc<AtomicBool>,
    mut tally: Tally,
) -> Tally {
    let mut n = 0u32;
    let mut next_id = move || {
        let id = base | (n & 0x00ff_ffff);
        n = n.wrapping_add(1);
        id
    };
    // The requests in flight, oldest first (the server answers in order), each with the
    // time its write started.
    let mut sent: VecDeque<(u32, Instant)> = VecDeque::with_capacity(k);
    let mut fresh: Vec<u32> = (0..k).map(|_| next_id()).collect();
    let mut out = Vec::with_capacity(48 * k);
    // At most k responses are owed, so they always fit.
    let mut inbuf = vec![0u8; 17 * k];
    let mut filled = 0;
    loop {
        out.clear();
        for id in &fresh {
            out.extend_from_slice(&raw_request(*id));
        }
        let started = Instant::now();
        sent.extend(fresh.drain(..).map(|id| (id, started)));
        s.write_all(&out).await.expect("write");
        let got = s.read(&mut inbuf[filled..]).await.expect("read");
        assert!(got > 0, "the smol-raw server closed the connection");
        let finished = Instant::now();
        filled += got;
        let mut at = 0;
        while filled - at >= 17 {
            let (id, started) = sent.pop_front().expect("a response to a request in flight");
            check_raw(id, &inbuf[at..at + 17]);
            tally.record(&window, started, finished, 1);
            at += 17;
        }
        inbuf.copy_within(at..filled, 0);
        filled -= at;
        if done.load(Ordering::Relaxed) {
            return tally;
        }
        fresh.extend((0..at / 17).map(|_| next_id()));
    }
}

/// The smol-raw peer: raw frames over async-io sockets, no framework. The server is a smol
/// executor on two threads with one task per connection (connections are accepted on a thread
/// of their own, before the window, as for raw); the client is an executor of its own (two
/// threads, or `RPC_BENCH_CLIENT_THREADS`) with one task per connection.
fn smol_raw_cell(s: Scenario, t: Transport, sock: &Path, measured: Duration) -> (Tally, Usage) {
    let server = Pool::new(2, Layout::Shared);
    let (listener, endpoint) = Listener::bind(t, sock);
    let ex = Arc::clone(&server.executors[0]);
    listener.serve_each(move |conn| ex.spawn(smol_raw_serve(conn.into_async())).detach());
    let pool = Pool::new(client_threads(), Layout::from_env());
    let conns: Vec<Conn> = (0..s.conns).map(|_| Conn::connect(&endpoint)).collect();
    let window = Window::after_warmup(Duration::ZERO, measured);
    let done = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(c, conn)| {
            let base = (c as u32) << 24;
            let done = Arc::clone(&done);
            let tally = Tally::new();
            let client = smol_raw_client(conn.into_async(), base, s.inflight, window, done, tally);
            pool.for_conn(c).spawn(client)
        })
        .collect();
    let cpu = measure_window(window, &done);
    let total = Tally::sum(tasks.into_iter().map(smol::block_on));
    pool.stop();
    server.stop();
    (total, cpu)
}

/// A listening socket of either kind.
enum Listener {
    Tcp(TcpListener),
    Uds(UnixListener),
}

impl Listener {
    /// Listens on an ephemeral loopback port, or at `sock`; returns the listener and the
    /// endpoint to connect to.
    fn bind(t: Transport, sock: &Path) -> (Listener, Endpoint) {
        match t {
            Transport::Tcp => {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind");
                let addr = l.local_addr().expect("addr");
                (Listener::Tcp(l), Endpoint::tcp(addr))
            }
            Transport::Uds => {
                let l = UnixListener::bind(sock).expect("bind");
                (Listener::Uds(l), Endpoint::unix(sock))
            }
        }
    }

    /// Accepts connections on a thread of its own, for ever, and hands each to `serve`; TCP
    /// ones with TCP_NODELAY on.
    fn serve_each(self, mut serve: impl FnMut(Conn) + Send + 'static) {
        std::thread::spawn(move || {
            loop {
                let conn = match &self {
                    Listener::Tcp(l) => l.accept().map(|(s, _)| {
                        let _ = s.set_nodelay(true);
                        Conn::Tcp(s)
                    }),
                    Listener::Uds(l) => l.accept().map(|(s, _)| Conn::Uds(s)),
                };
                if let Ok(conn) = conn {
                    serve(conn);
                }
            }
        });
    }
}

/// This process's resident set size in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Raises the soft limit on open files to at least `wanted`, as far as the hard limit allows.
fn raise_open_files(wanted: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current.is_none_or(|c| c >= wanted) {
        return;
    }
    let current = now.maximum.map_or(wanted, |m| m.min(wanted));
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(current),
            maximum: now.maximum,
        },
    );
}

/// A blocking socket of either kind.
enum Conn {
    Tcp(TcpStream),
    Uds(UnixStream),
}

impl Conn {
    /// Connects to `endpoint`, with TCP_NODELAY on TCP.
    fn connect(endpoint: &Endpoint) -> Conn {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr.as_str()).expect("connect");
                s.set_nodelay(true).expect("nodelay");
                Conn::Tcp(s)
            }
            Endpoint::Unix(path) => Conn::Uds(UnixStream::connect(path).expect("connect")),
            other => panic!("unexpected endpoint {other}"),
        }
    }

    /// The same socket, non-blocking, registered with async-io.
    fn into_async(self) -> Box<dyn AsyncStream> {
        match self {
            Conn::Tcp(s) => Box::new(Async::new(s).expect("async-io tcp socket")),
            Conn::Uds(s) => Box::new(Async::new(s).expect("async-io unix socket")),
        }
    }

    /// Sends a ping, the frame every client may send.
    fn ping(&mut self) {
        use rpc_runtime::frame::{FrameKind, Header};
        let ping = Header::new(FrameKind::Ping, 1).pack();
        self.write_all(&ping).expect("ping");
    }

    fn pong(&mut self) {
        let mut pong = [0u8; rpc_runtime::frame::Header::SIZE];
        self.read_exact(&mut pong).expect("pong");
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Uds(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Uds(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The client side of the idle scenario, in its own process (both ends of 10,000 connections
/// in one process would pass common open-file limits): once told `go` on stdin, opens
/// `conns` connections that each ping, reads every pong, says `done`, and holds the
/// connections open until stdin closes.
fn idle_clients(args: &[String]) {
    use std::io::BufRead as _;
    let [endpoint, conns] = args else {
        panic!("--idle-clients ENDPOINT CONNS");
    };
    let endpoint: Endpoint = endpoint.parse().expect("endpoint");
    let conns: usize = conns.parse().expect("conns");
    raise_open_files(conns as u64 + 256);
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    println!("ready");
    stdin.read_line(&mut line).expect("go");
    let mut clients: Vec<Conn> = (0..conns)
        .map(|_| {
            let mut c = Conn::connect(&endpoint);
            c.ping();
            c
        })
        .collect();
    for c in &mut clients {
        c.pong();
    }
    println!("done");
    let _ = stdin.read_line(&mut line);
}

/// The idle scenario: `conns` connections that ping once and then wait; prints the server's
/// RSS growth per connection and the time it took to accept them.
fn idle_cell(t: Transport, sock: &Path, conns: usize) {
    use std::io::BufRead as _;
    use std::process::Stdio;
    raise_open_files(conns as u64 + 1024);
    let endpoint = match t {
        Transport::Tcp => "tcp://127.0.0.1:0".parse().expect("endpoint"),
        Transport::Uds => Endpoint::unix(sock),
    };
    let server = Server::builder()
        .listen(endpoint)
        .serve(ServeBench::new(Handler))
        .workers(2)
        .limits(rpc_runtime::server::Limits {
            max_connections: conns + 16,
            ..Default::default()
        })
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    let endpoint = server.endpoints()[0].clone();
    let stats = server.stats();
    // Warm up: the server's threads, allocator arenas and reactor exist before the baseline.
    {
        let mut c = Conn::connect(&endpoint);
        c.ping();
        c.pong();
    }
    while stats.connections() > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut child = Command::new(std::env::current_exe().expect("current exe"))
        .args(["--idle-clients", &endpoint.to_string(), &conns.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the clients");
    let mut to_child = child.stdin.take().expect("stdin");
    let mut from_child = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    from_child.read_line(&mut line).expect("ready");
    let before = rss_kib();
    let start = Instant::now();
    to_child.write_all(b"go\n").expect("go");
    let deadline = start + Duration::from_secs(600);
    while stats.connections() < conns {
        assert!(
            Instant::now() < deadline,
            "the server did not accept them all"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let accepted = start.elapsed();
    line.clear();
    from_child.read_line(&mut line).expect("done");
    assert_eq!(line.trim(), "done", "the clients failed");
    // Every pong was written: the server's connections are all waiting for their next frame.
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    let growth = after.saturating_sub(before) * 1024;
    println!(
        "peer=rpc-runtime transport={} scenario=idle conns={conns} accept_ms={:.0} rss_before_kib={before} rss_after_kib={after} rss_growth_mib={:.1} rss_bytes_per_conn={:.0}",
        if t == Transport::Tcp { "tcp" } else { "uds" },
        accepted.as_secs_f64() * 1e3,
        growth as f64 / (1024.0 * 1024.0),
        growth as f64 / conns as f64,
    );
    drop(to_child);
    let _ = child.wait();
    server.stop();
}
