//! One server connection: read frames, dispatch calls, write replies, enforce limits.
//!
//! A connection is one task. It reads as much as the socket has, parses every complete frame
//! in the buffer, and starts each call by polling it once right there: a handler that finishes
//! at once costs no task, no channel and no thread hop. Calls that wait are spawned and report
//! back over a channel. Replies collect in one buffer that goes out in one write.

use super::call::{Peer, PeerCall, with_peer};
use super::registry::DESCRIBE;
use super::stats::CallCount;
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
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Bytes read per syscall at most, and the initial read buffer size.
const READ_CHUNK: usize = 64 * 1024;

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
}

impl Conn {
    async fn run(&mut self) {
        let limits = self.guard.shared().limits.clone();
        let mut last_activity = Instant::now();
        let mut partial_since: Option<Instant> = None;
        loop {
            // Collect finished calls before parsing: parsing stops at `max_in_flight`, and a
            // slot freed after it would leave complete frames unparsed with nothing to wake us.
            while let Ok((id, reply)) = self.done_rx.try_recv() {
                self.running.remove(&id);
                self.finish(id, reply);
                last_activity = Instant::now();
            }
            self.process();
            if !self.wbuf.is_empty() && self.write_out(limits.read_timeout).await.is_err() {
                return;
            }
            if self.close || (self.draining.is_some() && self.running.is_empty()) {
                return;
            }

            // Keep reading while draining: new calls get `unavailable` at once and cancels
            // still stop calls. At `max_in_flight`, stop reading (backpressure).
            let can_read = self.running.len() < limits.max_in_flight;
            // Buffered bytes are a slow client's fault only while we wait for more of them;
            // under backpressure they may be whole frames waiting for a free slot.
            partial_since = match (self.filled > 0 && can_read, partial_since) {
                (true, Some(t)) => Some(t),
                (true, None) => Some(Instant::now()),
                (false, _) => None,
            };
            let deadline = if let Some(end) = self.draining {
                end
            } else if let Some(t) = partial_since {
                t + limits.read_timeout
            } else if self.running.is_empty() {
                last_activity + limits.idle_timeout
            } else {
                Instant::now() + limits.idle_timeout
            };

            match self.wait(can_read, deadline).await {
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
                        // The timer was armed for an earlier deadline that has since moved.
                        continue;
                    }
                    if self.draining.is_some() {
                        return;
                    }
                    if partial_since.is_some() {
                        let message = format!(
                            "read timeout: a partial frame waited more than {:?}",
                            limits.read_timeout
                        );
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
        Ok(())
    }

    async fn wait(&mut self, can_read: bool, deadline: Instant) -> Event {
        self.calls.report(self.running.len());
        if self.filled == self.rbuf.len() {
            // A frame larger than the buffer: grow up to the largest frame allowed.
            let limit = Header::SIZE + self.guard.shared().limits.max_frame as usize;
            let new_len = (self.rbuf.len() * 2).clamp(READ_CHUNK, limit.max(READ_CHUNK));
            self.rbuf.resize(new_len, 0);
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

    /// Parses and handles every complete frame in the read buffer.
    fn process(&mut self) {
        let max_frame = self.guard.shared().limits.max_frame;
        let max_in_flight = self.guard.shared().limits.max_in_flight;
        let rbuf = std::mem::take(&mut self.rbuf);
        let mut start = 0;
        while !self.close && self.running.len() < max_in_flight {
            match frame::parse(&rbuf[start..self.filled], max_frame) {
                Ok(Some(parsed)) => {
                    let body = parsed.body(&rbuf[start..]);
                    self.handle(parsed.header, body);
                    start += parsed.len;
                }
                Ok(None) => break,
                Err(error) => {
                    let status = match error {
                        FrameError::TooLarge { .. } => Status::ResourceExhausted,
                        _ => Status::BadRequest,
                    };
                    error_frame(&mut self.wbuf, 0, status, &error.to_string());
                    self.close = true;
                }
            }
        }
        self.rbuf = rbuf;
        self.rbuf.copy_within(start..self.filled, 0);
        self.filled -= start;
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
                error_frame(&mut self.wbuf, 0, Status::BadRequest, &message);
                self.close = true;
            }
        }
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
            error_frame(&mut self.wbuf, 0, Status::BadRequest, &message);
            self.close = true;
            return;
        }
        if header.method == DESCRIBE {
            let describe = self.guard.shared().registry.describe().to_vec();
            self.finish(
                id,
                Reply {
                    status: Status::Ok,
                    body: describe,
                },
            );
            return;
        }
        let Some(entry) = self.guard.shared().registry.get(header.method) else {
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
        let started = with_peer(self.peer, || {
            let mut call = entry.service.start(header.method, body)?;
            let mut cx = Context::from_waker(Waker::noop());
            Some(match call.as_mut().poll(&mut cx) {
                Poll::Ready(reply) => Err(reply),
                Poll::Pending => Ok(call),
            })
        });
        let call = match started {
            None => {
                let message = format!("no method with id {:#010x} is served here", header.method);
                error_frame(&mut self.wbuf, id, Status::UnknownMethod, &message);
                return;
            }
            Some(Err(reply)) => {
                self.finish(id, reply);
                return;
            }
            Some(Ok(call)) => PeerCall::new(call, self.peer),
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

/// Runs a call that waited on its first poll, racing it against its deadline.
async fn run_call(call: PeerCall, deadline: Option<Instant>, id: u32, done: Sender<(u32, Reply)>) {
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
