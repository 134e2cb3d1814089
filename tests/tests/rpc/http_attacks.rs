//! The HTTP defects issue 8 found in the hand-written shim, each tried the way an attacker
//! or a careless client would, over raw TCP so the exact bytes are under the test's control.

use super::http::{Reply, connect, expect_closed, read_head, read_reply};
use super::lab::{Item, Nap};
use super::support::{HANG, Served};
use rpc_runtime::Wire as _;
use rpc_runtime::server::Limits;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// Polls `done` until it holds, failing after `limit`.
fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn head_answers_the_headers_without_a_body() {
    let served = Served::tcp();
    let mut http = connect(&served);
    // Two requests in one write: a body after the HEAD reply would be read as the second
    // reply's status line.
    http.write_all(
        b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\nHEAD /describe HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write");
    let head = read_head(&mut http).expect("a reply");
    assert_eq!(head.code, 200);
    assert_eq!(head.header("content-length"), Some("3"));
    let describe = read_head(&mut http).expect("a reply");
    assert_eq!(describe.code, 200);
    assert_eq!(describe.header("content-type"), Some("application/json"));
    assert_ne!(describe.header("content-length"), Some("0"));
    let get = read_reply(&mut http);
    assert_eq!((get.code, get.text().as_str()), (200, "ok\n"));
}

#[test]
fn unknown_methods_are_not_implemented_and_known_paths_say_what_is_allowed() {
    let served = Served::tcp();
    let mut http = connect(&served);
    http.write_all(b"BREW /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 501);

    let mut http = connect(&served);
    http.write_all(b"DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));

    http.write_all(b"GET /Lab/echo HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

/// RFC 9112 §6.3: differing Content-Length values are an unrecoverable framing error. Taking
/// either one lets a proxy and the server disagree on where the next request starts.
#[test]
fn differing_content_lengths_are_refused_and_the_connection_closed() {
    let served = Served::tcp();
    let mut http = connect(&served);
    http.write_all(
        b"POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 26\r\nContent-Length: 0\r\n\r\nGET /describe HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write");
    assert_eq!(read_reply(&mut http).code, 400);
    expect_closed(&mut http);
}

#[test]
fn a_signed_content_length_is_refused() {
    let served = Served::tcp();
    let mut http = connect(&served);
    let item = Item { id: 1, value: 2 }.pack();
    http.write_all(
        format!(
            "POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: +{}\r\n\r\n",
            item.len()
        )
        .as_bytes(),
    )
    .expect("write");
    http.write_all(&item).expect("write");
    assert_eq!(read_reply(&mut http).code, 400);
    expect_closed(&mut http);
}

#[test]
fn close_in_a_connection_list_closes() {
    let served = Served::tcp();
    let mut http = connect(&served);
    http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, close\r\n\r\n")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    expect_closed(&mut http);
}

fn head_with_header_of(len: usize) -> Vec<u8> {
    let mut head = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Filler: ".to_vec();
    head.resize(head.len() + len, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    head
}

/// The head limit is 16 KiB however the bytes arrive; one write used to slip 60 KB past it.
#[test]
fn a_head_over_16_kib_is_refused_even_in_one_write() {
    let served = Served::tcp();
    let mut http = connect(&served);
    http.write_all(&head_with_header_of(15 * 1024))
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 200, "just under the limit");

    let mut http = connect(&served);
    http.write_all(&head_with_header_of(20 * 1024))
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 431);
    expect_closed(&mut http);

    let mut http = connect(&served);
    let mut many = b"GET /health HTTP/1.1\r\nHost: t\r\n".to_vec();
    for i in 0..40 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    http.write_all(&many).expect("write");
    assert_eq!(read_reply(&mut http).code, 431, "more than 32 fields");
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let served = Served::tcp();
    let mut http = connect(&served);
    let item = Item { id: 3, value: 4 };
    http.write_all(
        format!(
            "POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            Item::SIZE
        )
        .as_bytes(),
    )
    .expect("write");
    let interim = read_head(&mut http).expect("a 100 Continue");
    assert_eq!(interim.code, 100);
    http.write_all(&item.pack()).expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 200);
    assert_eq!(Item::unpack(&reply.body).expect("an Item"), item);

    // Too large: refused at once, without asking for the body.
    http.write_all(b"POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 413);
}

/// A client that pipelines requests and never reads their replies held its connection (and
/// a connection slot) forever; now it is closed once a write waits longer than read_timeout.
#[test]
fn a_client_that_never_reads_its_replies_is_closed() {
    let served = Served::tcp_with(Limits {
        read_timeout: Duration::from_secs(1),
        ..Limits::default()
    });
    let stats = served.server.stats();
    let mut http = connect(&served);
    http.set_write_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let writer = std::thread::spawn(move || {
        let request = b"GET /describe HTTP/1.1\r\nHost: t\r\n\r\n".repeat(64);
        // Ends when the server closes the connection (or after the write timeout).
        while http.write_all(&request).is_ok() {}
    });
    eventually(HANG, "the connection to be counted", || {
        stats.connections() == 1
    });
    eventually(
        Duration::from_secs(30),
        "the server to close the connection",
        || stats.connections() == 0,
    );
    writer.join().expect("the writer ends");
}

/// A head or body that stops arriving is answered `408` after read_timeout.
#[test]
fn a_slow_body_times_out_with_408() {
    let served = Served::tcp_with(Limits {
        read_timeout: Duration::from_secs(1),
        ..Limits::default()
    });
    let mut http = connect(&served);
    http.write_all(b"POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\nabc")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 408);
    expect_closed(&mut http);

    let mut http = connect(&served);
    http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        .expect("write");
    let reply = read_reply(&mut http);
    assert_eq!(reply.code, 408, "a head that never ends");
    expect_closed(&mut http);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout_not_the_read_timeout() {
    let served = Served::tcp_with(Limits {
        read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(2),
        ..Limits::default()
    });
    let mut http = connect(&served);
    let first = Instant::now();
    http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 200);
    // Waiting between requests is not a slow head: the connection outlives read_timeout.
    std::thread::sleep(Duration::from_millis(900));
    http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 200);
    expect_closed(&mut http);
    assert!(
        first.elapsed() >= Duration::from_secs(2),
        "closed only once idle"
    );
}

#[test]
fn shutdown_closes_idle_keep_alive_connections_at_once() {
    let served = Served::tcp_with(Limits {
        read_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(60),
        ..Limits::default()
    });
    let mut http = connect(&served);
    http.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    assert_eq!(read_reply(&mut http).code, 200);
    served.server.shutdown_handle().shutdown();
    // The socket's read timeout (10 s) is far below the idle timeout (5 min) the old code
    // kept such a connection open for.
    expect_closed(&mut http);
}

#[test]
fn shutdown_finishes_a_request_in_flight_then_closes() {
    let served = Served::tcp();
    let mut http = connect(&served);
    let nap = Nap { tag: 7, ms: 300 };
    http.write_all(
        format!(
            "POST /Lab/nap HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            Nap::SIZE
        )
        .as_bytes(),
    )
    .expect("write");
    http.write_all(&nap.pack()).expect("write");
    served.gauge.wait_started(1, HANG);
    served.server.shutdown_handle().shutdown();
    let reply: Reply = read_reply(&mut http);
    assert_eq!(reply.code, 200);
    assert_eq!(Nap::unpack(&reply.body).expect("a Nap"), nap);
    assert_eq!(reply.header("connection"), Some("close"));
    expect_closed(&mut http);
}

/// A client that hangs up mid-body frees its connection slot at once.
#[test]
fn a_client_that_hangs_up_mid_body_frees_its_slot() {
    let served = Served::tcp();
    let stats = served.server.stats();
    let mut http = connect(&served);
    http.write_all(b"POST /Lab/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\nabc")
        .expect("write");
    eventually(HANG, "the connection to be counted", || {
        stats.connections() == 1
    });
    http.shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    match read_head(&mut http) {
        None => {}
        Some(reply) => assert_eq!(reply.code, 400),
    }
    drop(http);
    eventually(HANG, "the slot to be freed", || stats.connections() == 0);
}
