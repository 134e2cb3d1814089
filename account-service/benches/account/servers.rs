//! `--servers N [--db postgres://...]`: the account service as it is deployed past one
//! machine: real `account-server` processes on one database, clients balanced over them.
//!
//! Every cell is a fresh process (`--servers-cell`) on a fresh database: an SQLite file in a
//! temporary directory, or a new database created on the PostgreSQL server that `--db` names
//! (and dropped afterwards). It starts the servers (the `account-server` cargo built for this
//! bench), opens and logs in one account per client, then runs deposits and then transfers
//! for `--secs` each after a 1 s warm-up, with `--clients` clients each on its own balanced
//! client over every server. Transfers move 1 cent either to the next client's account, in a
//! ring of `--clients` hot accounts (the default, `accounts=ring` in the output), or, with
//! `--accounts N`, from the client's own account to a uniformly random other one of N
//! accounts opened in set-up (each client's generator is seeded with its number, so runs
//! draw the same sequence). The servers hash passwords at the lowest argon2 cost
//! (`--password-cost m=8,t=1,p=1`, printed as `password_cost=`) so that opening thousands of
//! accounts takes seconds; it only changes the set-up, which is not measured. Besides
//! throughput and latency it reports CPU time per 1,000 operations: of the server processes
//! together, of PostgreSQL (the postmaster and its children, including the backends that
//! exited, from `/proc/PID/stat`), and of this process (the clients).
//!
//! SQLite runs with one server only: the file takes one writer process. PostgreSQL runs with
//! 1, 2, … N servers.

use super::{WARMUP, cpu_time, field, histogram, spread, text_field};
use account_client::api::{
    AccountError, AccountsClient, AmountRequest, LoginRequest, Name, OpenRequest, Password,
    TransferRequest,
};
use rpc_runtime::frame::Status;
use rpc_runtime::{CallError, Client, ClientOptions, Endpoint};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

const OPENING_CENTS: i64 = 100_000_000;
/// The argon2 cost the bench's servers hash with: the cheapest, set-up only.
const PASSWORD_COST: &str = "m=8,t=1,p=1";
/// Accounts being opened at once in set-up (group commit takes them in batches).
const OPENING_AT_ONCE: usize = 64;
const START_WAIT: Duration = Duration::from_secs(60);

/// The options of `--servers` mode.
pub struct Plan {
    pub servers: usize,
    pub db: Option<String>,
    pub secs: u64,
    pub reps: usize,
    pub clients: usize,
    /// `--accounts N`: transfers go to random accounts among N; `None`: the ring.
    pub accounts: Option<usize>,
    pub dir: PathBuf,
}

/// Runs every cell `reps` times, rep-major, prints each line and the medians.
pub fn run(plan: &Plan) {
    let mut cells: Vec<(String, usize)> = vec![("sqlite".into(), 1)];
    if let Some(url) = &plan.db {
        cells.extend((1..=plan.servers).map(|n| (url.clone(), n)));
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut lines = Vec::new();
    for _ in 0..plan.reps {
        for (db, n) in &cells {
            let out = Command::new(&exe)
                .arg("--servers-cell")
                .args([db.as_str(), &n.to_string(), &plan.clients.to_string()])
                .arg(plan.secs.to_string())
                .arg(plan.accounts.map_or("ring".into(), |n| n.to_string()))
                .arg(&plan.dir)
                .output()
                .expect("run a cell");
            if !out.status.success() {
                eprintln!(
                    "cell db={} servers={n} failed:\n{}",
                    kind(db),
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
    println!(
        "\nsummary: medians (min..max) over {} repetitions; transfers between {}",
        plan.reps,
        match plan.accounts {
            Some(n) => format!("{n} accounts, to a uniformly random one"),
            None => format!("{} accounts in a ring", plan.clients),
        }
    );
    println!(
        "| database | servers | bench | ops/s | p50 ms | p99 ms | server CPU ms / 1k ops | PostgreSQL CPU ms / 1k ops | client CPU ms / 1k ops | ops / commit | rollbacks | deadlocks |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (db, n) in &cells {
        for bench in ["deposits", "transfers"] {
            let pick = |key: &str| -> Vec<f64> {
                lines
                    .iter()
                    .filter(|l| {
                        text_field(l, "bench") == bench
                            && text_field(l, "db") == kind(db)
                            && text_field(l, "servers") == n.to_string()
                    })
                    .map(|l| field(l, key))
                    .collect()
            };
            let (ops, lo, hi) = spread(pick("ops_per_s"));
            let (p50, ..) = spread(pick("p50_us"));
            let (p99, ..) = spread(pick("p99_us"));
            let (server, ..) = spread(pick("server_cpu_ms_per_kop"));
            let (pg, ..) = spread(pick("pg_cpu_ms_per_kop"));
            let (client, ..) = spread(pick("client_cpu_ms_per_kop"));
            let per_commit: Vec<f64> = pick("ops")
                .iter()
                .zip(pick("commits"))
                .map(|(ops, commits)| ops / commits)
                .collect();
            let (per_commit, ..) = spread(per_commit);
            let (rollbacks, ..) = spread(pick("rollbacks"));
            let (deadlocks, ..) = spread(pick("deadlocks"));
            let or_dash = |v: f64, digits: usize| {
                if v.is_nan() {
                    "—".to_owned()
                } else {
                    format!("{v:.digits$}")
                }
            };
            println!(
                "| {} | {n} | {bench} | {ops:.0} ({lo:.0}..{hi:.0}) | {:.2} | {:.2} | {server:.0} | {} | {client:.0} | {} | {} | {} |",
                kind(db),
                p50 / 1000.0,
                p99 / 1000.0,
                or_dash(pg, 0),
                or_dash(per_commit, 1),
                or_dash(rollbacks, 0),
                or_dash(deadlocks, 0),
            );
        }
    }
}

/// `sqlite` or `postgres`, for the output lines.
fn kind(db: &str) -> &'static str {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        "postgres"
    } else {
        "sqlite"
    }
}

/// One cell: `DB SERVERS CLIENTS SECS ACCOUNTS DIR` (`ACCOUNTS` is a number or `ring`).
pub fn run_cell(args: &[String]) {
    let [db, servers, clients, secs, accounts, dir] = args else {
        panic!("--servers-cell DB SERVERS CLIENTS SECS ACCOUNTS DIR");
    };
    let servers: usize = servers.parse().expect("servers");
    let clients: usize = clients.parse().expect("clients");
    let secs: u64 = secs.parse().expect("secs");
    let random: Option<usize> = (accounts != "ring").then(|| accounts.parse().expect("accounts"));
    let names: Arc<Vec<Name>> = Arc::new(
        (0..random.unwrap_or(clients).max(clients))
            .map(|i| super::account_name(i).parse().expect("name"))
            .collect(),
    );
    let tmp = tempfile::tempdir_in(dir).expect("temp dir");
    let pg = (kind(db) == "postgres").then(|| Postgres::fresh(db));
    let db_arg = match &pg {
        Some(pg) => pg.url.clone(),
        None => tmp.path().join("accounts.db").display().to_string(),
    };
    let fleet: Vec<Proc> = (0..servers)
        .map(|i| Proc::start(&tmp.path().join(format!("server-{i}")), &db_arg))
        .collect();
    let endpoints: Vec<Endpoint> = fleet.iter().map(|p| p.endpoint.clone()).collect();

    let ex = Arc::new(smol::Executor::new());
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ex = Arc::clone(&ex);
            let stop = stop_rx.clone();
            std::thread::spawn(move || smol::block_on(ex.run(stop.recv())))
        })
        .collect();
    let members = smol::block_on(set_up(&ex, &endpoints, clients, &names));

    for bench in ["deposits", "transfers"] {
        let start = Instant::now() + WARMUP;
        let window = (start, start + Duration::from_secs(secs));
        let done = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(i, (client, token))| {
                let (client, token, done) = (client.clone(), *token, Arc::clone(&done));
                let names = Arc::clone(&names);
                let ring = names[(i + 1) % clients];
                // Seeded per client: every run draws the same recipients.
                let mut rng = fastrand::Rng::with_seed(i as u64);
                ex.spawn(async move {
                    let mut hist = histogram();
                    let mut n = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        n += 1;
                        // Keys distinct across benches: deposits even, transfers odd.
                        let key = super::idem_key(i, 2 * n + u64::from(bench == "transfers"));
                        let started = Instant::now();
                        let outcome = if bench == "transfers" {
                            let to = match random {
                                // Any of the others: draw among n - 1, skip our own.
                                Some(n) => {
                                    let j = rng.usize(..n - 1);
                                    names[if j >= i { j + 1 } else { j }]
                                }
                                None => ring,
                            };
                            let r = TransferRequest {
                                token,
                                key,
                                to,
                                cents: 1,
                            };
                            client.transfer(r).await
                        } else {
                            let r = AmountRequest {
                                token,
                                key,
                                cents: 1,
                            };
                            client.deposit(r).await
                        };
                        let finished = Instant::now();
                        outcome.unwrap_or_else(|e| panic!("{bench}: {e}"));
                        if started >= window.0 && finished <= window.1 {
                            hist.saturating_record(
                                finished.duration_since(started).as_nanos() as u64
                            );
                        }
                    }
                    hist
                })
            })
            .collect();
        std::thread::sleep(window.0.saturating_duration_since(Instant::now()));
        // psql's own backend falls outside the CPU window: counters first, CPU last, and
        // the other way round at the end.
        let counted_before = pg.as_ref().map(Postgres::counters);
        let before = Sample::take(&fleet, pg.as_ref());
        std::thread::sleep(window.1.saturating_duration_since(Instant::now()));
        let after = Sample::take(&fleet, pg.as_ref());
        let counted = pg
            .as_ref()
            .map(Postgres::counters)
            .zip(counted_before)
            .map(|(after, before)| after.since(&before));
        done.store(true, Ordering::Relaxed);
        let mut total = histogram();
        for task in tasks {
            total.add(smol::block_on(task)).expect("same bounds");
        }
        let ops = total.len();
        let per_kop = |d: Duration| d.as_secs_f64() * 1e3 * 1000.0 / ops.max(1) as f64;
        let q = |p: f64| total.value_at_quantile(p) as f64 / 1000.0;
        let pg_cpu = match (before.pg, after.pg) {
            (Some(a), Some(b)) => format!("{:.1}", per_kop(b.saturating_sub(a))),
            _ => "nan".into(),
        };
        let counted = match counted {
            Some(c) => format!(
                "commits={} rollbacks={} deadlocks={}",
                c.commits, c.rollbacks, c.deadlocks
            ),
            None => "commits=nan rollbacks=nan deadlocks=nan".into(),
        };
        println!(
            "bench={bench} db={} servers={servers} clients={clients} accounts={accounts} \
             password_cost={PASSWORD_COST} secs={secs} ops={ops} \
             ops_per_s={:.0} p50_us={:.1} p99_us={:.1} server_cpu_ms_per_kop={:.1} \
             pg_cpu_ms_per_kop={pg_cpu} client_cpu_ms_per_kop={:.1} {counted}",
            kind(db),
            ops as f64 / secs as f64,
            q(0.5),
            q(0.99),
            per_kop(after.servers.saturating_sub(before.servers)),
            per_kop(after.client.saturating_sub(before.client)),
        );
    }
    drop(stop_tx);
    for thread in threads {
        let _ = thread.join();
    }
    drop(fleet);
    drop(pg);
}

/// Opens every account of `names`, `OPENING_AT_ONCE` at a time (the servers answer a flood
/// of password hashing with `resource exhausted`, which `patiently` waits out), then logs in
/// one per client, and returns each client's connection and session.
async fn set_up(
    ex: &smol::Executor<'static>,
    endpoints: &[Endpoint],
    clients: usize,
    names: &Arc<Vec<Name>>,
) -> Vec<(AccountsClient, [u8; 32])> {
    let password: Password = "bench-password".parse().expect("password");
    let openers: Vec<_> = (0..OPENING_AT_ONCE.min(names.len()))
        .map(|first| {
            let client = AccountsClient::new(client_for(endpoints));
            let names = Arc::clone(names);
            ex.spawn(async move {
                for i in (first..names.len()).step_by(OPENING_AT_ONCE) {
                    let open = OpenRequest {
                        key: super::idem_key(i, 0),
                        name: names[i],
                        password,
                        initial_cents: OPENING_CENTS,
                    };
                    patiently(|| client.open(open.clone())).await;
                }
            })
        })
        .collect();
    for opener in openers {
        opener.await;
    }
    let mut members = Vec::with_capacity(clients);
    for chunk in (0..clients).collect::<Vec<_>>().chunks(OPENING_AT_ONCE) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let client = AccountsClient::new(client_for(endpoints));
                let login = LoginRequest {
                    name: names[i],
                    password,
                };
                ex.spawn(async move {
                    let session = patiently(|| client.login(login.clone())).await;
                    (client, session.token)
                })
            })
            .collect();
        for task in tasks {
            members.push(task.await);
        }
    }
    members
}

/// Calls until the answer is not `resource exhausted` or `unavailable`.
pub async fn patiently<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CallError<AccountError>>>,
{
    let since = Instant::now();
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e)
                if matches!(e.status(), Status::ResourceExhausted | Status::Unavailable)
                    && since.elapsed() < START_WAIT =>
            {
                smol::Timer::after(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("set-up failed: {e}"),
        }
    }
}

/// A client over `endpoints`: plain for one, balanced for several.
fn client_for(endpoints: &[Endpoint]) -> Client {
    match endpoints {
        [one] => Client::new(one.clone()),
        many => Client::balanced_with_options(many.iter().cloned(), ClientOptions::default())
            .expect("1 to 64 endpoints"),
    }
}

/// CPU times at one instant.
struct Sample {
    servers: Duration,
    pg: Option<Duration>,
    client: Duration,
}

impl Sample {
    fn take(fleet: &[Proc], pg: Option<&Postgres>) -> Sample {
        Sample {
            servers: fleet.iter().map(|p| cpu_time(&p.pid.to_string())).sum(),
            pg: pg.map(Postgres::cpu),
            client: cpu_time("self"),
        }
    }
}

/// A running `account-server`, killed when dropped.
struct Proc {
    child: Child,
    pid: u32,
    endpoint: Endpoint,
}

impl Proc {
    fn start(dir: &Path, db: &str) -> Proc {
        std::fs::create_dir_all(dir).expect("server dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_account-server"));
        command
            .current_dir(dir)
            .args([
                "--db",
                db,
                "--listen",
                "tcp://127.0.0.1:0",
                "--log-level",
                "info",
                "--password-cost",
                PASSWORD_COST,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("ACCOUNT_") {
                command.env_remove(var);
            }
        }
        let mut child = command.spawn().expect("run account-server");
        let stderr = child.stderr.take().expect("stderr pipe");
        let (tx, rx) = channel();
        // Keeps reading after the start, so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut log = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once("listening endpoint=") {
                    let text = rest.split_whitespace().next().unwrap_or_default();
                    if let Ok(endpoint) = text.parse::<Endpoint>() {
                        let _ = tx.send(Ok(endpoint));
                    }
                }
                if log.len() < 50 {
                    log.push(line);
                }
            }
            let _ = tx.send(Err(log.join("\n")));
        });
        let pid = child.id();
        match rx.recv_timeout(START_WAIT) {
            Ok(Ok(endpoint)) => Proc {
                child,
                pid,
                endpoint,
            },
            other => {
                let _ = child.kill();
                panic!("account-server did not start: {other:?}");
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Transactions of the bench's database: committed, rolled back (the writers' retries), and
/// deadlocks PostgreSQL broke.
#[derive(Debug, Clone, Copy)]
struct Counters {
    commits: u64,
    rollbacks: u64,
    deadlocks: u64,
}

impl Counters {
    fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            commits: self.commits.saturating_sub(earlier.commits),
            rollbacks: self.rollbacks.saturating_sub(earlier.rollbacks),
            deadlocks: self.deadlocks.saturating_sub(earlier.deadlocks),
        }
    }
}

/// A fresh database on the PostgreSQL server of a URL, dropped at the end.
struct Postgres {
    admin: String,
    name: String,
    url: String,
    postmaster: Option<u32>,
}

impl Postgres {
    fn fresh(admin: &str) -> Postgres {
        let name = format!("account_bench_{}", std::process::id());
        psql(admin, &format!("CREATE DATABASE {name}"));
        // postgres://user@host:port/db?query: swap the database, keep the rest.
        let (scheme, rest) = admin.split_once("://").expect("a URL");
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let query = tail
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        let url = format!("{scheme}://{authority}/{name}{query}");
        let postmaster = psql(admin, "SHOW data_directory")
            .lines()
            .next()
            .and_then(|dir| {
                std::fs::read_to_string(Path::new(dir.trim()).join("postmaster.pid")).ok()
            })
            .and_then(|pid| pid.lines().next()?.trim().parse().ok());
        if postmaster.is_none() {
            eprintln!("cannot find the postmaster's pid: PostgreSQL CPU not measured");
        }
        Postgres {
            admin: admin.to_owned(),
            name,
            url,
            postmaster,
        }
    }

    /// The database's transaction counters so far. PostgreSQL publishes a backend's counts
    /// at most once a second, so a window's difference can be off by a second's worth.
    fn counters(&self) -> Counters {
        let out = psql(
            &self.admin,
            &format!(
                "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database \
                 WHERE datname = '{}'",
                self.name
            ),
        );
        let mut values = out
            .trim()
            .split('|')
            .map(|v| v.trim().parse::<u64>().unwrap_or(0));
        let mut next = || values.next().unwrap_or(0);
        Counters {
            commits: next(),
            rollbacks: next(),
            deadlocks: next(),
        }
    }

    /// CPU time of the postmaster, its children and its reaped children.
    fn cpu(&self) -> Duration {
        let Some(pm) = self.postmaster else {
            return Duration::ZERO;
        };
        let mut total = cpu_fields(pm, 11, 4);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
            if parent == Some(pm) {
                total += cpu_fields(pid, 11, 2);
            }
        }
        total
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `count` CPU fields of `/proc/PID/stat` from field `skip` after the `)` (utime, stime,
/// cutime, cstime), at 100 ticks per second.
fn cpu_fields(pid: u32, skip: usize, count: usize) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(skip)
                .take(count)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Runs one SQL statement with `psql` and returns its unaligned output.
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql (PostgreSQL's client must be installed for --db postgres://)");
    assert!(
        out.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
