//! Resource limits with defaults, so a slow, silent or abusive client cannot hold the server.

use crate::frame::DEFAULT_MAX_BODY;
use std::time::Duration;

/// Limits the server enforces on every connection. All have defaults; set what you need.
///
/// ```
/// use rpc_runtime::server::Limits;
/// use std::time::Duration;
///
/// let limits = Limits { max_in_flight: 32, idle_timeout: Duration::from_secs(60), ..Limits::default() };
/// assert_eq!(limits.max_body, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame body accepted, in bytes. A larger declared length gets a
    /// `resource exhausted` error frame and the connection is closed, before any of the body
    /// is read or allocated. Default 1 MiB.
    pub max_body: u32,
    /// Most connections served at once; more are told `resource exhausted` and closed.
    /// Default 10,000.
    pub max_connections: usize,
    /// Most calls one connection may have started and not yet answered, counting calls
    /// answered at once whose replies are not yet written. At the limit the server handles
    /// no more of that connection's requests, and reads no more, until calls finish and
    /// their replies are written (backpressure). Default 64: with replies of up to
    /// ~40 KB (a page of history) that is ~2.5 MB per connection held by calls that finished
    /// while the client did not read.
    pub max_in_flight: usize,
    /// Longest wait for the rest of a frame once its first byte arrived, and for a batch
    /// of replies to be taken by the client. A client that leaves its replies unread this
    /// long is closed. Default 10 s.
    pub read_timeout: Duration,
    /// A connection with no calls running and no bytes arriving for this long is closed with
    /// a goaway. Default 5 minutes.
    pub idle_timeout: Duration,
    /// On shutdown, how long calls in flight may take to finish. Default 10 s.
    pub shutdown_grace: Duration,
    /// Most reply bytes one connection collects before they are written. Past it the
    /// server handles no more of that connection's requests, and so reads no more of them,
    /// until the client has taken the replies (backpressure); a client that never takes
    /// them is closed after `read_timeout`. One reply larger than the budget still goes out
    /// whole, so a connection holds at most this plus one frame. Default 256 KiB.
    pub write_budget: usize,
    /// Most reply bytes held, over all connections, for clients that do not read them as
    /// fast as they come. While it is spent, every connection finishes and writes what it
    /// has but starts no new requests until slow clients catch up or are closed. Default
    /// 64 MiB.
    pub total_write_budget: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
            max_connections: 10_000,
            max_in_flight: 64,
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(10),
            write_budget: 256 * 1024,
            total_write_budget: 64 * 1024 * 1024,
        }
    }
}
