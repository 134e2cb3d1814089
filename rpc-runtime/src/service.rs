//! The server-side face of a service: what `#[service]` generates and the server dispatches to.

use crate::frame::{self, EncodeFailed, FrameKind, Header};
use crate::message::Message;
use crate::schema::ServiceSchema;
use crate::status::Status;
use crate::wire::WireError;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// A call in progress: resolves to the reply the server sends back.
pub type Call = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// The outcome of one call, ready to be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `Ok` (body: the response), `Application` (body: the service's error), or a runtime
    /// status (body: a UTF-8 message).
    pub status: Status,
    /// The encoded body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A failure with a runtime `status` and a message for people, sent in an `Error` frame.
    ///
    /// # Examples
    ///
    /// ```
    /// use rpc_runtime::{Reply, Status};
    ///
    /// let reply = Reply::error(Status::Unavailable, "maintenance until 04:00");
    /// assert_eq!(reply.status, Status::Unavailable);
    /// assert_eq!(reply.body, b"maintenance until 04:00");
    /// ```
    pub fn error(status: Status, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: message.into().into_bytes(),
        }
    }

    /// The reply for a handler's result.
    pub fn from_result<T: Message, E: Message>(result: Result<T, E>) -> Reply {
        let mut body = Vec::new();
        let (status, encoded) = match &result {
            Ok(value) => (Status::Ok, value.encode(&mut body)),
            Err(error) => (Status::Application, error.encode(&mut body)),
        };
        match encoded {
            Ok(()) => Reply { status, body },
            Err(e) => cannot_encode(&e),
        }
    }
}

/// The reply that stands in for one whose body could not be encoded.
fn cannot_encode(error: &WireError) -> Reply {
    Reply::error(
        Status::Internal,
        format!("cannot encode the reply: {error}"),
    )
}

/// The reply that stands in for one whose body of `len` bytes exceeds the frame limit: the
/// client would reject that frame and drop the connection with it, so the one call fails.
fn too_large(len: usize, max_body: u32) -> Reply {
    Reply::error(
        Status::ResourceExhausted,
        format!("the reply of {len} bytes exceeds the frame limit of {max_body}"),
    )
}

/// Where the reply of a call that finishes at once goes: the end of the connection's write
/// buffer, as one complete frame for the call.
///
/// The server makes one per call and hands it to [`Service::start_framed`]; a service writes
/// its reply with [`ReplySlot::reply`]. Writing again replaces what was written before, and
/// the reply is checked as every reply is: a body over the connection's frame limit is sent
/// as a `resource_exhausted` error instead.
pub struct ReplySlot<'a> {
    out: &'a mut Vec<u8>,
    /// Where this call's frame starts in `out`.
    start: usize,
    call_id: u32,
    max_body: u32,
}

impl fmt::Debug for ReplySlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplySlot")
            .field("call_id", &self.call_id)
            .field("written", &self.out.len().saturating_sub(self.start))
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl<'a> ReplySlot<'a> {
    /// A slot for call `call_id`'s frame, appended to `out`, with bodies up to `max_body`.
    pub(crate) fn new(out: &'a mut Vec<u8>, call_id: u32, max_body: u32) -> Self {
        let start = out.len();
        ReplySlot {
            out,
            start,
            call_id,
            max_body,
        }
    }

    /// Frames `reply` as the call's answer: a `Response` frame for `Ok` and `Application`,
    /// an `Error` frame for any other status.
    pub fn reply(&mut self, reply: Reply) -> Replied {
        self.out.truncate(self.start);
        let reply = if reply.body.len() > self.max_body as usize {
            too_large(reply.body.len(), self.max_body)
        } else {
            reply
        };
        let kind = match reply.status {
            Status::Ok | Status::Application => FrameKind::Response,
            _ => FrameKind::Error,
        };
        let mut header = Header::new(kind, self.call_id);
        header.status = reply.status;
        frame::encode_bytes(self.out, header, &reply.body);
        Replied(())
    }

    /// Frames a handler's result, encoding its response or error straight into the frame:
    /// the bytes [`ReplySlot::reply`] would write for [`Reply::from_result`], without the
    /// reply's own vector.
    pub(crate) fn result<T: Message, E: Message>(&mut self, result: &Result<T, E>) -> Replied {
        self.out.truncate(self.start);
        let mut header = Header::new(FrameKind::Response, self.call_id);
        header.status = match result {
            Ok(_) => Status::Ok,
            Err(_) => Status::Application,
        };
        let encoded = frame::encode_within(self.out, header, self.max_body, |out| match result {
            Ok(value) => value.encode(out),
            Err(error) => error.encode(out),
        });
        match encoded {
            Ok(()) => Replied(()),
            Err(EncodeFailed::TooLarge(len)) => self.reply(too_large(len, self.max_body)),
            Err(EncodeFailed::Body(e)) => self.reply(cannot_encode(&e)),
        }
    }
}

/// Proof that a call's reply was framed in its [`ReplySlot`]: only the slot makes one
/// ([`ReplySlot::reply`]), and [`Started::Finished`] carries it, so a service cannot say it
/// finished a call without answering it.
#[derive(Debug)]
pub struct Replied(());

/// How a call stands after [`Service::start_framed`] started it and polled it once.
pub enum Started {
    /// It finished: its reply is in the [`ReplySlot`].
    Finished(Replied),
    /// It waits for something: the server runs it as a task, racing the caller's deadline,
    /// and frames its reply when it resolves. The first poll's waker does nothing; the task
    /// polls the call again at once, with a waker that works.
    Waiting(Call),
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Started::Finished(_) => f.write_str("Finished"),
            Started::Waiting(_) => f.write_str("Waiting"),
        }
    }
}

/// A service the server can dispatch calls to. `#[service]` implements it for `Serve{Trait}`.
pub trait Service: Send + Sync + 'static {
    /// The service's schema.
    fn schema(&self) -> &'static ServiceSchema;

    /// Decodes `body` and starts method `method`, or returns `None` when the service has no
    /// method with that id.
    fn start(&self, method: u32, body: &[u8]) -> Option<Call>;

    /// Starts method `method` like [`Service::start`] and polls the call once: when it
    /// finishes on that poll its reply is framed into `out` ([`Started::Finished`]), else the
    /// call is handed back to be run ([`Started::Waiting`]). Returns `None` when the service
    /// has no method with that id.
    ///
    /// The server's binary protocol starts every call this way; HTTP uses `start`. The
    /// default calls `start`, polls the call and frames its [`Reply`], so a service that
    /// implements only `start` behaves exactly as before. `#[service]` overrides it to encode
    /// a response or error straight into the connection's write buffer, without a `Reply`
    /// vector in between. Whatever is in `out` when this panics or returns anything but
    /// `Finished` is discarded: a panic is answered with an `internal` error.
    ///
    /// # Examples
    ///
    /// A service that wraps another one forwards both methods, so that the inner service's
    /// calls keep their fast path (one that forwards only `start` gets the default above):
    ///
    /// ```
    /// use rpc_runtime::schema::ServiceSchema;
    /// use rpc_runtime::service::{Call, ReplySlot, Service, Started};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// /// Counts the calls started on the service it wraps.
    /// struct Counted<S> {
    ///     inner: S,
    ///     started: AtomicU64,
    /// }
    ///
    /// impl<S: Service> Service for Counted<S> {
    ///     fn schema(&self) -> &'static ServiceSchema {
    ///         self.inner.schema()
    ///     }
    ///
    ///     fn start(&self, method: u32, body: &[u8]) -> Option<Call> {
    ///         self.started.fetch_add(1, Ordering::Relaxed);
    ///         self.inner.start(method, body)
    ///     }
    ///
    ///     fn start_framed(&self, method: u32, body: &[u8], out: &mut ReplySlot<'_>) -> Option<Started> {
    ///         self.started.fetch_add(1, Ordering::Relaxed);
    ///         self.inner.start_framed(method, body, out)
    ///     }
    /// }
    /// ```
    fn start_framed(&self, method: u32, body: &[u8], out: &mut ReplySlot<'_>) -> Option<Started> {
        let mut call = self.start(method, body)?;
        Some(
            match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(reply) => Started::Finished(out.reply(reply)),
                Poll::Pending => Started::Waiting(call),
            },
        )
    }
}

/// The reply to a request that did not decode.
fn undecodable(error: &WireError) -> Reply {
    Reply::error(
        Status::BadRequest,
        format!("cannot decode the request: {error}"),
    )
}

/// A call that fails at once because its request did not decode.
#[doc(hidden)]
pub fn bad_request(error: WireError) -> Call {
    Box::pin(core::future::ready(undecodable(&error)))
}

/// [`bad_request`] for [`Service::start_framed`]: the error reply, framed at once.
#[doc(hidden)]
pub fn bad_request_framed(out: &mut ReplySlot<'_>, error: &WireError) -> Started {
    Started::Finished(out.reply(undecodable(error)))
}

/// Boxes a handler's future and polls it once, for [`Service::start_framed`]: a result on
/// that poll is encoded straight into `out`; a future that waits becomes a [`Call`] that
/// turns its result into a [`Reply`] when it resolves.
///
/// The future is boxed before its first poll because a future that waits cannot move after
/// it was polled, and whether it waits is known only by polling it.
#[doc(hidden)]
pub fn start_boxed<T, E, F>(out: &mut ReplySlot<'_>, handler: F) -> Started
where
    T: Message,
    E: Message,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let mut handler = Box::pin(handler);
    match handler
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => framed_result(out, result),
        Poll::Pending => Started::Waiting(Box::pin(Replying { handler })),
    }
}

/// Frames the result of a `#[service]` method declared as a plain `fn`, for
/// [`Service::start_framed`]: the handler has already run, so the call is over and its
/// response or error is encoded straight into `out`. No future, no box.
#[doc(hidden)]
#[inline]
pub fn framed_result<T: Message, E: Message>(
    out: &mut ReplySlot<'_>,
    result: Result<T, E>,
) -> Started {
    Started::Finished(out.result(&result))
}

/// The result of a `#[service]` method declared as a plain `fn` as a call that is already
/// over, for [`Service::start`]: its first poll gives the [`Reply`].
#[doc(hidden)]
pub fn ready_result<T: Message, E: Message>(result: Result<T, E>) -> Call {
    Box::pin(core::future::ready(Reply::from_result(result)))
}

/// A handler's future that waited on its first poll, resolving to its [`Reply`].
struct Replying<F> {
    handler: Pin<Box<F>>,
}

impl<T, E, F> Future for Replying<F>
where
    T: Message,
    E: Message,
    F: Future<Output = Result<T, E>>,
{
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        self.handler.as_mut().poll(cx).map(Reply::from_result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;
    use crate::message::Shape;
    use crate::wire::Wire;

    /// Bytes a connection wrote before this call's reply: they must survive it.
    const EARLIER: &[u8] = b"earlier frames";

    /// `f(slot)` on a buffer that already holds [`EARLIER`], checked to keep them; returns
    /// what the slot appended.
    fn framed(max_body: u32, f: impl FnOnce(&mut ReplySlot<'_>) -> Replied) -> Vec<u8> {
        let mut out = EARLIER.to_vec();
        let _: Replied = f(&mut ReplySlot::new(&mut out, 7, max_body));
        assert_eq!(
            &out[..EARLIER.len()],
            EARLIER,
            "earlier frames were touched"
        );
        out.split_off(EARLIER.len())
    }

    /// The frame for call 7 that [`ReplySlot::reply`] writes for `reply`.
    fn via_reply(max_body: u32, reply: Reply) -> Vec<u8> {
        framed(max_body, |slot| slot.reply(reply))
    }

    /// A message whose encoding writes a few bytes, then fails.
    struct Unencodable;

    impl Message for Unencodable {
        const SHAPE: Shape = Shape::Unit;

        fn encode(&self, out: &mut Vec<u8>) -> crate::WireResult<()> {
            out.extend_from_slice(b"half");
            Err(WireError::CountTooLarge {
                count: 1,
                available: 0,
                offset: 0,
            })
        }

        fn decode(_: &[u8]) -> crate::WireResult<Self> {
            Ok(Unencodable)
        }
    }

    fn header(call_id: u32) -> Header {
        Header::new(FrameKind::Ping, call_id)
    }

    #[test]
    fn a_result_is_framed_as_its_reply_would_be() {
        let max = 1 << 20;
        let ok: Result<Header, FrameKind> = Ok(header(3));
        let bytes = framed(max, |slot| slot.result(&ok));
        assert_eq!(bytes, via_reply(max, Reply::from_result(ok)));
        assert_eq!(bytes.len(), Header::SIZE * 2);
        assert_eq!(bytes[3], FrameKind::Response as u8);

        let app: Result<Header, FrameKind> = Err(FrameKind::Goaway);
        let bytes = framed(max, |slot| slot.result(&app));
        assert_eq!(bytes, via_reply(max, Reply::from_result(app)));
        let parsed = frame::parse(&bytes, max).unwrap().unwrap();
        assert_eq!(parsed.header.status, Status::Application);
        assert_eq!(parsed.header.call_id, 7);
        assert_eq!(parsed.body(&bytes), [FrameKind::Goaway as u8]);

        let list: Result<Vec<Header>, ()> = Ok(vec![header(1), header(2)]);
        let bytes = framed(max, |slot| slot.result(&list));
        assert_eq!(bytes, via_reply(max, Reply::from_result(list)));
        assert_eq!(bytes.len(), Header::SIZE + 4 + 2 * Header::SIZE);
    }

    #[test]
    fn a_result_over_the_frame_limit_is_answered_resource_exhausted() {
        let max = 2 * Header::SIZE as u32; // a list of two needs 4 bytes more
        let list: Result<Vec<Header>, ()> = Ok(vec![header(1), header(2)]);
        let bytes = framed(max, |slot| slot.result(&list));
        assert_eq!(bytes, via_reply(max, Reply::from_result(list)));
        let parsed = frame::parse(&bytes, max).unwrap().unwrap();
        assert_eq!(parsed.len, bytes.len(), "something else was left behind");
        assert_eq!(parsed.header.kind, FrameKind::Error);
        assert_eq!(parsed.header.status, Status::ResourceExhausted);
        let text = String::from_utf8_lossy(parsed.body(&bytes)).into_owned();
        assert_eq!(text, "the reply of 60 bytes exceeds the frame limit of 56");

        // Exactly at the limit is fine.
        let one: Result<Vec<Header>, ()> = Ok(vec![header(1)]);
        let max = (4 + Header::SIZE) as u32;
        let bytes = framed(max, |slot| slot.result(&one));
        assert_eq!(
            frame::parse(&bytes, max).unwrap().unwrap().header.kind,
            FrameKind::Response
        );
    }

    #[test]
    fn a_result_that_does_not_encode_is_answered_internal() {
        let max = 1 << 20;
        let result: Result<Unencodable, ()> = Ok(Unencodable);
        let bytes = framed(max, |slot| slot.result(&result));
        assert_eq!(bytes, via_reply(max, Reply::from_result(result)));
        let parsed = frame::parse(&bytes, max).unwrap().unwrap();
        assert_eq!(
            parsed.len,
            bytes.len(),
            "the half-encoded body was left behind"
        );
        assert_eq!(parsed.header.status, Status::Internal);
        let text = String::from_utf8_lossy(parsed.body(&bytes)).into_owned();
        assert!(text.starts_with("cannot encode the reply: "), "{text}");
    }

    #[test]
    fn a_second_reply_replaces_the_first() {
        let max = 1 << 20;
        let bytes = framed(max, |slot| {
            let _ = slot.reply(Reply::error(Status::Unavailable, "first"));
            slot.reply(Reply::error(Status::Internal, "second"))
        });
        assert_eq!(
            bytes,
            via_reply(max, Reply::error(Status::Internal, "second"))
        );
    }

    #[test]
    fn a_boxed_handler_frames_at_once_or_waits_without_writing() {
        let max = 1 << 20;
        let mut out = EARLIER.to_vec();
        let mut slot = ReplySlot::new(&mut out, 7, max);
        let at_once = start_boxed(&mut slot, async { Ok::<_, ()>(header(5)) });
        assert!(matches!(at_once, Started::Finished(_)));
        assert_eq!(
            out[EARLIER.len()..],
            via_reply(max, Reply::from_result(Ok::<_, ()>(header(5))))
        );

        let mut out = EARLIER.to_vec();
        let mut slot = ReplySlot::new(&mut out, 7, max);
        let later = start_boxed(&mut slot, async {
            let mut yielded = false;
            core::future::poll_fn(|cx| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
            Err::<Header, _>(FrameKind::Cancel)
        });
        assert_eq!(out, EARLIER, "a call that waits wrote a reply");
        let Started::Waiting(mut call) = later else {
            panic!("the call did not wait");
        };
        let reply = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert_eq!(
            reply,
            Poll::Ready(Reply::from_result(Err::<Header, _>(FrameKind::Cancel)))
        );
    }
}
