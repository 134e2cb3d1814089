//! The PostgreSQL writer: one thread per server that owns a connection and commits requests in
//! batches (group commit), like SQLite's writer, and retries what PostgreSQL asks to retry.
//!
//! A batch runs in one transaction: first every account it touches is locked in id order
//! ([`ops::lock_batch`]), then each request runs in its own savepoint, so that one request's
//! failure rolls back only that request. Answers go out after `COMMIT` returned.
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

/// A request and where to send its answer.
#[derive(Debug)]
struct Job {
    op: Op,
    done: Sender<Answer>,
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
        if self.queue.send(Job { op, done }).await.is_err() {
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
    while let Ok(first) = jobs.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let ops: Vec<&Op> = batch.iter().map(|job| &job.op).collect();
        let answers = run_with_retries(&mut conn, &config, &ops, settings, counters, ex).await;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .requests
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for (job, answer) in batch.drain(..).zip(answers) {
            let _ = job.done.try_send(answer);
        }
    }
    tracing::debug!("database writer stopped");
}

/// Runs the batch until it commits, PostgreSQL is unreachable, or [`ATTEMPTS`] runs were
/// aborted.
async fn run_with_retries(
    slot: &mut Option<Conn>,
    config: &tokio_postgres::Config,
    ops: &[&Op],
    settings: Settings,
    counters: &Counters,
    ex: &smol::Executor<'_>,
) -> Vec<Answer> {
    let unavailable = || vec![None; ops.len()];
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
        let run = run_batch(&conn, ops, unix_now());
        let result = smol::future::or(run, async {
            smol::Timer::after(settings.batch_timeout).await;
            Err(BatchError::TimedOut)
        })
        .await;
        match result {
            Ok(outcomes) => {
                *slot = Some(conn);
                return outcomes.into_iter().map(Some).collect();
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
                return vec![Some(Outcome::storage_failure()); ops.len()];
            }
        }
    }
    tracing::error!(
        attempts = ATTEMPTS,
        "a batch was aborted every time; its requests were not applied"
    );
    vec![Some(Outcome::storage_failure()); ops.len()]
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

/// Runs `ops` in one transaction, each in its own savepoint, and commits.
async fn run_batch(conn: &Conn, ops: &[&Op], now: i64) -> Result<Vec<Outcome>, BatchError> {
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
