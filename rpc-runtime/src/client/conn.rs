//! One client connection shared by many calls, with no background task in the steady state.
//!
//! Writing: callers append their request frames to one buffer. The first caller to find nobody
//! writing takes the job, but first yields once, so that every other caller the executor has
//! ready appends its frame too; then it hands the whole buffer to the socket in one
//! non-blocking write. A caller that is alone (no other call in flight, and the last write
//! carried a single request) writes at once: its yield would batch nothing, and costs a trip
//! through the executor, which wakes another executor thread. Only when the socket is full does a task take over the rest; while it
//! waits, it also reads whenever nobody else does, since the server may not read until its
//! own replies are taken.
//!
//! Reading: the callers themselves read (leader/follower). One waiting caller at a time holds
//! the reader role: it reads whatever the socket has, completes every call the replies belong
//! to, and when its own reply is in, hands the role to another waiting caller. So replies are
//! parsed on the thread that polled the socket and callers are woken on their own executor.
//! Dropping a pending call removes its slot, sends a cancel frame and passes the role on.
//! The rule that keeps every call live: whenever nobody holds the role, a waiting call has
//! been woken to take it (by whoever released it, or by a call dropped after being chosen).

mod body;
mod call;
mod calls;
mod flush;

pub(crate) use body::Body;

use call::PendingCall;

use crate::Wire as _;
use crate::error::{RpcError, WireError};
use crate::frame::{self, FrameKind, Header, Status};
use crate::transport::Stream;
use call::release_reader;
use calls::Calls;
use flush::flush_later;
use smol::io::AsyncRead;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The initial read buffer size, and the most read per syscall until a bigger frame needs more.
const READ_CHUNK: usize = 64 * 1024;

/// A call's outcome: `Ok` with the status of whatever the server answered (a response, a pong,
/// or an error frame about this call), `Err` when the connection failed first.
type Outcome = Result<(Status, Body), RpcError>;

thread_local! {
    /// The wakers of the calls one read completed, kept between reads.
    static SPARE_WAKERS: std::cell::Cell<Vec<Waker>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A connection shared by the calls of one client.
#[derive(Debug)]
pub(super) struct Conn {
    stream: Stream,
    state: Mutex<State>,
    /// False once the connection is closed or the server sent goaway: new calls go elsewhere.
    usable: AtomicBool,
    /// `state.calls.len()`, stored under the lock whenever it changes, so that a new call
    /// learns without the lock that calls are in flight (see `accepts_calls`).
    pending: AtomicUsize,
    max_frame: u32,
    /// Tests run this once, at the start of the next `read_some`, to act as another thread
    /// would at that moment.
    #[cfg(test)]
    before_read: tests::Hook,
}

#[derive(Debug, Default)]
struct State {
    /// Frames not yet handed to the socket.
    out: Vec<u8>,
    /// An empty buffer kept for reuse, so steady traffic allocates no write buffers.
    spare: Vec<u8>,
    /// Whether a caller or task is writing `out`; one writer at a time.
    flushing: bool,
    /// Requests queued in `out` since a writer last took it.
    queued: usize,
    /// Requests in the buffer a writer took last.
    last_batch: usize,
    /// Whether a caller holds the reader role (and with it `rbuf`).
    reading: bool,
    /// Bytes read and not yet parsed: `rbuf[..filled]`.
    rbuf: Vec<u8>,
    filled: usize,
    /// The stream handle the reader reads with. It carries the registration that wakes the
    /// reader, so it must outlive each read attempt rather than be cloned per read.
    rstream: Option<Stream>,
    /// The calls in flight, by id.
    calls: Calls,
    /// The flush task, when its write waits and another holds the reader role: woken to
    /// read when the role is free and no call wants it.
    flush_waker: Option<Waker>,
    /// Set once the connection is unusable; pending and new calls fail with it.
    closed: Option<RpcError>,
}

impl State {
    /// Takes the queued frames for a writer, leaving the spare buffer to queue into.
    fn take_out(&mut self) -> Vec<u8> {
        self.last_batch = std::mem::take(&mut self.queued);
        let spare = std::mem::take(&mut self.spare);
        std::mem::replace(&mut self.out, spare)
    }

    /// Keeps a written-out buffer as the spare, if it is larger than the one kept.
    fn keep_spare(&mut self, mut buf: Vec<u8>) {
        if self.spare.capacity() < buf.capacity() {
            buf.clear();
            self.spare = buf;
        }
    }
}

/// What `PendingCall` still has to do about writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Someone else writes our frame.
    No,
    /// We write, after yielding once so other ready callers can queue their frames.
    Yield,
    /// Write now: we yielded, or we are alone and yielding would batch nothing.
    Now,
}

impl Conn {
    /// Wraps a connected stream.
    pub(super) fn new(stream: Stream, max_frame: u32) -> Arc<Conn> {
        Arc::new(Conn {
            stream: stream.clone(),
            state: Mutex::new(State {
                rbuf: vec![0; READ_CHUNK],
                rstream: Some(stream),
                ..State::default()
            }),
            usable: AtomicBool::new(true),
            pending: AtomicUsize::new(0),
            max_frame,
            #[cfg(test)]
            before_read: tests::Hook::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements, so a panic elsewhere while holding
        // the lock does not leave it half-updated; recover the guard.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether new calls may use this connection. When nothing is in flight, first looks
    /// (without waiting) for what the server sent meanwhile: a close, an error or a goaway.
    pub(super) fn accepts_calls(self: &Arc<Self>) -> bool {
        if !self.usable.load(Ordering::Acquire) {
            return false;
        }
        // Calls in flight: whoever reads for them sees what the server sent. No lock needed.
        if self.pending.load(Ordering::Acquire) > 0 {
            return true;
        }
        let mut st = self.lock();
        if st.reading || !st.calls.is_empty() {
            return self.usable.load(Ordering::Acquire);
        }
        st.reading = true;
        drop(st);
        let mut cx = Context::from_waker(Waker::noop());
        // Read what is there, until the socket is empty or the connection ends.
        while self.usable.load(Ordering::Acquire) {
            if self.read_some(&mut cx).is_pending() {
                break;
            }
        }
        // A call may have started and found us reading meanwhile: it waits to be woken.
        let next = {
            let mut st = self.lock();
            st.reading = false;
            st.next_reader()
        };
        if let Some(w) = next {
            w.wake();
        }
        self.usable.load(Ordering::Acquire)
    }

    /// Whether the connection may still take calls, as far as is known without reading:
    /// false after a goaway, an error about the whole connection, or a failure.
    pub(super) fn is_usable(&self) -> bool {
        self.usable.load(Ordering::Acquire)
    }

    /// Marks the connection dead and fails every pending call with `error`.
    fn fail(&self, error: RpcError) {
        self.usable.store(false, Ordering::Release);
        let mut wakers = Vec::new();
        {
            let mut st = self.lock();
            if st.closed.is_none() {
                st.closed = Some(error.clone());
            }
            st.calls.fail_all(&error, &mut wakers);
        }
        for w in wakers {
            w.wake();
        }
        self.stream.shutdown();
    }

    /// Queues a frame for a new call and returns the future of its outcome.
    pub(super) fn start(
        self: &Arc<Self>,
        kind: FrameKind,
        method: u32,
        schema: u32,
        timeout_ms: u32,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), WireError>,
    ) -> Result<PendingCall, RpcError> {
        let mut st = self.lock();
        if let Some(e) = &st.closed {
            return Err(e.clone());
        }
        // The slot is taken only once the frame is queued: an encoder that fails (or panics)
        // leaves no call behind.
        let Some(id) = st.calls.vacant_id() else {
            return Err(RpcError::new(
                Status::ResourceExhausted,
                format!(
                    "{} calls are in flight on this connection already",
                    st.calls.len()
                ),
            ));
        };
        let mut header = Header::new(kind, id);
        header.method = method;
        header.schema = schema;
        header.timeout_ms = timeout_ms;
        let start = st.out.len();
        let mut encoded = Ok(());
        // The encoder is the caller's code and may panic halfway through the frame: take the
        // half-written bytes out again before the panic goes on, or every later frame on this
        // connection would be read behind them, as garbage.
        let framing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            frame::encode(&mut st.out, header, |out| encoded = encode(out));
        }));
        if let Err(panic) = framing {
            st.out.truncate(start);
            drop(st);
            std::panic::resume_unwind(panic);
        }
        let body_len = st.out.len() - start - Header::SIZE;
        let refused = match encoded {
            Err(e) => Some(format!("cannot encode the request: {e}")),
            Ok(()) if body_len > self.max_frame as usize => Some(format!(
                "the request of {body_len} bytes exceeds the frame limit of {}",
                self.max_frame
            )),
            Ok(()) => None,
        };
        if let Some(message) = refused {
            st.out.truncate(start);
            return Err(RpcError::new(Status::BadRequest, message));
        }
        let taken = st.calls.insert();
        debug_assert_eq!(taken, Some(id));
        self.pending.store(st.calls.len(), Ordering::Release);
        st.queued += 1;
        let flush = if st.flushing {
            Flush::No
        } else if st.calls.len() == 1 && st.last_batch <= 1 {
            Flush::Now
        } else {
            Flush::Yield
        };
        st.flushing = true;
        Ok(PendingCall {
            conn: Arc::clone(self),
            id,
            flush,
            reader: false,
            finished: false,
        })
    }

    /// Writes everything queued. The caller has set `flushing`; this clears it when done.
    fn flush(self: &Arc<Self>) {
        let mut stream = self.stream.clone();
        // The buffer just written, given back under the same lock that takes the next one.
        let mut written: Option<Vec<u8>> = None;
        loop {
            let buf = {
                let mut st = self.lock();
                if let Some(buf) = written.take() {
                    st.keep_spare(buf);
                }
                if st.out.is_empty() {
                    st.flushing = false;
                    return;
                }
                st.take_out()
            };
            match stream.try_write(&buf) {
                Ok(n) if n == buf.len() => written = Some(buf),
                Ok(n) => {
                    // The socket is full: a task finishes the job, so no caller waits on it.
                    smol::spawn(flush_later(Arc::clone(self), buf, n)).detach();
                    return;
                }
                Err(e) => {
                    self.fail(RpcError::new(
                        Status::Unavailable,
                        format!("connection lost: {e}"),
                    ));
                    return;
                }
            }
        }
    }

    fn recycle(&self, buf: Vec<u8>) {
        self.lock().keep_spare(buf);
    }

    /// As the reader: reads once and handles every complete frame. `Ready` when something
    /// happened (bytes arrived, or the connection ended, now or earlier); `Pending` when the
    /// socket is empty, with `cx` registered to be woken when it is not.
    fn read_some(self: &Arc<Self>, cx: &mut Context<'_>) -> Poll<()> {
        #[cfg(test)]
        self.before_read.run(self);
        let (mut buf, mut filled, mut stream) = {
            let mut st = self.lock();
            if st.closed.is_some() {
                // Another thread failed the connection (and with it every call) after the
                // caller last looked: its call is done, and nothing more will wake it.
                return Poll::Ready(());
            }
            let Some(stream) = st.rstream.take() else {
                return Poll::Pending;
            };
            (std::mem::take(&mut st.rbuf), st.filled, stream)
        };
        if filled == buf.len() {
            let limit = (Header::SIZE + self.max_frame as usize).max(READ_CHUNK);
            buf.resize((buf.len() * 2).min(limit), 0);
        }
        let read = Pin::new(&mut stream).poll_read(cx, &mut buf[filled..]);
        let put_back = |buf: Vec<u8>, stream: Stream| {
            let mut st = self.lock();
            st.rbuf = buf;
            st.rstream = Some(stream);
        };
        let n = match read {
            Poll::Pending => {
                put_back(buf, stream);
                return Poll::Pending;
            }
            Poll::Ready(Ok(0)) => {
                put_back(buf, stream);
                self.fail(RpcError::new(
                    Status::Unavailable,
                    "connection closed by the server",
                ));
                return Poll::Ready(());
            }
            Poll::Ready(Err(e)) => {
                put_back(buf, stream);
                self.fail(RpcError::new(
                    Status::Unavailable,
                    format!("connection lost: {e}"),
                ));
                return Poll::Ready(());
            }
            Poll::Ready(Ok(n)) => n,
        };
        filled += n;
        // A spare vector per thread: steady traffic allocates none per read.
        let mut wakers = SPARE_WAKERS.with(std::cell::Cell::take);
        let mut broken = None;
        let mut pong = false;
        let mut st = self.lock();
        let mut start = 0;
        loop {
            match frame::parse(&buf[start..filled], self.max_frame) {
                Ok(Some(parsed)) => {
                    let body = parsed.body(&buf[start..]);
                    match self.on_frame(&mut st, parsed.header, body, &mut wakers) {
                        Ok(reply_pong) => pong |= reply_pong,
                        Err(e) => {
                            broken = Some(e);
                            break;
                        }
                    }
                    start += parsed.len;
                }
                Ok(None) => break,
                Err(e) => {
                    broken = Some(RpcError::new(
                        Status::Internal,
                        format!("the server sent a bad frame: {}", crate::error::Chain(&e)),
                    ));
                    break;
                }
            }
        }
        buf.copy_within(start..filled, 0);
        st.filled = filled - start;
        st.rbuf = buf;
        st.rstream = Some(stream);
        let must_flush = pong && !st.flushing;
        st.flushing |= pong;
        drop(st);
        for w in wakers.drain(..) {
            w.wake();
        }
        SPARE_WAKERS.with(|spare| spare.set(wakers));
        if let Some(e) = broken {
            self.fail(e);
        }
        if must_flush {
            self.flush();
        }
        Poll::Ready(())
    }

    /// Applies one frame from the server; `Ok(true)` when it was a ping to answer, `Err` when
    /// the connection is to fail with it.
    fn on_frame(
        &self,
        st: &mut State,
        header: Header,
        body: &[u8],
        wakers: &mut Vec<Waker>,
    ) -> Result<bool, RpcError> {
        let outcome = match header.kind {
            FrameKind::Response if matches!(header.status, Status::Ok | Status::Application) => {
                Ok((header.status, Body::copy_of(body)))
            }
            FrameKind::Response => Err(RpcError::new(
                Status::Internal,
                format!(
                    "the server answered with a response of status {}",
                    header.status
                ),
            )),
            FrameKind::Pong => Ok((Status::Ok, Body::copy_of(body))),
            FrameKind::Error => {
                if header.call_id == 0 {
                    // About the whole connection: the server is about to close it. Fail it
                    // (every call, and the stream too, so that a write waiting on a full
                    // socket ends rather than waits, or spins, for a server that will not read).
                    return Err(RpcError::new(header.status, String::from_utf8_lossy(body)));
                }
                // The server's answer to this call: `Ok` with the status, so that the client
                // can tell it from a connection that failed (an `Err`), after which the call
                // may or may not have run.
                Ok((header.status, Body::copy_of(body)))
            }
            FrameKind::Goaway => {
                self.usable.store(false, Ordering::Release);
                return Ok(false);
            }
            FrameKind::Ping => {
                frame::encode_bytes(
                    &mut st.out,
                    Header::new(FrameKind::Pong, header.call_id),
                    body,
                );
                return Ok(true);
            }
            FrameKind::Request | FrameKind::Cancel => {
                return Err(RpcError::new(
                    Status::Internal,
                    format!(
                        "the server sent a {:?} frame, which only clients send",
                        header.kind
                    ),
                ));
            }
        };
        if let Some(slot) = st.calls.get_mut(header.call_id) {
            slot.done = Some(outcome);
            wakers.extend(slot.waker.take());
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests;
