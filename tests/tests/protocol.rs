//! Snapshots of the binary protocol, pinning `docs/PROTOCOL.md` byte for byte.
//!
//! One snapshot per frame kind renders each frame as the [`hexdump`] of its 28-byte [`Header`]
//! (offset, bytes, field name, Python format code) followed by its body in hex, and as text
//! when the body is UTF-8. Further snapshots pin the header's format and size, the status code
//! and frame kind numbers, the method ids and schema fingerprints of two small services defined
//! here (so a change of the hashing shows up), and the `describe` JSON a server returns. The hex
//! examples in `docs/PROTOCOL.md` are these snapshots.
//!
//! `Calc` below is the service of `rpc-runtime/examples/calculator.rs`, name for name, so its
//! ids, fingerprints and `describe` reply are the ones the example server uses. The frames are
//! built with [`frame::encode_bytes`]; `server_sends_these_bytes` and
//! `server_refuses_a_connection_over_the_limit` then check over real sockets that a server
//! answers the pinned requests (and a stray HTTP request, a shutdown, one connection too many)
//! with exactly the pinned replies.

use core::fmt::Write as _;
use rpc_runtime::frame::{self, DEFAULT_MAX_BODY, FrameKind, Header, MAGIC, Status, VERSION};
use rpc_runtime::schema::{MethodSchema, ServiceSchema, fnv1a, method_id};
use rpc_runtime::server::{Limits, RunningServer};
use rpc_runtime::wire::hexdump;
use rpc_runtime::{BlockingClient, FixedStr, Server, Wire, service};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

// ---------------------------------------------------------------------------------------------
// The services: `Calc` as in the calculator example, `Notes` for the list and unit shapes.
// ---------------------------------------------------------------------------------------------

/// Two operands.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
pub struct Operands {
    /// Left operand.
    pub a: i64,
    /// Right operand.
    pub b: i64,
}

/// A result.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
pub struct Value {
    /// The value.
    pub value: i64,
}

/// What can go wrong.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
pub enum MathError {
    /// The result does not fit in an i64.
    Overflow = 1,
    /// Division by zero.
    DivisionByZero = 2,
}

/// Integer arithmetic over RPC, exactly as in the calculator example.
#[service]
pub trait Calc {
    /// a + b
    async fn add(&self, operands: Operands) -> Result<Value, MathError>;
    /// a / b
    async fn div(&self, operands: Operands) -> Result<Value, MathError>;
}

pub(crate) struct Calculator;

impl Calc for Calculator {
    async fn add(&self, o: Operands) -> Result<Value, MathError> {
        o.a.checked_add(o.b)
            .map(|value| Value { value })
            .ok_or(MathError::Overflow)
    }

    async fn div(&self, o: Operands) -> Result<Value, MathError> {
        if o.b == 0 {
            return Err(MathError::DivisionByZero);
        }
        o.a.checked_div(o.b)
            .map(|value| Value { value })
            .ok_or(MathError::Overflow)
    }
}

/// A note.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Note {
    /// Its number.
    pub id: u32,
    /// Its text.
    pub text: FixedStr<12>,
}

/// Why a note was refused.
#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u16)]
pub enum NoteError {
    /// The board holds no more notes.
    Full = 1,
}

/// A board of notes: messages that are lists of records and `()`.
#[service]
pub trait Notes {
    /// Pins a note; nothing comes back.
    async fn post(&self, note: Note) -> Result<(), NoteError>;
    /// Every note, as a count-prefixed list; cannot fail.
    async fn all(&self, request: ()) -> Result<Vec<Note>, ()>;
}

struct Board;

impl Notes for Board {
    async fn post(&self, _note: Note) -> Result<(), NoteError> {
        Err(NoteError::Full)
    }

    async fn all(&self, (): ()) -> Result<Vec<Note>, ()> {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// One frame: the header's hex dump, then the body's bytes (offsets from the frame's start,
/// 16 a line) and, when the body is UTF-8 text without control characters, the text. Packed
/// records are left as hex: most of them are valid UTF-8 too, but not text.
fn render(bytes: &[u8]) -> String {
    let parsed = frame::parse(bytes, u32::MAX)
        .expect("a valid frame")
        .expect("a whole frame");
    assert_eq!(parsed.len, bytes.len(), "exactly one frame");
    let mut out = hexdump::<Header>(&bytes[..Header::SIZE]);
    let body = parsed.body(bytes);
    let plural = if body.len() == 1 { "" } else { "s" };
    let _ = writeln!(out, "body ({} byte{plural})", body.len());
    for (i, line) in body.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "{:04x}  {}", Header::SIZE + i * 16, hex.join(" "));
    }
    if !body.is_empty()
        && let Ok(text) = core::str::from_utf8(body)
        && !text.chars().any(char::is_control)
    {
        let _ = writeln!(out, "text  {text:?}");
    }
    out
}

/// Several labelled frames, separated by blank lines.
fn frames(cases: &[(&str, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (i, (label, bytes)) in cases.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "# {label}");
        out.push_str(&render(bytes));
    }
    out
}

fn encode(header: Header, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_bytes(&mut out, header, body);
    out
}

// ---------------------------------------------------------------------------------------------
// The example frames of docs/PROTOCOL.md. Call ids tell one story: 1 add, 2 describe, 3 div by
// zero, 4 add with a deadline the client gives up on, 5 an unknown method, 6 ping, then a
// goaway naming 5, the highest request call id.
// ---------------------------------------------------------------------------------------------

const ADD: &MethodSchema = &CalcClient::SCHEMA.methods[0];
const DIV: &MethodSchema = &CalcClient::SCHEMA.methods[1];
const UNKNOWN_METHOD: u32 = 0xdead_beef;

fn request(call_id: u32, method: &MethodSchema, timeout_ms: u32, body: &[u8]) -> Vec<u8> {
    let mut header = Header::new(FrameKind::Request, call_id);
    header.method = method.id;
    header.schema = method.fingerprint;
    header.timeout_ms = timeout_ms;
    encode(header, body)
}

fn add_request() -> Vec<u8> {
    request(1, ADD, 0, &Operands { a: 2, b: 40 }.pack())
}

fn describe_request() -> Vec<u8> {
    encode(Header::new(FrameKind::Request, 2), &[])
}

fn div_request() -> Vec<u8> {
    request(3, DIV, 0, &Operands { a: 7, b: 0 }.pack())
}

fn deadline_request() -> Vec<u8> {
    request(4, ADD, 250, &Operands { a: -1, b: 1 }.pack())
}

fn unknown_request() -> Vec<u8> {
    let mut header = Header::new(FrameKind::Request, 5);
    header.method = UNKNOWN_METHOD;
    encode(header, &[])
}

fn response(call_id: u32, status: Status, body: &[u8]) -> Vec<u8> {
    let mut header = Header::new(FrameKind::Response, call_id);
    header.status = status;
    encode(header, body)
}

fn add_response() -> Vec<u8> {
    response(1, Status::Ok, &Value { value: 42 }.pack())
}

fn div_response() -> Vec<u8> {
    response(3, Status::Application, &MathError::DivisionByZero.pack())
}

fn too_many_connections_error() -> Vec<u8> {
    error(
        0,
        Status::ResourceExhausted,
        "too many connections (limit 1)",
    )
}

fn error(call_id: u32, status: Status, message: &str) -> Vec<u8> {
    let mut header = Header::new(FrameKind::Error, call_id);
    header.status = status;
    encode(header, message.as_bytes())
}

fn unknown_error() -> Vec<u8> {
    error(
        5,
        Status::UnknownMethod,
        "no method with id 0xdeadbeef is served here",
    )
}

fn bad_magic_error() -> Vec<u8> {
    error(
        0,
        Status::BadRequest,
        "bad magic 0x6865 (expected 0xc0de): not an rpc-runtime frame",
    )
}

fn ping() -> Vec<u8> {
    encode(Header::new(FrameKind::Ping, 6), b"hi")
}

fn pong() -> Vec<u8> {
    encode(Header::new(FrameKind::Pong, 6), b"hi")
}

fn shutdown_goaway() -> Vec<u8> {
    encode(Header::new(FrameKind::Goaway, 5), b"server shutting down")
}

// ---------------------------------------------------------------------------------------------
// Header and tables
// ---------------------------------------------------------------------------------------------

#[test]
fn header_layout() {
    let mut out = String::new();
    let _ = writeln!(out, "FORMAT    {}", Header::FORMAT);
    let _ = writeln!(out, "SIZE      {}", Header::SIZE);
    let _ = writeln!(out, "MAGIC     {MAGIC:#06x}");
    let _ = writeln!(out, "VERSION   {VERSION}");
    let _ = writeln!(out, "max body  {DEFAULT_MAX_BODY} (default)");
    let _ = writeln!(out);
    // Every field distinct, so each byte shows which field it belongs to.
    let header = Header {
        magic: MAGIC,
        version: VERSION,
        kind: FrameKind::Response,
        status: Status::SchemaMismatch,
        flags: 0,
        method: 0x0102_0304,
        call_id: 0x0506_0708,
        timeout_ms: 0x090a_0b0c,
        schema: 0x0d0e_0f10,
        body_len: 0x1112_1314,
    };
    out.push_str(&hexdump::<Header>(&header.pack()));
    insta::assert_snapshot!(out);
}

/// Every status, in wire order; the match makes a new variant a compile error here.
const STATUSES: [Status; 10] = [
    Status::Ok,
    Status::Application,
    Status::Cancelled,
    Status::DeadlineExceeded,
    Status::UnknownMethod,
    Status::BadRequest,
    Status::ResourceExhausted,
    Status::Unavailable,
    Status::Internal,
    Status::SchemaMismatch,
];

const fn status_listed(status: Status) -> bool {
    match status {
        Status::Ok
        | Status::Application
        | Status::Cancelled
        | Status::DeadlineExceeded
        | Status::UnknownMethod
        | Status::BadRequest
        | Status::ResourceExhausted
        | Status::Unavailable
        | Status::Internal
        | Status::SchemaMismatch => true,
    }
}

/// Every frame kind, in wire order.
const KINDS: [FrameKind; 7] = [
    FrameKind::Request,
    FrameKind::Response,
    FrameKind::Error,
    FrameKind::Cancel,
    FrameKind::Ping,
    FrameKind::Pong,
    FrameKind::Goaway,
];

const fn kind_listed(kind: FrameKind) -> bool {
    match kind {
        FrameKind::Request
        | FrameKind::Response
        | FrameKind::Error
        | FrameKind::Cancel
        | FrameKind::Ping
        | FrameKind::Pong
        | FrameKind::Goaway => true,
    }
}

#[test]
fn status_codes() {
    let mut out = String::new();
    for status in STATUSES {
        assert!(status_listed(status));
        let wire = u16::from_be_bytes(status.pack());
        assert_eq!(Status::unpack(&wire.to_be_bytes()), Ok(status));
        let _ = writeln!(out, "{wire:>2}  {status:?}  ({status})");
    }
    let next = STATUSES.len() as u16;
    let unknown = Status::unpack(&next.to_be_bytes()).expect_err("unknown status");
    let _ = writeln!(out, "{next:>2}  rejected: {unknown}");
    insta::assert_snapshot!(out);
}

#[test]
fn frame_kinds() {
    let mut out = String::new();
    for kind in KINDS {
        assert!(kind_listed(kind));
        let [wire] = kind.pack();
        assert_eq!(FrameKind::unpack(&[wire]), Ok(kind));
        let _ = writeln!(out, "{wire}  {kind:?}");
    }
    for wire in [0u8, 8] {
        let unknown = FrameKind::unpack(&[wire]).expect_err("unknown kind");
        let _ = writeln!(out, "{wire}  rejected: {unknown}");
    }
    insta::assert_snapshot!(out);
}

// ---------------------------------------------------------------------------------------------
// One snapshot per frame kind
// ---------------------------------------------------------------------------------------------

#[test]
fn request_frame() {
    insta::assert_snapshot!(frames(&[
        ("Calc.add(a=2, b=40), call 1, no deadline", add_request()),
        (
            "describe, call 2: method 0, schema 0, empty body",
            describe_request()
        ),
        ("Calc.div(a=7, b=0), call 3", div_request()),
        (
            "Calc.add(a=-1, b=1), call 4, 250 ms deadline",
            deadline_request()
        ),
        (
            "method 0xdeadbeef, call 5, schema check skipped",
            unknown_request()
        ),
    ]));
}

#[test]
fn response_frame() {
    insta::assert_snapshot!(frames(&[
        ("call 1: Ok, Value(value=42)", add_response()),
        (
            "call 3: Application, MathError.DivisionByZero",
            div_response()
        ),
    ]));
}

#[test]
fn error_frame() {
    insta::assert_snapshot!(frames(&[
        (
            "call 4: the deadline passed on the server",
            error(
                4,
                Status::DeadlineExceeded,
                "the call's deadline passed on the server",
            ),
        ),
        ("call 5: unknown method", unknown_error()),
        (
            "call 0: the whole connection (bytes `he`: neither a frame nor HTTP)",
            bad_magic_error(),
        ),
        ("call 0: over max_connections", too_many_connections_error(),),
    ]));
}

#[test]
fn cancel_frame() {
    insta::assert_snapshot!(frames(&[(
        "call 4: the caller gave up",
        encode(Header::new(FrameKind::Cancel, 4), &[]),
    )]));
}

#[test]
fn ping_frame() {
    insta::assert_snapshot!(frames(&[
        ("call 6, body echoed", ping()),
        (
            "call 7, empty (what Client::ping sends)",
            encode(Header::new(FrameKind::Ping, 7), &[]),
        ),
    ]));
}

#[test]
fn pong_frame() {
    insta::assert_snapshot!(frames(&[("call 6, the ping's body", pong())]));
}

#[test]
fn goaway_frame() {
    insta::assert_snapshot!(frames(&[
        (
            "shutdown: requests up to call 5 are still answered",
            shutdown_goaway()
        ),
        (
            "idle timeout",
            encode(Header::new(FrameKind::Goaway, 5), b"idle timeout"),
        ),
    ]));
}

// ---------------------------------------------------------------------------------------------
// Method ids, fingerprints, describe
// ---------------------------------------------------------------------------------------------

/// The bytes a method's fingerprint hashes: its id (big-endian), then each message's shape.
fn fingerprint_input(method: &MethodSchema) -> Vec<u8> {
    let mut input = method.id.to_be_bytes().to_vec();
    for shape in [method.request, method.response, method.error] {
        match shape.describe().as_str() {
            "" => input.extend_from_slice(b"u;"),
            text => match text.strip_prefix("list ") {
                Some(format) => input.extend_from_slice(format!("l:{format}").as_bytes()),
                None => input.extend_from_slice(format!("r:{text}").as_bytes()),
            },
        }
    }
    input
}

fn ids(schema: &ServiceSchema) -> String {
    let mut out = String::new();
    for m in schema.methods {
        let qualified = format!("{}.{}", schema.name, m.name);
        assert_eq!(m.id, method_id(schema.name, m.name));
        assert_eq!(m.id, fnv1a(0x811c_9dc5, qualified.as_bytes()));
        let input = fingerprint_input(m);
        assert_eq!(m.fingerprint, fnv1a(0x811c_9dc5, &input));
        let shown: String = input
            .iter()
            .map(|&b| match b {
                b' '..=b'~' if b != b'\\' => char::from(b).to_string(),
                _ => format!("\\x{b:02x}"),
            })
            .collect();
        let _ = write!(
            out,
            "{qualified}\n  id           {:#010x} = {}\n  fingerprint  {:#010x} = {}\n  \
             hashed       b\"{shown}\"\n  request {:?}  response {:?}  error {:?}\n",
            m.id,
            m.id,
            m.fingerprint,
            m.fingerprint,
            m.request.describe(),
            m.response.describe(),
            m.error.describe(),
        );
    }
    out
}

#[test]
fn method_ids_and_fingerprints() {
    let out = format!(
        "{}\n{}",
        ids(&CalcClient::SCHEMA),
        ids(&NotesClient::SCHEMA)
    );
    insta::assert_snapshot!(out);
}

#[test]
fn describe_calc() -> TestResult {
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .bind()?
        .spawn()?;
    let json = BlockingClient::connect(server.endpoints()[0].clone())?.describe()?;
    // The whole reply to `describe_request()`, as `server_sends_these_bytes` receives it.
    let reply = response(2, Status::Ok, json.as_bytes());
    insta::assert_snapshot!(frames(&[("call 2: describe, Calc served", reply)]));
    Ok(())
}

#[test]
fn describe_two_services() -> TestResult {
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .serve(ServeNotes::new(Board))
        .bind()?
        .spawn()?;
    let json = BlockingClient::connect(server.endpoints()[0].clone())?.describe()?;
    insta::assert_snapshot!(json);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The pinned frames against a real server
// ---------------------------------------------------------------------------------------------

/// Reads one whole frame.
fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut frame = vec![0; Header::SIZE];
    stream.read_exact(&mut frame)?;
    let len = u32::from_be_bytes([frame[24], frame[25], frame[26], frame[27]]) as usize;
    frame.resize(Header::SIZE + len, 0);
    stream.read_exact(&mut frame[Header::SIZE..])?;
    Ok(frame)
}

fn connect(server: &RunningServer) -> std::io::Result<TcpStream> {
    let rpc_runtime::Endpoint::Tcp(addr) = &server.endpoints()[0] else {
        panic!("a TCP endpoint");
    };
    let stream = TcpStream::connect(addr.as_str())?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

#[test]
fn server_sends_these_bytes() -> TestResult {
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .bind()?
        .spawn()?;
    let json = BlockingClient::connect(server.endpoints()[0].clone())?.describe()?;

    let mut stream = connect(&server)?;
    let exchanges = [
        (add_request(), add_response()),
        (describe_request(), response(2, Status::Ok, json.as_bytes())),
        (div_request(), div_response()),
        (unknown_request(), unknown_error()),
        (ping(), pong()),
    ];
    for (request, expected) in exchanges {
        stream.write_all(&request)?;
        assert_eq!(read_frame(&mut stream)?, expected);
    }
    // The client pipelines: three requests in one write, answered by call id.
    let mut batch = add_request();
    batch.extend(div_request());
    batch.extend(ping());
    stream.write_all(&batch)?;
    let mut replies = [
        read_frame(&mut stream)?,
        read_frame(&mut stream)?,
        read_frame(&mut stream)?,
    ];
    replies.sort();
    let mut expected = [add_response(), div_response(), pong()];
    expected.sort();
    assert_eq!(replies, expected);

    // A bad first frame gets an error frame on call 0, then the connection closes.
    let mut garbage = connect(&server)?;
    garbage.write_all(b"hello, is this a frame?\r\n")?;
    assert_eq!(read_frame(&mut garbage)?, bad_magic_error());
    assert_eq!(garbage.read(&mut [0; 1])?, 0, "closed after the error");

    // Shutdown: goaway naming the highest request call id seen (5; pings do not count), then
    // the connection closes.
    server.shutdown_handle().shutdown();
    assert_eq!(read_frame(&mut stream)?, shutdown_goaway());
    assert_eq!(stream.read(&mut [0; 1])?, 0, "closed after goaway");
    Ok(())
}

#[test]
fn server_refuses_a_connection_over_the_limit() -> TestResult {
    let limits = Limits {
        max_connections: 1,
        ..Limits::default()
    };
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse()?)
        .serve(ServeCalc::new(Calculator))
        .limits(limits)
        .bind()?
        .spawn()?;
    let mut first = connect(&server)?;
    // A round trip proves the first connection is accepted and counted.
    first.write_all(&ping())?;
    assert_eq!(read_frame(&mut first)?, pong());
    let mut second = connect(&server)?;
    assert_eq!(read_frame(&mut second)?, too_many_connections_error());
    assert_eq!(second.read(&mut [0; 1])?, 0, "closed after the error");
    Ok(())
}
