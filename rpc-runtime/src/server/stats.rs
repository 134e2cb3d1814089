//! Live counters of a server, readable from anywhere through [`ServerStats`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The counters connection tasks update. Each is touched at most once per batch of frames,
/// never once per call.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Open connections, including ones being refused over `max_connections`.
    pub(crate) connections: AtomicUsize,
    /// Calls started and not yet answered, over all connections.
    pub(crate) calls: AtomicUsize,
    /// Reply bytes waiting for clients that do not read fast enough.
    pub(crate) queued: AtomicUsize,
}

/// A live view of a running server's load, from [`Server::stats`](super::Server::stats) or
/// [`RunningServer::stats`](super::RunningServer::stats).
///
/// Cheap to clone; every clone reads the same counters. The numbers are snapshots taken while
/// the server keeps running, for monitoring and tests, not for synchronisation.
///
/// # Examples
///
/// ```
/// use rpc_runtime::Server;
///
/// let server = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?;
/// let stats = server.stats();
/// let running = server.spawn()?;
/// assert_eq!(stats.connections(), 0);
/// assert_eq!(running.stats().calls_in_flight(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerStats {
    counters: Arc<Counters>,
}

impl ServerStats {
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        ServerStats { counters }
    }

    /// Connections open right now, over every endpoint (binary and HTTP), counting those
    /// being turned away over [`Limits::max_connections`](super::Limits::max_connections).
    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::Acquire)
    }

    /// Calls started and not yet answered, over every connection. A call leaves this count
    /// when its reply is framed, when it is cancelled, and when its connection closes, so it
    /// returns to 0 once the server has nothing to do.
    pub fn calls_in_flight(&self) -> usize {
        self.counters.calls.load(Ordering::Acquire)
    }

    /// Reply bytes the server holds for clients that do not read them fast enough: what a
    /// write left behind when the socket was full, until the rest went out or the
    /// connection closed. Bounded by the write budgets in [`Limits`](super::Limits).
    pub fn queued_bytes(&self) -> usize {
        self.counters.queued.load(Ordering::Acquire)
    }
}

/// Bytes one connection added to [`Counters::queued`]; taken back when dropped.
#[derive(Debug)]
pub(crate) struct Queued<'a> {
    counters: &'a Counters,
    bytes: usize,
}

impl<'a> Queued<'a> {
    pub(crate) fn new(counters: &'a Counters, bytes: usize) -> Self {
        counters.queued.fetch_add(bytes, Ordering::AcqRel);
        Queued { counters, bytes }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.counters.queued.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The calls one connection has added to [`Counters::calls`]; gives them back when dropped.
#[derive(Debug)]
pub(crate) struct CallCount {
    counters: Arc<Counters>,
    reported: usize,
}

impl CallCount {
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        CallCount {
            counters,
            reported: 0,
        }
    }

    /// Sets this connection's share of the count to `now`: one atomic operation, and none
    /// when nothing changed.
    pub(crate) fn report(&mut self, now: usize) {
        if now > self.reported {
            self.counters
                .calls
                .fetch_add(now - self.reported, Ordering::AcqRel);
        } else if now < self.reported {
            self.counters
                .calls
                .fetch_sub(self.reported - now, Ordering::AcqRel);
        }
        self.reported = now;
    }
}

impl Drop for CallCount {
    fn drop(&mut self) {
        self.report(0);
    }
}
