//! One client connection shared by many calls, with no background task in the steady state.
//!
//! Writing: callers append their request frames to one buffer. The first caller to find nobody
//! writing takes the job, but first yields once, so that every other caller the executor has
//! ready appends its frame too; then it hands the whole buffer to the socket in one
//! non-blocking write. Only when the socket is full does a task take over the rest.
//!
//! Reading: the callers themselves read (leader/follower). One waiting caller at a time holds
//! the reader role: it reads whatever the socket has, completes every call the replies belong
//! to, and when its own reply is in, hands the role to another waiting caller. So replies are
//! parsed on the thread that polled the socket and callers are woken on their own executor.
//! Dropping a pending call removes its slot, sends a cancel frame and passes the role on.

use crate::Wire as _;
use crate::error::{RpcError, WireError};
use crate::frame::{self, FrameKind, Header, Status};
use crate::transport::Stream;
use smol::io::{AsyncRead, AsyncWriteExt as _};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The initial read buffer size, and the most read per syscall until a bigger frame needs more.
const READ_CHUNK: usize = 64 * 1024;

type Outcome = Result<(Status, Vec<u8>), RpcError>;

/// A connection shared by the calls of one client.
#[derive(Debug)]
pub(super) struct Conn {
    stream: Stream,
    state: Mutex<State>,
    next_id: AtomicU32,
    /// False once the connection is closed or the server sent goaway: new calls go elsewhere.
    usable: AtomicBool,
    max_frame: u32,
}

#[derive(Debug, Default)]
struct State {
    /// Frames not yet handed to the socket.
    out: Vec<u8>,
    /// An empty buffer kept for reuse, so steady traffic allocates no write buffers.
    spare: Vec<u8>,
    /// Whether a caller or task is writing `out`; one writer at a time.
    flushing: bool,
    /// Whether a caller holds the reader role (and with it `rbuf`).
    reading: bool,
    /// Bytes read and not yet parsed: `rbuf[..filled]`.
    rbuf: Vec<u8>,
    filled: usize,
    /// The stream handle the reader reads with. It carries the registration that wakes the
    /// reader, so it must outlive each read attempt rather than be cloned per read.
    rstream: Option<Stream>,
    calls: HashMap<u32, Slot>,
    /// Set once the connection is unusable; pending and new calls fail with it.
    closed: Option<RpcError>,
}

#[derive(Debug, Default)]
struct Slot {
    waker: Option<Waker>,
    done: Option<Outcome>,
}

/// What `PendingCall` still has to do about writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Someone else writes our frame.
    No,
    /// We write, after yielding once so other ready callers can queue their frames.
    Yield,
    /// We yielded; write now.
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
            next_id: AtomicU32::new(1),
            usable: AtomicBool::new(true),
            max_frame,
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
        let mut st = self.lock();
        if st.reading || !st.calls.is_empty() {
            return self.usable.load(Ordering::Acquire);
        }
        st.reading = true;
        drop(st);
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(()) = self.read_some(&mut cx) {}
        let mut st = self.lock();
        st.reading = false;
        drop(st);
        self.usable.load(Ordering::Acquire)
    }

    /// Marks the connection dead and fails every pending call with `error`.
    fn fail(&self, error: RpcError) {
        self.usable.store(false, Ordering::Release);
        let wakers: Vec<Waker> = {
            let mut st = self.lock();
            if st.closed.is_none() {
                st.closed = Some(error.clone());
            }
            st.calls
                .values_mut()
                .filter(|slot| slot.done.is_none())
                .filter_map(|slot| {
                    slot.done = Some(Err(error.clone()));
                    slot.waker.take()
                })
                .collect()
        };
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
        let mut id = self.next_id.fetch_add(1, Ordering::Relaxed);
        while id == 0 || st.calls.contains_key(&id) {
            id = self.next_id.fetch_add(1, Ordering::Relaxed);
        }
        let mut header = Header::new(kind, id);
        header.method = method;
        header.schema = schema;
        header.timeout_ms = timeout_ms;
        let start = st.out.len();
        let mut encoded = Ok(());
        frame::encode(&mut st.out, header, |out| encoded = encode(out));
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
        st.calls.insert(id, Slot::default());
        let flush = if st.flushing { Flush::No } else { Flush::Yield };
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
        loop {
            let buf = {
                let mut st = self.lock();
                if st.out.is_empty() {
                    st.flushing = false;
                    return;
                }
                let spare = std::mem::take(&mut st.spare);
                std::mem::replace(&mut st.out, spare)
            };
            match stream.try_write(&buf) {
                Ok(n) if n == buf.len() => self.recycle(buf),
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

    fn recycle(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut st = self.lock();
        if st.spare.capacity() < buf.capacity() {
            st.spare = buf;
        }
    }

    /// As the reader: reads once and handles every complete frame. `Ready` when something
    /// happened (bytes arrived, or the connection ended); `Pending` when the socket is empty,
    /// with `cx` registered to be woken when it is not.
    fn read_some(self: &Arc<Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (mut buf, mut filled, mut stream) = {
            let mut st = self.lock();
            if st.closed.is_some() {
                return Poll::Pending;
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
        let mut wakers = Vec::new();
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
                        format!("the server sent a bad frame: {e}"),
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
        for w in wakers {
            w.wake();
        }
        if let Some(e) = broken {
            self.fail(e);
        }
        if must_flush {
            self.flush();
        }
        Poll::Ready(())
    }

    /// Applies one frame from the server; `Ok(true)` when it was a ping to answer.
    fn on_frame(
        &self,
        st: &mut State,
        header: Header,
        body: &[u8],
        wakers: &mut Vec<Waker>,
    ) -> Result<bool, RpcError> {
        let outcome = match header.kind {
            FrameKind::Response => Ok((header.status, body.to_vec())),
            FrameKind::Pong => Ok((Status::Ok, body.to_vec())),
            FrameKind::Error => {
                let error = RpcError::new(header.status, String::from_utf8_lossy(body));
                if header.call_id == 0 {
                    // About the whole connection: the server is about to close it.
                    self.usable.store(false, Ordering::Release);
                    st.closed = Some(error.clone());
                    for slot in st.calls.values_mut().filter(|s| s.done.is_none()) {
                        slot.done = Some(Err(error.clone()));
                        wakers.extend(slot.waker.take());
                    }
                    return Ok(false);
                }
                Err(error)
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
        if let Some(slot) = st.calls.get_mut(&header.call_id) {
            slot.done = Some(outcome);
            wakers.extend(slot.waker.take());
        }
        Ok(false)
    }
}

async fn flush_later(conn: Arc<Conn>, mut buf: Vec<u8>, mut from: usize) {
    let mut stream = conn.stream.clone();
    loop {
        if let Err(e) = stream.write_all(&buf[from..]).await {
            conn.fail(RpcError::new(
                Status::Unavailable,
                format!("connection lost: {e}"),
            ));
            return;
        }
        conn.recycle(buf);
        let mut st = conn.lock();
        if st.out.is_empty() {
            st.flushing = false;
            return;
        }
        let spare = std::mem::take(&mut st.spare);
        buf = std::mem::replace(&mut st.out, spare);
        from = 0;
    }
}

/// A call whose frame is queued or sent; resolves to the server's reply.
#[derive(Debug)]
pub(super) struct PendingCall {
    conn: Arc<Conn>,
    id: u32,
    flush: Flush,
    /// Whether this call holds the reader role.
    reader: bool,
    finished: bool,
}

/// Gives up the reader role, if held, and returns the waker of a waiting call to take it over.
fn release_reader(reader: &mut bool, st: &mut State) -> Option<Waker> {
    if !std::mem::take(reader) {
        return None;
    }
    st.reading = false;
    st.calls
        .values_mut()
        .find(|s| s.done.is_none() && s.waker.is_some())
        .and_then(|s| s.waker.take())
}

impl Future for PendingCall {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.flush {
            Flush::Yield => {
                self.flush = Flush::Now;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Flush::Now => {
                self.flush = Flush::No;
                self.conn.flush();
            }
            Flush::No => {}
        }
        let this = &mut *self;
        loop {
            let mut st = this.conn.lock();
            let reading = st.reading;
            let outcome = match st.calls.get_mut(&this.id) {
                None => Some(Err(st.closed.clone().unwrap_or_else(|| {
                    RpcError::new(Status::Internal, "call slot vanished")
                }))),
                Some(slot) => match slot.done.take() {
                    Some(done) => Some(done),
                    None if reading && !this.reader => {
                        match &slot.waker {
                            Some(w) if w.will_wake(cx.waker()) => {}
                            _ => slot.waker = Some(cx.waker().clone()),
                        }
                        return Poll::Pending;
                    }
                    None => {
                        slot.waker = None;
                        None
                    }
                },
            };
            if let Some(done) = outcome {
                st.calls.remove(&this.id);
                let next = release_reader(&mut this.reader, &mut st);
                drop(st);
                if let Some(w) = next {
                    w.wake();
                }
                this.finished = true;
                return Poll::Ready(done);
            }
            // Nobody reads: this call does, until its own reply is in.
            st.reading = true;
            drop(st);
            this.reader = true;
            if this.conn.read_some(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let conn = Arc::clone(&self.conn);
        let mut st = conn.lock();
        let next = release_reader(&mut self.reader, &mut st);
        // The caller gave up (timeout, or the future was dropped): forget the call and tell
        // the server, so it can stop working on it.
        let replied = st.calls.remove(&self.id).is_some_and(|s| s.done.is_some());
        let mut must_flush = self.flush != Flush::No;
        if !replied && st.closed.is_none() {
            frame::encode(&mut st.out, Header::new(FrameKind::Cancel, self.id), |_| {});
            must_flush |= !st.flushing;
            st.flushing = true;
        }
        drop(st);
        if let Some(w) = next {
            w.wake();
        }
        if must_flush {
            conn.flush();
        }
    }
}
