//! `account-bench`: durable deposits per second and transfer latency with many concurrent
//! clients, group commit against one SQLite transaction per request, in the same run.
//!
//! ```sh
//! cargo bench -p account-service --bench account -- [--secs N] [--reps N] [--clients N] [tcp|uds] [--dir PATH]
//! cargo bench -p account-service --bench account -- --servers N [--db postgres://...] [--secs N] [--reps N] [--clients N] [--accounts N]
//! ```
//!
//! With `--servers` the bench measures deployments instead: real `account-server` processes
//! on SQLite (one) and on the PostgreSQL server `--db` names (1 to N), clients balanced over
//! them; see `account/servers.rs`. What follows describes the group-commit bench.
//!
//! Every cell is a fresh process (this binary re-runs itself with `--cell`) that opens a new
//! database in a temporary directory on disk (`--dir`, default the system temp dir), serves it
//! with `rpc_runtime::Server` on `127.0.0.1:0` (or a Unix socket in that directory), and drives
//! it with `--clients` generated `AccountsClient`s, one connection each, on a 2-thread smol
//! executor. Each client owns an account and a session and calls in a closed loop: `deposit`
//! (1 cent into its own account, the response checked against the expected balance) or
//! `transfer` (1 cent to the next client's account, in a ring, so no balance runs out). After
//! 1 s of warm-up, calls that start and finish inside the `--secs` window are counted, and
//! their latency goes into an HdrHistogram. Afterwards the cell audits the ledger.
//!
//! The two modes differ in one setting only, `Config::max_batch`:
//!
//! - `group-commit`: the default (256). The writer commits everything queued in one
//!   transaction, so one fsync covers a whole batch.
//! - `one-txn-per-request`: `max_batch = 1`. The writer then runs `BEGIN IMMEDIATE`, the one
//!   request, `COMMIT` for every request: one transaction and one WAL fsync
//!   (`synchronous=FULL`) per request. Same RPC stack, same schema, same SQL, same
//!   idempotency records, same pragmas; only the grouping differs. A hand-written loop with
//!   one connection per client thread would also pay one fsync per commit, but would run
//!   different (less) SQL per request, so its ratio would mix two effects.
//!
//! Each cell prints one `bench=... mode=... ops_per_s=...` line. Besides throughput and
//! latency it says why: `batches` is the number of transactions the writer committed in the
//! window (`writer_stats`; each costs one WAL fsync under `synchronous=FULL`, plus the
//! occasional checkpoint), `avg_batch` the requests per transaction, `cpu_us_per_op` the
//! process's CPU time per call, and `writer_busy` / `writer_us_per_op` how much of the window
//! the single writer thread spent on the CPU and how much of that each request cost;
//! `disk_kib_per_op` is what the process wrote towards the disk per call (WAL frames and
//! checkpoints, from `/proc/self/io`). The first line, `bench=fsync`, times an fsync after a
//! 4 KiB append on the database's disk. Repetitions run rep-major, and a summary of medians
//! (min..max) and the ratio of group commit to the baseline follows. The issue's goal: durable
//! deposits with 64 clients at least 5x the baseline.

use account_client::api::{
    AccountsClient, AmountRequest, LoginRequest, OpenRequest, Receipt, TransferRequest,
};
use account_service::{AccountService, Config, PasswordHashing, ServeAccounts};
use hdrhistogram::Histogram;
use rpc_runtime::{Client, Endpoint, Server};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WARMUP: Duration = Duration::from_secs(1);
const BENCHES: [&str; 2] = ["deposits", "transfers"];
const MODES: [&str; 2] = ["group-commit", "one-txn-per-request"];
/// Every account starts with this much, so that transfers never run out.
const OPENING_CENTS: i64 = 100_000_000;

#[path = "account/servers.rs"]
mod servers;

struct Options {
    secs: u64,
    reps: usize,
    clients: usize,
    transport: String,
    dir: PathBuf,
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
    if args.first().map(String::as_str) == Some("--servers-cell") {
        servers::run_cell(&args[1..]);
        return;
    }
    let mut o = Options {
        secs: 5,
        reps: 3,
        clients: 64,
        transport: "tcp".into(),
        dir: std::env::temp_dir(),
    };
    let (mut fleet, mut db, mut accounts) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = || -> usize {
            match it.next().map(|v| v.parse()) {
                Some(Ok(n)) if n > 0 => n,
                _ => usage(&format!("{a} needs a positive number")),
            }
        };
        match a.as_str() {
            "tcp" | "uds" => o.transport = a.clone(),
            "--secs" => o.secs = number() as u64,
            "--reps" => o.reps = number(),
            "--clients" => o.clients = number(),
            "--servers" => fleet = Some(number()),
            "--accounts" => accounts = Some(number()),
            "--db" => match it.next() {
                Some(url) if url.starts_with("postgres") => db = Some(url.clone()),
                _ => usage("--db needs a postgres:// URL"),
            },
            "--dir" => match it.next() {
                Some(dir) => o.dir = PathBuf::from(dir),
                None => usage("--dir needs a path"),
            },
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if o.clients < 2 {
        usage("transfers need at least 2 clients");
    }
    if accounts.is_some_and(|n| n < o.clients) {
        usage("--accounts needs at least one account per client");
    }
    if accounts.is_some() && fleet.is_none() && db.is_none() {
        usage("--accounts is an option of --servers");
    }
    if fleet.is_some() || db.is_some() {
        servers::run(&servers::Plan {
            servers: fleet.unwrap_or(3),
            db,
            secs: o.secs,
            reps: o.reps,
            clients: o.clients,
            accounts,
            dir: o.dir,
        });
        return;
    }
    println!("{}", fsync_probe(&o.dir));
    let exe = std::env::current_exe().expect("current exe");
    let mut lines = Vec::new();
    for _rep in 0..o.reps {
        for bench in BENCHES {
            for mode in MODES {
                let out = Command::new(&exe)
                    .arg("--cell")
                    .args([bench, mode, &o.transport])
                    .args([o.clients.to_string(), o.secs.to_string()])
                    .arg(&o.dir)
                    .output()
                    .expect("run a cell");
                if !out.status.success() {
                    eprintln!(
                        "cell {bench} {mode} failed:\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    std::process::exit(1);
                }
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    println!("{line}");
                    lines.push(line.to_owned());
                }
                let _ = std::io::stdout().flush();
            }
        }
    }
    summarize(&lines, o.clients);
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: account [--secs N] [--reps N] [--clients N] [tcp|uds] [--dir PATH]\n       account --servers N [--db postgres://...] [--secs N] [--reps N] [--clients N] [--accounts N]"
    );
    std::process::exit(2);
}

/// How long an fsync after a 4 KiB append takes on the database's disk: one commit per fsync
/// can go no faster than `serial_fsyncs_per_s`.
fn fsync_probe(dir: &Path) -> String {
    let tmp = tempfile::tempdir_in(dir).expect("temp dir for the fsync probe");
    let mut file = std::fs::File::create(tmp.path().join("probe")).expect("probe file");
    let mut hist = histogram();
    let page = [0x5a_u8; 4096];
    for _ in 0..200 {
        file.write_all(&page).expect("write");
        let started = Instant::now();
        file.sync_all().expect("fsync");
        hist.saturating_record(started.elapsed().as_nanos() as u64);
    }
    let p50 = hist.value_at_quantile(0.5) as f64 / 1000.0;
    format!(
        "bench=fsync dir={} samples=200 p50_us={p50:.1} p99_us={:.1} serial_fsyncs_per_s={:.0}",
        dir.display(),
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        1e6 / p50.max(0.001)
    )
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

fn text_field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
}

fn field(line: &str, key: &str) -> f64 {
    text_field(line, key).parse().unwrap_or(f64::NAN)
}

/// Median, min and max.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let mid = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let first = v.first().copied().unwrap_or(f64::NAN);
    (mid, first, v.last().copied().unwrap_or(f64::NAN))
}

fn summarize(lines: &[String], clients: usize) {
    println!("\nsummary: medians (min..max) over repetitions");
    let pick = |bench: &str, mode: &str, key: &str| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| text_field(l, "bench") == bench && text_field(l, "mode") == mode)
            .map(|l| field(l, key))
            .collect()
    };
    for bench in BENCHES {
        for mode in MODES {
            let (ops, lo, hi) = spread(pick(bench, mode, "ops_per_s"));
            let (p50, ..) = spread(pick(bench, mode, "p50_us"));
            let (p99, p99_lo, p99_hi) = spread(pick(bench, mode, "p99_us"));
            let (batch, ..) = spread(pick(bench, mode, "avg_batch"));
            let (commits, ..) = spread(pick(bench, mode, "batches_per_s"));
            let (busy, ..) = spread(pick(bench, mode, "writer_busy"));
            let (writer_us, ..) = spread(pick(bench, mode, "writer_us_per_op"));
            println!(
                "{bench:<9} {mode:<19}: {ops:>7.0} ops/s ({lo:.0}..{hi:.0})  p50 {p50:.0}us  \
                 p99 {p99:.0}us ({p99_lo:.0}..{p99_hi:.0})  {commits:.0} commits/s, \
                 {batch:.1} requests/commit, writer on CPU {:.0}% ({writer_us:.1}us/request)",
                busy * 100.0
            );
        }
        let group = pick(bench, MODES[0], "ops_per_s");
        let naive = pick(bench, MODES[1], "ops_per_s");
        let (g, ..) = spread(group.clone());
        let (n, ..) = spread(naive.clone());
        let per_rep: Vec<f64> = group.iter().zip(&naive).map(|(g, n)| g / n).collect();
        let (_, rep_lo, rep_hi) = spread(per_rep);
        let verdict = match (bench, clients) {
            ("deposits", 64) if g / n >= 5.0 => "  goal (>= 5x with 64 clients): met",
            ("deposits", 64) => "  goal (>= 5x with 64 clients): MISSED",
            _ => "",
        };
        println!(
            "{bench:<9} ratio group-commit / one-txn-per-request: {:.2}x of medians \
             (per repetition {rep_lo:.2}..{rep_hi:.2}){verdict}",
            g / n
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One cell
// ---------------------------------------------------------------------------------------------

/// The measured window: calls count if they start and end inside it.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// What one client measured.
struct Tally {
    ops: u64,
    hist: Histogram<u64>,
}

impl Tally {
    fn record(&mut self, w: &Window, started: Instant, done: Instant) {
        if started >= w.start && done <= w.end {
            self.hist
                .saturating_record(done.duration_since(started).as_nanos() as u64);
            self.ops += 1;
        }
    }
}

/// One client: its own connection, and the session of its own account.
struct Member {
    client: AccountsClient,
    token: [u8; 32],
}

fn account_name(i: usize) -> String {
    format!("bench-{i:04}")
}

/// A distinct idempotency key per client and call.
fn idem_key(client: usize, n: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&(client as u64).to_be_bytes());
    key[8..].copy_from_slice(&n.to_be_bytes());
    key
}

fn run_cell(args: &[String]) {
    let [bench, mode, transport, clients, secs, dir] = args else {
        panic!("--cell BENCH MODE TRANSPORT CLIENTS SECS DIR");
    };
    let clients: usize = clients.parse().expect("clients");
    let secs: u64 = secs.parse().expect("secs");
    let tmp = tempfile::tempdir_in(dir).expect("temp dir for the database");

    let mut config = Config::new(tmp.path().join("accounts.db"));
    config.password_hashing = PasswordHashing::INSECURE_FAST;
    config.audit_each_batch = false;
    config.max_batch = match mode.as_str() {
        "group-commit" => config.max_batch,
        "one-txn-per-request" => 1,
        other => panic!("unknown mode {other}"),
    };
    let max_batch = config.max_batch;
    let service = AccountService::open(config).expect("open the database");
    let endpoint = match transport.as_str() {
        "uds" => Endpoint::unix(tmp.path().join("accounts.sock")),
        _ => "tcp://127.0.0.1:0".parse().expect("endpoint"),
    };
    let server = Server::builder()
        .listen(endpoint)
        .serve(ServeAccounts::new(service.clone()))
        .workers(2)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn the server");
    let endpoint = server.endpoints()[0].clone();

    let ex = Arc::new(smol::Executor::new());
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ex = Arc::clone(&ex);
            let stop = stop_rx.clone();
            std::thread::spawn(move || smol::block_on(ex.run(stop.recv())))
        })
        .collect();

    // Open and log in every client's account (not measured).
    let members: Vec<Member> = smol::block_on(async {
        let setups: Vec<_> = (0..clients)
            .map(|i| ex.spawn(set_up(endpoint.clone(), i)))
            .collect();
        let mut members = Vec::with_capacity(clients);
        for setup in setups {
            members.push(setup.await);
        }
        members
    });

    let start = Instant::now() + WARMUP;
    let window = Window {
        start,
        end: start + Duration::from_secs(secs),
    };
    let done = Arc::new(AtomicBool::new(false));
    let transfers = bench == "transfers";
    let tasks: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(i, member)| {
            let done = Arc::clone(&done);
            let to = account_name((i + 1) % clients).parse().expect("name");
            ex.spawn(async move {
                let mut tally = Tally {
                    ops: 0,
                    hist: histogram(),
                };
                let mut balance = OPENING_CENTS;
                let mut n = 0u64;
                while !done.load(Ordering::Relaxed) {
                    n += 1;
                    let key = idem_key(i, n);
                    let token = member.token;
                    let started = Instant::now();
                    let receipt: Receipt = if transfers {
                        let r = TransferRequest {
                            token,
                            key,
                            to,
                            cents: 1,
                        };
                        member.client.transfer(r).await.expect("transfer")
                    } else {
                        let r = AmountRequest {
                            token,
                            key,
                            cents: 1,
                        };
                        member.client.deposit(r).await.expect("deposit")
                    };
                    let finished = Instant::now();
                    if transfers {
                        assert!(receipt.balance_cents >= 0, "bad receipt {receipt:?}");
                    } else {
                        balance += 1;
                        assert_eq!(receipt.balance_cents, balance, "deposit receipt");
                    }
                    tally.record(&window, started, finished);
                }
                tally
            })
        })
        .collect();

    let usage = measure(&window, &done, &service);
    let mut total = Tally {
        ops: 0,
        hist: histogram(),
    };
    for task in tasks {
        let t = smol::block_on(task);
        total.ops += t.ops;
        total.hist.add(&t.hist).expect("same bounds");
    }
    let audit = smol::block_on(service.audit()).expect("audit");
    assert!(
        audit.is_balanced(),
        "the ledger does not balance: {audit:?}"
    );
    drop(stop_tx);
    for thread in threads {
        let _ = thread.join();
    }
    server.stop();
    service.shutdown().expect("writer shutdown");
    // For checking fsync counts from outside (`strace -f -c -e trace=fsync`): every batch the
    // writer ran, warm-up and set-up included.
    eprintln!("writer totals: {:?}", service.writer_stats());

    let q = |p: f64| total.hist.value_at_quantile(p) as f64 / 1000.0;
    let window_secs = secs as f64;
    println!(
        "bench={bench} mode={mode} transport={transport} clients={clients} secs={secs} \
         ops={} ops_per_s={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} \
         max_batch={max_batch} batches={} batches_per_s={:.0} avg_batch={:.2} cpu_us_per_op={:.1} \
         writer_busy={:.2} writer_us_per_op={:.1} disk_kib_per_op={:.1}",
        total.ops,
        total.ops as f64 / window_secs,
        q(0.5),
        q(0.99),
        q(0.999),
        total.hist.max() as f64 / 1000.0,
        usage.batches,
        usage.batches as f64 / window_secs,
        usage.requests as f64 / usage.batches.max(1) as f64,
        usage.cpu.as_secs_f64() * 1e6 / total.ops.max(1) as f64,
        usage.writer_cpu.as_secs_f64() / window_secs,
        usage.writer_cpu.as_secs_f64() * 1e6 / usage.requests.max(1) as f64,
        usage.disk_bytes as f64 / 1024.0 / total.ops.max(1) as f64,
    );
}

/// Opens account `i` with `OPENING_CENTS` and logs in, on a connection of its own. The
/// server refuses password work beyond its hashing queue with `resource exhausted` (nothing
/// done), so with many clients some opens and logins are retried.
async fn set_up(endpoint: Endpoint, i: usize) -> Member {
    let client = AccountsClient::new(Client::new(endpoint));
    let name = account_name(i).parse().expect("name");
    let password = "bench-password".parse().expect("password");
    let open = OpenRequest {
        key: idem_key(i, 0),
        name,
        password,
        initial_cents: OPENING_CENTS,
    };
    servers::patiently(|| client.open(open.clone())).await;
    let session = servers::patiently(|| client.login(LoginRequest { name, password })).await;
    Member {
        client,
        token: session.token,
    }
}

/// What the writer and the process did during the window.
struct Usage {
    /// Transactions the writer committed.
    batches: u64,
    /// Requests in them.
    requests: u64,
    /// User + system CPU time of the whole process (server, clients and writer).
    cpu: Duration,
    /// The writer thread's share of it.
    writer_cpu: Duration,
    /// Bytes the process sent towards the disk (`write_bytes` of `/proc/self/io`): WAL
    /// frames, and pages copied back into the database by checkpoints.
    disk_bytes: u64,
}

/// Samples the writer's counters and the process's CPU time at the window's edges, then tells
/// the clients to stop. Returns the differences.
fn measure(window: &Window, done: &AtomicBool, service: &AccountService) -> Usage {
    std::thread::sleep(window.start.saturating_duration_since(Instant::now()));
    let (a, cpu_a, writer_a, disk_a) = (
        service.writer_stats(),
        cpu_time("self"),
        writer_cpu(),
        disk_bytes(),
    );
    std::thread::sleep(window.end.saturating_duration_since(Instant::now()));
    let (b, cpu_b, writer_b, disk_b) = (
        service.writer_stats(),
        cpu_time("self"),
        writer_cpu(),
        disk_bytes(),
    );
    done.store(true, Ordering::Relaxed);
    Usage {
        batches: b.batches - a.batches,
        requests: b.requests - a.requests,
        cpu: cpu_b.saturating_sub(cpu_a),
        writer_cpu: writer_b.saturating_sub(writer_a),
        disk_bytes: disk_b.saturating_sub(disk_a),
    }
}

/// `write_bytes` of `/proc/self/io` (0 where the kernel does not count it).
fn disk_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("write_bytes:")?.trim().parse().ok())
        .unwrap_or(0)
}

/// The CPU time of the database writer thread (named `account-writer`).
fn writer_cpu() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten();
    tasks
        .flatten()
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == "account-writer")
        })
        .map_or(Duration::ZERO, |task| {
            cpu_time(&format!("self/task/{}", task.file_name().to_string_lossy()))
        })
}

/// User + system CPU time of `/proc/{which}` (a process or a thread), from its `stat`
/// (getrusage would need `unsafe`, which the workspace forbids). Assumes 100 clock ticks per
/// second.
fn cpu_time(which: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).unwrap_or_default();
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            // utime and stime are fields 14 and 15; after the ')' they are the 12th and 13th.
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}
