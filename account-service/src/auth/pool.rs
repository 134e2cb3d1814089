//! A fixed pool of worker threads with a bounded queue, for work too heavy for the executor
//! (password hashing).
//!
//! - At most `threads` jobs run at once, each on a thread the pool owns, so their memory is
//!   bounded by the pool, not by how many requests arrive.
//! - At most `depth` jobs wait. When the queue is full, a call made under a
//!   [`serve`](crate::serve) scope is refused at once (the server answers `resource
//!   exhausted`); any other caller waits for room, holding nothing but its future.
//! - A job whose caller gave up (its future was dropped: cancelled, deadline passed, connection
//!   closed) before a worker took it is skipped, not run.
//!
//! Dropping the pool closes its queue; the workers finish the jobs already queued and exit.

use smol::Timer;
use smol::channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why the pool did not run a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The queue was full and the caller asked for an answer at once.
    #[error("the queue is full")]
    Full,
    /// Every worker is gone (one would only go by panicking).
    #[error("the workers stopped")]
    Stopped,
}

/// What the password-hashing pool has done so far
/// ([`AccountService::hashing_stats`](crate::AccountService::hashing_stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashingStats {
    /// Hashes and verifications run to the end.
    pub ran: u64,
    /// Jobs skipped because their caller had gone (cancelled, deadline passed, connection
    /// closed) before a thread took them.
    pub skipped: u64,
    /// Jobs refused because the queue was full.
    pub refused: u64,
}

#[derive(Debug, Default)]
struct Counters {
    ran: AtomicU64,
    skipped: AtomicU64,
    refused: AtomicU64,
}

/// What a pool thread runs jobs with.
pub(crate) trait Worker<J, O>: Send + 'static {
    /// Runs one job.
    fn run(&mut self, job: J) -> O;

    /// Called once the thread has had no job for the pool's idle time: a chance to give
    /// memory back.
    fn idle(&mut self) {}
}

impl<J, O, F: FnMut(J) -> O + Send + 'static> Worker<J, O> for F {
    fn run(&mut self, job: J) -> O {
        self(job)
    }
}

struct Task<J, O> {
    job: J,
    done: Sender<O>,
}

/// A pool of `threads` workers, each with its own state (`W`), and a queue of `depth` jobs.
pub(crate) struct Pool<J, O> {
    queue: Sender<Task<J, O>>,
    counters: Arc<Counters>,
}

impl<J, O> core::fmt::Debug for Pool<J, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("queued", &self.queue.len())
            .field("depth", &self.queue.capacity())
            .finish_non_exhaustive()
    }
}

impl<J: Send + 'static, O: Send + 'static> Pool<J, O> {
    /// Starts `threads` (at least one) workers called `{name}-{i}`, each running jobs with the
    /// worker made for it by `worker(i)`, which is told when it has had no job for `idle`.
    pub(crate) fn start<W: Worker<J, O>>(
        name: &str,
        threads: usize,
        depth: usize,
        idle: Duration,
        mut worker: impl FnMut(usize) -> W,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = smol::channel::bounded(depth.max(1));
        let counters = Arc::new(Counters::default());
        for i in 0..threads.max(1) {
            let work = worker(i);
            let jobs = jobs.clone();
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run(work, &jobs, idle, &counters))?;
        }
        Ok(Pool { queue, counters })
    }

    /// Runs `job` on a worker and returns its output.
    ///
    /// When the queue is full: refused with [`Refused::Full`] at once if the caller is under a
    /// serve scope that wants it (the server answers `resource exhausted`), otherwise waits
    /// for room. Dropping the returned future before a worker takes the job means it never
    /// runs.
    pub(crate) async fn run(&self, job: J) -> Result<O, Refused> {
        let (done, answer) = smol::channel::bounded(1);
        match self.queue.try_send(Task { job, done }) {
            Ok(()) => {}
            Err(TrySendError::Full(task)) => {
                if crate::serve::refuse_when_full() {
                    self.counters.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(Refused::Full);
                }
                self.queue.send(task).await.map_err(|_| Refused::Stopped)?;
            }
            Err(TrySendError::Closed(_)) => return Err(Refused::Stopped),
        }
        answer.recv().await.map_err(|_| Refused::Stopped)
    }

    /// The counters so far.
    pub(crate) fn stats(&self) -> HashingStats {
        HashingStats {
            ran: self.counters.ran.load(Ordering::Relaxed),
            skipped: self.counters.skipped.load(Ordering::Relaxed),
            refused: self.counters.refused.load(Ordering::Relaxed),
        }
    }
}

/// The next job, telling `work` when none came for `idle`; `None` once the pool is dropped
/// and the queue drained.
fn next<J, O>(
    work: &mut impl Worker<J, O>,
    jobs: &Receiver<Task<J, O>>,
    idle: Duration,
    busy: &mut bool,
) -> Option<Task<J, O>> {
    if *busy {
        let job = smol::block_on(smol::future::or(async { Some(jobs.recv().await) }, async {
            Timer::after(idle).await;
            None
        }));
        match job {
            Some(job) => return job.ok(),
            None => {
                work.idle();
                *busy = false;
            }
        }
    }
    let job = jobs.recv_blocking().ok();
    *busy = true;
    job
}

fn run<J, O>(
    mut work: impl Worker<J, O>,
    jobs: &Receiver<Task<J, O>>,
    idle: Duration,
    counters: &Counters,
) {
    let mut busy = false;
    while let Some(task) = next(&mut work, jobs, idle, &mut busy) {
        // Nobody waits for the answer any more: the caller was cancelled or timed out.
        if task.done.is_closed() {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let output = work.run(task.job);
        counters.ran.fetch_add(1, Ordering::Relaxed);
        let _ = task.done.try_send(output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::block_on;
    use smol::future::poll_once;
    use std::sync::mpsc;

    const IDLE: Duration = Duration::from_secs(3600);

    /// A pool of one worker that runs a job only when the test says so.
    fn gated() -> (Pool<u32, u32>, mpsc::Sender<()>, mpsc::Receiver<u32>) {
        let (open, gate) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        let mut gate = Some(gate);
        let pool = Pool::start("test-pool", 1, 2, IDLE, move |_| {
            let gate = gate.take().unwrap();
            let started_tx = started_tx.clone();
            move |job: u32| {
                started_tx.send(job).unwrap();
                gate.recv().unwrap();
                job * 10
            }
        })
        .unwrap();
        (pool, open, started)
    }

    #[test]
    fn jobs_run_on_the_workers_and_answer() {
        let pool: Pool<u32, String> = Pool::start("named", 2, 4, IDLE, |_| {
            |job: u32| format!("{job} on {}", std::thread::current().name().unwrap())
        })
        .unwrap();
        let out = smol::block_on(pool.run(7)).unwrap();
        assert!(out.starts_with("7 on named-"), "{out}");
        assert_eq!(pool.stats().ran, 1);
    }

    #[test]
    fn a_job_dropped_before_a_worker_takes_it_never_runs() {
        let (pool, open, started) = gated();
        let mut first = Box::pin(pool.run(1));
        assert!(block_on(poll_once(first.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1, "the worker is busy with job 1");
        // Job 2 is queued behind it, then its caller gives up.
        let mut second = Box::pin(pool.run(2));
        assert!(block_on(poll_once(second.as_mut())).is_none());
        drop(second);
        open.send(()).unwrap();
        assert_eq!(block_on(first), Ok(10));
        open.send(()).unwrap();
        assert_eq!(block_on(pool.run(3)), Ok(30));
        assert_eq!(
            started.try_iter().collect::<Vec<_>>(),
            [3],
            "job 2 never started"
        );
        let stats = pool.stats();
        assert_eq!((stats.ran, stats.skipped), (2, 1), "{stats:?}");
    }

    #[test]
    fn a_full_queue_refuses_at_once_under_a_serve_scope_and_waits_otherwise() {
        let (pool, open, started) = gated();
        let mut running = Box::pin(pool.run(1));
        assert!(block_on(poll_once(running.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1);
        let mut queued: Vec<_> = (2..4).map(|n| Box::pin(pool.run(n))).collect();
        for job in &mut queued {
            assert!(block_on(poll_once(job.as_mut())).is_none());
        }
        // The queue (depth 2) is full.
        let scope = crate::serve::Scope::enter();
        assert_eq!(block_on(pool.run(9)), Err(Refused::Full));
        assert!(scope.refused());
        drop(scope);
        assert_eq!(pool.stats().refused, 1);
        // Outside a scope the caller waits for room instead.
        let mut waiting = Box::pin(pool.run(4));
        assert!(block_on(poll_once(waiting.as_mut())).is_none());
        for _ in 0..4 {
            open.send(()).unwrap();
        }
        assert_eq!(block_on(running), Ok(10));
        for (job, n) in queued.into_iter().zip(2..) {
            assert_eq!(block_on(job), Ok(n * 10));
        }
        assert_eq!(block_on(waiting), Ok(40));
        assert_eq!(pool.stats().ran, 4);
    }

    /// A worker that says when it is told it is idle.
    struct Idler(mpsc::Sender<u32>);

    impl Worker<u32, u32> for Idler {
        fn run(&mut self, job: u32) -> u32 {
            job + 1
        }

        fn idle(&mut self) {
            self.0.send(0).unwrap();
        }
    }

    #[test]
    fn workers_are_told_when_they_have_been_idle() {
        let (tx, idle) = mpsc::channel();
        let pool = Pool::start("idler", 1, 4, Duration::from_millis(1), |_| {
            Idler(tx.clone())
        })
        .unwrap();
        // Not before the first job, once after each quiet spell.
        assert_eq!(block_on(pool.run(1)), Ok(2));
        idle.recv().unwrap();
        assert_eq!(block_on(pool.run(2)), Ok(3));
        idle.recv().unwrap();
        drop(pool);
        drop(tx);
        assert!(idle.recv().is_err(), "told only once per quiet spell");
    }
}
