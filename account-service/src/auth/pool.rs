//! A fixed pool of worker threads with a bounded queue, for work too heavy for the executor
//! (password hashing).
//!
//! - At most `threads` jobs run at once, each on a thread the pool owns, so their memory is
//!   bounded by the pool, not by how many requests arrive.
//! - At most `depth` jobs wait, in one lane per client ([`Lanes`]), and the workers take the
//!   lanes in turn: a client with one job waits behind at most one job of each other client,
//!   not behind everything a flooding client queued.
//! - When the queue is full, a call made under a [`serve`](crate::serve) scope takes the
//!   place of the newest job of the longest lane when that lane holds at least two more jobs
//!   than the caller's own (that job's caller is refused instead); otherwise it is refused at
//!   once (the server answers `resource exhausted`). Any other caller waits for room, holding
//!   nothing but its future, and is never evicted.
//! - A job whose caller gave up (its future was dropped: cancelled, deadline passed, connection
//!   closed) before a worker took it is skipped, not run.
//!
//! Dropping the pool closes its queue; the workers finish the jobs already queued and exit.

use super::lanes::Lanes;
use smol::channel::Sender;
use smol::lock::{Semaphore, SemaphoreGuardArc};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Why the pool did not run a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The queue was full and the caller asked for an answer at once (or its place was given
    /// to a client with fewer jobs waiting).
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
    /// Jobs refused because the queue was full, including those that gave their place to a
    /// client with fewer jobs waiting.
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
    done: Sender<Result<O, Refused>>,
    /// The task's place in the queue, given back when a worker takes it.
    room: SemaphoreGuardArc,
}

/// The queue the callers and the workers share.
struct Queue<K, J, O> {
    state: Mutex<State<K, J, O>>,
    /// Signalled when a job is queued or the pool is dropped.
    work: Condvar,
}

struct State<K, J, O> {
    lanes: Lanes<K, Task<J, O>>,
    /// Set when the pool is dropped: the workers finish what is queued and exit.
    closed: bool,
}

impl<K, J, O> Queue<K, J, O> {
    fn lock(&self) -> MutexGuard<'_, State<K, J, O>> {
        // A worker never panics while holding the lock (it runs jobs outside it).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pool of `threads` workers, each with its own state (`W`), and a queue of `depth` jobs
/// in lanes keyed by `K`.
pub(crate) struct Pool<K, J, O> {
    queue: Arc<Queue<K, J, O>>,
    /// One permit per free place in the queue.
    room: Arc<Semaphore>,
    depth: usize,
    counters: Arc<Counters>,
}

impl<K, J, O> core::fmt::Debug for Pool<K, J, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl<K, J, O> Drop for Pool<K, J, O> {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.work.notify_all();
    }
}

impl<K, J, O> Pool<K, J, O>
where
    K: Hash + Eq + Clone + Send + 'static,
    J: Send + 'static,
    O: Send + 'static,
{
    /// Starts `threads` (at least one) workers called `{name}-{i}`, each running jobs with the
    /// worker made for it by `worker(i)`, which is told when it has had no job for `idle`.
    pub(crate) fn start<W: Worker<J, O>>(
        name: &str,
        threads: usize,
        depth: usize,
        idle: Duration,
        mut worker: impl FnMut(usize) -> W,
    ) -> std::io::Result<Self> {
        let depth = depth.max(1);
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                lanes: Lanes::new(),
                closed: false,
            }),
            work: Condvar::new(),
        });
        let counters = Arc::new(Counters::default());
        for i in 0..threads.max(1) {
            let work = worker(i);
            let queue = Arc::clone(&queue);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run(work, &queue, idle, &counters))?;
        }
        Ok(Pool {
            queue,
            room: Arc::new(Semaphore::new(depth)),
            depth,
            counters,
        })
    }

    /// Runs `job` for the client `key` on a worker and returns its output.
    ///
    /// When the queue is full and the caller is under a serve scope that wants an answer at
    /// once: takes the place of the newest job of a client with at least two more jobs
    /// waiting, or else is refused with [`Refused::Full`]; a job whose place is taken is
    /// answered [`Refused::Full`] too. Any other caller waits for room. Dropping the returned
    /// future before a worker takes the job means it never runs.
    pub(crate) async fn run(&self, key: K, job: J) -> Result<O, Refused> {
        let (done, answer) = smol::channel::bounded(1);
        let refusable = crate::serve::may_refuse();
        let room = match self.room.try_acquire_arc() {
            Some(room) => room,
            None if refusable => self.take_a_place(&key)?,
            None => self.room.acquire_arc().await,
        };
        self.queue
            .lock()
            .lanes
            .push(key, Task { job, done, room }, refusable);
        self.queue.work.notify_one();
        match answer.recv().await {
            Ok(Err(Refused::Full)) => {
                // Our place went to a client with fewer jobs waiting.
                crate::serve::refuse_when_full();
                Err(Refused::Full)
            }
            Ok(output) => output,
            Err(_) => Err(Refused::Stopped),
        }
    }

    /// The place in the full queue of the newest job of a lane at least two jobs longer
    /// than `key`'s (its caller is answered [`Refused::Full`]), or [`Refused::Full`] for this
    /// caller when there is none.
    fn take_a_place(&self, key: &K) -> Result<SemaphoreGuardArc, Refused> {
        let evicted = self.queue.lock().lanes.evict_for(key);
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        match evicted {
            Some(task) => {
                let _ = task.done.try_send(Err(Refused::Full));
                Ok(task.room)
            }
            None => {
                crate::serve::refuse_when_full();
                Err(Refused::Full)
            }
        }
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
fn next<K: Hash + Eq + Clone, J, O>(
    work: &mut impl Worker<J, O>,
    queue: &Queue<K, J, O>,
    idle: Duration,
    busy: &mut bool,
) -> Option<Task<J, O>> {
    let mut state = queue.lock();
    loop {
        if let Some(task) = state.lanes.pop() {
            *busy = true;
            return Some(task);
        }
        if state.closed {
            return None;
        }
        if *busy {
            let (next, waited) = queue
                .work
                .wait_timeout(state, idle)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if waited.timed_out() && state.lanes.len() == 0 && !state.closed {
                *busy = false;
                drop(state);
                work.idle();
                state = queue.lock();
            }
        } else {
            state = queue
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

fn run<K: Hash + Eq + Clone, J, O>(
    mut work: impl Worker<J, O>,
    queue: &Queue<K, J, O>,
    idle: Duration,
    counters: &Counters,
) {
    let mut busy = false;
    while let Some(Task { job, done, room }) = next(&mut work, queue, idle, &mut busy) {
        // Its place in the queue is free as soon as it leaves the queue.
        drop(room);
        // Nobody waits for the answer any more: the caller was cancelled or timed out.
        if done.is_closed() {
            counters.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let output = work.run(job);
        counters.ran.fetch_add(1, Ordering::Relaxed);
        let _ = done.try_send(Ok(output));
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
    fn gated() -> (Pool<char, u32, u32>, mpsc::Sender<()>, mpsc::Receiver<u32>) {
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
        let pool: Pool<char, u32, String> = Pool::start("named", 2, 4, IDLE, |_| {
            |job: u32| format!("{job} on {}", std::thread::current().name().unwrap())
        })
        .unwrap();
        let out = smol::block_on(pool.run('a', 7)).unwrap();
        assert!(out.starts_with("7 on named-"), "{out}");
        assert_eq!(pool.stats().ran, 1);
    }

    #[test]
    fn a_job_dropped_before_a_worker_takes_it_never_runs() {
        let (pool, open, started) = gated();
        let mut first = Box::pin(pool.run('a', 1));
        assert!(block_on(poll_once(first.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1, "the worker is busy with job 1");
        // Job 2 is queued behind it, then its caller gives up.
        let mut second = Box::pin(pool.run('a', 2));
        assert!(block_on(poll_once(second.as_mut())).is_none());
        drop(second);
        open.send(()).unwrap();
        assert_eq!(block_on(first), Ok(10));
        open.send(()).unwrap();
        assert_eq!(block_on(pool.run('a', 3)), Ok(30));
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
        let mut running = Box::pin(pool.run('a', 1));
        assert!(block_on(poll_once(running.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1);
        let mut queued: Vec<_> = (2..4).map(|n| Box::pin(pool.run('a', n))).collect();
        for job in &mut queued {
            assert!(block_on(poll_once(job.as_mut())).is_none());
        }
        // The queue (depth 2) is full.
        let scope = crate::serve::Scope::enter();
        assert_eq!(block_on(pool.run('a', 9)), Err(Refused::Full));
        assert!(scope.refused());
        drop(scope);
        assert_eq!(pool.stats().refused, 1);
        // Outside a scope the caller waits for room instead.
        let mut waiting = Box::pin(pool.run('a', 4));
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

    #[test]
    fn a_client_with_nothing_queued_takes_the_place_of_a_flooding_ones_newest_job() {
        let (pool, open, started) = gated();
        let mut running = Box::pin(pool.run('a', 1));
        assert!(block_on(poll_once(running.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1);
        // Client a fills the queue (depth 2) from a server call.
        let scope = crate::serve::Scope::enter();
        let mut flood: Vec<_> = (2..4).map(|n| Box::pin(pool.run('a', n))).collect();
        for job in &mut flood {
            assert!(block_on(poll_once(job.as_mut())).is_none());
        }
        // Its next job is refused: it already has the whole queue.
        assert_eq!(block_on(pool.run('a', 4)), Err(Refused::Full));
        assert!(scope.refused());
        drop(scope);
        // Client b gets in, in place of a's newest job.
        let scope = crate::serve::Scope::enter();
        let mut other = Box::pin(pool.run('b', 9));
        assert!(block_on(poll_once(other.as_mut())).is_none());
        assert!(!scope.refused(), "b was not refused");
        drop(scope);
        let evicted = flood.pop().unwrap();
        let scope = crate::serve::Scope::enter();
        assert_eq!(block_on(evicted), Err(Refused::Full));
        assert!(
            scope.refused(),
            "the evicted call is answered `resource exhausted`"
        );
        drop(scope);
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        assert_eq!(block_on(running), Ok(10));
        assert_eq!(block_on(flood.pop().unwrap()), Ok(20));
        assert_eq!(block_on(other), Ok(90));
        assert_eq!(started.try_iter().collect::<Vec<_>>(), [2, 9]);
        assert_eq!(pool.stats().refused, 2);
    }

    #[test]
    fn lanes_take_turns_on_the_workers() {
        let (pool, open, started) = gated();
        let mut running = Box::pin(pool.run('a', 1));
        assert!(block_on(poll_once(running.as_mut())).is_none());
        assert_eq!(started.recv().unwrap(), 1);
        let mut queued = vec![Box::pin(pool.run('a', 2)), Box::pin(pool.run('b', 3))];
        for job in &mut queued {
            assert!(block_on(poll_once(job.as_mut())).is_none());
        }
        for _ in 0..3 {
            open.send(()).unwrap();
        }
        assert_eq!(block_on(running), Ok(10));
        for (job, n) in queued.into_iter().zip(2..) {
            assert_eq!(block_on(job), Ok(n * 10));
        }
        assert_eq!(started.try_iter().collect::<Vec<_>>(), [2, 3]);
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
        let pool: Pool<char, u32, u32> =
            Pool::start("idler", 1, 4, Duration::from_millis(1), |_| {
                Idler(tx.clone())
            })
            .unwrap();
        // Not before the first job, once after each quiet spell.
        assert_eq!(block_on(pool.run('a', 1)), Ok(2));
        idle.recv().unwrap();
        assert_eq!(block_on(pool.run('a', 2)), Ok(3));
        idle.recv().unwrap();
        drop(pool);
        drop(tx);
        assert!(idle.recv().is_err(), "told only once per quiet spell");
    }
}
