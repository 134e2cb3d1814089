//! One server connection: read frames, dispatch calls, write replies, enforce limits.
//!
//! A connection is one task. It reads as much as the socket has, parses the complete frames
//! in the buffer, and starts each call by polling it once right there: a handler that finishes
//! at once costs no task, no channel and no thread hop. Calls that wait are spawned and report
//! back over a channel. Replies collect in one buffer that goes out in one write.
//!
//! A batch (frames handled between two writes) ends when the calls running plus the frames
//! handled reach `max_in_flight`, or the replies reach `write_budget`; the batch is written
//! before more frames are handled, and the connection reads nothing while a write waits for
//! a slow client. So a client that never reads costs at most one batch of memory, and is
//! closed when the write times out.

use super::call::{Guarded, Named, Peer, guarded};
use super::registry::DESCRIBE;
use super::stats::{CallCount, Queued};
use super::{ConnectionGuard, ShutdownHandle};
use crate::Wire as _;
use crate::frame::{self, FrameError, FrameKind, Header, Status};
use crate::service::Reply;
use crate::transport::Stream;
use smol::channel::{Receiver, Sender, unbounded};
use smol::future::FutureExt as _;
use smol::io::{AsyncRead, AsyncWriteExt as _};
use smol::stream::Stream as _;
use smol::{Executor, Task, Timer};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The normal size of the read buffer (bytes read per syscall at most), and of the write
/// buffer. Both grow for large frames and shrink back once these are done.
const READ_CHUNK: usize = 64 * 1024;

/// How often a connection looks again whether the server-wide write budget has room.
const TOTAL_BUDGET_RETRY: Duration = Duration::from_millis(20);

/// Tells a connection over the limit why it is being closed.
pub(crate) async fn refuse(mut stream: Stream, guard: ConnectionGuard) {
    let mut out = Vec::new();
    let message = format!(
        "too many connections (limit {})",
        guard.shared().limits.max_connections
    );
    error_frame(&mut out, 0, Status::ResourceExhausted, &message);
    let _ = stream
        .write_all(&out)
        .or(async {
            Timer::after(Duration::from_secs(1)).await;
            Ok(())
        })
        .await;
    stream.shutdown();
}

/// Serves one connection until it closes, times out, or the server shuts down.
pub(crate) async fn serve(
    stream: Stream,
    ex: Arc<Executor<'static>>,
    shutdown: ShutdownHandle,
    guard: ConnectionGuard,
) {
    let (done_tx, done_rx) = unbounded();
    let calls = CallCount::new(Arc::clone(&guard.shared().counters));
    let mut conn = Conn {
        peer: stream.peer(),
        stream,
        ex,
        guard,
        calls,
        rbuf: vec![0; READ_CHUNK],
        filled: 0,
        wbuf: Vec::with_capacity(READ_CHUNK),
        running: HashMap::new(),
        done_tx,
        done_rx: Box::pin(done_rx),
        last_call: 0,
        draining: None,
        close: false,
        timer: Timer::never(),
        timer_at: None,
        stop: {
            let shutdown = shutdown.clone();
            Box::pin(async move { shutdown.wait().await })
        },
        sniffed: false,
        http: false,
        held: Held::No,
        partial_since: None,
    };
    conn.run().await;
    if conn.http {
        let Conn {
            stream,
            rbuf,
            filled,
            guard,
            ..
        } = conn;
        super::http::serve(stream.clone(), rbuf, filled, &guard, || {
            shutdown.is_shutdown()
        })
        .await;
        stream.shutdown();
        return;
    }
    conn.stream.shutdown();
}

/// What woke the connection up.
enum Event {
    Read(std::io::Result<usize>),
    Done(u32, Reply),
    Shutdown,
    Timeout,
}

/// Why the last batch stopped before handling every complete frame in the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// It did not: what is left is at most the start of a frame.
    No,
    /// The batch is full; write it, then go on.
    Batch,
    /// `max_in_flight` calls are running; wait for one to finish.
    Slots,
    /// The server-wide write budget is spent; look again shortly.
    Total,
}

struct Conn {
    stream: Stream,
    /// The client, as handlers see it through `current_peer`.
    peer: Peer,
    ex: Arc<Executor<'static>>,
    guard: ConnectionGuard,
    /// This connection's share of the server's calls in flight, brought up to date before
    /// every wait (once per batch, not per call).
    calls: CallCount,
    /// Bytes read and not yet parsed: `rbuf[..filled]`.
    rbuf: Vec<u8>,
    filled: usize,
    /// Frames waiting to be written.
    wbuf: Vec<u8>,
    /// Calls that did not finish when first polled, by call id. Dropping a task cancels it.
    running: HashMap<u32, Task<()>>,
    done_tx: Sender<(u32, Reply)>,
    done_rx: Pin<Box<Receiver<(u32, Reply)>>>,
    /// The highest call id seen, reported in goaway.
    last_call: u32,
    /// When shutting down: the moment the grace period ends.
    draining: Option<Instant>,
    /// Set when the connection must close once `wbuf` is written.
    close: bool,
    /// One timer for read, idle and grace deadlines, re-armed only when a deadline moves
    /// earlier or the timer fired: arming a timer per loop would cost a reactor round trip.
    timer: Timer,
    timer_at: Option<Instant>,
    /// Resolves when the server starts shutting down; created once per connection.
    stop: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Whether the first bytes have been looked at to choose the protocol.
    sniffed: bool,
    /// Set when they were HTTP: `run` returns and the connection is served as HTTP/1.1.
    http: bool,
    /// Why the last batch stopped early, if it did.
    held: Held,
    /// Since when the read buffer has held the start of a frame that is not complete yet.
    partial_since: Option<Instant>,
}

impl Conn {
    async fn run(&mut self) {
        let limits = self.guard.shared().limits.clone();
        let mut last_activity = Instant::now();
        loop {
            // Collect finished calls before parsing: parsing stops at `max_in_flight`, and a
            // slot freed after it would leave complete frames unparsed with nothing to wake us.
            while let Ok((id, reply)) = self.done_rx.try_recv() {
                self.running.remove(&id);
                self.finish(id, reply);
                last_activity = Instant::now();
            }
            self.process(&limits);
            if !self.wbuf.is_empty()
                && let Err(error) = self.write_out(limits.read_timeout).await
            {
                if error.kind() == std::io::ErrorKind::TimedOut {
                    tracing::info!(
                        peer = %self.peer,
                        timeout = ?limits.read_timeout,
                        "closing a connection that does not read its replies"
                    );
                }
                return;
            }
            if self.close || (self.draining.is_some() && self.running.is_empty()) {
                return;
            }

            // Keep reading while draining: new calls get `unavailable` at once and cancels
            // still stop calls. While frames are held back, read no more (backpressure).
            let mut wake = None;
            match self.held {
                Held::No => {}
                Held::Batch => continue,
                Held::Slots => {}
                Held::Total => wake = Some(Instant::now() + TOTAL_BUDGET_RETRY),
            }
            let can_read = self.held == Held::No;
            // Buffered bytes are a slow client's fault only while we wait for more of them;
            // when held back they may be whole frames waiting for their turn.
            if self.filled > 0 && can_read {
                self.partial_since.get_or_insert_with(Instant::now);
            } else {
                self.partial_since = None;
            }
            let deadline = if let Some(end) = self.draining {
                end
            } else if let Some(t) = self.partial_since {
                t + limits.read_timeout
            } else if self.running.is_empty() {
                last_activity + limits.idle_timeout
            } else {
                Instant::now() + limits.idle_timeout
            };

            let event = self
                .wait(can_read, wake.map_or(deadline, |w| w.min(deadline)))
                .await;
            match event {
                Event::Read(Ok(0)) | Event::Read(Err(_)) => return,
                Event::Read(Ok(n)) => {
                    self.filled += n;
                    last_activity = Instant::now();
                    if !self.sniffed {
                        self.sniffed = true;
                        if super::http::looks_like_http(&self.rbuf[..self.filled]) {
                            self.http = true;
                            return;
                        }
                    }
                }
                Event::Done(id, reply) => {
                    self.running.remove(&id);
                    self.finish(id, reply);
                    // Idleness starts when the last call ends, not when its request arrived.
                    last_activity = Instant::now();
                }
                Event::Shutdown => {
                    self.draining = Some(Instant::now() + limits.shutdown_grace);
                    goaway(&mut self.wbuf, self.last_call, "server shutting down");
                }
                Event::Timeout => {
                    if Instant::now() < deadline {
                        // A retry of the total budget, or the timer was armed for an earlier
                        // deadline that has since moved.
                        continue;
                    }
                    if self.draining.is_some() {
                        return;
                    }
                    if self.partial_since.is_some() {
                        let message = format!(
                            "read timeout: a partial frame waited more than {:?}",
                            limits.read_timeout
                        );
                        tracing::info!(peer = %self.peer, "closing a connection: {message}");
                        error_frame(&mut self.wbuf, 0, Status::BadRequest, &message);
                    } else if self.running.is_empty() {
                        goaway(&mut self.wbuf, self.last_call, "idle timeout");
                    } else {
                        continue;
                    }
                    self.close = true;
                }
            }
        }
    }

    /// Writes the pending frames: at once when the socket has room, else waiting at most
    /// `limit` for the client to take them.
    async fn write_out(&mut self, limit: Duration) -> std::io::Result<()> {
        let n = self.stream.try_write(&self.wbuf)?;
        if n < self.wbuf.len() {
            let _queued = Queued::new(&self.guard.shared().counters, self.wbuf.len() - n);
            let stream = &mut self.stream;
            let rest = &self.wbuf[n..];
            stream
                .write_all(rest)
                .or(async {
                    Timer::after(limit).await;
                    Err(std::io::ErrorKind::TimedOut.into())
                })
                .await?;
        }
        self.wbuf.clear();
        shrink_write_buffer(&mut self.wbuf);
        Ok(())
    }

    async fn wait(&mut self, can_read: bool, deadline: Instant) -> Event {
        self.calls.report(self.running.len());
        if can_read && self.filled == self.rbuf.len() {
            grow_read_buffer(&mut self.rbuf, self.guard.shared().limits.max_frame);
        }
        if self.timer_at.is_none_or(|at| deadline < at) {
            self.timer.set_at(deadline);
            self.timer_at = Some(deadline);
        }
        std::future::poll_fn(|cx| {
            if can_read {
                let filled = self.filled;
                if let Poll::Ready(r) =
                    Pin::new(&mut self.stream).poll_read(cx, &mut self.rbuf[filled..])
                {
                    return Poll::Ready(Event::Read(r));
                }
            }
            if !self.running.is_empty()
                && let Poll::Ready(Some((id, reply))) = self.done_rx.as_mut().poll_next(cx)
            {
                return Poll::Ready(Event::Done(id, reply));
            }
            if self.draining.is_none() && self.stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if Pin::new(&mut self.timer).poll(cx).is_ready() {
                self.timer_at = None;
                return Poll::Ready(Event::Timeout);
            }
            Poll::Pending
        })
        .await
    }

    /// Handles one batch of the complete frames in the read buffer: until the buffer holds
    /// no complete frame, or the batch is full (see the module docs).
    fn process(&mut self, limits: &super::Limits) {
        self.held = Held::No;
        if self.filled == 0 {
            return;
        }
        let queued = &self.guard.shared().counters.queued;
        if queued.load(Ordering::Relaxed) >= limits.total_write_budget {
            self.held = Held::Total;
            return;
        }
        let max_in_flight = limits.max_in_flight.max(1);
        let rbuf = std::mem::take(&mut self.rbuf);
        let mut start = 0;
        let mut batch = 0;
        while !self.close {
            if self.running.len() >= max_in_flight {
                self.held = Held::Slots;
                break;
            }
            if batch > 0
                && (self.running.len() + batch >= max_in_flight
                    || self.wbuf.len() >= limits.write_budget)
            {
                self.held = Held::Batch;
                break;
            }
            match frame::parse(&rbuf[start..self.filled], limits.max_frame) {
                Ok(Some(parsed)) => {
                    let body = parsed.body(&rbuf[start..]);
                    self.handle(parsed.header, body);
                    start += parsed.len;
                    batch += 1;
                }
                Ok(None) => break,
                Err(error) => {
                    let status = match error {
                        FrameError::TooLarge { .. } => Status::ResourceExhausted,
                        _ => Status::BadRequest,
                    };
                    tracing::info!(peer = %self.peer, %error, "closing a connection: bad frame");
                    error_frame(&mut self.wbuf, 0, status, &error.to_string());
                    self.close = true;
                }
            }
        }
        self.rbuf = rbuf;
        if start > 0 {
            self.rbuf.copy_within(start..self.filled, 0);
            self.filled -= start;
            // What is left starts a new frame: its clock starts now.
            self.partial_since = None;
            shrink_read_buffer(&mut self.rbuf, self.filled);
        }
    }

    fn handle(&mut self, header: Header, body: &[u8]) {
        match header.kind {
            FrameKind::Request => self.request(header, body),
            FrameKind::Cancel => {
                self.running.remove(&header.call_id);
            }
            FrameKind::Ping => {
                frame::encode_bytes(
                    &mut self.wbuf,
                    Header::new(FrameKind::Pong, header.call_id),
                    body,
                );
            }
            FrameKind::Pong => {}
            FrameKind::Response | FrameKind::Error | FrameKind::Goaway => {
                let message = format!("a client may not send {:?} frames", header.kind);
                self.violation(&message);
            }
        }
    }

    /// The client broke the protocol: tell it why on call id 0 and close.
    fn violation(&mut self, message: &str) {
        tracing::info!(peer = %self.peer, "closing a connection: {message}");
        error_frame(&mut self.wbuf, 0, Status::BadRequest, message);
        self.close = true;
    }

    fn request(&mut self, header: Header, body: &[u8]) {
        let id = header.call_id;
        self.last_call = self.last_call.max(id);
        if self.draining.is_some() {
            error_frame(
                &mut self.wbuf,
                id,
                Status::Unavailable,
                "server shutting down",
            );
            return;
        }
        if id == 0 || self.running.contains_key(&id) {
            // An answer on this id would be taken for the connection's or another call's,
            // so this is a broken client: say so on id 0 and close.
            let message = if id == 0 {
                "call id 0 is reserved for the connection".to_owned()
            } else {
                format!("call id {id} is already in use on this connection")
            };
            self.violation(&message);
            return;
        }
        let shared = self.guard.shared();
        if header.method == DESCRIBE {
            if body.is_empty() {
                frame::encode_bytes(
                    &mut self.wbuf,
                    Header::new(FrameKind::Response, id),
                    shared.registry.describe(),
                );
            } else {
                let message = format!(
                    "describe takes an empty request body, not {} bytes",
                    body.len()
                );
                error_frame(&mut self.wbuf, id, Status::BadRequest, &message);
            }
            return;
        }
        let Some(entry) = shared.registry.get(header.method) else {
            let message = format!("no method with id {:#010x} is served here", header.method);
            error_frame(&mut self.wbuf, id, Status::UnknownMethod, &message);
            return;
        };
        if header.schema != 0 && header.schema != entry.fingerprint {
            let message = format!(
                "schema mismatch on `{}.{}`: the client was built against different messages \
                 (client fingerprint {:#010x}, server {:#010x}; server formats: request {:?}, response {:?}, error {:?})",
                entry.service_name,
                entry.schema.name,
                header.schema,
                entry.fingerprint,
                entry.schema.request.describe(),
                entry.schema.response.describe(),
                entry.schema.error.describe(),
            );
            error_frame(&mut self.wbuf, id, Status::SchemaMismatch, &message);
            return;
        }
        // Start and poll once right here: most handlers finish without waiting.
        let named = Named::of(entry);
        let started = guarded(self.peer, named, || {
            let mut call = entry.service.start(header.method, body)?;
            let mut cx = Context::from_waker(Waker::noop());
            Some(match call.as_mut().poll(&mut cx) {
                Poll::Ready(reply) => Err(reply),
                Poll::Pending => Ok(call),
            })
        });
        let call = match started {
            Ok(None) => {
                let message = format!("no method with id {:#010x} is served here", header.method);
                error_frame(&mut self.wbuf, id, Status::UnknownMethod, &message);
                return;
            }
            Ok(Some(Err(reply))) | Err(reply) => {
                self.finish(id, reply);
                return;
            }
            Ok(Some(Ok(call))) => Guarded::new(call, self.peer, named),
        };
        let deadline = (header.timeout_ms > 0)
            .then(|| Instant::now() + Duration::from_millis(u64::from(header.timeout_ms)));
        let task = self
            .ex
            .spawn(run_call(call, deadline, id, self.done_tx.clone()));
        self.running.insert(id, task);
    }

    /// Frames a finished call's reply.
    /// Calls answered inline were never in `running`; spawned ones are removed by the caller.
    fn finish(&mut self, id: u32, mut reply: Reply) {
        let max_frame = self.guard.shared().limits.max_frame;
        if reply.body.len() > max_frame as usize {
            // The client would reject the frame and drop the connection with it; fail the
            // one call instead.
            reply = Reply::status(
                Status::ResourceExhausted,
                format!(
                    "the reply of {} bytes exceeds the frame limit of {max_frame}",
                    reply.body.len()
                ),
            );
        }
        match reply.status {
            Status::Ok | Status::Application => {
                let mut header = Header::new(FrameKind::Response, id);
                header.status = reply.status;
                frame::encode_bytes(&mut self.wbuf, header, &reply.body);
            }
            status => {
                let mut header = Header::new(FrameKind::Error, id);
                header.status = status;
                frame::encode_bytes(&mut self.wbuf, header, &reply.body);
            }
        }
    }
}

/// Makes room in a full read buffer, which holds the start of a frame larger than itself
/// (complete frames were parsed before): for all of that frame when its header is in (it was
/// checked against `max_frame` then), else twice the room.
fn grow_read_buffer(rbuf: &mut Vec<u8>, max_frame: u32) {
    let needed = rbuf
        .first_chunk::<{ Header::SIZE }>()
        .and_then(|head| frame::check_header(head, max_frame).ok())
        .map_or(0, |h| Header::SIZE + h.body_len as usize);
    let new_len = if needed > rbuf.len() {
        needed
    } else {
        let limit = Header::SIZE + max_frame as usize;
        (rbuf.len() * 2).min(limit.max(READ_CHUNK))
    };
    rbuf.resize(new_len, 0);
}

/// Once frames were consumed and at most `filled` bytes are left: gives the memory a large
/// frame needed back, so a connection does not keep it for its whole life.
fn shrink_read_buffer(rbuf: &mut Vec<u8>, filled: usize) {
    if rbuf.len() > READ_CHUNK && filled <= READ_CHUNK {
        rbuf.truncate(READ_CHUNK);
        rbuf.shrink_to_fit();
    }
}

/// After a write: drops the memory of a large reply or batch (a normal batch reuses its
/// buffer).
fn shrink_write_buffer(wbuf: &mut Vec<u8>) {
    if wbuf.is_empty() && wbuf.capacity() > 2 * READ_CHUNK {
        *wbuf = Vec::with_capacity(READ_CHUNK);
    }
}

/// Runs a call that waited on its first poll, racing it against its deadline.
async fn run_call(call: Guarded, deadline: Option<Instant>, id: u32, done: Sender<(u32, Reply)>) {
    let reply = match deadline {
        Some(at) => {
            let call = pin!(call);
            call.or(async {
                Timer::at(at).await;
                Reply::status(
                    Status::DeadlineExceeded,
                    "the call's deadline passed on the server",
                )
            })
            .await
        }
        None => call.await,
    };
    let _ = done.send((id, reply)).await;
}

fn error_frame(out: &mut Vec<u8>, call_id: u32, status: Status, message: &str) {
    let mut header = Header::new(FrameKind::Error, call_id);
    header.status = status;
    frame::encode_bytes(out, header, message.as_bytes());
}

fn goaway(out: &mut Vec<u8>, last_call: u32, reason: &str) {
    frame::encode_bytes(
        out,
        Header::new(FrameKind::Goaway, last_call),
        reason.as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_FRAME: u32 = 1 << 20;

    /// A read buffer of `len` bytes that starts with a ping of `body` bytes.
    fn buffer_with_ping(len: usize, body: u32) -> Vec<u8> {
        let mut header = Header::new(FrameKind::Ping, 1);
        header.body_len = body;
        let mut rbuf = vec![0; len];
        header.pack_into(&mut rbuf[..Header::SIZE]).unwrap();
        rbuf
    }

    #[test]
    fn read_buffer_grows_to_the_frame_then_shrinks_back() {
        let mut rbuf = buffer_with_ping(READ_CHUNK, MAX_FRAME);
        grow_read_buffer(&mut rbuf, MAX_FRAME);
        assert_eq!(rbuf.len(), Header::SIZE + MAX_FRAME as usize);
        // The frame was consumed and the start of a small one is left.
        shrink_read_buffer(&mut rbuf, 10);
        assert_eq!(rbuf.len(), READ_CHUNK);
        assert_eq!(rbuf.capacity(), READ_CHUNK);
    }

    #[test]
    fn read_buffer_keeps_a_large_frame_in_progress() {
        let mut rbuf = vec![0; 4 * READ_CHUNK];
        shrink_read_buffer(&mut rbuf, READ_CHUNK + 1);
        assert_eq!(rbuf.len(), 4 * READ_CHUNK);
        let mut normal = vec![0; READ_CHUNK];
        shrink_read_buffer(&mut normal, 0);
        assert_eq!(normal.len(), READ_CHUNK);
    }

    #[test]
    fn read_buffer_without_a_whole_header_doubles() {
        let mut rbuf = vec![0; READ_CHUNK];
        rbuf[..2].copy_from_slice(&crate::frame::MAGIC.to_be_bytes());
        rbuf[2] = 0xff; // not a header the server accepts: fall back to doubling
        grow_read_buffer(&mut rbuf, MAX_FRAME);
        assert_eq!(rbuf.len(), 2 * READ_CHUNK);
    }

    #[test]
    fn write_buffer_shrinks_after_a_large_batch_only() {
        let mut wbuf = Vec::with_capacity(READ_CHUNK);
        wbuf.resize(READ_CHUNK, 1);
        wbuf.clear();
        shrink_write_buffer(&mut wbuf);
        assert!(wbuf.capacity() >= READ_CHUNK);
        let mut big = vec![1; 8 * READ_CHUNK];
        big.clear();
        shrink_write_buffer(&mut big);
        assert!(big.capacity() < 2 * READ_CHUNK, "{}", big.capacity());
    }
}
