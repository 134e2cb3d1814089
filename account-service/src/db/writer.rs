//! The writer: one thread that owns the write connection and commits requests in batches
//! (group commit).
//!
//! Requests arrive over a bounded channel. The writer waits for one, takes whatever else is
//! already queued (up to `max_batch`), and runs them all in one `BEGIN IMMEDIATE` transaction,
//! each inside its own `SAVEPOINT`: a request that fails rolls back only its savepoint and gets
//! its own `StorageFailure`. Then it `COMMIT`s, and only then answers each request, so nothing
//! acknowledged can be lost (with `synchronous=FULL`, the commit is on disk when `COMMIT`
//! returns). If the commit fails, no request of the batch was applied and each is answered
//! `StorageFailure`.
//!
//! One fsync then covers a whole batch: under load, batches grow by themselves (everything
//! that arrived during the previous commit), and an idle writer commits a lone request at
//! once.

use super::audit;
use super::ops::{self, Op, Outcome, exec};
use crate::error::Error;
use rusqlite::Connection;
use smol::channel::{Receiver, Sender, TryRecvError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The writer thread's name (argon2 must never run on it).
pub(crate) const THREAD_NAME: &str = "account-writer";

/// A request and where to send its answer.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) op: Op,
    pub(crate) done: Sender<Outcome>,
}

/// Counters of the writer's work, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterStats {
    /// Transactions committed or attempted.
    pub batches: u64,
    /// Requests run in them.
    pub requests: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
}

/// How the writer runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) max_batch: usize,
    pub(crate) queue_depth: usize,
    pub(crate) audit: bool,
}

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Sender<Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(conn: Connection, settings: Settings) -> Result<Writer, Error> {
        if settings.audit {
            audit::track_changes(&conn)?;
        }
        let (queue, jobs) = smol::channel::bounded(settings.queue_depth.max(1));
        let counters = Arc::new(Counters::default());
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn({
                let counters = Arc::clone(&counters);
                move || run(conn, jobs, settings, &counters)
            })
            .map_err(|source| Error::Thread {
                name: THREAD_NAME,
                source,
            })?;
        Ok(Writer {
            queue,
            thread: Mutex::new(Some(thread)),
            counters,
        })
    }

    /// Queues `op` and waits for its answer, which comes after its batch committed.
    ///
    /// A writer that stopped answers `StorageFailure` (nothing was applied).
    pub(crate) async fn submit(&self, op: Op) -> Outcome {
        let (done, answer) = smol::channel::bounded(1);
        if self.queue.send(Job { op, done }).await.is_err() {
            return Outcome::storage_failure();
        }
        answer
            .recv()
            .await
            .unwrap_or_else(|_| Outcome::storage_failure())
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            requests: self.counters.requests.load(Ordering::Relaxed),
        }
    }

    /// Stops taking requests, lets the writer finish the ones already queued, and waits for
    /// its thread to end (closing the connection). Calling it again does nothing.
    pub(crate) fn shutdown(&self) -> Result<(), Error> {
        self.queue.close();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        match thread {
            Some(thread) => thread.join().map_err(|_| Error::WriterPanicked),
            None => Ok(()),
        }
    }
}

fn run(conn: Connection, jobs: Receiver<Job>, settings: Settings, counters: &Counters) {
    let max_batch = settings.max_batch.max(1);
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    // Ends when the queue is closed and drained.
    while let Ok(first) = jobs.recv_blocking() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let outcomes = run_batch(
            &conn,
            batch.iter().map(|job| &job.op),
            unix_now(),
            settings.audit,
        );
        tracing::trace!(requests = batch.len(), "batch done");
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The caller may have given up; the request stands either way.
            let _ = job.done.try_send(outcome);
        }
    }
    tracing::debug!("database writer stopped");
}

/// Runs `ops` in one transaction, each in its own savepoint, and commits. Returns one outcome
/// per op, all `StorageFailure` when the transaction could not commit.
pub(crate) fn run_batch<'a>(
    conn: &Connection,
    ops: impl ExactSizeIterator<Item = &'a Op>,
    now: i64,
    audit_changes: bool,
) -> Vec<Outcome> {
    let count = ops.len();
    let all_failed = || vec![Outcome::storage_failure(); count];
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        return all_failed();
    }
    let mut outcomes = Vec::with_capacity(count);
    for op in ops {
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (disk full, I/O error): running more
            // requests now would commit each on its own. The COMMIT below fails instead.
            outcomes.push(Outcome::storage_failure());
            continue;
        }
        outcomes.push(run_one(conn, op, now));
    }
    if audit_changes {
        match audit::check_changes(conn) {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => {
                tracing::error!(%problem, "ledger invariant broken; rolling the batch back");
                rollback(conn);
                return all_failed();
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot audit the batch; rolling it back");
                rollback(conn);
                return all_failed();
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        tracing::error!(error = %e, requests = count, "commit failed; the batch was not applied");
        rollback(conn);
        return all_failed();
    }
    outcomes
}

fn run_one(conn: &Connection, op: &Op, now: i64) -> Outcome {
    if let Err(e) = exec(conn, "SAVEPOINT job") {
        tracing::error!(error = %e, "cannot start a savepoint");
        return Outcome::storage_failure();
    }
    match ops::apply(conn, op, now) {
        Ok(outcome) => match exec(conn, "RELEASE job") {
            Ok(()) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "cannot release a savepoint");
                undo_job(conn);
                Outcome::storage_failure()
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "request failed; rolling back its savepoint");
            undo_job(conn);
            Outcome::storage_failure()
        }
    }
}

fn undo_job(conn: &Connection) {
    if conn.is_autocommit() {
        return;
    }
    if let Err(e) = exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job")) {
        tracing::error!(error = %e, "cannot roll back a savepoint");
    }
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(e) = exec(conn, "ROLLBACK")
    {
        tracing::error!(error = %e, "rollback failed");
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{audit, configure, migrations};
    use crate::store::{Fingerprint, Keyed, NewAccount, NewSession, StoredReply, TokenHash};
    use account_client::api::{AccountError, AccountInfo, Receipt, Session};
    use std::time::Duration;

    const NOW: i64 = 1_700_000_000;

    fn database(audit_changes: bool) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        configure(&conn, Duration::from_secs(1)).unwrap();
        migrations::migrate(&mut conn).unwrap();
        if audit_changes {
            audit::track_changes(&conn).unwrap();
        }
        conn
    }

    fn fresh(outcome: &Outcome) -> &StoredReply {
        match outcome {
            Outcome::Fresh(reply) => reply,
            Outcome::Replayed { .. } => panic!("unexpected replay: {outcome:?}"),
        }
    }

    /// Opens an account with `cents` and a session whose token hash is `[n; 32]`.
    fn account(conn: &Connection, n: u8, cents: i64) -> TokenHash {
        let open = Op::Open(NewAccount {
            key: [n; 16],
            fingerprint: Fingerprint([n; 32]),
            name: format!("user{n}").parse().unwrap(),
            skeleton: format!("user{n}"),
            password_hash: "phc".into(),
            initial_cents: cents,
        });
        let out = run_batch(conn, [&open].into_iter(), NOW, false);
        let info: AccountInfo = fresh(&out[0]).decode().unwrap();
        let token = TokenHash([n; 32]);
        let start = Op::StartSession(NewSession {
            account_id: info.id,
            password_hash: "phc".into(),
            token,
            ttl: Duration::from_secs(60),
        });
        let out = run_batch(conn, [&start].into_iter(), NOW, false);
        fresh(&out[0]).decode::<Session>().unwrap();
        token
    }

    fn deposit(token: TokenHash, key: u8, cents: i64) -> Op {
        Op::Deposit(Keyed {
            token,
            key: [key; 16],
            fingerprint: Fingerprint([key; 32]),
            args: cents,
        })
    }

    fn withdraw(token: TokenHash, key: u8, cents: i64) -> Op {
        Op::Withdraw(Keyed {
            token,
            key: [key; 16],
            fingerprint: Fingerprint([key; 32]),
            args: cents,
        })
    }

    fn balance(conn: &Connection, name: &str) -> i64 {
        conn.query_row(
            "SELECT balance FROM accounts WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn balanced(conn: &Connection) {
        let report = audit::audit(conn).unwrap();
        assert!(report.is_balanced(), "{report:?}");
    }

    #[test]
    fn a_failing_request_rolls_back_only_its_own_savepoint() {
        let conn = database(true);
        let alice = account(&conn, 1, 100);
        let bob = account(&conn, 2, 0);
        // Deposits of 13 cents fail half-way: after the balance update, at the ledger insert.
        conn.execute_batch(
            "CREATE TEMP TRIGGER fail_13 BEFORE INSERT ON main.ledger WHEN NEW.delta = 13
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
        let batch = [
            deposit(alice, 10, 5),
            deposit(alice, 11, 13),
            withdraw(bob, 12, 1000),
            deposit(bob, 13, 7),
        ];
        let out = run_batch(&conn, batch.iter(), NOW, true);
        assert_eq!(
            fresh(&out[0]).decode::<Receipt>().unwrap().balance_cents,
            105
        );
        assert_eq!(
            fresh(&out[1]).decode::<Receipt>(),
            Err(AccountError::StorageFailure)
        );
        assert_eq!(
            fresh(&out[2]).decode::<Receipt>(),
            Err(AccountError::InsufficientFunds)
        );
        assert_eq!(fresh(&out[3]).decode::<Receipt>().unwrap().balance_cents, 7);
        assert_eq!(
            balance(&conn, "user1"),
            105,
            "the failed deposit left no trace"
        );
        assert_eq!(balance(&conn, "user2"), 7);
        balanced(&conn);

        // The failed request was not recorded: once the fault is gone, its retry applies.
        conn.execute_batch("DROP TRIGGER fail_13").unwrap();
        let out = run_batch(&conn, [deposit(alice, 11, 13)].iter(), NOW, true);
        assert_eq!(
            fresh(&out[0]).decode::<Receipt>().unwrap().balance_cents,
            118
        );
        // The refusal was recorded: its retry is a replay, even though bob now has money.
        let out = run_batch(&conn, [withdraw(bob, 12, 1000)].iter(), NOW, true);
        assert!(matches!(&out[0], Outcome::Replayed { reply, .. }
            if reply.decode::<Receipt>() == Err(AccountError::InsufficientFunds)));
        balanced(&conn);
    }

    #[test]
    fn a_failed_commit_fails_every_request_of_the_batch() {
        let conn = database(false);
        let alice = account(&conn, 1, 100);
        // A deposit of 77 cents leaves a dangling deferred reference: COMMIT refuses it.
        conn.execute_batch(
            "CREATE TABLE main.pending (x INTEGER REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TEMP TRIGGER dangle_77 AFTER INSERT ON main.ledger WHEN NEW.delta = 77
             BEGIN INSERT INTO pending (x) VALUES (999999); END;",
        )
        .unwrap();
        let batch = [deposit(alice, 10, 5), deposit(alice, 11, 77)];
        let out = run_batch(&conn, batch.iter(), NOW, false);
        for outcome in &out {
            assert_eq!(
                fresh(outcome).decode::<Receipt>(),
                Err(AccountError::StorageFailure)
            );
        }
        assert!(
            conn.is_autocommit(),
            "the failed transaction was rolled back"
        );
        assert_eq!(balance(&conn, "user1"), 100);
        balanced(&conn);
        // Nothing was recorded, and the writer goes on.
        conn.execute_batch("DROP TRIGGER dangle_77").unwrap();
        let out = run_batch(&conn, batch.iter(), NOW, false);
        assert_eq!(
            fresh(&out[1]).decode::<Receipt>().unwrap().balance_cents,
            182
        );
    }

    #[test]
    fn the_audit_rolls_back_a_batch_that_breaks_the_ledger() {
        let conn = database(true);
        let alice = account(&conn, 1, 100);
        let bob = account(&conn, 2, 100);
        // A bug that changes a balance without a ledger entry.
        conn.execute_batch(
            "CREATE TEMP TRIGGER skim AFTER INSERT ON main.ledger WHEN NEW.delta = 42
             BEGIN UPDATE accounts SET balance = balance + 1 WHERE id = NEW.account_id; END;",
        )
        .unwrap();
        let batch = [deposit(bob, 10, 5), deposit(alice, 11, 42)];
        let out = run_batch(&conn, batch.iter(), NOW, true);
        for outcome in &out {
            assert_eq!(
                fresh(outcome).decode::<Receipt>(),
                Err(AccountError::StorageFailure)
            );
        }
        assert_eq!(balance(&conn, "user1"), 100);
        assert_eq!(balance(&conn, "user2"), 100);
        balanced(&conn);
    }

    #[test]
    fn the_writer_thread_drains_its_queue_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut conn = crate::db::connect(&path, Duration::from_secs(1)).unwrap();
        migrations::migrate(&mut conn).unwrap();
        let writer = Writer::start(
            conn,
            Settings {
                max_batch: 8,
                queue_depth: 64,
                audit: true,
            },
        )
        .unwrap();
        // Queue twenty requests without waiting, then shut down at once.
        let answers: Vec<_> = (0..20u8)
            .map(|n| {
                let (done, answer) = smol::channel::bounded(1);
                let op = Op::Open(NewAccount {
                    key: [n; 16],
                    fingerprint: Fingerprint([n; 32]),
                    name: format!("u{n}").parse().unwrap(),
                    skeleton: format!("u{n}"),
                    password_hash: "phc".into(),
                    initial_cents: i64::from(n),
                });
                writer.queue.try_send(Job { op, done }).unwrap();
                answer
            })
            .collect();
        writer.shutdown().unwrap();
        for answer in answers {
            let outcome = answer
                .try_recv()
                .expect("answered before the writer stopped");
            fresh(&outcome).decode::<AccountInfo>().unwrap();
        }
        let stats = writer.stats();
        assert_eq!(stats.requests, 20);
        assert!(stats.batches >= 3, "at most 8 per batch: {stats:?}");
        writer.shutdown().unwrap();
        let after = smol::block_on(writer.submit(Op::EndSession(TokenHash([0; 32]))));
        assert_eq!(
            fresh(&after).decode::<()>(),
            Err(AccountError::StorageFailure)
        );
        let conn = Connection::open(&path).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 20);
    }
}
