//! A pool of connections for reads, with a size limit, an acquire timeout and reconnection.
//!
//! Connections are opened lazily and replaced when the server closed them (a restart): while
//! the server is down, [`Pool::get`] fails with [`Fail::Unavailable`] after at most the
//! connect timeout, and the first call after it is back opens a fresh connection.

use super::Fail;
use super::conn::{self, Conn};
use smol::lock::{Semaphore, SemaphoreGuard};
use std::ops::Deref;
use std::sync::Mutex;
use std::time::Duration;

/// At most `size` connections, in use or idle.
#[derive(Debug)]
pub(crate) struct Pool {
    /// How long one read may take before its connection is dropped.
    pub(crate) read_timeout: Duration,
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    connect_timeout: Duration,
    acquire_timeout: Duration,
}

/// A connection taken from the pool; it goes back when dropped, unless it was closed.
#[derive(Debug)]
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    _permit: SemaphoreGuard<'a>,
}

impl Pool {
    /// A pool of up to `size` connections to `config`; none is opened yet.
    pub(crate) fn new(
        config: tokio_postgres::Config,
        size: usize,
        connect_timeout: Duration,
        acquire_timeout: Duration,
        read_timeout: Duration,
    ) -> Pool {
        Pool {
            read_timeout,
            config,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
            connect_timeout,
            acquire_timeout,
        }
    }

    /// A live connection: an idle one, or a new one.
    ///
    /// # Errors
    ///
    /// [`Fail::Unavailable`] when every connection stayed busy for the acquire timeout, or
    /// when a new one cannot be opened.
    pub(crate) async fn get(&self) -> Result<Pooled<'_>, Fail> {
        let permit = smol::future::or(async { Some(self.permits.acquire().await) }, async {
            smol::Timer::after(self.acquire_timeout).await;
            None
        })
        .await
        .ok_or_else(|| {
            tracing::warn!("no database connection became free in time");
            Fail::Unavailable
        })?;
        let idle = loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match next {
                Some(conn) if conn.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match idle {
            Some(conn) => conn,
            None => conn::connect(&self.config, self.connect_timeout)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %Chain(&e), "cannot connect to the database");
                    Fail::Unavailable
                })?,
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
    }
}

impl Pooled<'_> {
    /// Closes the connection instead of returning it (a query on it timed out: it may still
    /// be running, and later queries would queue behind it).
    pub(crate) fn discard(mut self) {
        self.conn = None;
    }
}

impl Deref for Pooled<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.is_closed()
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
    }
}

/// An error and its causes on one line, for logs.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}
