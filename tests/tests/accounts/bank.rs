//! A Jepsen-style bank test: account servers on one database, many clients moving money
//! between a few accounts at random through one balanced client, while the servers are killed
//! with SIGKILL and restarted at random (and PostgreSQL itself restarted once, when the
//! database is PostgreSQL). Afterwards the money is all there, no balance is negative, and
//! every acknowledged transfer is in the ledger exactly once, with nothing else beside it.
//!
//! Every transfer carries an idempotency key made before its first attempt, and a client
//! resends the identical request until an answer comes (from whichever server), so every
//! transfer ends acknowledged or refused, never unknown, and the check can be exact.
//!
//! The database: with a PostgreSQL test cluster (`ACCOUNT_TEST_PG`, see [`pg_cluster`]) the
//! test takes a private cluster of its own, runs three servers on a fresh database there and
//! restarts PostgreSQL once mid-run (stop, a pause, start); CI always has one. Without it, an
//! SQLite file, which one server at a time may open, so the run has one server and kills
//! leave no server up for a moment.
//!
//! [`pg_cluster`]: super::pg_cluster
//!
//! `ACCOUNT_BANK_SECS` sets how long the chaos lasts (default 6 s); `ACCOUNT_BANK_SEED` replays
//! a run's choices of amounts, accounts and victims (timing still differs).

use super::pg_cluster::{PrivateCluster, private_cluster};
use super::support::{HANG, Rng, Server, audit, check_chain, history, key, login, name, open};
use account_client::api::{
    AccountError, AccountsBlockingClient, Auth, EntryKind, Token, TransferRequest,
};
use account_client::retry::{RetryPolicy, is_unanswered, retry_unanswered_blocking};
use rpc_runtime::{BlockingClient, CallError, ClientOptions, Endpoint};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 6;
const CLIENTS: usize = 8;
const OPENING_CENTS: i64 = 10_000;
const PASSWORD: &str = "bank password";

/// Where the ledger lives, and how many servers share it.
struct Backend {
    db: String,
    servers: usize,
    /// PostgreSQL's own cluster, to restart once mid-run.
    cluster: Option<PrivateCluster>,
    /// The SQLite file, to audit offline at the end.
    file: Option<PathBuf>,
}

fn backend(dir: &Path) -> Backend {
    match private_cluster("bank_transfers_survive_killed_servers") {
        Some(cluster) => Backend {
            db: cluster.fresh_database(),
            servers: 3,
            cluster: Some(cluster),
            file: None,
        },
        None => {
            let file = dir.join("bank.db");
            Backend {
                db: file.display().to_string(),
                servers: 1,
                cluster: None,
                file: Some(file),
            }
        }
    }
}

fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One transfer's request and what came of it.
#[derive(Debug)]
struct Transfer {
    from: usize,
    to: usize,
    cents: i64,
    /// The entry on `from`'s ledger, when acknowledged.
    entry_id: Option<u64>,
}

/// The servers, each in its own directory (for its socket), restarted in place.
struct Fleet {
    dirs: Vec<PathBuf>,
    db: String,
    servers: Vec<Option<Server>>,
}

impl Fleet {
    fn start(root: &Path, backend: &Backend) -> Fleet {
        let dirs: Vec<PathBuf> = (0..backend.servers)
            .map(|i| {
                let dir = root.join(format!("server-{i}"));
                std::fs::create_dir_all(&dir).expect("server dir");
                dir
            })
            .collect();
        let mut fleet = Fleet {
            servers: dirs.iter().map(|_| None).collect(),
            dirs,
            db: backend.db.clone(),
        };
        for i in 0..fleet.dirs.len() {
            fleet.restart(i);
        }
        fleet
    }

    fn restart(&mut self, i: usize) {
        self.servers[i] = Some(Server::start_on(&self.dirs[i], &self.db, &[]));
    }

    fn kill(&mut self, i: usize) {
        if let Some(server) = &mut self.servers[i] {
            server.kill9();
        }
        self.servers[i] = None;
    }

    /// The servers' Unix sockets: the same path across restarts.
    fn endpoints(&self) -> Vec<Endpoint> {
        self.dirs
            .iter()
            .map(|d| Endpoint::unix(d.join("a.sock")))
            .collect()
    }
}

/// A balanced client over `endpoints` that waits long enough for restarts.
fn balanced(endpoints: &[Endpoint]) -> AccountsBlockingClient {
    let mut options = ClientOptions::default();
    options.timeout = Some(Duration::from_secs(10));
    options.connect_timeout = Duration::from_secs(5);
    options.probe_backoff = Duration::from_millis(50);
    options.max_probe_backoff = Duration::from_secs(1);
    let client = BlockingClient::balanced_with_options(endpoints.iter().cloned(), options)
        .expect("1 to 3 endpoints");
    AccountsBlockingClient::new(client)
}

/// Sends `request` until it is answered, resending it unchanged (same key) while it is not;
/// panics after [`HANG`] twice over without an answer.
fn until_answered(
    accounts: &AccountsBlockingClient,
    request: &TransferRequest,
) -> Result<u64, AccountError> {
    let policy = RetryPolicy {
        attempts: 20,
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
    };
    let since = Instant::now();
    loop {
        match retry_unanswered_blocking(&policy, request, |r| accounts.transfer(r)) {
            Ok(receipt) => return Ok(receipt.entry_id),
            Err(CallError::Application(e)) => return Err(e),
            Err(e) if is_unanswered(e.status()) && since.elapsed() < 2 * HANG => {}
            Err(e) => panic!("transfer {request:?} got no answer: {e}"),
        }
    }
}

#[test]
fn bank_transfers_survive_killed_servers() {
    let root = tempfile::tempdir().expect("tempdir");
    let backend = backend(root.path());
    let secs = env_u64("ACCOUNT_BANK_SECS", 6);
    let seed = env_u64("ACCOUNT_BANK_SEED", super::support::random_u64());
    let fleet = Fleet::start(root.path(), &backend);
    let endpoints = fleet.endpoints();
    let setup = balanced(&endpoints);
    let names: Vec<String> = (0..ACCOUNTS).map(|i| format!("bank-{i}")).collect();
    let tokens: Vec<Token> = names
        .iter()
        .map(|who| {
            open(&setup, who, PASSWORD, OPENING_CENTS);
            login(&setup, who, PASSWORD)
        })
        .collect();
    let tokens = Arc::new(tokens);
    let fleet = Arc::new(Mutex::new(fleet));
    let stop = Arc::new(AtomicBool::new(false));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (tokens, stop, endpoints) =
                (Arc::clone(&tokens), Arc::clone(&stop), endpoints.clone());
            let names = names.clone();
            std::thread::spawn(move || {
                let accounts = balanced(&endpoints);
                let mut rng = Rng::new(seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9));
                let mut done = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let from = rng.below(ACCOUNTS as u64) as usize;
                    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                    let cents = 1 + rng.below(3_000) as i64;
                    let request = TransferRequest {
                        token: tokens[from],
                        key: key(),
                        to: name(&names[to]),
                        cents,
                    };
                    let entry_id = match until_answered(&accounts, &request) {
                        Ok(id) => Some(id),
                        Err(AccountError::InsufficientFunds) => None,
                        Err(other) => panic!("transfer {request:?} refused: {other:?}"),
                    };
                    done.push(Transfer {
                        from,
                        to,
                        cents,
                        entry_id,
                    });
                }
                done
            })
        })
        .collect();

    // Chaos: kill -9 a random server, restart it a moment later; restart the database once.
    let mut rng = Rng::new(seed);
    let (mut kills, mut db_restarts) = (0, 0);
    let start = Instant::now();
    let window = Duration::from_secs(secs);
    while start.elapsed() < window {
        std::thread::sleep(Duration::from_millis(300 + rng.below(700)));
        let victim = rng.below(endpoints.len() as u64) as usize;
        fleet.lock().unwrap().kill(victim);
        kills += 1;
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        if let Some(cluster) = &backend.cluster
            && db_restarts == 0
            && start.elapsed() > window / 2
        {
            cluster.stop();
            std::thread::sleep(Duration::from_millis(200 + rng.below(800)));
            cluster.start();
            db_restarts += 1;
        }
        fleet.lock().unwrap().restart(victim);
    }
    stop.store(true, Ordering::Relaxed);
    let transfers: Vec<Transfer> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client thread panicked"))
        .collect();

    // The check, with every server up and no more chaos.
    let check = balanced(&endpoints);
    let mut total = 0;
    let mut out_entries: HashMap<(usize, u64), (i64, String)> = HashMap::new();
    let (mut ins, mut in_cents) = (0, 0);
    for (i, &token) in tokens.iter().enumerate() {
        let balance = check.get(Auth { token }).expect("get").balance_cents;
        assert!(
            balance >= 0,
            "{} has a negative balance: {balance}",
            names[i]
        );
        total += balance;
        let entries = history(&check, token);
        check_chain(&entries, balance);
        for e in entries {
            match e.kind {
                EntryKind::TransferOut => {
                    let earlier =
                        out_entries.insert((i, e.id), (e.cents, e.counterparty.to_string()));
                    assert!(earlier.is_none(), "entry {} of {} twice", e.id, names[i]);
                }
                EntryKind::TransferIn => {
                    ins += 1;
                    in_cents += e.cents;
                }
                EntryKind::Opening => assert_eq!(e.cents, OPENING_CENTS),
                other => panic!("{} has a {other:?} entry nobody made", names[i]),
            }
        }
    }
    assert_eq!(
        total,
        ACCOUNTS as i64 * OPENING_CENTS,
        "money appeared or vanished"
    );
    let acked: Vec<&Transfer> = transfers.iter().filter(|t| t.entry_id.is_some()).collect();
    for t in &acked {
        let id = t.entry_id.unwrap_or_default();
        let Some((cents, to)) = out_entries.remove(&(t.from, id)) else {
            panic!(
                "acknowledged transfer {t:?} is not in {}'s ledger",
                names[t.from]
            );
        };
        assert_eq!(
            (cents, to.as_str()),
            (-t.cents, names[t.to].as_str()),
            "{t:?}"
        );
    }
    assert!(
        out_entries.is_empty(),
        "transfers in the ledger that no client was told of: {out_entries:?}"
    );
    let moved: i64 = acked.iter().map(|t| t.cents).sum();
    assert_eq!((ins, in_cents), (acked.len(), moved), "transfers in vs out");
    let refused = transfers.len() - acked.len();
    println!(
        "bank: servers={} kills={kills} db_restarts={db_restarts} transfers={} acknowledged={} \
         refused={refused} seed={seed} secs={secs}",
        endpoints.len(),
        transfers.len(),
        acked.len(),
    );
    assert!(kills >= 1 && !acked.is_empty());

    let mut fleet = Arc::try_unwrap(fleet)
        .ok()
        .expect("no other owner")
        .into_inner()
        .unwrap();
    for i in 0..endpoints.len() {
        fleet.kill(i);
    }
    if let Some(file) = &backend.file {
        let report = audit(file);
        assert!(report.is_balanced(), "{report:?}");
    }
}
