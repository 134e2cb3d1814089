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
