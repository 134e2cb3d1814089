//! Running a handler on behalf of a connection: the caller's address in a thread-local while
//! the handler is polled, and a panic turned into an `internal` reply to that call alone.

use super::registry::Entry;
use crate::frame::Status;
use crate::service::{Call, Reply};
use core::fmt;
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Where a call came from: the other end of its connection.
///
/// Read it inside a handler with [`current_peer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Peer {
    /// A TCP client at this address.
    Tcp(SocketAddr),
    /// A client on a Unix domain socket. Such clients are usually unnamed, so every one of
    /// them looks the same; the socket file's permissions decide who may connect.
    Unix,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "tcp://{addr}"),
            Peer::Unix => f.write_str("unix"),
        }
    }
}

thread_local! {
    static CURRENT: Cell<Option<Peer>> = const { Cell::new(None) };
}

/// The peer of the call whose handler is running on this thread, or `None` outside one.
///
/// The server sets it around every poll of a handler's future, whether the call finishes on
/// its first poll or waits and runs as a task, and restores the previous value after. So it
/// is only meaningful inside a handler (and in code the handler calls on the same thread
/// during that poll); read it before the handler's first `.await` when in doubt, and keep
/// the value rather than reading it from work spawned elsewhere.
///
/// # Examples
///
/// ```
/// use rpc_runtime::server::{Peer, current_peer};
///
/// // A handler can key a rate limit by client address:
/// fn throttle_key(name: &str) -> String {
///     match current_peer() {
///         Some(Peer::Tcp(addr)) => format!("{name}@{}", addr.ip()),
///         _ => name.to_owned(),
///     }
/// }
/// assert_eq!(throttle_key("alice"), "alice"); // not inside a handler
/// ```
pub fn current_peer() -> Option<Peer> {
    CURRENT.with(Cell::get)
}

/// Runs `f` with [`current_peer`] returning `peer`, restoring the previous value after, even
/// when `f` unwinds.
pub(crate) fn with_peer<R>(peer: Peer, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Peer>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(peer))));
    f()
}

/// The service and method a call runs, for the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Named {
    service: &'static str,
    method: &'static str,
}

impl Named {
    pub(crate) fn of(entry: &Entry) -> Self {
        Named {
            service: entry.service_name,
            method: entry.schema.name,
        }
    }
}

/// Runs `f` (starting a handler or polling it) with `peer` as the current peer. A panic in
/// `f` is logged and becomes the `internal` reply the call gets instead; the caller must not
/// poll that call again.
///
/// `catch_unwind` costs nothing until something panics, so this wraps every poll.
pub(crate) fn guarded<R>(peer: Peer, named: Named, f: impl FnOnce() -> R) -> Result<R, Reply> {
    with_peer(peer, || catch_unwind(AssertUnwindSafe(f))).map_err(|payload| {
        tracing::error!(
            %peer,
            service = named.service,
            method = named.method,
            panic = panic_message(payload.as_ref()),
            "a handler panicked; the call is answered with an internal error"
        );
        Reply::status(Status::Internal, "the handler panicked")
    })
}

/// The text of a panic: what `panic!` was given, when it was a string.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(not a string)"
    }
}

/// A call that waited on its first poll, polled from its own task with its peer set and its
/// panics caught.
pub(crate) struct Guarded {
    call: Call,
    peer: Peer,
    named: Named,
}

impl Guarded {
    pub(crate) fn new(call: Call, peer: Peer, named: Named) -> Self {
        Guarded { call, peer, named }
    }
}

impl Future for Guarded {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let this = self.get_mut();
        let call = &mut this.call;
        guarded(this.peer, this.named, || call.as_mut().poll(cx)).unwrap_or_else(Poll::Ready)
    }
}
