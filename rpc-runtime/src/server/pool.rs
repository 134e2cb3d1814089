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

use smol::Executor;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The executors of a running server.
#[derive(Debug)]
pub(crate) struct Pool {
    executors: Box<[Slot]>,
    /// Where the next search for the least loaded executor starts, so that ties rotate.
    next: AtomicUsize,
}

#[derive(Debug)]
struct Slot {
    ex: Arc<Executor<'static>>,
    /// Connections placed here and not finished yet.
    live: AtomicUsize,
}

impl Pool {
    /// `count` executors (at least one).
    pub(crate) fn new(count: usize) -> Self {
        Pool {
            executors: (0..count.max(1))
                .map(|_| Slot {
                    ex: Arc::new(Executor::new()),
                    live: AtomicUsize::new(0),
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Executor `i` (modulo the count), for the thread that runs it.
    pub(crate) fn executor(&self, i: usize) -> Arc<Executor<'static>> {
        Arc::clone(&self.executors[i % self.executors.len()].ex)
    }

    /// Places a new connection on the executor with the fewest live connections. The
    /// connection counts there until the returned `Placed` is dropped.
    pub(crate) fn place(self: &Arc<Self>) -> Placed {
        let n = self.executors.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = start;
        let mut fewest = usize::MAX;
        for k in 0..n {
            let i = (start + k) % n;
            let live = self.executors[i].live.load(Ordering::Relaxed);
            if live < fewest {
                best = i;
                fewest = live;
            }
        }
        self.executors[best].live.fetch_add(1, Ordering::Relaxed);
        Placed {
            pool: Arc::clone(self),
            index: best,
        }
    }
}

/// A connection's place in the pool: its executor, counted while this lives.
#[derive(Debug)]
pub(crate) struct Placed {
    pool: Arc<Pool>,
    index: usize,
}

impl Placed {
    /// The executor the connection and its tasks run on.
    pub(crate) fn executor(&self) -> Arc<Executor<'static>> {
        self.pool.executor(self.index)
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        self.pool.executors[self.index]
            .live
            .fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_go_to_the_least_loaded_executor() {
        let pool = Arc::new(Pool::new(3));
        let a = pool.place();
        let b = pool.place();
        let c = pool.place();
        let mut used = [a.index, b.index, c.index];
        used.sort_unstable();
        assert_eq!(used, [0, 1, 2], "three connections share three executors");
        let freed = b.index;
        drop(b);
        let d = pool.place();
        assert_eq!(
            d.index, freed,
            "the executor a connection left is the least loaded"
        );
        assert!(Arc::ptr_eq(&d.executor(), &pool.executor(freed)));
    }

    #[test]
    fn one_shared_executor_takes_every_connection() {
        let pool = Arc::new(Pool::new(1));
        let placed: Vec<_> = (0..4).map(|_| pool.place()).collect();
        assert!(placed.iter().all(|p| p.index == 0));
        assert_eq!(pool.executors[0].live.load(Ordering::Relaxed), 4);
        drop(placed);
        assert_eq!(pool.executors[0].live.load(Ordering::Relaxed), 0);
    }
}
