//! The RPC benchmark of `shared/bench/WORKLOAD.md`: scenarios S1–S3 over TCP and Unix sockets,
//! `peer=rpc-runtime` (real `#[derive(Wire)]` messages, a real `#[service]`, the generated
//! client) against `peer=raw` (blocking sockets, one thread per connection) in the same run.
//!
//! ```sh
//! cargo bench -p rpc-runtime --bench rpc -- [S1|S2|S3|all] [tcp|uds|all] [--secs N] [--reps N]
//! cargo bench -p rpc-runtime --bench rpc -- idle [tcp|uds|all] [--conns N] [--reps N]
//! ```
//!
//! Every cell runs in a fresh process (this binary re-runs itself with `--cell`), repetitions
//! in rep-major order; each cell prints one `peer=... calls_per_s=...` line, and a summary of
//! medians and ratios to `raw` follows.
//!
//! The `idle` scenario (not part of `all`) opens `--conns` connections (default 10,000) that
//! each make one ping and then stay idle, and reports the server's resident memory growth per
//! connection and the time the server took to accept them all. Client sockets are plain
//! blocking sockets in the same process, which hold no user-space memory, so the process's RSS
//! growth is the server's.

use hdrhistogram::Histogram;
use rpc_runtime::{Client, Endpoint, Server, Wire, service};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
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

/// The benchmark service.
#[service]
pub trait Bench {
    /// Echoes the id and doubles the amount.
    async fn call(&self, request: BenchRequest) -> Result<BenchResponse, ()>;
}

struct Handler;

impl Bench for Handler {
    async fn call(&self, r: BenchRequest) -> Result<BenchResponse, ()> {
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
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: rpc [S1|S2|S3|all|idle] [tcp|uds|all] [--secs N] [--reps N] [--conns N]"
                );
                std::process::exit(2);
            }
        }
    }
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
                for peer in ["raw", "rpc-runtime"] {
                    let out = Command::new(&exe)
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

fn summarize(lines: &[String]) {
    println!("\nsummary: medians (min..max) over repetitions; ratios are rpc-runtime / raw");
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
        let pick = |peer: &str, key: &str| -> Vec<f64> {
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
        let (raw, rmin, rmax) = median(pick("raw", "calls_per_s"));
        let (ours, omin, omax) = median(pick("rpc-runtime", "calls_per_s"));
        let (raw_p99, _, _) = median(pick("raw", "p99_us"));
        let (our_p99, _, _) = median(pick("rpc-runtime", "p99_us"));
        let (our_cpu, _, _) = median(pick("rpc-runtime", "cpu_us_per_call"));
        let (our_user, _, _) = median(pick("rpc-runtime", "user_us_per_call"));
        let (our_sys, _, _) = median(pick("rpc-runtime", "sys_us_per_call"));
        let (our_ctx, _, _) = median(pick("rpc-runtime", "ctxsw_per_call"));
        let (our_vol, _, _) = median(pick("rpc-runtime", "vol_ctxsw_per_call"));
        let (raw_user, _, _) = median(pick("raw", "user_us_per_call"));
        let (raw_sys, _, _) = median(pick("raw", "sys_us_per_call"));
        let (raw_ctx, _, _) = median(pick("raw", "ctxsw_per_call"));
        let (raw_vol, _, _) = median(pick("raw", "vol_ctxsw_per_call"));
        println!(
            "{transport} {scenario}: raw {raw:.0}/s ({rmin:.0}..{rmax:.0}) p99 {raw_p99:.1}us user/sys {raw_user:.2}/{raw_sys:.2}us ctxsw {raw_ctx:.2} (voluntary {raw_vol:.2}) | rpc-runtime {ours:.0}/s ({omin:.0}..{omax:.0}) p99 {our_p99:.1}us cpu {our_cpu:.2}us/call user/sys {our_user:.2}/{our_sys:.2}us ctxsw {our_ctx:.2} (voluntary {our_vol:.2}) | ratio {:.2}, p99 ratio {:.2}",
            ours / raw.max(1.0),
            our_p99 / raw_p99.max(0.001)
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
    let (tally, cpu) = match peer.as_str() {
        "raw" => raw_cell(s, t, &sock, measured),
        _ => rpc_cell(s, t, &sock, measured),
    };
    let _ = std::fs::remove_dir_all(&dir);
    let calls = tally.calls.max(1);
    let (user, sys, ctx, voluntary) = cpu;
    let cpu_total = (user + sys).as_secs_f64() * 1e6;
    let q = |p: f64| tally.hist.value_at_quantile(p) as f64 / 1000.0;
    println!(
        "peer={peer} transport={transport} scenario={} conns={} inflight={} secs={secs} calls={} all_calls={} calls_per_s={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} cpu_us_per_call={:.3} user_us_per_call={:.3} sys_us_per_call={:.3} sys_frac={:.3} ctxsw_per_call={:.4} vol_ctxsw_per_call={:.4}",
        s.name,
        s.conns,
        s.inflight,
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

fn rpc_cell(
    s: Scenario,
    t: Transport,
    sock: &std::path::Path,
    measured: Duration,
) -> (Tally, Usage) {
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
    let ex = Arc::new(smol::Executor::new());
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    // The workload's client runs on two executor threads; RPC_BENCH_CLIENT_THREADS changes
    // that, to see what the second thread costs (a diagnostic, not a workload cell).
    let client_threads = std::env::var("RPC_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(2)
        .max(1);
    let threads: Vec<_> = (0..client_threads)
        .map(|_| {
            let ex = Arc::clone(&ex);
            let stop = stop_rx.clone();
            std::thread::spawn(move || smol::block_on(ex.run(stop.recv())))
        })
        .collect();
    let start = Instant::now() + WARMUP;
    let window = Window {
        start,
        end: start + measured,
    };
    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..s.conns {
        let client = BenchClient::new(Client::new(endpoint.clone()));
        smol::block_on(client.inner().ping()).expect("connect");
        for k in 0..s.inflight {
            let client = client.clone();
            let done = Arc::clone(&done);
            let base = ((c * s.inflight + k) as u32) << 24;
            // Made here, not in the task: a histogram zeroes ~240 kB, which under valgrind
            // would hold up the first calls of the window for seconds.
            let mut tally = Tally::new();
            tasks.push(ex.spawn(async move {
                let mut n = 0u32;
                while !done.load(Ordering::Relaxed) {
                    let req = request(base | (n & 0x00ff_ffff));
                    n = n.wrapping_add(1);
                    let started = Instant::now();
                    let resp = client.call(req).await.expect("call");
                    let finished = Instant::now();
                    check(&req, &resp);
                    tally.record(&window, started, finished, 1);
                }
                tally
            }));
        }
    }
    let cpu = measure_window(window, &done);
    let mut total = Tally::new();
    for task in tasks {
        let t = smol::block_on(task);
        total.calls += t.calls;
        total.all += t.all;
        total.hist.add(&t.hist).expect("same bounds");
    }
    drop(stop_tx);
    for th in threads {
        let _ = th.join();
    }
    server.stop();
    (total, cpu)
}

/// One raw frame: u32 little-endian payload length, then the payload.
fn raw_request(id: u32) -> [u8; 48] {
    let mut f = [0u8; 48];
    f[..4].copy_from_slice(&44u32.to_le_bytes());
    let r = request(id);
    f[4..8].copy_from_slice(&r.id.to_le_bytes());
    f[8..16].copy_from_slice(&r.amount.to_le_bytes());
    f[16..48].copy_from_slice(&r.name);
    f
}

fn raw_serve<S: Read + Write>(mut s: S) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let n = match s.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        let mut at = 0;
        while filled - at >= 48 {
            let p = &buf[at + 4..at + 48];
            let id = u32::from_le_bytes(p[0..4].try_into().expect("4 bytes"));
            let amount = i64::from_le_bytes(p[4..12].try_into().expect("8 bytes"));
            out.extend_from_slice(&13u32.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(amount * 2).to_le_bytes());
            out.push(1);
            at += 48;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if !out.is_empty() {
            if s.write_all(&out).is_err() {
                return;
            }
            out.clear();
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
            let r = &inbuf[i * 17..(i + 1) * 17];
            let rid = u32::from_le_bytes(r[4..8].try_into().expect("4 bytes"));
            let bal = i64::from_le_bytes(r[8..16].try_into().expect("8 bytes"));
            let amount = i64::from(*id) * 3 + 1;
            assert!(
                rid == *id && bal == amount * 2 && r[16] == 1,
                "bad raw response"
            );
        }
        tally.record(&window, started, finished, k as u64);
    }
    tally
}

fn raw_cell(
    s: Scenario,
    t: Transport,
    sock: &std::path::Path,
    measured: Duration,
) -> (Tally, Usage) {
    let start = Instant::now() + WARMUP + Duration::from_millis(100);
    let window = Window {
        start,
        end: start + measured,
    };
    let done = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    match t {
        Transport::Tcp => {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            std::thread::spawn(move || {
                for s in listener.incoming().flatten() {
                    let _ = s.set_nodelay(true);
                    std::thread::spawn(move || raw_serve(s));
                }
            });
            for c in 0..s.conns {
                let stream = TcpStream::connect(addr).expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let done = Arc::clone(&done);
                let tally = Tally::new();
                clients.push(std::thread::spawn(move || {
                    raw_client(stream, (c as u32) << 24, s.inflight, window, &done, tally)
                }));
            }
        }
        Transport::Uds => {
            let listener = UnixListener::bind(sock).expect("bind");
            std::thread::spawn(move || {
                for s in listener.incoming().flatten() {
                    std::thread::spawn(move || raw_serve(s));
                }
            });
            for c in 0..s.conns {
                let stream = UnixStream::connect(sock).expect("connect");
                let done = Arc::clone(&done);
                let tally = Tally::new();
                clients.push(std::thread::spawn(move || {
                    raw_client(stream, (c as u32) << 24, s.inflight, window, &done, tally)
                }));
            }
        }
    }
    let cpu = measure_window(window, &done);
    let mut total = Tally::new();
    for c in clients {
        let t = c.join().expect("client thread");
        total.calls += t.calls;
        total.all += t.all;
        total.hist.add(&t.hist).expect("same bounds");
    }
    (total, cpu)
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

/// A blocking client socket of either kind.
enum Idle {
    Tcp(TcpStream),
    Uds(UnixStream),
}

impl Idle {
    fn connect(endpoint: &Endpoint) -> Idle {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr.as_str()).expect("connect");
                s.set_nodelay(true).expect("nodelay");
                Idle::Tcp(s)
            }
            Endpoint::Unix(path) => Idle::Uds(UnixStream::connect(path).expect("connect")),
            other => panic!("unexpected endpoint {other}"),
        }
    }

    fn stream(&mut self) -> &mut dyn ReadWrite {
        match self {
            Idle::Tcp(s) => s,
            Idle::Uds(s) => s,
        }
    }

    /// Sends a ping, the frame every client may send.
    fn ping(&mut self) {
        use rpc_runtime::frame::{FrameKind, Header};
        let ping = Header::new(FrameKind::Ping, 1).pack();
        self.stream().write_all(&ping).expect("ping");
    }

    fn pong(&mut self) {
        let mut pong = [0u8; rpc_runtime::frame::Header::SIZE];
        self.stream().read_exact(&mut pong).expect("pong");
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

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
    let mut clients: Vec<Idle> = (0..conns)
        .map(|_| {
            let mut c = Idle::connect(&endpoint);
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
fn idle_cell(t: Transport, sock: &std::path::Path, conns: usize) {
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
        let mut c = Idle::connect(&endpoint);
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
