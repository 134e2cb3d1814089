//! One client connection shared by many calls.
//!
//! Callers append their request frames to one buffer; the caller that finds nobody writing
//! writes the whole buffer at once, without blocking: if the socket is full, a task takes over
//! the rest. One reader task per connection parses replies and wakes the callers they belong
//! to. Dropping a pending call removes its slot and sends a cancel frame.

use crate::Wire as _;
use crate::error::{RpcError, WireError};
use crate::frame::{self, FrameKind, Header, Status};
use crate::transport::Stream;
use smol::Task;
use smol::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Bytes read per syscall at most, and the initial read buffer size.
const READ_CHUNK: usize = 64 * 1024;

type Outcome = Result<(Status, Vec<u8>), RpcError>;

/// A connection and its reader task; dropping the last handle stops the reader.
#[derive(Debug)]
pub(super) struct Conn {
    inner: Arc<Inner>,
    _reader: Task<()>,
}

#[derive(Debug)]
struct Inner {
    stream: Stream,
    state: Mutex<State>,
    next_id: AtomicU32,
}

#[derive(Debug, Default)]
struct State {
    /// Frames not yet handed to the socket.
    out: Vec<u8>,
    /// An empty buffer kept for reuse, so steady traffic allocates nothing.
    spare: Vec<u8>,
    /// Whether someone is writing `out`; only one writer at a time.
    flushing: bool,
    calls: HashMap<u32, Slot>,
    /// Set once the connection is unusable; new calls fail with this at once.
    closed: Option<RpcError>,
    /// The server sent goaway: finish what is pending, start nothing new here.
    goaway: bool,
}

#[derive(Debug, Default)]
struct Slot {
    waker: Option<Waker>,
    done: Option<Outcome>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the connection, so recover the guard.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the connection dead, fails every pending call with `error`, and closes the socket.
    fn fail(&self, error: RpcError) {
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
}

/// Writes `buf[from..]` without waiting; returns how far it got.
fn write_now(stream: &mut Stream, buf: &[u8], mut from: usize) -> std::io::Result<usize> {
    let mut cx = Context::from_waker(Waker::noop());
    while from < buf.len() {
        match Pin::new(&mut *stream).poll_write(&mut cx, &buf[from..]) {
            Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => from += n,
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(from)
}

/// Writes everything queued, starting with what is queued now. The caller has set `flushing`.
fn flush(inner: &Arc<Inner>) {
    let mut stream = inner.stream.clone();
    loop {
        let buf = {
            let mut st = inner.lock();
            if st.out.is_empty() {
                st.flushing = false;
                return;
            }
            let spare = std::mem::take(&mut st.spare);
            std::mem::replace(&mut st.out, spare)
        };
        match write_now(&mut stream, &buf, 0) {
            Ok(n) if n == buf.len() => recycle(inner, buf),
            Ok(n) => {
                // The socket is full: a task finishes the job so no caller ever waits on it.
                smol::spawn(flush_later(Arc::clone(inner), buf, n)).detach();
                return;
            }
            Err(e) => {
                inner.fail(RpcError::new(
                    Status::Unavailable,
                    format!("connection lost: {e}"),
                ));
                return;
            }
        }
    }
}

async fn flush_later(inner: Arc<Inner>, mut buf: Vec<u8>, mut from: usize) {
    let mut stream = inner.stream.clone();
    loop {
        if let Err(e) = stream.write_all(&buf[from..]).await {
            inner.fail(RpcError::new(
                Status::Unavailable,
                format!("connection lost: {e}"),
            ));
            return;
        }
        recycle(&inner, buf);
        let mut st = inner.lock();
        if st.out.is_empty() {
            st.flushing = false;
            return;
        }
        let spare = std::mem::take(&mut st.spare);
        buf = std::mem::replace(&mut st.out, spare);
        from = 0;
    }
}

fn recycle(inner: &Inner, mut buf: Vec<u8>) {
    buf.clear();
    let mut st = inner.lock();
    if st.spare.capacity() < buf.capacity() {
        st.spare = buf;
    }
}

impl Conn {
    /// Wraps a connected stream and starts its reader task.
    pub(super) fn start_reader(stream: Stream, max_frame: u32) -> Arc<Conn> {
        let inner = Arc::new(Inner {
            stream,
            state: Mutex::new(State::default()),
            next_id: AtomicU32::new(1),
        });
        let reader = smol::spawn(read_loop(Arc::clone(&inner), max_frame));
        Arc::new(Conn {
            inner,
            _reader: reader,
        })
    }

    /// Whether new calls may use this connection.
    pub(super) fn accepts_calls(&self) -> bool {
        let st = self.inner.lock();
        st.closed.is_none() && !st.goaway
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
        let mut st = self.inner.lock();
        if let Some(e) = &st.closed {
            return Err(e.clone());
        }
        let mut id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        while id == 0 || st.calls.contains_key(&id) {
            id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        }
        let mut header = Header::new(kind, id);
        header.method = method;
        header.schema = schema;
        header.timeout_ms = timeout_ms;
        let start = st.out.len();
        let mut encoded = Ok(());
        frame::encode(&mut st.out, header, |out| encoded = encode(out));
        if let Err(e) = encoded {
            st.out.truncate(start);
            return Err(RpcError::new(
                Status::BadRequest,
                format!("cannot encode the request: {e}"),
            ));
        }
        st.calls.insert(id, Slot::default());
        let must_flush = !st.flushing;
        st.flushing = true;
        drop(st);
        if must_flush {
            flush(&self.inner);
        }
        Ok(PendingCall {
            conn: Arc::clone(self),
            id,
            finished: false,
        })
    }
}

/// A call whose frame is queued or sent; resolves to the server's reply.
#[derive(Debug)]
pub(super) struct PendingCall {
    conn: Arc<Conn>,
    id: u32,
    finished: bool,
}

impl Future for PendingCall {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let id = self.id;
        let mut st = self.conn.inner.lock();
        let Some(slot) = st.calls.get_mut(&id) else {
            let e = st
                .closed
                .clone()
                .unwrap_or_else(|| RpcError::new(Status::Internal, "call slot vanished"));
            drop(st);
            self.finished = true;
            return Poll::Ready(Err(e));
        };
        if let Some(done) = slot.done.take() {
            st.calls.remove(&id);
            drop(st);
            self.finished = true;
            return Poll::Ready(done);
        }
        match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // The caller gave up (timeout, or the future was dropped): forget the call and tell
        // the server so it can stop working on it.
        let mut st = self.conn.inner.lock();
        let replied = st.calls.remove(&self.id).is_some_and(|s| s.done.is_some());
        if replied || st.closed.is_some() {
            return;
        }
        frame::encode(&mut st.out, Header::new(FrameKind::Cancel, self.id), |_| {});
        let must_flush = !st.flushing;
        st.flushing = true;
        drop(st);
        if must_flush {
            flush(&self.conn.inner);
        }
    }
}

async fn read_loop(inner: Arc<Inner>, max_frame: u32) {
    let mut stream = inner.stream.clone();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            let limit = (Header::SIZE + max_frame as usize).max(READ_CHUNK);
            let new_len = (buf.len() * 2).min(limit);
            buf.resize(new_len, 0);
        }
        let n = match stream.read(&mut buf[filled..]).await {
            Ok(0) => {
                inner.fail(RpcError::new(
                    Status::Unavailable,
                    "connection closed by the server",
                ));
                return;
            }
            Ok(n) => n,
            Err(e) => {
                inner.fail(RpcError::new(
                    Status::Unavailable,
                    format!("connection lost: {e}"),
                ));
                return;
            }
        };
        filled += n;
        let mut wakers = Vec::new();
        let mut start = 0;
        let mut broken = None;
        let mut pong = None;
        let mut must_flush = false;
        {
            let mut st = inner.lock();
            loop {
                match frame::parse(&buf[start..filled], max_frame) {
                    Ok(Some(parsed)) => {
                        let body = parsed.body(&buf[start..]);
                        if let Err(e) = on_frame(&mut st, parsed.header, body, &mut wakers) {
                            broken = Some(e);
                            break;
                        }
                        if parsed.header.kind == FrameKind::Ping {
                            pong = Some((parsed.header.call_id, body.to_vec()));
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
            if let Some((id, body)) = pong.take() {
                frame::encode_bytes(&mut st.out, Header::new(FrameKind::Pong, id), &body);
                must_flush = !st.flushing;
                st.flushing = true;
            }
        }
        for w in wakers {
            w.wake();
        }
        if must_flush {
            flush(&inner);
        }
        if let Some(e) = broken {
            inner.fail(e);
            return;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
    }
}

fn on_frame(
    st: &mut State,
    header: Header,
    body: &[u8],
    wakers: &mut Vec<Waker>,
) -> Result<(), RpcError> {
    let outcome = match header.kind {
        FrameKind::Response => Ok((header.status, body.to_vec())),
        FrameKind::Pong => Ok((Status::Ok, body.to_vec())),
        FrameKind::Error => {
            let error = RpcError::new(header.status, String::from_utf8_lossy(body));
            if header.call_id == 0 {
                // About the whole connection: the server is about to close it.
                st.closed = Some(error.clone());
                for slot in st.calls.values_mut().filter(|s| s.done.is_none()) {
                    slot.done = Some(Err(error.clone()));
                    wakers.extend(slot.waker.take());
                }
                return Ok(());
            }
            Err(error)
        }
        FrameKind::Goaway => {
            st.goaway = true;
            return Ok(());
        }
        FrameKind::Ping => return Ok(()),
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
    Ok(())
}
