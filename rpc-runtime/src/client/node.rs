//! One endpoint of a client: its connection, the calls it has in flight, and, for a balanced
//! client, whether it is in rotation or out and waiting to be probed back.

use super::ClientOptions;
use super::conn::{Body, Conn};
use crate::endpoint::Endpoint;
use crate::error::{RpcError, WireError};
use crate::frame::FrameKind;
use crate::status::Status;
use smol::future::FutureExt as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why one attempt on one endpoint returned no answer to pass on.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server cannot have started the call: no connection, the connection closed before
    /// the frame was queued, or the server answered `unavailable` (it refuses calls it does
    /// not start with that status). Sending it elsewhere cannot run it twice.
    Unstarted(RpcError),
    /// Anything else: the server's own answer, or a connection lost after the frame may have
    /// gone out (the call may have run), or the caller's deadline.
    Final(RpcError),
}

impl Failure {
    pub(super) fn into_error(self) -> RpcError {
        match self {
            Failure::Unstarted(e) | Failure::Final(e) => e,
        }
    }
}

/// An endpoint and its connection, shared by a client's clones.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) endpoint: Endpoint,
    conn: Mutex<Option<Arc<Conn>>>,
    connecting: smol::lock::Mutex<()>,
    /// Calls of this client on this endpoint that have not finished.
    in_flight: AtomicUsize,
    health: Mutex<Health>,
}

/// Whether a balanced client sends calls to the endpoint.
#[derive(Debug, Default)]
struct Health {
    /// Failures in a row; 0 while the endpoint is in rotation.
    failures: u32,
    /// While out of rotation: when to probe it next.
    probe_at: Option<Instant>,
    /// A probe is running.
    probing: bool,
}

/// Counts a call in flight on a node until dropped.
pub(super) struct InFlight<'a>(&'a Node);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Node {
    pub(super) fn new(endpoint: Endpoint) -> Node {
        Node {
            endpoint,
            conn: Mutex::new(None),
            connecting: smol::lock::Mutex::new(()),
            in_flight: AtomicUsize::new(0),
            health: Mutex::new(Health::default()),
        }
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        // Every update leaves the fields consistent; recover from a poisoned lock.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(super) fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Whether the endpoint is in rotation.
    pub(super) fn is_up(&self) -> bool {
        self.health().failures == 0
    }

    /// When an endpoint out of rotation is due to be probed (`None` while it is in rotation).
    pub(super) fn probe_at(&self) -> Option<Instant> {
        self.health().probe_at
    }

    /// Puts the endpoint back in rotation.
    pub(super) fn mark_up(&self) {
        let mut h = self.health();
        if h.failures != 0 {
            tracing::debug!(endpoint = %self.endpoint, "endpoint back in rotation");
        }
        h.failures = 0;
        h.probe_at = None;
    }

    /// Takes the endpoint out of rotation (again), to be probed after a backoff that doubles
    /// with each failure in a row, up to `max_probe_backoff`, less up to a quarter at random
    /// so that many clients do not probe a restarted server at the same instant.
    pub(super) fn mark_down(&self, options: &ClientOptions, why: &RpcError) {
        let mut h = self.health();
        h.failures = h.failures.saturating_add(1);
        let factor = 1u32.checked_shl(h.failures - 1).unwrap_or(u32::MAX);
        let full = options
            .probe_backoff
            .saturating_mul(factor)
            .min(options.max_probe_backoff);
        let wait = full - (full / 4).mul_f64(fastrand::f64());
        h.probe_at = Some(Instant::now() + wait);
        if h.failures == 1 {
            tracing::debug!(endpoint = %self.endpoint, "endpoint out of rotation: {why}");
        }
    }

    /// Claims the probe of an endpoint out of rotation whose backoff has passed: true for one
    /// caller, which must then run [`Node::probe`].
    pub(super) fn claim_probe(&self, now: Instant) -> bool {
        let mut h = self.health();
        let due = h.failures != 0 && !h.probing && h.probe_at.is_some_and(|at| at <= now);
        h.probing |= due;
        due
    }

    /// Connects and pings; back in rotation if the server answers, out for longer if not.
    pub(super) async fn probe(self: Arc<Self>, options: ClientOptions) {
        let limit = options.connect_timeout;
        let answered = async {
            let conn = self.connection(&options).await?;
            let ping = conn.start(FrameKind::Ping, 0, 0, 0, |_| Ok(()))?;
            ping.await?;
            Ok(())
        }
        .or(async {
            smol::Timer::after(limit).await;
            Err(RpcError::new(
                Status::Unavailable,
                format!("no pong within {limit:?}"),
            ))
        })
        .await;
        match answered {
            Ok(()) => self.mark_up(),
            Err(e) => self.mark_down(&options, &e),
        }
        self.health().probing = false;
    }

    /// Whether the node's connection has been closed or told to go away since it was made.
    pub(super) fn connection_gone(&self) -> bool {
        let conn = self.conn.lock().ok().and_then(|c| c.clone());
        conn.is_some_and(|c| !c.is_usable())
    }

    /// One attempt at a call on this endpoint: connect if needed, queue the frame, wait for
    /// the answer for at most `wait`.
    pub(super) async fn attempt(
        &self,
        options: &ClientOptions,
        kind: FrameKind,
        method: u32,
        schema: u32,
        wait: Option<Duration>,
        encode: &impl Fn(&mut Vec<u8>) -> Result<(), WireError>,
    ) -> Result<(Status, Body), Failure> {
        let timeout_ms = match (kind, wait) {
            (FrameKind::Request, Some(t)) => {
                u32::try_from(t.as_millis().max(1)).unwrap_or(u32::MAX)
            }
            _ => 0,
        };
        // The usual case needs no future: the connection is there and usable.
        let conn = match self.usable() {
            Some(conn) => conn,
            None => self.connection(options).await.map_err(Failure::Unstarted)?,
        };
        let call = match conn.start(kind, method, schema, timeout_ms, encode) {
            Ok(call) => call,
            // The connection died before the frame was queued, so nothing was sent: retrying
            // on a fresh connection cannot apply the call twice.
            Err(e) if e.status == Status::Unavailable => self
                .connection(options)
                .await
                .map_err(Failure::Unstarted)?
                .start(kind, method, schema, timeout_ms, encode)
                .map_err(|e| match e.status {
                    Status::Unavailable => Failure::Unstarted(e),
                    _ => Failure::Final(e),
                })?,
            Err(e) => return Err(Failure::Final(e)),
        };
        let outcome = match wait {
            None => call.await,
            Some(t) => {
                call.or(async {
                    smol::Timer::after(t).await;
                    Err(RpcError::new(
                        Status::DeadlineExceeded,
                        format!("no reply within {t:?}"),
                    ))
                })
                .await
            }
        };
        match outcome {
            Ok((status @ (Status::Ok | Status::Application), body)) => Ok((status, body)),
            Ok((status, body)) => {
                let error = RpcError::new(status, String::from_utf8_lossy(&body));
                Err(match status {
                    Status::Unavailable => Failure::Unstarted(error),
                    _ => Failure::Final(error),
                })
            }
            Err(e) => Err(Failure::Final(e)),
        }
    }

    /// The current connection, or a new one when there is none or it is unusable.
    pub(super) async fn connection(&self, options: &ClientOptions) -> Result<Arc<Conn>, RpcError> {
        if let Some(conn) = self.usable() {
            return Ok(conn);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(conn) = self.usable() {
            return Ok(conn);
        }
        let endpoint = &self.endpoint;
        let limit = options.connect_timeout;
        let stream = crate::transport::Stream::connect(endpoint)
            .or(async {
                smol::Timer::after(limit).await;
                Err(std::io::ErrorKind::TimedOut.into())
            })
            .await
            .map_err(|e| {
                RpcError::new(
                    Status::Unavailable,
                    format!("cannot connect to {endpoint}: {e}"),
                )
            })?;
        let conn = Conn::new(stream, options.max_body);
        // The connection replaced may be the last reference to it: dropping it drops its
        // streams, which wakes and drops wakers that may start a call on this node and so
        // take the lock. It goes after the guard.
        let replaced = match self.conn.lock() {
            Ok(mut slot) => slot.replace(Arc::clone(&conn)),
            Err(_) => None,
        };
        drop(replaced);
        Ok(conn)
    }

    fn usable(&self) -> Option<Arc<Conn>> {
        let conn = self.conn.lock().ok()?.clone()?;
        conn.accepts_calls().then_some(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::memory::MemoryListener;
    use smol::io::AsyncRead;
    use std::pin::Pin;
    use std::sync::atomic::AtomicBool;
    use std::task::{Context, Wake, Waker};

    /// A waker that asks the node about its connection when woken, as a task woken by the
    /// server's end might start a call on the same client from the waking thread.
    struct AsksNode {
        node: Arc<Node>,
        asked: Arc<AtomicBool>,
    }

    impl Wake for AsksNode {
        fn wake(self: Arc<Self>) {
            let _ = self.node.connection_gone();
            self.asked.store(true, Ordering::Release);
        }
    }

    /// The node replaces a connection the server sent goaway on: the old connection, and
    /// with it the client's last handle of the stream, goes with the last reference to it,
    /// which wakes the server's reader. That waker uses the same node, so the old connection
    /// must be dropped after the node's lock is released.
    #[test]
    fn a_replaced_connection_is_dropped_outside_the_nodes_lock() {
        crate::test_support::ends_in_time(
            "deadlock: the replaced connection was dropped under the node's lock",
            || {
                let name = "node-unit-replaced-connection";
                let listener = MemoryListener::bind(name).expect("bind");
                let node = Arc::new(Node::new(Endpoint::memory(name)));
                let options = ClientOptions::default();
                let first = smol::block_on(node.connection(&options)).expect("connect");
                let mut server = smol::block_on(listener.accept()).expect("accept");
                // The server's end waits to read, with a waker that uses the node.
                let asked = Arc::new(AtomicBool::new(false));
                let waker = Waker::from(Arc::new(AsksNode {
                    node: Arc::clone(&node),
                    asked: Arc::clone(&asked),
                }));
                let mut buf = [0u8; 16];
                let read =
                    Pin::new(&mut server).poll_read(&mut Context::from_waker(&waker), &mut buf);
                assert!(read.is_pending(), "the client wrote unasked");
                drop(waker);
                let mut goaway = Vec::new();
                crate::frame::encode_bytes(
                    &mut goaway,
                    crate::frame::Header::new(FrameKind::Goaway, 0),
                    &[],
                );
                smol::block_on(smol::io::AsyncWriteExt::write_all(&mut server, &goaway))
                    .expect("write goaway");
                // The node holds the only reference to the first connection now.
                drop(first);
                let second = smol::block_on(node.connection(&options)).expect("reconnect");
                assert!(!node.connection_gone(), "the node kept the old connection");
                assert!(
                    asked.load(Ordering::Acquire),
                    "dropping the old connection did not wake the server's reader"
                );
                drop(second);
            },
        );
    }
}
