//! The account service on PostgreSQL: several servers on one database, PostgreSQL restarting
//! under a running server, `migrate-db` from SQLite, and the schema version check.
//!
//! Each test takes a fresh database on the shared test cluster (or, to restart PostgreSQL, a
//! cluster of its own); see [`pg_cluster`](super::pg_cluster). Without a cluster they print
//! why they skip, and fail under CI.

use super::pg_cluster::{self, psql};
use super::support::{
    HANG, Rng, Server, audit_postgres, balance, client, history, key, login, name, open,
    random_u64, run_to_exit,
};
use account_client::api::{
    AccountError, Accounts as _, AccountsBlockingClient, AmountRequest, Auth, Receipt,
    TransferRequest,
};
use account_service::{AccountService, Config, PasswordHashing, PgStore};
use rpc_runtime::CallError;
use rpc_runtime::frame::Status;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

const PASSWORD: &str = "postgres password";

/// Two servers on `db`, each with its own Unix socket in `dir`.
fn two_servers(dir: &Path, db: &str) -> (Server, Server) {
    let a = Server::start_on_socket(dir, db, &dir.join("a.sock"), &[]);
    let b = Server::start_on_socket(dir, db, &dir.join("b.sock"), &[]);
    (a, b)
}

fn deposit(c: &AccountsBlockingClient, token: [u8; 32], k: [u8; 16], cents: i64) -> Receipt {
    c.deposit(AmountRequest {
        token,
        key: k,
        cents,
    })
    .unwrap_or_else(|e| panic!("deposit: {e}"))
}

#[test]
fn servers_on_one_database_share_accounts_sessions_and_idempotency_keys() {
    let Some(cluster) = pg_cluster::require("servers_on_one_database_share_everything") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = cluster.fresh_database();
    let (a, b) = two_servers(dir.path(), &db);
    let (ca, cb) = (a.tcp_client(), b.unix_client());

    open(&ca, "pg-alice", PASSWORD, 1_000);
    open(&cb, "pg-bob", PASSWORD, 500);
    // An account opened on one server is seen, by name, on the other.
    assert_eq!(
        cb.open(account_client::api::OpenRequest {
            key: key(),
            name: name("pg-alice"),
            password: super::support::password(PASSWORD),
            initial_cents: 0,
        })
        .map_err(|e| e.application().copied()),
        Err(Some(AccountError::NameTaken))
    );

    // A session started on A works on B.
    let alice = login(&ca, "pg-alice", PASSWORD);
    assert_eq!(balance(&cb, alice), 1_000);

    // A key used on A is answered from its record on B, and applied once.
    let k = key();
    let first = deposit(&ca, alice, k, 250);
    assert_eq!(deposit(&cb, alice, k, 250), first);
    assert_eq!(balance(&ca, alice), 1_250);

    let transfer = TransferRequest {
        token: alice,
        key: key(),
        to: name("pg-bob"),
        cents: 300,
    };
    let sent = cb.transfer(transfer.clone()).expect("transfer on B");
    assert_eq!(ca.transfer(transfer).expect("retry on A"), sent);
    let bob = login(&cb, "pg-bob", PASSWORD);
    assert_eq!((balance(&ca, alice), balance(&ca, bob)), (950, 800));
    assert_eq!(
        history(&cb, bob).len(),
        2,
        "bob's opening and one transfer in"
    );

    // Logging out on B ends the session on A.
    cb.logout(Auth { token: alice }).expect("logout");
    let gone = ca.get(Auth { token: alice }).unwrap_err();
    assert_eq!(gone.application(), Some(&AccountError::Unauthenticated));

    a.stop();
    b.stop();
    let report = audit_postgres(&db);
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!((report.accounts, report.total_balance), (2, 1_750));
}

#[test]
fn switching_servers_does_not_bypass_the_login_throttle() {
    let Some(cluster) = pg_cluster::require("switching_servers_does_not_bypass_the_throttle")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = cluster.fresh_database();
    let (a, b) = two_servers(dir.path(), &db);
    let (ca, cb) = (a.tcp_client(), b.tcp_client());
    open(&ca, "pg-guarded", PASSWORD, 0);
    let guess = |c: &AccountsBlockingClient| {
        c.login(account_client::api::LoginRequest {
            name: name("pg-guarded"),
            password: super::support::password("a wrong guess"),
        })
        .unwrap_err()
        .application()
        .copied()
    };
    // The default budget: five attempts per name and address within a minute, on A alone.
    for _ in 0..5 {
        assert_eq!(guess(&ca), Some(AccountError::InvalidCredentials));
    }
    // B has seen none of them itself, and still refuses the sixth.
    assert_eq!(guess(&cb), Some(AccountError::Throttled));
    a.stop();
    b.stop();
}

#[test]
fn concurrent_transfers_through_two_servers_conserve_money() {
    const ACCOUNTS: usize = 6;
    const THREADS: usize = 8;
    const TRANSFERS: usize = 40;
    const START: i64 = 10_000;
    let Some(cluster) = pg_cluster::require("concurrent_transfers_through_two_servers") else {
        return;
    };
    let seed = random_u64();
    eprintln!("random seed {seed:#x}");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = cluster.fresh_database();
    let (a, b) = two_servers(dir.path(), &db);
    let setup = a.tcp_client();
    for i in 0..ACCOUNTS {
        open(&setup, &format!("pg-many-{i}"), PASSWORD, START);
    }
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            // Every other client on the other server: opposite transfers meet in PostgreSQL.
            let c = client(if t % 2 == 0 { &a.tcp } else { &b.tcp });
            std::thread::spawn(move || {
                let me = t % ACCOUNTS;
                let token = login(&c, &format!("pg-many-{me}"), PASSWORD);
                let mut rng = Rng::new(seed ^ (t as u64 + 1));
                let mut acknowledged = 0;
                for _ in 0..TRANSFERS {
                    let to = (me + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                    let request = TransferRequest {
                        token,
                        key: key(),
                        to: name(&format!("pg-many-{to}")),
                        cents: 1 + rng.below(300) as i64,
                    };
                    match c.transfer(request) {
                        Ok(_) => acknowledged += 1,
                        Err(CallError::Application(AccountError::InsufficientFunds)) => {}
                        Err(e) => panic!("transfer failed: {e:?}"),
                    }
                }
                acknowledged
            })
        })
        .collect();
    let acknowledged: usize = threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .sum();
    assert!(acknowledged > 0);
    a.stop();
    b.stop();
    let report = audit_postgres(&db);
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!(report.total_balance, START as i128 * ACCOUNTS as i128);
    // Two ledger entries per acknowledged transfer, one per opening.
    assert_eq!(report.entries, (ACCOUNTS + 2 * acknowledged) as u64);
}

#[test]
fn the_postgres_writer_still_commits_concurrent_requests_in_batches() {
    const DEPOSITS: usize = 64;
    let Some(cluster) = pg_cluster::require("the_postgres_writer_commits_in_batches") else {
        return;
    };
    let mut config = Config::new("");
    config.password_hashing = PasswordHashing::INSECURE_FAST;
    let store = PgStore::open(&cluster.fresh_database(), &config).expect("open");
    let service = AccountService::with_store(store, &config).expect("service");
    smol::block_on(async {
        service
            .open(account_client::api::OpenRequest {
                key: key(),
                name: name("pg-batched"),
                password: super::support::password(PASSWORD),
                initial_cents: 0,
            })
            .await
            .expect("open");
        let token = service
            .login(account_client::api::LoginRequest {
                name: name("pg-batched"),
                password: super::support::password(PASSWORD),
            })
            .await
            .expect("login")
            .token;
        let before = service.store().writer_stats();
        let deposits: Vec<_> = (0..DEPOSITS)
            .map(|_| {
                let service = service.clone();
                smol::spawn(async move {
                    service
                        .deposit(AmountRequest {
                            token,
                            key: key(),
                            cents: 1,
                        })
                        .await
                })
            })
            .collect();
        for deposit in deposits {
            deposit.await.expect("deposit");
        }
        let after = service.store().writer_stats();
        let (batches, requests) = (
            after.batches - before.batches,
            after.requests - before.requests,
        );
        assert_eq!(requests, DEPOSITS as u64);
        // Requests queued while a batch commits go into the next one together.
        assert!(
            batches < requests,
            "{batches} batches for {requests} requests"
        );
    });
    service.store().shutdown().expect("shutdown");
}

#[test]
fn the_same_open_sent_to_two_servers_at_once_creates_one_account() {
    const ROUNDS: usize = 20;
    let Some(cluster) = pg_cluster::require("the_same_open_sent_to_two_servers_at_once") else {
        return;
    };
    let mut config = Config::new("");
    config.password_hashing = PasswordHashing::INSECURE_FAST;
    let db = cluster.fresh_database();
    let service = |db: &str| {
        let store = PgStore::open(db, &config).expect("open");
        AccountService::with_store(store, &config).expect("service")
    };
    let (a, b) = (service(&db), service(&db));
    smol::block_on(async {
        for round in 0..ROUNDS {
            let request = account_client::api::OpenRequest {
                key: key(),
                name: name(&format!("pg-race-{round}")),
                password: super::support::password(PASSWORD),
                initial_cents: 10,
            };
            let on_a = smol::spawn({
                let (a, request) = (a.clone(), request.clone());
                async move { a.open(request).await }
            });
            let on_b = smol::spawn({
                let (b, request) = (b.clone(), request.clone());
                async move { b.open(request).await }
            });
            let (first, second) = (on_a.await, on_b.await);
            // Both servers give the one answer: the key's record, whoever wrote it.
            assert_eq!(first, second, "round {round}");
            assert!(first.is_ok(), "round {round}: {first:?}");
        }
    });
    let retries = a.store().writer_retries() + b.store().writer_retries();
    eprintln!("batches run again after a conflict: {retries}");
    for s in [&a, &b] {
        s.store().shutdown().expect("shutdown");
    }
    let report = audit_postgres(&db);
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!(
        (report.accounts, report.total_balance),
        (ROUNDS as u64, 10 * ROUNDS as i128)
    );
}

#[test]
fn a_server_answers_unavailable_while_postgres_restarts_and_recovers_by_itself() {
    let Some(cluster) = pg_cluster::private_cluster("a_server_survives_a_postgres_restart") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = cluster.fresh_database();
    let server = Server::start_on(dir.path(), &db, &["--pg-connect-timeout", "2"]);
    let c = server.tcp_client();
    open(&c, "pg-restart", PASSWORD, 100);
    let token = login(&c, "pg-restart", PASSWORD);
    deposit(&c, token, key(), 1);

    cluster.stop();
    // Reads and writes are refused with the retryable status, and nothing is applied.
    let read = c.get(Auth { token }).unwrap_err();
    assert_eq!(read.status(), Status::Unavailable, "{read:?}");
    let pending = key();
    let write = c
        .deposit(AmountRequest {
            token,
            key: pending,
            cents: 10,
        })
        .unwrap_err();
    assert_eq!(write.status(), Status::Unavailable, "{write:?}");

    cluster.start();
    // Back by itself: the first calls after the restart may still meet closed connections.
    let deadline = Instant::now() + HANG;
    let receipt = loop {
        match c.deposit(AmountRequest {
            token,
            key: pending,
            cents: 10,
        }) {
            Ok(receipt) => break receipt,
            Err(e) if e.status() == Status::Unavailable && Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("the server did not recover: {e:?}\n{}", server.log()),
        }
    };
    assert_eq!(
        receipt.balance_cents, 111,
        "the refused deposit was applied once, now"
    );
    assert_eq!(balance(&c, token), 111);
    server.stop();
    let report = audit_postgres(&db);
    assert!(report.is_balanced(), "{report:?}");
}

#[test]
fn migrate_db_copies_a_sqlite_database_that_then_serves_from_postgres() {
    let Some(cluster) = pg_cluster::require("migrate_db_copies_a_sqlite_database") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = dir.path().join("accounts.db");
    let old = Server::start_sqlite(dir.path());
    let c = old.tcp_client();
    open(&c, "mig-alice", PASSWORD, 700);
    open(&c, "mig-bob", PASSWORD, 0);
    let alice = login(&c, "mig-alice", PASSWORD);
    let k = key();
    let paid = c
        .transfer(TransferRequest {
            token: alice,
            key: k,
            to: name("mig-bob"),
            cents: 200,
        })
        .expect("transfer");
    let before = history(&c, alice);
    old.stop();

    let db = cluster.fresh_database();
    let migrate = |db: &str| {
        run_to_exit(
            dir.path(),
            &[
                OsStr::new("migrate-db"),
                OsStr::new("--from"),
                sqlite.as_os_str(),
                OsStr::new("--to"),
                OsStr::new(db),
            ],
        )
    };
    let (status, log) = migrate(&db);
    assert!(status.success(), "migrate-db failed:\n{log}");

    let new = Server::start_on(dir.path(), &db, &[]);
    let c = new.tcp_client();
    // Sessions, balances, the ledger and idempotency records came along.
    assert_eq!(balance(&c, alice), 500);
    assert_eq!(history(&c, alice), before);
    let again = c
        .transfer(TransferRequest {
            token: alice,
            key: k,
            to: name("mig-bob"),
            cents: 200,
        })
        .expect("retry");
    assert_eq!(
        again, paid,
        "a retry after the move is answered from the record"
    );
    // Passwords still verify, and new rows get new ids.
    let bob = login(&c, "mig-bob", PASSWORD);
    let carol = open(&c, "mig-carol", PASSWORD, 5);
    assert_eq!(carol.id, 3);
    assert_eq!(balance(&c, bob), 200);
    new.stop();

    // A second copy into a database that holds accounts is refused and changes nothing.
    let (status, log) = migrate(&db);
    assert!(!status.success(), "copied twice:\n{log}");
    assert!(log.contains("already holds accounts"), "{log}");
    let report = audit_postgres(&db);
    assert!(report.is_balanced(), "{report:?}");
    assert_eq!((report.accounts, report.total_balance), (3, 705));
}

#[test]
fn a_postgres_schema_newer_than_the_server_is_refused_and_left_alone() {
    let Some(cluster) = pg_cluster::require("a_newer_postgres_schema_is_refused") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = cluster.fresh_database();
    Server::start_on(dir.path(), &db, &[]).stop();
    let newer = account_service::PG_SCHEMA_VERSION + 1;
    psql(&db, &format!("UPDATE account_schema SET version = {newer}"));
    let (status, log) = run_to_exit(
        dir.path(),
        &[
            OsStr::new("--db"),
            OsStr::new(&db),
            OsStr::new("--listen"),
            OsStr::new("tcp://127.0.0.1:0"),
        ],
    );
    assert!(!status.success(), "it started on a newer schema:\n{log}");
    assert!(log.contains("newer than this program"), "{log}");
    assert_eq!(
        psql(&db, "SELECT version FROM account_schema"),
        newer.to_string()
    );
}
