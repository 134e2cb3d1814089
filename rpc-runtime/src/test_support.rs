//! Helpers shared by the crate's unit tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::Duration;

/// How long a scenario may run before [`ends_in_time`] calls it a deadlock.
const LIMIT: Duration = Duration::from_secs(10);

/// Runs `scenario` on a thread of its own and fails if it does not end within 10 s, with
/// `on_timeout` as the message. A thread that takes a lock it already holds deadlocks (or
/// panics); the test is to fail then, not hang. `on_timeout` says which lock, and why.
pub(crate) fn ends_in_time(on_timeout: &str, scenario: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        scenario();
        let _ = tx.send(());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => panic!("{on_timeout} (no end within {LIMIT:?})"),
        Err(RecvTimeoutError::Disconnected) => {
            panic!("the scenario panicked (see its output above)")
        }
    }
}

/// A waker whose last reference, when it goes, runs a closure: as when a task's last waker
/// takes the task's future with it, and that future held something of the same connection
/// (a call, a stream handle). Such a waker must never be dropped under a lock its closure
/// takes.
struct OnDrop {
    on_drop: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    ran: Arc<AtomicBool>,
}

impl Wake for OnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        let on_drop = self
            .on_drop
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(f) = on_drop {
            f();
        }
        self.ran.store(true, Ordering::SeqCst);
    }
}

/// A waker that runs `f` when its last reference is dropped, and the flag it raises once
/// it has.
pub(crate) fn on_drop(f: impl FnOnce() + Send + 'static) -> (Waker, Arc<AtomicBool>) {
    let ran = Arc::new(AtomicBool::new(false));
    let waker = Waker::from(Arc::new(OnDrop {
        on_drop: Mutex::new(Some(Box::new(f))),
        ran: Arc::clone(&ran),
    }));
    (waker, ran)
}
