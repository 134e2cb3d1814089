//! Helpers shared by the crate's unit tests.

use std::sync::mpsc::{self, RecvTimeoutError};
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
