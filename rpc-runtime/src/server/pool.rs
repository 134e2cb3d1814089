//! The server's executors and where each accepted connection lives.
//!
//! By default every worker thread runs an executor of its own, and a connection, with every
//! task it spawns (calls that wait, their deadlines), stays on the executor it was placed on:
//! its wake-ups never cross to another thread, and a call costs no hop between threads. A
//! new connection goes to the executor with the fewest live connections (ties in turn).
//!
//! With [`ServerBuilder::shared_executor`](super::ServerBuilder::shared_executor) there is one
//! executor that every worker thread runs and steals from; it is the same placement with a
//! single executor.
//!
//! No task holds its executor: an executor owns its tasks, so a task that held it would keep
//! both alive for ever. A connection spawns its calls with [`spawn`], on the executor of the
//! thread polling it (which [`run`] records), and what counts connections ([`Placed`]) does
//! not reach the executors. So once the threads have stopped, the pool holds the only handles
//! to the executors, and dropping it drops every task still on them, with what they own.

use smol::{Executor, Task};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    /// The executor this thread runs for a server, while [`run`] runs it.
    static CURRENT: RefCell<Option<Arc<Executor<'static>>>> = const { RefCell::new(None) };
}

/// Runs `future` to completion on this thread, running `ex` meanwhile; tasks of `ex` that
/// call [`spawn`] spawn on `ex`.
pub(crate) fn run<T>(ex: &Arc<Executor<'static>>, future: impl Future<Output = T>) -> T {
    let _current = Current::enter(Arc::clone(ex));
    smol::block_on(ex.run(future))
}

/// Spawns `future` on the executor this thread runs (see [`run`]): a connection's own, as only
/// that executor's threads poll the connection. `None` on a thread that runs no executor of
/// a server (the future is dropped).
pub(crate) fn spawn<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> Option<Task<T>> {
    CURRENT.with(|current| current.borrow().as_ref().map(|ex| ex.spawn(future)))
}

/// Makes an executor this thread's current one; puts the previous one back when dropped.
struct Current {
    previous: Option<Arc<Executor<'static>>>,
}

impl Current {
    fn enter(ex: Arc<Executor<'static>>) -> Self {
        Current {
            previous: CURRENT.with(|current| current.replace(Some(ex))),
        }
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Dropped before the thread's locals are; `try_with` only so as never to panic here.
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

/// The executors of a running server.
#[derive(Debug)]
pub(crate) struct Pool {
    executors: Box<[Arc<Executor<'static>>]>,
    load: Arc<Load>,
}

/// How many connections each executor has; what a connection's [`Placed`] holds.
#[derive(Debug)]
struct Load {
    /// Connections placed on each executor and not finished yet.
    live: Box<[AtomicUsize]>,
    /// Where the next search for the least loaded executor starts, so that ties rotate.
    next: AtomicUsize,
}

impl Pool {
    /// `count` executors (at least one).
    pub(crate) fn new(count: usize) -> Self {
        let count = count.max(1);
        Pool {
            executors: (0..count).map(|_| Arc::new(Executor::new())).collect(),
            load: Arc::new(Load {
                live: (0..count).map(|_| AtomicUsize::new(0)).collect(),
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// Executor `i` (modulo the count), for the thread that runs it.
    pub(crate) fn executor(&self, i: usize) -> Arc<Executor<'static>> {
        Arc::clone(&self.executors[i % self.executors.len()])
    }

    /// Places a new connection on the executor with the fewest live connections, returned
    /// to spawn the connection on. The connection counts there until the `Placed` is dropped.
    pub(crate) fn place(&self) -> (Placed, &Executor<'static>) {
        let load = &self.load;
        let n = load.live.len();
        let start = load.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = start;
        let mut fewest = usize::MAX;
        for k in 0..n {
            let i = (start + k) % n;
            let live = load.live[i].load(Ordering::Relaxed);
            if live < fewest {
                best = i;
                fewest = live;
            }
        }
        load.live[best].fetch_add(1, Ordering::Relaxed);
        let placed = Placed {
            load: Arc::clone(load),
            index: best,
        };
        (placed, &self.executors[best])
    }
}

/// A connection's place in the pool, counted while this lives. It does not hold the
/// executor (see the module's documentation).
#[derive(Debug)]
pub(crate) struct Placed {
    load: Arc<Load>,
    index: usize,
}

impl Drop for Placed {
    fn drop(&mut self) {
        self.load.live[self.index].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn connections_go_to_the_least_loaded_executor() {
        let pool = Pool::new(3);
        let (a, _) = pool.place();
        let (b, _) = pool.place();
        let (c, _) = pool.place();
        let mut used = [a.index, b.index, c.index];
        used.sort_unstable();
        assert_eq!(used, [0, 1, 2], "three connections share three executors");
        let freed = b.index;
        drop(b);
        let (d, ex) = pool.place();
        assert_eq!(
            d.index, freed,
            "the executor a connection left is the least loaded"
        );
        assert!(std::ptr::eq(ex, &*pool.executor(freed)));
    }

    #[test]
    fn one_shared_executor_takes_every_connection() {
        let pool = Pool::new(1);
        let placed: Vec<_> = (0..4).map(|_| pool.place().0).collect();
        assert!(placed.iter().all(|p| p.index == 0));
        assert_eq!(pool.load.live[0].load(Ordering::Relaxed), 4);
        drop(placed);
        assert_eq!(pool.load.live[0].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn spawn_uses_the_executor_this_thread_runs_and_none_elsewhere() {
        assert!(
            spawn(async {}).is_none(),
            "no executor runs on a test thread"
        );
        let pool = Pool::new(2);
        let (a, b) = (pool.executor(0), pool.executor(1));
        let on_b = run(&a, async {
            run(&b, async {
                let task = spawn(async { 7 }).expect("b runs here");
                (b.is_empty(), task.await)
            })
        });
        assert_eq!(on_b, (false, 7), "the task went to b, the innermost");
        let back = run(&a, async { spawn(async {}).is_some() });
        assert!(back, "a is this thread's executor again");
        assert!(spawn(async {}).is_none(), "and none once `run` returned");
    }

    /// Set when dropped.
    struct Flag(Arc<AtomicBool>);

    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn dropping_the_pool_drops_tasks_left_on_its_executors() {
        let pool = Pool::new(1);
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(Arc::clone(&dropped));
        let ex = pool.executor(0);
        // A task that spawns another and never finishes, as a connection with a call that
        // waits; `run` returns once the call has started.
        let (started, call_started) = smol::channel::bounded(1);
        run(&ex, async {
            spawn(async move {
                let _call = spawn(async move {
                    let _flag = flag;
                    let _ = started.send(()).await;
                    std::future::pending::<()>().await;
                });
                std::future::pending::<()>().await;
            })
            .expect("spawned")
            .detach();
            call_started.recv().await.expect("the call started");
        });
        drop(ex);
        assert!(!dropped.load(Ordering::SeqCst), "the call still waits");
        drop(pool);
        assert!(
            dropped.load(Ordering::SeqCst),
            "the call outlived its executor"
        );
    }
}
