//! A small pool of read-only connections, used on blocking threads.
//!
//! In WAL mode readers never wait for the writer, and a read transaction that starts after a
//! commit returned sees it; since the writer answers only after committing, a client always
//! reads its own acknowledged writes.

use account_client::api::AccountError;
use rusqlite::{Connection, OpenFlags};
use smol::lock::Semaphore;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Read-only connections, at most `size` in use at once.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    /// Opens `size` read-only connections to `path`.
    pub(crate) fn open(path: &Path, size: usize, busy_timeout: Duration) -> rusqlite::Result<Self> {
        let size = size.max(1);
        let idle = (0..size)
            .map(|_| connect(path, busy_timeout))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Readers {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(idle),
            permits: Semaphore::new(size),
        })
    }

    /// Runs `read` in a read transaction on a blocking thread. A failed query is logged and
    /// answered `StorageFailure`.
    pub(crate) async fn run<T, F>(&self, read: F) -> Result<T, AccountError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run_raw(read).await.map_err(|e| {
            tracing::error!(error = %e, "read failed");
            AccountError::StorageFailure
        })
    }

    /// Runs `read` in a read transaction on a blocking thread.
    pub(crate) async fn run_raw<T, F>(&self, read: F) -> rusqlite::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self.permits.acquire().await;
        let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (path, busy_timeout) = (self.path.clone(), self.busy_timeout);
        let (conn, result) = smol::unblock(move || {
            // A connection lost to a panic is replaced here.
            let mut conn = match conn {
                Some(conn) => conn,
                None => match connect(&path, busy_timeout) {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(e)),
                },
            };
            let result = conn.transaction().and_then(|tx| {
                let value = read(&tx)?;
                tx.finish()?;
                Ok(value)
            });
            (Some(conn), result)
        })
        .await;
        if let Some(conn) = conn {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        result
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}
