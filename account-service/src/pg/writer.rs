//! The PostgreSQL writer: one thread per server that owns a connection and commits requests in
//! batches (group commit), like SQLite's writer, and retries what PostgreSQL asks to retry.
//!
//! A batch runs in one transaction: first every account it touches is locked in id order
//! ([`ops::lock_batch`]), then each request runs in its own savepoint, so that one request's
//! failure rolls back only that request. Answers go out after `COMMIT` returned.
//!
//! That costs five to seven round trips to PostgreSQL per request, so deposits, withdrawals
//! and transfers, the requests that come in floods, take a fast path instead: a batch of them
//! runs in two round trips whatever its size (see `pg/money.rs`), and falls back to this
//! one-by-one path only when it fails for a reason that may concern a single request. The
//! other requests of a batch run after it, one by one, in a transaction of their own.
//!
//! What other servers do can make PostgreSQL abort the transaction: a serialization failure
//! (`40001`), a deadlock (`40P01`), or a unique key another server committed first (`23505`,
//! two servers taking one idempotency key or one name). Then the whole batch is rolled back
//! and run again, up to [`ATTEMPTS`] times; idempotency records commit in the same
//! transaction as the change, so a request is never applied twice. When the connection is
//! lost or the server is shutting down, the batch is answered "unavailable" (nothing was
//! applied, or, if the connection died during `COMMIT`, the retry under the same key finds
//! the record) and the next batch reconnects.

use super::conn::{self, Conn};
use super::money::{self, Locking};
use super::ops;
use super::pool::Chain;
use super::{Fail, unix_now};
use crate::db::WriterStats;
use crate::db::ops::{Op, Outcome};
use crate::error::Error;
use smol::channel::{Receiver, Sender, TryRecvError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// The writer thread's name.
pub(crate) const THREAD_NAME: &str = "account-pg-writer";

/// How often a batch is tried before its requests are answered `StorageFailure`.
pub(crate) const ATTEMPTS: u32 = 8;

/// What a request gets back: `None` when the database could not be reached (nothing was
/// applied; retry).
pub(crate) type Answer = Option<Outcome>;

/// How many times a request may be left for a later batch because another server held one
/// of its accounts; the batch that carries it then waits for the accounts. Once: a batch
/// started at once after the last one would mostly find the same accounts still held.
pub(crate) const DEFERRALS: u32 = 1;

/// A request and where to send its answer.
#[derive(Debug)]
struct Job {
    op: Op,
    done: Sender<Answer>,
    /// How many batches left it for later.
    deferred: u32,
}

/// How the writer runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) max_batch: usize,
    pub(crate) queue_depth: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) batch_timeout: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Sender<Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the writer thread; it connects when the first request comes.
    pub(crate) fn start(
        config: tokio_postgres::Config,
        settings: Settings,
    ) -> Result<Writer, Error> {
        let (queue, jobs) = smol::channel::bounded(settings.queue_depth.max(1));
        let counters = Arc::new(Counters::default());
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn({
                let counters = Arc::clone(&counters);
                move || {
                    // The writer's connection is driven here too (see `conn::connect_with`).
                    let ex = smol::Executor::new();
                    smol::block_on(ex.run(run(config, jobs, settings, &counters, &ex)))
                }
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
    pub(crate) async fn submit(&self, op: Op) -> Answer {
        let (done, answer) = smol::channel::bounded(1);
        let job = Job {
            op,
            done,
            deferred: 0,
        };
        if self.queue.send(job).await.is_err() {
            return Some(Outcome::storage_failure());
        }
        answer
            .recv()
            .await
            .unwrap_or_else(|_| Some(Outcome::storage_failure()))
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            requests: self.counters.requests.load(Ordering::Relaxed),
        }
    }

    /// Batches run again after PostgreSQL aborted them (deadlock, serialization failure,
    /// a key another server took first).
    pub(crate) fn retries(&self) -> u64 {
        self.counters.retries.load(Ordering::Relaxed)
    }

    /// Stops taking requests, finishes the queued ones, and waits for the thread to end.
    pub(crate) fn shutdown(&self) -> Result<(), Error> {
        self.queue.close();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        match thread {
            Some(thread) => thread.join().map_err(|_| Error::WriterPanicked),
            None => Ok(()),
        }
    }
}

async fn run(
    config: tokio_postgres::Config,
    jobs: Receiver<Job>,
    settings: Settings,
    counters: &Counters,
    ex: &smol::Executor<'_>,
) {
    let max_batch = settings.max_batch.max(1);
    let mut conn: Option<Conn> = None;
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    // Requests a batch left for later: they start the next one.
    let mut later: Vec<Job> = Vec::new();
    loop {
        if later.is_empty() {
            match jobs.recv().await {
                Ok(first) => batch.push(first),
                Err(_) => break,
            }
        } else {
            batch.append(&mut later);
        }
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        // Money movements take the fast path together; the rest run one by one after them,
        // in a transaction of their own.
        let (money, other): (Vec<Job>, Vec<Job>) =
            batch.drain(..).partition(|job| money::is_money(&job.op));
        for part in [money, other] {
            if part.is_empty() {
                continue;
            }
            let ops: Vec<&Op> = part.iter().map(|job| &job.op).collect();
            let locking = if part.iter().any(|job| job.deferred >= DEFERRALS) {
                Locking::Wait
            } else {
                Locking::SkipBusy
            };
            let answers =
                run_with_retries(&mut conn, &config, &ops, locking, settings, counters, ex).await;
            counters.batches.fetch_add(1, Ordering::Relaxed);
            for (mut job, answer) in part.into_iter().zip(answers) {
                match answer {
                    Done::Answered(answer) => {
                        counters.requests.fetch_add(1, Ordering::Relaxed);
                        let _ = job.done.try_send(answer);
                    }
                    Done::Deferred => {
                        job.deferred += 1;
                        later.push(job);
                    }
                }
            }
        }
    }
    tracing::debug!("database writer stopped");
}

/// What became of a request of a batch.
#[derive(Debug, Clone)]
enum Done {
    /// Its answer.
    Answered(Answer),
    /// Not run: another server held one of its accounts.
    Deferred,
}

/// Runs the batch until it commits, PostgreSQL is unreachable, or [`ATTEMPTS`] runs were
/// aborted.
async fn run_with_retries(
    slot: &mut Option<Conn>,
    config: &tokio_postgres::Config,
    ops: &[&Op],
    locking: Locking,
    settings: Settings,
    counters: &Counters,
    ex: &smol::Executor<'_>,
) -> Vec<Done> {
    let unavailable = || vec![Done::Answered(None); ops.len()];
    let failed = || vec![Done::Answered(Some(Outcome::storage_failure())); ops.len()];
    for attempt in 1..=ATTEMPTS {
        let conn = match slot.take() {
            Some(conn) if !conn.is_closed() => conn,
            _ => match conn::connect_with(config, settings.connect_timeout, |driver| {
                ex.spawn(driver).detach();
            })
            .await
            {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %Chain(&e), "the writer cannot reach the database");
                    return unavailable();
                }
            },
        };
        let writes = conn.writes();
        let run = run_batch(&conn, ops, unix_now(), locking);
        let result = smol::future::or(run, async {
            smol::Timer::after(settings.batch_timeout).await;
            Err(BatchError::TimedOut)
        })
        .await;
        match result {
            Ok(outcomes) => {
                let writes = conn.writes() - writes;
                tracing::debug!(requests = ops.len(), writes, "batch committed");
                *slot = Some(conn);
                return outcomes
                    .into_iter()
                    .map(|outcome| match outcome {
                        Some(outcome) => Done::Answered(Some(outcome)),
                        None => Done::Deferred,
                    })
                    .collect();
            }
            Err(BatchError::Retry) => {
                *slot = Some(conn);
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(attempt, "batch aborted by the database; running it again");
                // A little jitter, growing, so that two servers stop colliding.
                let ms = fastrand::u64(1..=(2u64 << attempt.min(6)));
                smol::Timer::after(Duration::from_millis(ms)).await;
            }
            Err(BatchError::Unavailable) => return unavailable(),
            Err(BatchError::TimedOut) => {
                tracing::warn!("a batch took too long; dropping its connection");
                return unavailable();
            }
            Err(BatchError::Failed) => {
                *slot = Some(conn);
                return failed();
            }
        }
    }
    tracing::error!(
        attempts = ATTEMPTS,
        "a batch was aborted every time; its requests were not applied"
    );
    failed()
}

/// Why a batch did not commit.
#[derive(Debug)]
enum BatchError {
    /// PostgreSQL aborted it because of another transaction: run it again.
    Retry,
    /// The connection is gone.
    Unavailable,
    /// It did not finish within the batch timeout.
    TimedOut,
    /// It failed for another reason; nothing was applied.
    Failed,
}

/// How a failure affects the batch: `None` when it concerns only the request that hit it.
fn batch_error(fail: &Fail) -> Option<BatchError> {
    match fail {
        Fail::Unavailable => Some(BatchError::Unavailable),
        Fail::Db(e) => match e.code() {
            Some(code) if is_retryable(code) => Some(BatchError::Retry),
            _ => None,
        },
        Fail::Corrupt(_) => None,
    }
}

/// SQLSTATEs after which running the same transaction again can succeed.
pub(crate) fn is_retryable(code: &SqlState) -> bool {
    *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::UNIQUE_VIOLATION
}

/// Runs `ops` in one transaction and commits: on the fast path when they all move money and
/// it works, else one by one. `None`: left for a later batch (see [`money::run`]).
async fn run_batch(
    conn: &Conn,
    ops: &[&Op],
    now: i64,
    locking: Locking,
) -> Result<Vec<Option<Outcome>>, BatchError> {
    if ops.iter().all(|op| money::is_money(op)) {
        match money::run(conn, ops, now, locking).await {
            Ok(outcomes) => return Ok(outcomes),
            Err(fail) => {
                if !conn.is_closed() {
                    let _ = conn.client().batch_execute("ROLLBACK").await;
                }
                if let Some(error) = batch_error(&fail) {
                    return Err(error);
                }
                // Something only one request may have caused: run them one by one, so that
                // it fails alone.
                tracing::warn!(error = %fail, "a batch failed on the fast path; running it request by request");
            }
        }
    }
    let outcomes = run_sequential(conn, ops, now).await?;
    Ok(outcomes.into_iter().map(Some).collect())
}

/// Runs `ops` in one transaction, each in its own savepoint, and commits.
async fn run_sequential(conn: &Conn, ops: &[&Op], now: i64) -> Result<Vec<Outcome>, BatchError> {
    let whole = |fail: Fail| {
        let error = batch_error(&fail).unwrap_or(BatchError::Failed);
        if matches!(error, BatchError::Failed) {
            tracing::error!(error = %fail, "a write transaction failed");
        }
        error
    };
    ops::exec(conn, "BEGIN").await.map_err(whole)?;
    let result = async {
        ops::lock_batch(conn, ops).await.map_err(whole)?;
        let mut outcomes = Vec::with_capacity(ops.len());
        // Each request's savepoint is ended and the next one started (or the transaction
        // committed) in one round trip.
        ops::exec(conn, "SAVEPOINT job").await.map_err(whole)?;
        for (i, op) in ops.iter().enumerate() {
            let end = match ops::apply(conn, op, now).await {
                Ok(outcome) => {
                    outcomes.push(outcome);
                    "RELEASE SAVEPOINT job"
                }
                Err(fail) => {
                    if let Some(error) = batch_error(&fail) {
                        return Err(error);
                    }
                    tracing::error!(error = %fail, "request failed; rolling back its savepoint");
                    outcomes.push(Outcome::storage_failure());
                    "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job"
                }
            };
            let next = if i + 1 == ops.len() {
                "COMMIT"
            } else {
                "SAVEPOINT job"
            };
            ops::exec(conn, &format!("{end}; {next}"))
                .await
                .map_err(whole)?;
        }
        Ok(outcomes)
    }
    .await;
    if result.is_err() && !conn.is_closed() {
        let _ = conn.client().batch_execute("ROLLBACK").await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::schema::{self, tests::fresh_with};
    use crate::store::{Fingerprint, Keyed, Payment, TokenHash};
    use account_client::api::{AccountError, Receipt};

    const NOW: i64 = 1_000;

    /// A migrated database with accounts a (1,000 cents), b (0), c (closed), d (at the
    /// largest balance), a live session on each of a, b, d and an expired one on a.
    /// The connection's driver runs on `ex`, as the writer's does: on the thread that sends.
    async fn bank(test: &str, ex: &smol::Executor<'static>) -> Option<Conn> {
        let conn = fresh_with(test, |driver| ex.spawn(driver).detach()).await?;
        fill(&conn).await;
        Some(conn)
    }

    async fn fill(conn: &Conn) {
        schema::migrate(conn).await.unwrap();
        conn.client()
            .batch_execute(&format!(
                "INSERT INTO accounts (id, name, skeleton, password_hash, balance, status, created_at) \
                 VALUES (1, 'a', 'a', 'x', 1000, 1, 0), (2, 'b', 'b', 'x', 0, 1, 0), \
                        (3, 'c', 'c', 'x', 0, 2, 0), (4, 'd', 'd', 'x', {}, 1, 0); \
                 INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES \
                   ('\\x{}', 1, 0, 2000), ('\\x{}', 2, 0, 2000), ('\\x{}', 4, 0, 2000), \
                   ('\\x{}', 1, 0, 10)",
                i64::MAX,
                "01".repeat(32),
                "02".repeat(32),
                "04".repeat(32),
                "09".repeat(32),
            ))
            .await
            .unwrap();
    }

    fn keyed<T>(session: u8, key: u8, args: T, salt: u8) -> Keyed<T> {
        Keyed {
            token: TokenHash([session; 32]),
            key: [key; 16],
            fingerprint: Fingerprint([salt; 32]),
            args,
        }
    }

    fn pay(session: u8, key: u8, to: &str, cents: i64) -> Op {
        let to = to.parse().unwrap();
        Op::Transfer(keyed(session, key, Payment { to, cents }, 7))
    }

    /// Every refusal and every path through the idempotency rules, in two batches.
    fn script() -> [Vec<Op>; 2] {
        [
            vec![
                Op::Deposit(keyed(1, 1, 5, 1)),
                pay(1, 2, "b", 300),
                pay(2, 3, "a", 100),
                // The same request again in the same batch: replayed, not applied.
                pay(1, 2, "b", 300),
                // The same key with another request: a conflict.
                Op::Deposit(keyed(1, 2, 5, 9)),
                Op::Withdraw(keyed(2, 4, 1_000, 1)),
                pay(1, 5, "nobody", 1),
                pay(1, 6, "c", 1),
                pay(1, 7, "a", 1),
                pay(2, 8, "d", 1),
                Op::Deposit(keyed(4, 1, 1, 1)),
                Op::Deposit(keyed(9, 9, 1, 1)),
                Op::Deposit(keyed(8, 9, 1, 1)),
                Op::Withdraw(keyed(1, 10, 605, 1)),
            ],
            vec![
                // Replays of records committed by the first batch.
                pay(1, 2, "b", 300),
                Op::Withdraw(keyed(2, 4, 1_000, 1)),
                Op::Deposit(keyed(1, 1, 5, 2)),
                Op::Withdraw(keyed(1, 11, 1, 1)),
                pay(2, 12, "a", 200),
            ],
        ]
    }

    /// What a batch answered and left behind, with entry ids replaced by their rank in the
    /// ledger, so that two databases with different id gaps compare equal.
    async fn run_script(
        conn: &Conn,
        run: impl AsyncFn(&Conn, &[&Op]) -> Result<Vec<Outcome>, BatchError>,
    ) -> (Vec<String>, Vec<String>) {
        let mut answers = Vec::new();
        for batch in script() {
            let ops: Vec<&Op> = batch.iter().collect();
            for outcome in run(conn, &ops).await.unwrap() {
                answers.push(outcome);
            }
        }
        let ledger = conn
            .client()
            .query(
                "SELECT id, account_id, kind, delta, balance_after, counterparty_id, at \
                 FROM ledger ORDER BY id",
                &[],
            )
            .await
            .unwrap();
        let rank = |id: u64| ledger.iter().position(|r| r.get::<_, i64>(0) as u64 == id);
        let answers = answers
            .into_iter()
            .map(|outcome| {
                let (replayed, reply) = match outcome {
                    Outcome::Fresh(reply) => (false, reply),
                    Outcome::Replayed { reply, .. } => (true, reply),
                };
                let receipt = reply
                    .decode::<Receipt>()
                    .map(|r| (rank(r.entry_id), r.balance_cents, r.at));
                format!("replayed={replayed} {receipt:?}")
            })
            .collect();
        let mut state: Vec<String> = ledger
            .iter()
            .map(|r| {
                let row: (i64, i64, i64, i64, Option<i64>, i64) =
                    (r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
                format!("{row:?}")
            })
            .collect();
        for r in conn
            .client()
            .query("SELECT id, balance FROM accounts ORDER BY id; ", &[])
            .await
            .unwrap()
        {
            state.push(format!(
                "account {} {}",
                r.get::<_, i64>(0),
                r.get::<_, i64>(1)
            ));
        }
        for r in conn
            .client()
            .query(
                "SELECT account_id, key, fingerprint, ok FROM idempotency ORDER BY account_id, key",
                &[],
            )
            .await
            .unwrap()
        {
            let row: (i64, Vec<u8>, Vec<u8>, bool) = (r.get(0), r.get(1), r.get(2), r.get(3));
            state.push(format!("record {row:?}"));
        }
        (answers, state)
    }

    #[test]
    fn money_batches_answer_and_write_as_the_sequential_path_does() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(fast) = bank("money_batches_fast", &ex).await else {
                return;
            };
            let Some(slow) = bank("money_batches_slow", &ex).await else {
                return;
            };
            // Nothing else holds the accounts: no request is left for later.
            let fast_batch = async |conn: &Conn, ops: &[&Op]| {
                let outcomes = run_batch(conn, ops, NOW, Locking::SkipBusy).await?;
                Ok(outcomes.into_iter().map(Option::unwrap).collect())
            };
            let (fast_answers, fast_state) = run_script(&fast, fast_batch).await;
            let (slow_answers, slow_state) = run_script(&slow, async |conn, ops| {
                run_sequential(conn, ops, NOW).await
            })
            .await;
            assert_eq!(fast_answers, slow_answers);
            assert_eq!(fast_state, slow_state);
            // The script does reach every rule.
            let all = fast_answers.join("\n");
            for error in [
                AccountError::IdempotencyConflict,
                AccountError::InsufficientFunds,
                AccountError::RecipientNotFound,
                AccountError::SameAccount,
                AccountError::Overflow,
                AccountError::Unauthenticated,
            ] {
                assert!(
                    all.contains(&format!("Err({error:?})")),
                    "{error:?} in {all}"
                );
            }
            assert!(all.contains("replayed=true Ok"), "{all}");
        }));
    }

    /// The bank of [`fill`] on SQLite, with the same ids, balances and sessions.
    fn sqlite_bank() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::db::migrations::migrate(&mut conn).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO accounts (id, name, skeleton, password_hash, balance, status, created_at) \
             VALUES (1, 'a', 'a', 'x', 1000, 1, 0), (2, 'b', 'b', 'x', 0, 1, 0), \
                    (3, 'c', 'c', 'x', 0, 2, 0), (4, 'd', 'd', 'x', {}, 1, 0); \
             INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES \
               (X'{}', 1, 0, 2000), (X'{}', 2, 0, 2000), (X'{}', 4, 0, 2000), \
               (X'{}', 1, 0, 10), (X'{}', 3, 0, 2000)",
            i64::MAX,
            "01".repeat(32),
            "02".repeat(32),
            "04".repeat(32),
            "09".repeat(32),
            "03".repeat(32),
        ))
        .unwrap();
        conn
    }

    /// The answer of each of `ops`, receipts reduced to their balance.
    fn replies(outcomes: impl IntoIterator<Item = Outcome>) -> Vec<Result<i64, AccountError>> {
        outcomes
            .into_iter()
            .map(|outcome| {
                let reply = match outcome {
                    Outcome::Fresh(reply) | Outcome::Replayed { reply, .. } => reply,
                };
                reply.decode::<Receipt>().map(|r| r.balance_cents)
            })
            .collect()
    }

    /// Refusals that depend on the order of the checks: both PostgreSQL paths answer them as
    /// SQLite does (`db/ops.rs`), which checks the sender's own account first.
    #[test]
    fn money_refusals_come_in_sqlite_order() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(fast) = bank("money_order_fast", &ex).await else {
                return;
            };
            let Some(slow) = bank("money_order_slow", &ex).await else {
                return;
            };
            // A live session on the closed account c: closing does not end sessions.
            for conn in [&fast, &slow] {
                conn.client()
                    .batch_execute(&format!(
                        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) \
                         VALUES ('\\x{}', 3, 0, 2000)",
                        "03".repeat(32)
                    ))
                    .await
                    .unwrap();
            }
            let batch = [
                // A closed account paying a name nobody has.
                pay(3, 1, "nobody", 1),
                pay(3, 2, "a", 1),
                Op::Withdraw(keyed(3, 3, 1, 1)),
                Op::Deposit(keyed(3, 4, 1, 1)),
                // An empty account paying a closed one, itself, nobody.
                pay(2, 5, "c", 1),
                pay(2, 6, "b", 1),
                pay(2, 7, "nobody", 1),
                pay(1, 8, "d", 1),
                Op::Withdraw(keyed(2, 9, 1, 1)),
            ];
            let ops: Vec<&Op> = batch.iter().collect();
            let sqlite = sqlite_bank();
            let expected = replies(
                ops.iter()
                    .map(|op| crate::db::ops::apply(&sqlite, op, NOW).unwrap()),
            );
            assert_eq!(expected[0], Err(AccountError::AccountClosed));
            let outcomes = run_batch(&fast, &ops, NOW, Locking::SkipBusy)
                .await
                .unwrap();
            let fast_replies = replies(outcomes.into_iter().map(Option::unwrap));
            assert_eq!(fast_replies, expected, "fast path");
            let slow_replies = replies(run_sequential(&slow, &ops, NOW).await.unwrap());
            assert_eq!(slow_replies, expected, "one by one");
        }));
    }

    /// The balances of accounts a, b, c, d, the number of ledger entries, and whether the
    /// ledger's deltas add up to the balances.
    async fn books(conn: &Conn) -> (Vec<i64>, i64, bool) {
        let balances: Vec<i64> = conn
            .client()
            .query("SELECT balance FROM accounts ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let row = conn
            .client()
            .query_one(
                "SELECT count(*), coalesce(sum(delta), 0)::bigint FROM ledger",
                &[],
            )
            .await
            .unwrap();
        // The fixture's balances have no opening entries: compare the changes only.
        let moved: i64 = row.get(1);
        let changed = balances[0] - 1000 + balances[1] + balances[2];
        (balances, row.get(0), moved == changed)
    }

    /// A second connection to the database `conn` is on: another server.
    async fn other_server(conn: &Conn, ex: &smol::Executor<'static>) -> Conn {
        let db = conn
            .client()
            .query_one("SELECT current_database()", &[])
            .await
            .unwrap()
            .get::<_, String>(0);
        let mut config: tokio_postgres::Config =
            std::env::var("ACCOUNT_TEST_PG").unwrap().parse().unwrap();
        config.dbname(&db);
        conn::connect_with(&config, Duration::from_secs(10), |driver| {
            ex.spawn(driver).detach();
        })
        .await
        .unwrap()
    }

    /// The whole script of [`script`] answers on the fast path as on SQLite.
    #[test]
    fn the_money_script_answers_as_on_sqlite() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(conn) = bank("money_script_sqlite", &ex).await else {
                return;
            };
            let sqlite = sqlite_bank();
            for batch in script() {
                let ops: Vec<&Op> = batch.iter().collect();
                let expected = replies(
                    ops.iter()
                        .map(|op| crate::db::ops::apply(&sqlite, op, NOW).unwrap()),
                );
                let outcomes = run_batch(&conn, &ops, NOW, Locking::SkipBusy)
                    .await
                    .unwrap();
                assert_eq!(replies(outcomes.into_iter().map(Option::unwrap)), expected);
            }
            let sqlite_balances: Vec<i64> = sqlite
                .prepare("SELECT balance FROM accounts ORDER BY id")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(books(&conn).await.0, sqlite_balances);
        }));
    }

    /// A request left for the next batch, whose client meanwhile retried it on another
    /// server: the carried request finds the other server's record and is not applied again.
    #[test]
    fn a_carried_request_retried_on_another_server_applies_once() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(conn) = bank("money_carried_retry", &ex).await else {
                return;
            };
            let other = other_server(&conn, &ex).await;
            other
                .client()
                .batch_execute("BEGIN; SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
                .await
                .unwrap();
            let request = [pay(1, 1, "b", 300)];
            let ops: Vec<&Op> = request.iter().collect();
            let outcomes = run_batch(&conn, &ops, NOW, Locking::SkipBusy)
                .await
                .unwrap();
            assert!(outcomes[0].is_none(), "{outcomes:?}");
            // The retry, on the other server, in the transaction that held b.
            let outcomes = run_sequential(&other, &ops, NOW).await.unwrap();
            assert!(
                matches!(&outcomes[0], Outcome::Fresh(reply) if reply.ok),
                "{outcomes:?}"
            );
            // The carried request, in the next batch (which waits for its accounts), with a
            // deposit then a withdrawal of the same funds behind it.
            let next = [
                pay(1, 1, "b", 300),
                Op::Deposit(keyed(2, 2, 50, 1)),
                Op::Withdraw(keyed(2, 3, 350, 1)),
            ];
            let ops: Vec<&Op> = next.iter().collect();
            let outcomes = run_batch(&conn, &ops, NOW, Locking::Wait).await.unwrap();
            let outcomes: Vec<Outcome> = outcomes.into_iter().map(Option::unwrap).collect();
            assert!(
                matches!(&outcomes[0], Outcome::Replayed { reply, .. } if reply.ok),
                "{outcomes:?}"
            );
            assert_eq!(replies(outcomes)[1..], [Ok(350), Ok(0)]);
            assert_eq!(books(&conn).await, (vec![700, 0, 0, i64::MAX], 4, true));
        }));
    }

    /// A batch that fails on the fast path for a reason of one request's (here a trigger
    /// refusing one amount) leaves nothing behind, and is run again one by one: the others
    /// are applied once, the bad one alone fails and is not recorded, and retries of the
    /// others replay.
    #[test]
    fn a_batch_that_fails_on_the_fast_path_applies_each_request_once() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(conn) = bank("money_fallback", &ex).await else {
                return;
            };
            conn.client()
                .batch_execute(
                    "CREATE FUNCTION refuse_77() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN IF NEW.delta = 77 THEN RAISE EXCEPTION 'no 77'; END IF; \
                     RETURN NEW; END $$; \
                     CREATE TRIGGER refuse_77 BEFORE INSERT ON ledger \
                     FOR EACH ROW EXECUTE FUNCTION refuse_77()",
                )
                .await
                .unwrap();
            let batch = [
                pay(1, 1, "b", 300),
                Op::Deposit(keyed(2, 2, 77, 1)),
                Op::Deposit(keyed(2, 3, 10, 1)),
                Op::Withdraw(keyed(2, 4, 310, 1)),
            ];
            let ops: Vec<&Op> = batch.iter().collect();
            let outcomes = run_batch(&conn, &ops, NOW, Locking::SkipBusy)
                .await
                .unwrap();
            let answers = replies(outcomes.into_iter().map(Option::unwrap));
            assert_eq!(
                answers,
                [Ok(700), Err(AccountError::StorageFailure), Ok(310), Ok(0)]
            );
            assert_eq!(books(&conn).await, (vec![700, 0, 0, i64::MAX], 4, true));
            // The retries: the applied ones replay, the failed one may run again.
            let outcomes = run_batch(&conn, &ops, NOW, Locking::SkipBusy)
                .await
                .unwrap();
            let replayed: Vec<bool> = outcomes
                .iter()
                .map(|o| matches!(o, Some(Outcome::Replayed { .. })))
                .collect();
            assert_eq!(replayed, [true, false, true, true]);
            assert_eq!(books(&conn).await, (vec![700, 0, 0, i64::MAX], 4, true));
        }));
    }

    #[test]
    fn a_batch_of_money_requests_takes_two_round_trips() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(conn) = bank("money_round_trips", &ex).await else {
                return;
            };
            // The first batch prepares the statements.
            let warm_up = [Op::Deposit(keyed(1, 0, 1, 1))];
            let ops: Vec<&Op> = warm_up.iter().collect();
            run_batch(&conn, &ops, NOW, Locking::Wait).await.unwrap();
            let batch: Vec<Op> = (1..=50u8)
                .map(|i| match i % 3 {
                    0 => Op::Deposit(keyed(1 + i % 2, i, 1, 1)),
                    1 => pay(1, i, "b", 1),
                    _ => pay(2, i, "a", 1),
                })
                .collect();
            let ops: Vec<&Op> = batch.iter().collect();
            let before = conn.writes();
            let outcomes = run_batch(&conn, &ops, NOW, Locking::Wait).await.unwrap();
            let writes = conn.writes() - before;
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, Some(Outcome::Fresh(reply)) if reply.ok)),
                "{outcomes:?}"
            );
            // Two round trips; a large one may leave in two writes (tokio-postgres flushes
            // its buffer past 8 KiB). One by one it took over 250.
            assert!(
                writes <= 4,
                "50 requests took {writes} writes to the server"
            );
        }));
    }

    #[test]
    fn a_batch_leaves_for_later_the_requests_whose_accounts_another_server_holds() {
        let ex = smol::Executor::new();
        smol::block_on(ex.run(async {
            let Some(conn) = bank("money_busy", &ex).await else {
                return;
            };
            // Another server, on a second connection to the same database, holds account b.
            let db = conn
                .client()
                .query_one("SELECT current_database()", &[])
                .await
                .unwrap()
                .get::<_, String>(0);
            let mut config: tokio_postgres::Config =
                std::env::var("ACCOUNT_TEST_PG").unwrap().parse().unwrap();
            config.dbname(&db);
            let other = conn::connect_with(&config, Duration::from_secs(10), |driver| {
                ex.spawn(driver).detach();
            })
            .await
            .unwrap();
            other
                .client()
                .batch_execute("BEGIN; SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
                .await
                .unwrap();
            let batch = [
                Op::Deposit(keyed(1, 1, 5, 1)),
                pay(1, 2, "b", 300),
                Op::Deposit(keyed(2, 3, 5, 1)),
                Op::Deposit(keyed(4, 4, 5, 1)),
            ];
            let ops: Vec<&Op> = batch.iter().collect();
            // Waiting would never end while the other transaction stays open; a request
            // that needs b is left for later, the others are answered. (The timer only
            // turns a batch that waits, the old behaviour, into a failure instead of a hang.)
            let outcomes = smol::future::or(
                async { Some(run_batch(&conn, &ops, NOW, Locking::SkipBusy).await) },
                async {
                    smol::Timer::after(Duration::from_secs(60)).await;
                    None
                },
            )
            .await
            .expect("the batch waited for an account another transaction holds")
            .unwrap();
            let ran: Vec<bool> = outcomes.iter().map(Option::is_some).collect();
            assert_eq!(ran, [true, false, false, true]);
            other.client().batch_execute("COMMIT").await.unwrap();
            let later: Vec<&Op> = vec![ops[1], ops[2]];
            let outcomes = run_batch(&conn, &later, NOW, Locking::SkipBusy)
                .await
                .unwrap();
            assert!(
                outcomes
                    .iter()
                    .all(|o| matches!(o, Some(Outcome::Fresh(reply)) if reply.ok)),
                "{outcomes:?}"
            );
            let balances: Vec<i64> = conn
                .client()
                .query("SELECT balance FROM accounts ORDER BY id", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(balances, [1000 + 5 - 300, 300 + 5, 0, i64::MAX]);
        }));
    }
}
