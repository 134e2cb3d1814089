//! Clients that send requests and never read the replies. The server holds at most a small
//! budget of replies for each of them, stops reading their requests meanwhile, keeps serving
//! everyone else, and closes them when the write timeout passes with the socket still full.

use super::stats::eventually;
use super::support::{HANG, Served, Witness};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{self, FrameKind, Header};
use rpc_runtime::server::{Limits, ServerStats};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A `describe` request: 28 bytes that ask for the whole schema as JSON.
fn describe(call_id: u32) -> Header {
    Header::new(FrameKind::Request, call_id)
}

/// The size of one `describe` reply frame, measured on a client that reads.
fn describe_reply_len(served: &Served) -> usize {
    let mut raw = served.raw();
    raw.send_frame(describe(1), &[]);
    let reply = raw.read_frame();
    assert_eq!(reply.header.kind, FrameKind::Response, "{reply:?}");
    Header::SIZE + reply.body.len()
}

/// A client that writes `bytes` and never reads a reply.
struct Hog {
    stream: TcpStream,
    writer: Option<JoinHandle<()>>,
}

impl Hog {
    fn start(served: &Served, bytes: Vec<u8>) -> Hog {
        let rpc_runtime::Endpoint::Tcp(addr) = &served.endpoint else {
            unreachable!("served on TCP")
        };
        let stream = TcpStream::connect(addr.as_str()).expect("connect");
        let mut writer = stream.try_clone().expect("clone");
        // On its own thread: once the server stops reading, the write may block until the
        // server gives up and closes the connection (then it fails, which is expected).
        let writer = std::thread::spawn(move || {
            let _ = writer.write_all(&bytes);
        });
        Hog {
            stream,
            writer: Some(writer),
        }
    }

    /// Reads until the server closes the connection, which it must have done already.
    fn expect_closed(mut self) {
        self.stream.set_read_timeout(Some(HANG)).unwrap();
        let mut sink = vec![0; 1 << 16];
        loop {
            match self.stream.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("expected the server to close the hog's connection: {e}"),
            }
        }
        self.writer.take().unwrap().join().unwrap();
    }
}

/// `n` pipelined `describe` requests.
fn describes(n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for id in 1..=n {
        frame::encode_bytes(&mut out, describe(id), &[]);
    }
    out
}

/// Waits until the server holds replies for someone, then samples how many bytes it holds
/// until `connections` are left; returns the most seen.
fn peak_queued_until(stats: &ServerStats, connections: usize) -> usize {
    let start = Instant::now();
    let mut peak = 0;
    while stats.queued_bytes() == 0 {
        assert!(start.elapsed() < HANG, "the server never queued replies");
        std::thread::sleep(Duration::from_millis(1));
    }
    while stats.connections() > connections {
        peak = peak.max(stats.queued_bytes());
        assert!(start.elapsed() < HANG, "the hog was never closed");
        std::thread::sleep(Duration::from_millis(1));
    }
    peak
}

/// A short write timeout, so that the hog is closed soon.
fn limits() -> Limits {
    Limits {
        read_timeout: Duration::from_secs(1),
        ..Limits::default()
    }
}

#[test]
fn a_client_that_never_reads_gets_a_bounded_queue_then_a_close() {
    let served = Served::tcp_with(limits());
    let stats = served.server.stats();
    let reply = describe_reply_len(&served);
    let witness = Witness::start(&served);

    // A ping as large as a frame may be grows the server's read buffer, then 20,000
    // describes ask for ~`20_000 * reply` bytes, far more than the budget.
    let mut bytes = Vec::new();
    let max_body = Limits::default().max_body as usize;
    frame::encode_bytes(
        &mut bytes,
        Header::new(FrameKind::Ping, 1),
        &vec![7; max_body],
    );
    bytes.extend(describes(20_000));
    let hog = Hog::start(&served, bytes);

    let peak = peak_queued_until(&stats, 1);
    // The pong, then at most one batch of replies past the budget.
    let bound = Header::SIZE + max_body + 1024 * 1024 + reply;
    assert!(
        peak <= bound,
        "the server held {peak} bytes for a client that never reads (bound {bound})"
    );
    hog.expect_closed();
    eventually("queued bytes", 0, || stats.queued_bytes());
    witness.finish();
}

#[test]
fn replies_answered_at_once_count_against_max_in_flight() {
    let max_in_flight = 4;
    let served = Served::tcp_with(Limits {
        max_in_flight,
        ..limits()
    });
    let stats = served.server.stats();
    let reply = describe_reply_len(&served);
    let witness = Witness::start(&served);

    let hog = Hog::start(&served, describes(20_000));
    let peak = peak_queued_until(&stats, 1);
    // `describe` is answered inline: each batch holds at most `max_in_flight` replies.
    let bound = max_in_flight * reply;
    assert!(
        peak <= bound,
        "the server held {peak} bytes of describe replies (bound {bound})"
    );
    hog.expect_closed();
    eventually("queued bytes", 0, || stats.queued_bytes());
    witness.finish();
}

#[test]
fn a_spent_total_budget_holds_new_requests_until_slow_clients_are_gone() {
    // One byte over all connections: as soon as one client's replies are stuck, nobody's
    // new requests are handled.
    let served = Served::tcp_with(Limits {
        total_write_budget: 1,
        ..limits()
    });
    let stats = served.server.stats();
    let hog = Hog::start(&served, describes(20_000));
    let start = Instant::now();
    while stats.queued_bytes() == 0 {
        assert!(start.elapsed() < HANG, "the server never queued replies");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Answered only once the hog's replies no longer count: it was closed.
    let mut raw = served.raw();
    raw.ping(1);
    assert_eq!(stats.queued_bytes(), 0, "a ping was answered over budget");
    // Read the hog's socket only once the server has dropped it: reading earlier would free
    // its stuck replies and let the server go on serving it.
    eventually("connections", 1, || stats.connections());
    hog.expect_closed();
    raw.ping(2);
}
