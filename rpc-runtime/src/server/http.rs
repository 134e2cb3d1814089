//! HTTP/1.1 on the same listeners as the binary protocol, served by hyper.
//!
//! A connection whose first byte is an ASCII capital letter (the start of `GET`, `POST`, …)
//! is handed to hyper, with the bytes read so far replayed to it. The routes:
//!
//! | request | response |
//! |---|---|
//! | `GET`/`HEAD /health` | `200`, `ok` |
//! | `GET`/`HEAD /describe` | `200`, the JSON of the built-in describe call |
//! | `POST /{Service}/{method}`, `Content-Type: application/octet-stream` (or none) | `200` and the response message, `422` and the service's error, or a runtime status |
//! | an application's own routes ([`HttpRoutes`]) | what they answer |
//!
//! A known path with the wrong method gets `405` and `Allow`; a method no route implements
//! (`BREW`) `501`; an unknown path `404`; another content type `415`. Every reply to a call
//! carries `X-Rpc-Status` with the status name; `X-Rpc-Timeout-Ms` sets the call's
//! deadline. docs/PROTOCOL.md has the status mapping.
//!
//! The server's [`Limits`](super::Limits) apply: a body longer than `max_body` gets `413`
//! (declared or not, and nothing is allocated ahead of the bytes that arrived); a head
//! larger than 16 KiB or with more than 32 fields `431`; a head or body that takes longer
//! than `read_timeout` `408`; a client that leaves its responses unread for `read_timeout`
//! is closed; a connection idle for `idle_timeout` is closed; on shutdown a request in
//! flight is finished and answered with `Connection: close`, and idle connections close at
//! once.

mod body;
mod context;
mod io;
#[cfg(feature = "json")]
mod json;
mod routes;

pub use context::{HttpContext, HttpFuture, HttpRoutes};

use super::call::Peer;
use super::{ConnectionGuard, ShutdownHandle};
use crate::transport::Stream;
use hyper::server::conn::http1;
use io::{Activity, Io, Waiting};
use smol::Timer;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

/// Most bytes of request line and headers accepted (hyper's read buffer holds no more).
const MAX_HEAD: usize = 16 * 1024;
/// Most header fields accepted.
const MAX_HEADERS: usize = 32;

/// Whether the first bytes of a connection look like an HTTP request rather than a frame.
pub(crate) fn looks_like_http(first: &[u8]) -> bool {
    first.first().is_some_and(u8::is_ascii_uppercase)
}

/// What woke the connection task.
enum Event {
    Closed,
    Shutdown,
    Timer,
}

/// Serves HTTP/1.1 on `stream`, whose first bytes, `replay`, were already read.
pub(crate) async fn serve(
    stream: Stream,
    replay: Vec<u8>,
    guard: ConnectionGuard,
    shutdown: ShutdownHandle,
) {
    let shared = guard.shared_arc();
    let limits = shared.limits.clone();
    let peer = Peer::of(&stream);
    let activity = Arc::new(Activity::new());
    let io = Io::new(
        stream.clone(),
        replay,
        Arc::clone(&activity),
        limits.read_timeout,
    );
    let handler = routes::Handler {
        ctx: HttpContext::new(shared, peer),
        activity: Arc::clone(&activity),
    };
    let mut conn = pin!(
        http1::Builder::new()
            .max_buf_size(MAX_HEAD)
            .max_headers(MAX_HEADERS)
            // Our own timeouts: hyper's would count idle keep-alive time as head time.
            .header_read_timeout(None)
            .serve_connection(io, handler)
    );
    let mut stop = pin!(shutdown.wait());
    let mut draining: Option<Instant> = None;
    let mut timer = Timer::never();
    let mut timer_at: Option<Instant> = None;
    loop {
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = conn.as_mut().poll(cx) {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "http connection ended");
                }
                return Poll::Ready(Event::Closed);
            }
            if draining.is_none() && stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            // Everything that moves the deadline happens inside hyper's poll above.
            let deadline = deadline(&activity, &limits, draining);
            if let Some(at) = deadline
                && timer_at.is_none_or(|armed| at < armed)
            {
                timer.set_at(at);
                timer_at = Some(at);
            }
            if Pin::new(&mut timer).poll(cx).is_ready() {
                timer_at = None;
                return Poll::Ready(Event::Timer);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Closed => break,
            Event::Shutdown => {
                conn.as_mut().graceful_shutdown();
                draining = Some(Instant::now() + limits.shutdown_grace);
            }
            Event::Timer => {
                let now = Instant::now();
                if draining.is_some_and(|end| now >= end) {
                    break;
                }
                match activity.waiting(limits.read_timeout, limits.idle_timeout) {
                    Waiting::Head(at) if now >= at => {
                        tracing::info!(%peer, "closing an http connection: request head timeout");
                        let mut stream = stream.clone();
                        let _ = stream.try_write(
                            b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                        );
                        break;
                    }
                    Waiting::Idle(at) if now >= at => break,
                    _ => {}
                }
            }
        }
    }
    stream.shutdown();
}

/// The earliest moment the connection must be looked at again.
fn deadline(
    activity: &Activity,
    limits: &super::Limits,
    draining: Option<Instant>,
) -> Option<Instant> {
    let own = match activity.waiting(limits.read_timeout, limits.idle_timeout) {
        Waiting::Head(at) | Waiting::Idle(at) => Some(at),
        Waiting::Busy => None,
    };
    match (own, draining) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
