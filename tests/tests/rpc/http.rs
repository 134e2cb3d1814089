//! HTTP/1.1 on the same listener as the binary protocol: health, describe and calls with the
//! message bytes as bodies, keep-alive, and the limits.

use super::lab::{Item, Nap};
use super::support::Served;
use rpc_runtime::Wire as _;
use rpc_runtime::server::Limits;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A parsed HTTP reply.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) code: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking connection to the served TCP endpoint, with a read timeout that turns a
/// missing reply into a failure.
pub(super) fn connect(served: &Served) -> TcpStream {
    connect_to(&served.endpoint)
}

/// [`connect`] for any server's TCP endpoint.
pub(super) fn connect_to(endpoint: &rpc_runtime::Endpoint) -> TcpStream {
    let rpc_runtime::Endpoint::Tcp(addr) = endpoint else {
        panic!("a tcp endpoint");
    };
    let stream = TcpStream::connect(addr.as_str()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Reads a status line and headers; `None` when the server closed before sending any.
pub(super) fn read_head(stream: &mut TcpStream) -> Option<Reply> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read the head");
        if n == 0 && head.is_empty() {
            return None;
        }
        assert_eq!(
            n,
            1,
            "closed mid-head after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ascii head");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line");
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    Some(Reply {
        code,
        headers,
        body: Vec::new(),
    })
}

/// Reads one reply (head, then exactly Content-Length bytes).
pub(super) fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut reply = read_head(stream).expect("a reply, not the end of the connection");
    let len: usize = reply
        .header("content-length")
        .map(|v| v.parse().expect("length"))
        .expect("content-length");
    reply.body = vec![0u8; len];
    stream.read_exact(&mut reply.body).expect("body");
    reply
}

/// Asserts the server closed the connection with nothing more to say.
pub(super) fn expect_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(
            rest.is_empty(),
            "more after the last reply: {:?}",
            String::from_utf8_lossy(&rest)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open: {e}"),
    }
}

/// Sends one request with `body` and a Content-Length, and reads the reply.
pub(super) fn request(stream: &mut TcpStream, method: &str, path: &str, body: &[u8]) -> Reply {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    read_reply(stream)
}

#[test]
fn health_describe_and_calls_share_one_keep_alive_connection() {
    let served = Served::tcp();
    let mut http = connect(&served);

    let health = request(&mut http, "GET", "/health", b"");
    assert_eq!((health.code, health.text().as_str()), (200, "ok\n"));

    let describe = request(&mut http, "GET", "/describe", b"");
    assert_eq!(describe.code, 200);
    assert_eq!(describe.header("content-type"), Some("application/json"));
    assert!(
        describe.text().contains("\"service\":\"Lab\""),
        "{}",
        describe.text()
    );

    let item = Item { id: 7, value: -3 };
    let echo = request(&mut http, "POST", "/Lab/echo", &item.pack());
    assert_eq!(echo.code, 200);
    assert_eq!(echo.header("x-rpc-status"), Some("ok"));
    assert_eq!(Item::unpack(&echo.body).expect("an Item"), item);

    let refused = request(&mut http, "POST", "/Lab/refuse", &item.pack());
    assert_eq!(refused.code, 422);
    assert_eq!(refused.header("x-rpc-status"), Some("application error"));
    assert_eq!(refused.body, [1], "LabError::Refused as its Wire byte");

    let short = request(&mut http, "POST", "/Lab/echo", b"short");
    assert_eq!(short.code, 400);
    assert!(
        short.text().contains("cannot decode the request"),
        "{}",
        short.text()
    );

    let unknown = request(&mut http, "POST", "/Lab/nope", b"");
    assert_eq!(unknown.code, 404);
    assert!(unknown.text().contains("Lab.nope"), "{}", unknown.text());

    let elsewhere = request(&mut http, "GET", "/", b"");
    assert_eq!(elsewhere.code, 404);

    // Still the same connection, and the binary protocol still works on the same listener.
    assert_eq!(request(&mut http, "GET", "/health", b"").code, 200);
    assert_eq!(served.blocking().echo(item).expect("binary call"), item);
}

#[test]
fn a_deadline_header_bounds_the_call() {
    let served = Served::tcp();
    let mut http = connect(&served);
    let head = "POST /Lab/nap HTTP/1.1\r\nContent-Length: 8\r\nX-Rpc-Timeout-Ms: 50\r\n\r\n";
    http.write_all(head.as_bytes()).expect("write");
    http.write_all(&Nap { tag: 1, ms: 5_000 }.pack())
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 504);
    assert_eq!(reply.header("x-rpc-status"), Some("deadline exceeded"));
}

#[test]
fn limits_close_the_connection_with_a_status() {
    let served = Served::tcp_with(Limits {
        max_body: 64,
        ..Limits::default()
    });
    let mut big = connect(&served);
    big.write_all(b"POST /Lab/echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n")
        .expect("write");
    let reply = read_reply(&mut big);
    assert_eq!(reply.code, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    expect_closed(&mut big);

    // A chunked body has no declared length; it is refused once it grows past the limit.
    let mut chunked = connect(&served);
    chunked
        .write_all(b"POST /Lab/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n")
        .expect("write");
    chunked.write_all(&[0; 0x40]).expect("write");
    chunked.write_all(b"\r\n1\r\nx").expect("write");
    let reply = read_reply(&mut chunked);
    assert_eq!(reply.code, 413);
    assert_eq!(reply.header("connection"), Some("close"));

    let mut garbage = connect(&served);
    garbage
        .write_all(b"GET /\x01 HTTP/9\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut garbage).code, 400);
}

#[test]
fn connection_close_is_honoured() {
    let served = Served::tcp();
    let mut http = connect(&served);
    http.write_all(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    expect_closed(&mut http);
}
