//! Dispatching a frame: requests start calls (polled once inline; a call that waits runs as
//! a task racing its deadline), `describe` answers from the registry, and every finished
//! call's reply is framed into the write buffer.

use super::{Conn, error_frame};
use crate::frame::{self, DESCRIBE, FrameKind, Header, Status};
use crate::server::call::{Guarded, Named, guarded};
use crate::server::pool;
use crate::service::{Reply, ReplySlot, Started};
use smol::Timer;
use smol::channel::Sender;
use smol::future::FutureExt as _;
use std::pin::pin;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

impl Conn {
    /// Does what one frame asks.
    pub(super) fn handle(&mut self, header: Header, body: &[u8]) {
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

    pub(super) fn request(&mut self, header: Header, body: &[u8]) {
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
        // Start and poll once right here: most handlers finish without waiting, and their
        // reply goes straight into the write buffer.
        let named = Named::of(entry);
        let span = named.span(id);
        let _entered = span.enter();
        let start = self.wbuf.len();
        let max_body = shared.limits.max_body;
        let wbuf = &mut self.wbuf;
        let started = guarded(self.peer, named, || {
            let mut out = ReplySlot::new(wbuf, id, max_body);
            entry.service.start_framed(header.method, body, &mut out)
        });
        // Only a call that finished leaves bytes behind: its reply. What a service wrote
        // before it panicked, waited or found no such method goes.
        let call = match started {
            Ok(Some(Started::Finished(_))) => return,
            Err(reply) => {
                self.wbuf.truncate(start);
                self.finish(id, reply);
                return;
            }
            Ok(None) => {
                self.wbuf.truncate(start);
                let message = format!("no method with id {:#010x} is served here", header.method);
                error_frame(&mut self.wbuf, id, Status::UnknownMethod, &message);
                return;
            }
            Ok(Some(Started::Waiting(call))) => {
                self.wbuf.truncate(start);
                Guarded::new(call, self.peer, named)
            }
        };
        let deadline = (header.timeout_ms > 0)
            .then(|| Instant::now() + Duration::from_millis(u64::from(header.timeout_ms)));
        // On the connection's executor: the one running this thread.
        let call = run_call(call, deadline, id, self.done_tx.clone()).instrument(span.clone());
        let Some(task) = pool::spawn(call) else {
            // Only the server's executors poll a connection, so not reached.
            let message = "the call cannot wait: no server executor runs this connection";
            error_frame(&mut self.wbuf, id, Status::Internal, message);
            return;
        };
        self.running.insert(id, task);
    }

    /// Frames the reply of a call that waited, or whose first poll panicked (a call that
    /// finished on its first poll framed its own). A reply over the frame limit becomes a
    /// `resource_exhausted` error (see [`ReplySlot`]).
    /// Calls answered inline were never in `running`; spawned ones are removed by the caller.
    pub(super) fn finish(&mut self, id: u32, reply: Reply) {
        let max_body = self.guard.shared().limits.max_body;
        ReplySlot::new(&mut self.wbuf, id, max_body).reply(reply);
    }
}

/// Runs a call that waited on its first poll, racing it against its deadline.
async fn run_call(call: Guarded, deadline: Option<Instant>, id: u32, done: Sender<(u32, Reply)>) {
    let reply = match deadline {
        Some(at) => {
            let call = pin!(call);
            call.or(async {
                Timer::at(at).await;
                Reply::error(
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
