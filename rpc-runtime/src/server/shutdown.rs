//! A shutdown signal every task of a server can wait on.

use smol::channel::{Receiver, Sender, bounded};
use std::sync::{Arc, Mutex, PoisonError};

/// Triggers a graceful shutdown: stop accepting, send goaway, finish calls in flight, exit.
///
/// Cheap to clone; all clones trigger the same server.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    trigger: Arc<Mutex<Option<Sender<()>>>>,
    signal: Receiver<()>,
}

impl ShutdownHandle {
    pub(crate) fn new() -> Self {
        let (tx, rx) = bounded(1);
        ShutdownHandle {
            trigger: Arc::new(Mutex::new(Some(tx))),
            signal: rx,
        }
    }

    /// Starts the shutdown. Calling it again does nothing.
    pub fn shutdown(&self) {
        // Dropping the sender wakes every task waiting on the signal, and a waker runs code
        // that is not ours, which may call this again: drop it once the lock is released.
        let sender = self
            .trigger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(sender);
    }

    /// Whether the shutdown has started.
    pub fn is_shutdown(&self) -> bool {
        self.signal.is_closed()
    }

    /// Resolves once the shutdown has started.
    pub async fn wait(&self) {
        let _ = self.signal.recv().await;
    }
}

/// Starts a graceful shutdown of `handle` on the first SIGINT or SIGTERM (Unix only).
///
/// A second signal while shutting down exits the process at once (status 130), for when
/// the grace period is too long to wait out.
///
/// # Errors
///
/// When the signal handlers cannot be installed.
#[cfg(unix)]
pub fn shutdown_on_signals(handle: &ShutdownHandle) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let handle = handle.clone();
    std::thread::Builder::new()
        .name("rpc-signals".into())
        .spawn(move || {
            let mut seen = false;
            for _ in signals.forever() {
                if seen {
                    std::process::exit(130);
                }
                seen = true;
                handle.shutdown();
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Wake, Waker};

    /// A waker that starts the shutdown (again) when woken, as a task woken by the signal
    /// might run code that calls `shutdown` on its own thread.
    struct ShutsDown(ShutdownHandle);

    impl Wake for ShutsDown {
        fn wake(self: Arc<Self>) {
            self.0.shutdown();
        }
    }

    /// Starting the shutdown wakes every task waiting on it; a waker that calls `shutdown`
    /// again must not find the handle's lock still held. Runs on its own thread under a
    /// timeout, so that a deadlock fails the test rather than hangs it.
    #[test]
    fn a_waker_woken_by_the_shutdown_may_call_shutdown_again() {
        crate::test_support::ends_in_time(
            "deadlock: the signal's waiters were woken under the handle's lock",
            || {
                let handle = ShutdownHandle::new();
                let waker = Waker::from(Arc::new(ShutsDown(handle.clone())));
                let mut wait = std::pin::pin!(handle.wait());
                let polled = wait.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending(), "the shutdown started on its own");
                drop(waker);
                handle.shutdown();
                assert!(handle.is_shutdown());
                let polled = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                assert!(
                    polled.is_ready(),
                    "a waiting task does not see the shutdown"
                );
            },
        );
    }
}
