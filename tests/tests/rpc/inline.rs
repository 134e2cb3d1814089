//! Replies written straight into the connection's write buffer: `#[service]` overrides
//! `Service::start_framed` so that a call finishing on its first poll encodes its response
//! in place, while a service that implements only `start` gets the default, which frames a
//! `Reply`. Both must put the same bytes on the wire, and nothing a call half wrote may stay
//! in front of the next frame.

use super::support::{Oops, Raw, Value, request_to};
use rpc_runtime::frame::{self, FrameKind, Header, Status};
use rpc_runtime::schema::ServiceSchema;
use rpc_runtime::server::{Limits, RunningServer};
use rpc_runtime::service::{Call, ReplySlot, Started};
use rpc_runtime::{Endpoint, Reply, Server, Service, Wire, service};
use std::collections::BTreeMap;

/// One method per way a call can end.
#[service]
pub trait Shapes {
    /// Answers at once: the value, or `Oops::Odd` for an odd one.
    async fn now(&self, value: Value) -> Result<Value, Oops>;
    /// The same after waiting once, so from a task.
    async fn later(&self, value: Value) -> Result<Value, Oops>;
    /// `n` values at once: a list of 4 + 4n bytes.
    async fn many(&self, value: Value) -> Result<Vec<Value>, Oops>;
    /// Panics on its first poll.
    async fn panic_now(&self, value: Value) -> Result<Value, Oops>;
}

#[derive(Debug)]
struct ShapesImpl;

fn even(value: Value) -> Result<Value, Oops> {
    if value.n.is_multiple_of(2) {
        Ok(value)
    } else {
        Err(Oops::Odd)
    }
}

impl Shapes for ShapesImpl {
    async fn now(&self, value: Value) -> Result<Value, Oops> {
        even(value)
    }

    async fn later(&self, value: Value) -> Result<Value, Oops> {
        smol::future::yield_now().await;
        even(value)
    }

    async fn many(&self, value: Value) -> Result<Vec<Value>, Oops> {
        Ok((0..value.n).map(|n| Value { n }).collect())
    }

    async fn panic_now(&self, _: Value) -> Result<Value, Oops> {
        panic!("shapes: panic on the first poll")
    }
}

/// A hand-written service that implements only `start`, handing calls to the generated one:
/// the server reaches it through `start_framed`'s default.
#[derive(Debug)]
struct StartOnly(ServeShapes<ShapesImpl>);

impl Service for StartOnly {
    fn schema(&self) -> &'static ServiceSchema {
        self.0.schema()
    }

    fn start(&self, method: u32, body: &[u8]) -> Option<Call> {
        self.0.start(method, body)
    }
}

/// The frame limit of these tests' servers: `many` answers up to 31 values.
const MAX_BODY: u32 = 128;

fn serve(service: impl Service) -> RunningServer {
    Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(service)
        .limits(Limits {
            max_body: MAX_BODY,
            ..Limits::default()
        })
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A `Shapes.name` request header for `call_id`.
fn request(name: &str, call_id: u32) -> Header {
    request_to(&ShapesClient::SCHEMA, name, call_id)
}

/// A request of [`exchange`] and its answer: the call id, method and body, then the reply's
/// kind, status and body (or the start of its message, for errors).
type Step = (
    u32,
    &'static str,
    &'static [u8],
    FrameKind,
    Status,
    &'static [u8],
);

/// What [`exchange`] sends, and what each request is answered with.
const SCRIPT: &[Step] = &[
    (
        1,
        "now",
        &[0, 0, 0, 4],
        FrameKind::Response,
        Status::Ok,
        &[0, 0, 0, 4],
    ),
    (
        2,
        "now",
        &[0, 0, 0, 5],
        FrameKind::Response,
        Status::Application,
        &[Oops::Odd as u8],
    ),
    (
        3,
        "many",
        &[0, 0, 0, 0],
        FrameKind::Response,
        Status::Ok,
        &[0, 0, 0, 0],
    ),
    (
        4,
        "many",
        &[0, 0, 0, 40],
        FrameKind::Error,
        Status::ResourceExhausted,
        b"the reply of 164 bytes exceeds the frame limit of 128",
    ),
    (
        5,
        "panic_now",
        &[0, 0, 0, 2],
        FrameKind::Error,
        Status::Internal,
        b"the handler panicked",
    ),
    (
        6,
        "now",
        &[0, 0, 4],
        FrameKind::Error,
        Status::BadRequest,
        b"cannot decode the request",
    ),
    (
        7,
        "later",
        &[0, 0, 0, 6],
        FrameKind::Response,
        Status::Ok,
        &[0, 0, 0, 6],
    ),
    (
        8,
        "later",
        &[0, 0, 0, 7],
        FrameKind::Response,
        Status::Application,
        &[Oops::Odd as u8],
    ),
    (
        9,
        "many",
        &[0, 0, 0, 31],
        FrameKind::Response,
        Status::Ok,
        &[0, 0, 0, 31],
    ),
];

/// Sends every request of [`SCRIPT`] and a ping in one write, so that the server handles
/// them in one batch and each reply lands behind the ones before it in the same buffer;
/// returns each reply's bytes (header and body) by call id, after checking what they say.
fn exchange(server: &RunningServer) -> BTreeMap<u32, Vec<u8>> {
    let mut raw = Raw::connect(&server.endpoints()[0]);
    let mut out = Vec::new();
    for &(id, name, body, ..) in SCRIPT {
        frame::encode_bytes(&mut out, request(name, id), body);
    }
    frame::encode_bytes(&mut out, Header::new(FrameKind::Ping, 100), b"hi");
    raw.send(&out);
    let mut replies = BTreeMap::new();
    while replies.len() < SCRIPT.len() + 1 {
        let frame = raw.read_frame();
        let mut bytes = frame.header.pack().to_vec();
        bytes.extend_from_slice(&frame.body);
        let again = replies.insert(frame.header.call_id, bytes);
        assert!(
            again.is_none(),
            "two frames for call {}",
            frame.header.call_id
        );
    }
    for &(id, _, _, kind, status, start) in SCRIPT {
        let bytes = &replies[&id];
        let parsed = frame::parse(bytes, MAX_BODY).unwrap().unwrap();
        let body = parsed.body(bytes);
        assert_eq!(
            (parsed.header.kind, parsed.header.status),
            (kind, status),
            "call {id}: {:?}",
            String::from_utf8_lossy(body)
        );
        assert!(body.starts_with(start), "call {id}: {body:?}");
    }
    assert_eq!(replies[&100][Header::SIZE..], *b"hi");
    replies
}

#[test]
fn replies_framed_in_place_match_replies_framed_from_a_reply() {
    let generated = serve(ServeShapes::new(ShapesImpl));
    let start_only = serve(StartOnly(ServeShapes::new(ShapesImpl)));
    let in_place = exchange(&generated);
    let from_reply = exchange(&start_only);
    for (id, bytes) in &in_place {
        assert_eq!(
            Some(bytes),
            from_reply.get(id),
            "the replies to call {id} differ"
        );
    }
    // The list that fits the limit exactly: 31 values after the count.
    let fits = &in_place[&9];
    assert_eq!(fits.len(), Header::SIZE + MAX_BODY as usize);
    let values: Vec<u8> = (0..31u32).flat_map(u32::to_be_bytes).collect();
    assert_eq!(fits[Header::SIZE + 4..], values);
}

/// A hand-written `start_framed` that writes a reply and then does something else: panics,
/// waits, or says it has no such method. Only what the server says last may reach the wire.
#[derive(Debug)]
struct Sloppy;

impl Sloppy {
    fn method(&self, name: &str) -> u32 {
        request(name, 1).method
    }
}

impl Service for Sloppy {
    fn schema(&self) -> &'static ServiceSchema {
        &ShapesClient::SCHEMA
    }

    fn start(&self, _: u32, _: &[u8]) -> Option<Call> {
        unreachable!("the binary protocol starts calls with start_framed")
    }

    fn start_framed(&self, method: u32, _: &[u8], out: &mut ReplySlot<'_>) -> Option<Started> {
        let _ = out.reply(Reply::error(Status::Unavailable, "written first"));
        if method == self.method("now") {
            panic!("sloppy: panic after writing a reply");
        } else if method == self.method("later") {
            let reply = Reply {
                status: Status::Ok,
                body: vec![0, 0, 0, 8],
            };
            Some(Started::Waiting(Box::pin(async move {
                smol::future::yield_now().await;
                reply
            })))
        } else if method == self.method("many") {
            None
        } else {
            Some(Started::Finished(
                out.reply(Reply::error(Status::Internal, "second")),
            ))
        }
    }
}

#[test]
fn a_reply_written_before_a_panic_a_wait_or_none_is_discarded() {
    let server = serve(Sloppy);
    let mut raw = Raw::connect(&server.endpoints()[0]);
    let mut out = Vec::new();
    frame::encode_bytes(&mut out, Header::new(FrameKind::Ping, 100), b"hi");
    for (id, name) in [(1, "now"), (2, "later"), (3, "many"), (4, "panic_now")] {
        frame::encode_bytes(&mut out, request(name, id), &[0, 0, 0, 0]);
    }
    frame::encode_bytes(&mut out, Header::new(FrameKind::Ping, 101), b"hi");
    raw.send(&out);
    let pong = raw.read_frame();
    assert_eq!(
        (pong.header.kind, pong.header.call_id),
        (FrameKind::Pong, 100)
    );
    raw.read_frame()
        .assert_error(1, Status::Internal, "the handler panicked");
    raw.read_frame()
        .assert_error(3, Status::UnknownMethod, "no method with id");
    // Writing again replaces the first reply.
    raw.read_frame().assert_error(4, Status::Internal, "second");
    let pong = raw.read_frame();
    assert_eq!(
        (pong.header.kind, pong.header.call_id),
        (FrameKind::Pong, 101)
    );
    raw.read_frame().assert_response(2, &[0, 0, 0, 8]);
    raw.ping(102);
}
