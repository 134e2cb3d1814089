//! The hook for an application's own HTTP routes, and what those routes may do: learn the
//! peer and call a served method exactly as a binary frame would.

use crate::frame::Status;
use crate::server::Shared;
use crate::server::call::{Guarded, Named, Peer, guarded, with_peer};
use crate::server::stats::CallCount;
use crate::service::Reply;
use core::fmt;
use smol::Timer;
use smol::future::FutureExt as _;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tracing::Instrument as _;

/// The response an application route produces, later.
pub type HttpFuture = Pin<Box<dyn Future<Output = http::Response<Vec<u8>>> + Send + 'static>>;

/// An application's own HTTP routes, served before the built-in ones (`/health`,
/// `/describe`, `/{Service}/{method}`). Register it with
/// [`ServerBuilder::http_routes`](crate::ServerBuilder::http_routes).
///
/// The server has already collected the request body under [`Limits::max_body`]
/// (`413` past it) and answers methods it does not implement (`501`) before asking. For a
/// `HEAD` request the server drops the body of the response the route returns, keeping its
/// `Content-Length`. A route that panics gets a `500`; the connection carries on.
///
/// [`Limits::max_body`]: crate::server::Limits::max_body
///
/// # Examples
///
/// ```
/// use rpc_runtime::http::{Method, Request, Response};
/// use rpc_runtime::server::{HttpContext, HttpFuture, HttpRoutes};
///
/// struct Hello;
///
/// impl HttpRoutes for Hello {
///     fn route(&self, request: Request<Vec<u8>>, ctx: HttpContext) -> Result<HttpFuture, Request<Vec<u8>>> {
///         if request.uri().path() != "/hello" || request.method() != Method::GET {
///             return Err(request); // not ours: the built-in routes answer
///         }
///         Ok(Box::pin(async move {
///             let body = format!("hello, {}\n", ctx.peer());
///             Response::builder()
///                 .header("content-type", "text/plain; charset=utf-8")
///                 .body(body.into_bytes())
///                 .expect("a valid response")
///         }))
///     }
/// }
///
/// let server = rpc_runtime::Server::builder()
///     .listen("tcp://127.0.0.1:0".parse()?)
///     .http_routes(Hello)
///     .bind()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait HttpRoutes: Send + Sync + 'static {
    /// Answers `request` if it is one of this application's routes: `Ok` with the future
    /// of the response, or `Err` with the request untouched to fall through to the built-in
    /// routes.
    ///
    /// # Errors
    ///
    /// `Err(request)` is not a failure: it hands the request back, meaning "not mine".
    #[allow(clippy::result_large_err)]
    fn route(
        &self,
        request: http::Request<Vec<u8>>,
        ctx: HttpContext,
    ) -> Result<HttpFuture, http::Request<Vec<u8>>>;
}

/// What an application route may use from the server: the client's address, and calls to
/// the served methods.
#[derive(Clone)]
pub struct HttpContext {
    shared: Arc<Shared>,
    peer: Peer,
    /// Calls this connection has running, held to `max_in_flight`.
    running: Arc<AtomicUsize>,
}

impl fmt::Debug for HttpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpContext")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl HttpContext {
    pub(super) fn new(shared: Arc<Shared>, peer: Peer) -> Self {
        HttpContext {
            shared,
            peer,
            running: Arc::default(),
        }
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The client at the other end of the connection.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Calls method `method_id` of a served service with `body` (the request's Wire
    /// bytes), as a binary request frame would: the same in-flight limit, the same
    /// [`current_peer`](crate::server::current_peer), a panic turned into an `internal`
    /// reply, the same statistics, and a reply larger than the frame limit turned into
    /// `resource exhausted`. An unknown id is `unknown method`.
    pub fn call(
        &self,
        method_id: u32,
        body: Vec<u8>,
    ) -> impl Future<Output = Reply> + Send + 'static {
        self.call_with_timeout(method_id, body, None)
    }

    /// [`call`](Self::call) with a deadline: past `timeout` the call is dropped and the
    /// reply is `deadline exceeded`.
    pub fn call_with_timeout(
        &self,
        method_id: u32,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Reply> + Send + 'static {
        let ctx = self.clone();
        async move { ctx.dispatch(method_id, &body, timeout).await }
    }

    async fn dispatch(&self, method_id: u32, body: &[u8], timeout: Option<Duration>) -> Reply {
        let limits = &self.shared.limits;
        let Some(entry) = self.shared.registry.get(method_id) else {
            return Reply::error(
                Status::UnknownMethod,
                format!("no method with id {method_id:#010x} is served here"),
            );
        };
        let running = Running::enter(&self.running);
        if running.count > limits.max_in_flight {
            return Reply::error(
                Status::ResourceExhausted,
                format!(
                    "too many calls in flight on this connection (limit {})",
                    limits.max_in_flight
                ),
            );
        }
        let mut calls = CallCount::new(Arc::clone(&self.shared.counters));
        calls.report(1);
        let named = Named::of(entry);
        // HTTP has no call ids; 0 names "the request on this connection".
        let span = named.span(0);
        let started = {
            let _entered = span.enter();
            guarded(self.peer, named, || entry.service.start(method_id, body))
        };
        let reply = match started {
            Ok(None) => Reply::error(
                Status::UnknownMethod,
                format!("no method with id {method_id:#010x} is served here"),
            ),
            Err(reply) => reply,
            Ok(Some(call)) => {
                let call = Guarded::new(call, self.peer, named).instrument(span);
                match timeout {
                    None => call.await,
                    Some(t) => {
                        call.or(async {
                            Timer::after(t).await;
                            Reply::error(
                                Status::DeadlineExceeded,
                                "the call's deadline passed on the server",
                            )
                        })
                        .await
                    }
                }
            }
        };
        if reply.body.len() > limits.max_body as usize {
            return Reply::error(
                Status::ResourceExhausted,
                format!(
                    "the reply of {} bytes exceeds the frame limit of {}",
                    reply.body.len(),
                    limits.max_body
                ),
            );
        }
        reply
    }
}

/// One call counted against a connection's in-flight limit while it lives.
struct Running<'a> {
    counter: &'a AtomicUsize,
    count: usize,
}

impl<'a> Running<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        let count = counter.fetch_add(1, Ordering::AcqRel) + 1;
        Running { counter, count }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An application route's future, polled with its peer as the current peer and its panics
/// caught: `None` when it panicked.
pub(super) struct Scoped {
    inner: Option<HttpFuture>,
    peer: Peer,
}

impl Scoped {
    pub(super) fn new(inner: HttpFuture, peer: Peer) -> Self {
        Scoped {
            inner: Some(inner),
            peer,
        }
    }
}

impl Future for Scoped {
    type Output = Option<http::Response<Vec<u8>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = with_peer(this.peer, || {
            catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)))
        });
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(response)) => {
                this.inner = None;
                Poll::Ready(Some(response))
            }
            Err(_) => {
                tracing::error!(peer = %this.peer, "an http route panicked; answering 500");
                this.inner = None;
                Poll::Ready(None)
            }
        }
    }
}
