//! A shutdown signal every task of a server can wait on.

use smol::channel::{Receiver, Sender, bounded};
use std::sync::{Arc, Mutex};

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
        if let Ok(mut trigger) = self.trigger.lock() {
            trigger.take();
        }
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
