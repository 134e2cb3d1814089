//! WAL checkpoints on their own thread, so the writer never stops committing to copy pages
//! into the database file and fsync it.
//!
//! The writer's connection checkpoints automatically only as a safety net (at 10,000 pages,
//! about 40 MB of WAL); this thread runs a `PASSIVE` checkpoint every few milliseconds, which
//! never blocks the writer or readers and lets the writer restart the WAL from its beginning.

use rusqlite::Connection;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer runs.
const INTERVAL: Duration = Duration::from_millis(50);

/// WAL pages after which the writer checkpoints by itself anyway.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// The checkpoint thread; [`Checkpointer::shutdown`] stops it after a last checkpoint.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl Checkpointer {
    /// Opens a connection to `path` and starts checkpointing on a new thread.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> std::io::Result<Checkpointer> {
        let conn = Connection::open(path).map_err(std::io::Error::other)?;
        conn.busy_timeout(busy_timeout)
            .map_err(std::io::Error::other)?;
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = match stopped.recv_timeout(INTERVAL) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "wal checkpoint failed; the writer's own checkpoints take over");
                    }
                    if last {
                        return;
                    }
                }
            })?;
        Ok(Checkpointer {
            stop: Mutex::new(Some((stop, thread))),
        })
    }

    /// Runs a last checkpoint and stops the thread. Later calls do nothing.
    pub(crate) fn shutdown(&self) {
        let taken = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some((stop, thread)) = taken {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
