//! hyper's I/O traits over our [`Stream`], with the bytes read while sniffing the protocol
//! replayed first, a write timeout, and the activity the connection's timeouts are judged by.

use crate::transport::Stream;
use hyper::rt::ReadBufCursor;
use smol::Timer;
use smol::io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

/// Most bytes taken from the socket per read. hyper's own buffer is no larger than the head
/// limit, so bigger reads would not fit anyway.
const READ_CHUNK: usize = 16 * 1024;

/// The socket as hyper sees it.
pub(super) struct Io {
    stream: Stream,
    /// What the server read before it knew the connection speaks HTTP; hyper reads it first.
    replay: Vec<u8>,
    replayed: usize,
    activity: Arc<Activity>,
    write_timeout: Duration,
    /// Armed when a write or flush first waits for the client to take bytes; disarmed when a
    /// flush completes (hyper flushes once a response is out).
    write_deadline: Option<Timer>,
}

impl Io {
    pub(super) fn new(
        stream: Stream,
        replay: Vec<u8>,
        activity: Arc<Activity>,
        write_timeout: Duration,
    ) -> Self {
        if !replay.is_empty() {
            activity.on_read();
        }
        Io {
            stream,
            replay,
            replayed: 0,
            activity,
            write_timeout,
            write_deadline: None,
        }
    }

    fn poll_write_deadline<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.write_timeout;
        let timer = self
            .write_deadline
            .get_or_insert_with(|| Timer::after(timeout));
        ready!(Pin::new(timer).poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client did not take its responses in time",
        )))
    }
}

impl hyper::rt::Read for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.replayed < this.replay.len() {
            let n = buf.remaining().min(this.replay.len() - this.replayed);
            buf.put_slice(&this.replay[this.replayed..this.replayed + n]);
            this.replayed += n;
            if this.replayed == this.replay.len() {
                this.replay = Vec::new();
                this.replayed = 0;
            }
            return Poll::Ready(Ok(()));
        }
        // hyper's cursor can only be filled safely from an initialised slice.
        let mut chunk = [0u8; READ_CHUNK];
        let want = buf.remaining().min(READ_CHUNK);
        let n = ready!(Pin::new(&mut this.stream).poll_read(cx, &mut chunk[..want]))?;
        buf.put_slice(&chunk[..n]);
        if n > 0 {
            this.activity.on_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Pending => this.poll_write_deadline(cx),
            ready => ready,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_flush(cx) {
            Poll::Pending => this.poll_write_deadline(cx),
            Poll::Ready(result) => {
                this.write_deadline = None;
                Poll::Ready(result)
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}

/// What a connection is doing, for its read and idle timeouts. hyper reads a request's head,
/// calls the service, writes the response, and only then reads the next head; the socket
/// adapter and the service report here, and the connection task turns this into a deadline.
#[derive(Debug)]
pub(super) struct Activity {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests handed to the service whose response has not been handed back to hyper.
    in_flight: usize,
    /// When the first bytes of a request head arrived, while no request is in flight.
    head_since: Option<Instant>,
    /// The last read, or the last response handed back.
    last: Instant,
    /// Whether bytes arrived after the request in flight had its whole body: the start of
    /// the next (pipelined) request.
    read_ahead: bool,
    /// Whether the request in flight has its whole body.
    body_done: bool,
}

/// Which timeout a connection with no request in flight is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// A request head has started; it must be complete by then.
    Head(Instant),
    /// Nothing is happening; the connection closes by then.
    Idle(Instant),
    /// A request is being served; its own limits apply.
    Busy,
}

impl Activity {
    pub(super) fn new() -> Self {
        Activity {
            state: Mutex::new(State {
                in_flight: 0,
                head_since: None,
                last: Instant::now(),
                read_ahead: false,
                body_done: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across code that can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_read(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        s.last = now;
        if s.in_flight == 0 {
            s.head_since.get_or_insert(now);
        } else if s.body_done {
            s.read_ahead = true;
        }
    }

    /// hyper parsed a head and called the service.
    pub(super) fn request_started(&self) {
        let mut s = self.lock();
        s.in_flight += 1;
        s.head_since = None;
        s.read_ahead = false;
        s.body_done = false;
        s.last = Instant::now();
    }

    /// The service has the whole request body.
    pub(super) fn body_done(&self) {
        self.lock().body_done = true;
    }

    /// The service handed its response back (see [`InFlight`]).
    fn request_finished(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        s.in_flight = s.in_flight.saturating_sub(1);
        s.last = now;
        if s.in_flight == 0 && s.read_ahead {
            s.head_since = Some(now);
        }
    }

    /// The deadline the connection is under now.
    pub(super) fn waiting(&self, read_timeout: Duration, idle_timeout: Duration) -> Waiting {
        let s = self.lock();
        match (s.in_flight, s.head_since) {
            (0, Some(t)) => Waiting::Head(t + read_timeout),
            (0, None) => Waiting::Idle(s.last + idle_timeout),
            _ => Waiting::Busy,
        }
    }
}

/// Marks a request as in flight until dropped: the service creates it and the response
/// body keeps it, so it drops when hyper is done with the response (or the connection is).
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl InFlight {
    pub(super) fn new(activity: Arc<Activity>) -> Self {
        activity.request_started();
        InFlight(activity)
    }

    pub(super) fn activity(&self) -> &Activity {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}
