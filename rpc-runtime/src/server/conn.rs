//! One server connection: read frames, dispatch calls, write replies, enforce limits.
//!
//! A connection is one task. It reads as much as the socket has, parses the complete frames
//! in the buffer, and starts each call by polling it once right there: a handler that finishes
//! at once costs no task, no channel and no thread hop. Calls that wait are spawned on the
//! connection's own executor (by default its thread's alone; the connection does not hold it,
//! see `server/pool.rs`) and report back over a channel. Replies collect in one buffer that
//! goes out in one write.
//!
//! A batch (frames handled between two writes) ends when the calls running plus the frames
//! handled reach `max_in_flight`, or the replies reach `write_budget`; the batch is written
//! before more frames are handled, and the connection reads nothing while a write waits for
//! a slow client. So a client that never reads costs at most one batch of memory, and is
//! closed when the write times out.
//!
//! This file holds the connection's state and its event loop; the rest is split by what a
//! reader looks for:
//!
//! - `read.rs`: parsing the frames in the read buffer, one batch at a time, and sizing that
//!   buffer;
//! - `dispatch.rs`: what each frame does: starting a call (inline, or as a task racing its
//!   deadline), `describe`, and framing a finished call's reply;
//! - `write.rs`: writing a batch of replies under the write timeout, and sizing that buffer.
//!
//! Handler panics and the caller's peer are handled in `server/call.rs`.

mod buffers;
mod dispatch;
mod read;
mod write;

use super::call::Peer;
use super::stats::CallCount;
use super::{ConnectionGuard, ShutdownHandle};
use crate::frame::{self, FrameKind, Header, Status};
use crate::ids::IdMap;
use crate::service::Reply;
use crate::transport::Stream;
use read::grow_read_buffer;
use smol::channel::{Receiver, Sender, unbounded};
use smol::future::FutureExt as _;
use smol::io::{AsyncRead, AsyncWriteExt as _};
use smol::stream::Stream as _;
use smol::{Task, Timer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

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
pub(crate) async fn serve(stream: Stream, shutdown: ShutdownHandle, guard: ConnectionGuard) {
    let (done_tx, done_rx) = unbounded();
    let calls = CallCount::new(Arc::clone(&guard.shared().counters));
    let mut conn = Conn {
        peer: Peer::of(&stream),
        stream,
        guard,
        calls,
        rbuf: Vec::new(),
        filled: 0,
        wbuf: Vec::new(),
        running: IdMap::default(),
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
    let span = tracing::debug_span!("connection", peer = %conn.peer);
    conn.run().instrument(span.clone()).await;
    if conn.http {
        let Conn {
            stream,
            mut rbuf,
            filled,
            guard,
            ..
        } = conn;
        rbuf.truncate(filled);
        rbuf.shrink_to_fit();
        super::http::serve(stream, rbuf, guard, shutdown)
            .instrument(span)
            .await;
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
    guard: ConnectionGuard,
    /// This connection's share of the server's calls in flight, brought up to date before
    /// every wait (once per batch, not per call).
    calls: CallCount,
    /// Bytes read and not yet parsed: `rbuf[..filled]`. Empty while the connection waits
    /// with nothing buffered (see `buffers.rs`).
    rbuf: Vec<u8>,
    filled: usize,
    /// Frames waiting to be written. Without capacity while the connection waits with
    /// nothing to write.
    wbuf: Vec<u8>,
    /// Calls that did not finish when first polled, by call id. Dropping a task cancels it.
    running: IdMap<Task<()>>,
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

    async fn wait(&mut self, can_read: bool, deadline: Instant) -> Event {
        self.calls.report(self.running.len());
        // Waiting with nothing buffered: the buffers go back to the thread.
        if self.filled == 0 && !self.rbuf.is_empty() {
            buffers::give_read(std::mem::take(&mut self.rbuf));
        }
        if self.wbuf.is_empty() && self.wbuf.capacity() > 0 {
            buffers::give_write(std::mem::take(&mut self.wbuf));
        }
        if can_read && self.rbuf.len() >= READ_CHUNK && self.filled == self.rbuf.len() {
            grow_read_buffer(&mut self.rbuf, self.guard.shared().limits.max_body);
        }
        if self.timer_at.is_none_or(|at| deadline < at) {
            self.timer.set_at(deadline);
            self.timer_at = Some(deadline);
        }
        let event = std::future::poll_fn(|cx| {
            if can_read {
                buffers::unpark_read(&mut self.rbuf, self.filled);
                let filled = self.filled;
                if let Poll::Ready(r) =
                    Pin::new(&mut self.stream).poll_read(cx, &mut self.rbuf[filled..])
                {
                    return Poll::Ready(Event::Read(r));
                }
                buffers::park_read(&mut self.rbuf, filled);
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
        .await;
        if self.wbuf.capacity() == 0 {
            self.wbuf = buffers::take_write();
        }
        event
    }
}

/// Appends an `Error` frame for `call_id` (0: the connection) with a UTF-8 message.
fn error_frame(out: &mut Vec<u8>, call_id: u32, status: Status, message: &str) {
    let mut header = Header::new(FrameKind::Error, call_id);
    header.status = status;
    frame::encode_bytes(out, header, message.as_bytes());
}

/// Appends a `Goaway` frame: calls up to `last_call` are still answered.
fn goaway(out: &mut Vec<u8>, last_call: u32, reason: &str) {
    frame::encode_bytes(
        out,
        Header::new(FrameKind::Goaway, last_call),
        reason.as_bytes(),
    );
}
