//! HTTP/1.1 on the same listeners as the binary protocol.
//!
//! A connection whose first byte is an ASCII capital letter (the start of `GET`, `POST`, …)
//! is served as HTTP/1.1 with keep-alive:
//!
//! | request | response |
//! |---|---|
//! | `GET /health` | `200`, `ok` |
//! | `GET /describe` | `200`, the JSON of the built-in describe call |
//! | `POST /{Service}/{method}` with the request message as the body | `200` and the response message, `422` and the service's error, or a runtime status (below) |
//!
//! Bodies are the same bytes as in binary frames, so `curl --data-binary @request.bin` works
//! with files a Python `struct.pack` wrote. Every reply to a call carries `X-Rpc-Status` with
//! the status name (`ok`, `application error`, …). Runtime statuses map to `400` (bad request), `404` (unknown method), `413` (frame
//! limit), `429` (resource exhausted), `503` (unavailable), `504` (deadline exceeded) and `500`
//! (internal). An `X-Rpc-Timeout-Ms` header sets the call's deadline.

use super::ConnectionGuard;
use super::call::{Guarded, Named, Peer, guarded};
use super::registry::Entry;
use super::stats::CallCount;
use crate::frame::Status;
use crate::schema::method_id;
use crate::service::Reply;
use crate::transport::Stream;
use smol::Timer;
use smol::future::FutureExt as _;
use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most bytes of request line and headers accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most headers accepted.
const MAX_HEADERS: usize = 32;

/// Whether the first bytes of a connection look like an HTTP request rather than a frame.
pub(crate) fn looks_like_http(first: &[u8]) -> bool {
    first.first().is_some_and(u8::is_ascii_uppercase)
}

/// One parsed request, owning what the reply needs.
struct Request {
    method: String,
    path: String,
    body_len: usize,
    close: bool,
    timeout: Option<Duration>,
    head_len: usize,
}

/// An HTTP reply before it is written.
struct Response {
    code: u16,
    status: &'static str,
    content_type: &'static str,
    /// The rpc status name, for replies to calls.
    rpc_status: Option<&'static str>,
    body: Vec<u8>,
}

impl Response {
    fn text(code: u16, status: &'static str, message: impl Into<String>) -> Response {
        let mut body = message.into().into_bytes();
        body.push(b'\n');
        Response {
            code,
            status,
            content_type: "text/plain; charset=utf-8",
            rpc_status: None,
            body,
        }
    }
}

/// Serves HTTP/1.1 requests on `stream`, whose first `filled` bytes are already in `buf`.
pub(crate) async fn serve(
    mut stream: Stream,
    mut buf: Vec<u8>,
    mut filled: usize,
    guard: &ConnectionGuard,
    stopping: impl Fn() -> bool,
) {
    let limits = guard.shared().limits.clone();
    let peer = Peer::of(&stream);
    loop {
        let request = match read_request(&mut stream, &mut buf, &mut filled, &limits).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(response) => {
                let _ = write(&mut stream, &response, true).await;
                return;
            }
        };
        let body = buf
            .get(request.head_len..request.head_len + request.body_len)
            .unwrap_or_default()
            .to_vec();
        buf.copy_within(request.head_len + request.body_len..filled, 0);
        filled -= request.head_len + request.body_len;
        let response = route(&request, body, guard, peer).await;
        let close = request.close || stopping();
        if write(&mut stream, &response, close).await.is_err() || close {
            return;
        }
    }
}

/// Reads one request: head, then body. `Ok(None)` when the client closed between requests;
/// `Err` is the error response to send before closing.
async fn read_request(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    filled: &mut usize,
    limits: &super::Limits,
) -> Result<Option<Request>, Response> {
    let started = Instant::now();
    loop {
        if let Some(request) = parse_head(&buf[..*filled], limits.max_body)? {
            let total = request.head_len + request.body_len;
            if buf.len() < total {
                buf.resize(total, 0);
            }
            while *filled < total {
                read_more(stream, buf, filled, started + limits.read_timeout).await?;
            }
            return Ok(Some(request));
        }
        if *filled >= MAX_HEAD {
            return Err(Response::text(
                431,
                "Request Header Fields Too Large",
                "request head too large",
            ));
        }
        if *filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let deadline = if *filled == 0 {
            Instant::now() + limits.idle_timeout
        } else {
            started + limits.read_timeout
        };
        match read_more(stream, buf, filled, deadline).await {
            Ok(()) => {}
            Err(_) if *filled == 0 => return Ok(None),
            Err(response) => return Err(response),
        }
    }
}

async fn read_more(
    stream: &mut Stream,
    buf: &mut [u8],
    filled: &mut usize,
    deadline: Instant,
) -> Result<(), Response> {
    let read = stream
        .read(&mut buf[*filled..])
        .or(async {
            Timer::at(deadline).await;
            Err(std::io::ErrorKind::TimedOut.into())
        })
        .await;
    match read {
        Ok(0) => Err(Response::text(
            400,
            "Bad Request",
            "connection closed mid-request",
        )),
        Ok(n) => {
            *filled += n;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(Response::text(408, "Request Timeout", "request timeout"))
        }
        Err(e) => Err(Response::text(400, "Bad Request", e.to_string())),
    }
}

/// [`parse_head`] in plain values, for the fuzz target (through `__private`): the lengths of
/// the head and the body, or the status code of the error reply.
pub(crate) fn parse_head_lengths(
    bytes: &[u8],
    max_body: u32,
) -> Result<Option<(usize, usize)>, u16> {
    parse_head(bytes, max_body)
        .map(|r| r.map(|r| (r.head_len, r.body_len)))
        .map_err(|e| e.code)
}

/// Parses a request head; `Ok(None)` when it is not complete yet.
fn parse_head(bytes: &[u8], max_body: u32) -> Result<Option<Request>, Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(Response::text(
                400,
                "Bad Request",
                format!("malformed request: {e}"),
            ));
        }
    };
    let version = parsed.version.unwrap_or(1);
    let mut body_len = 0usize;
    let mut close = version == 0;
    let mut timeout = None;
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            body_len = value
                .parse()
                .map_err(|_| Response::text(400, "Bad Request", "invalid Content-Length"))?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Response::text(
                411,
                "Length Required",
                "send a Content-Length, not chunks",
            ));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if h.name.eq_ignore_ascii_case("x-rpc-timeout-ms") {
            let ms: u64 = value
                .parse()
                .map_err(|_| Response::text(400, "Bad Request", "invalid X-Rpc-Timeout-Ms"))?;
            timeout = (ms > 0).then(|| Duration::from_millis(ms));
        }
    }
    if body_len > max_body as usize {
        return Err(Response::text(
            413,
            "Content Too Large",
            format!("body of {body_len} bytes exceeds the limit of {max_body}"),
        ));
    }
    Ok(Some(Request {
        method: parsed.method.unwrap_or("").to_owned(),
        path: parsed.path.unwrap_or("").to_owned(),
        body_len,
        close,
        timeout,
        head_len,
    }))
}

async fn route(request: &Request, body: Vec<u8>, guard: &ConnectionGuard, peer: Peer) -> Response {
    let registry = &guard.shared().registry;
    let path = request.path.split('?').next().unwrap_or("");
    match (request.method.as_str(), path) {
        ("GET", "/health") => Response::text(200, "OK", "ok"),
        ("GET", "/describe") => Response {
            code: 200,
            status: "OK",
            content_type: "application/json",
            rpc_status: None,
            body: registry.describe().to_vec(),
        },
        ("POST", _) => {
            let mut parts = path.trim_start_matches('/').splitn(2, '/');
            let (Some(service), Some(method)) = (parts.next(), parts.next()) else {
                return Response::text(404, "Not Found", "POST /{Service}/{method}");
            };
            let entry = registry
                .get(method_id(service, method))
                .filter(|e| e.service_name == service && e.schema.name == method);
            match entry {
                Some(entry) => {
                    let mut calls = CallCount::new(Arc::clone(&guard.shared().counters));
                    calls.report(1);
                    call(entry, &body, request.timeout, peer).await
                }
                None => Response::text(
                    404,
                    "Not Found",
                    format!("no method `{service}.{method}` is served here"),
                ),
            }
        }
        (_, "/health" | "/describe") => Response::text(405, "Method Not Allowed", "use GET"),
        _ => Response::text(
            404,
            "Not Found",
            "try GET /describe, GET /health or POST /{Service}/{method}",
        ),
    }
}

async fn call(entry: &Entry, body: &[u8], timeout: Option<Duration>, peer: Peer) -> Response {
    let named = Named::of(entry);
    let reply = match guarded(peer, named, || entry.service.start(entry.schema.id, body)) {
        Ok(None) => return Response::text(404, "Not Found", "no such method"),
        Err(reply) => reply,
        Ok(Some(call)) => {
            let call = Guarded::new(call, peer, named);
            match timeout {
                None => call.await,
                Some(t) => {
                    call.or(async {
                        Timer::after(t).await;
                        Reply::error(
                            Status::DeadlineExceeded,
                            "the call's deadline passed on the server",
                        )
                    })
                    .await
                }
            }
        }
    };
    let (code, status) = match reply.status {
        Status::Ok => (200, "OK"),
        Status::Application => (422, "Unprocessable Content"),
        Status::BadRequest => (400, "Bad Request"),
        Status::UnknownMethod => (404, "Not Found"),
        Status::ResourceExhausted => (429, "Too Many Requests"),
        Status::Unavailable => (503, "Service Unavailable"),
        Status::DeadlineExceeded => (504, "Gateway Timeout"),
        _ => (500, "Internal Server Error"),
    };
    let content_type = match reply.status {
        Status::Ok | Status::Application => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    };
    let mut body = reply.body;
    if content_type.starts_with("text/") {
        body.push(b'\n');
    }
    Response {
        code,
        status,
        content_type,
        // The status travels in a header, so binary bodies stay exactly the message bytes.
        rpc_status: Some(reply.status.name()),
        body,
    }
}

async fn write(stream: &mut Stream, response: &Response, close: bool) -> std::io::Result<()> {
    let rpc_status = response
        .rpc_status
        .map(|s| format!("X-Rpc-Status: {s}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{rpc_status}Connection: {}\r\n\r\n",
        response.code,
        response.status,
        response.content_type,
        response.body.len(),
        if close { "close" } else { "keep-alive" },
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(&response.body);
    stream.write_all(&out).await?;
    stream.flush().await
}
