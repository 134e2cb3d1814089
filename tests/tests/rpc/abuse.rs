//! Broken and hostile clients, each on a raw TCP connection, while a well-behaved witness
//! keeps calling on its own connection: bad bytes get an error frame and a close, mistakes in
//! a single call get an error for that call, and the limits contain slow, silent, idle and
//! greedy clients.

use super::lab::{Count, Item, Nap};
use super::support::{HANG, Raw, Served, Witness, request, wait};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{FrameKind, Header, Status};
use rpc_runtime::server::Limits;
use std::time::{Duration, Instant};

/// Runs `abuse` against a fresh server with `limits`, with a witness calling throughout and
/// once more after.
fn with_witness(limits: Limits, abuse: impl FnOnce(&Served, &Witness)) {
    let served = Served::tcp_with(limits);
    let witness = Witness::start(&served);
    abuse(&served, &witness);
    witness.finish();
}

const ITEM: Item = Item { id: 9, value: 99 };

#[test]
fn garbage_bytes_get_an_error_and_a_close() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        raw.send(b"\x00\x01 this is not a frame \xff\xfe\xfd and never will be");
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "bad magic");
        raw.expect_closed();
        witness.check();
    });
}

#[test]
fn wrong_magic_gets_an_error_and_a_close() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let mut header = request("echo", 1);
        header.magic = 0xBEEF;
        raw.send_frame(header, &ITEM.pack());
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "0xbeef");
        raw.expect_closed();
        witness.check();
    });
}

#[test]
fn a_request_on_call_id_0_gets_an_error_and_a_close() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        raw.call("echo", 0, &ITEM.pack());
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "call id 0 is reserved");
        raw.expect_closed();
        witness.check();
    });
}

#[test]
fn a_call_id_still_in_use_gets_an_error_and_a_close() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let nap = Nap { tag: 1, ms: 5_000 };
        raw.call("nap", 7, &nap.pack());
        raw.call("nap", 7, &nap.pack());
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "call id 7 is already in use");
        raw.expect_closed();
        witness.check();
    });
}

#[test]
fn wrong_version_gets_an_error_and_a_close() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let mut header = request("echo", 1);
        header.version = 2;
        raw.send_frame(header, &ITEM.pack());
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "unsupported protocol version 2");
        raw.expect_closed();
        witness.check();
    });
}

#[test]
fn truncated_frames_then_close_are_dropped_quietly() {
    with_witness(Limits::default(), |served, witness| {
        let mut frame = Vec::new();
        rpc_runtime::frame::encode_bytes(&mut frame, request("echo", 1), &ITEM.pack());
        // Cut inside the header, and inside the body.
        for cut in [10, Header::SIZE + 5] {
            let mut raw = served.raw();
            raw.send(&frame[..cut]);
            raw.shutdown_write();
            raw.expect_closed();
            witness.check();
        }
    });
}

/// The process's peak virtual memory in bytes (Linux).
#[cfg(target_os = "linux")]
fn vm_peak() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmPeak:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn four_gib_body_is_refused_before_it_is_read() {
    with_witness(Limits::default(), |served, witness| {
        #[cfg(target_os = "linux")]
        let peak = vm_peak();
        let mut raw = served.raw();
        let mut header = request("echo", 1);
        header.body_len = u32::MAX;
        // Only the header: the answer must not wait for the body.
        raw.send_header(header);
        raw.read_frame()
            .assert_error(0, Status::ResourceExhausted, "exceeds the limit");
        raw.expect_closed();
        witness.check();
        // Nothing like 4 GiB was ever reserved (threads and arenas come and go, hence 3).
        #[cfg(target_os = "linux")]
        {
            let grew = vm_peak().saturating_sub(peak);
            assert!(grew < 3 << 30, "peak virtual memory grew by {grew} bytes");
        }
    });
}

#[test]
fn unknown_method_is_an_error_for_that_call_only() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let mut header = request("echo", 1);
        header.method = 0xDEAD_BEEF;
        raw.send_frame(header, &ITEM.pack());
        raw.read_frame()
            .assert_error(1, Status::UnknownMethod, "0xdeadbeef");
        raw.call("echo", 2, &ITEM.pack());
        raw.read_frame().assert_response(2, &ITEM.pack());
        witness.check();
    });
}

#[test]
fn undecodable_body_is_a_bad_request_for_that_call_only() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let body = ITEM.pack();
        raw.call("echo", 1, &body[..5]);
        raw.read_frame()
            .assert_error(1, Status::BadRequest, "cannot decode the request");
        let mut long = body.to_vec();
        long.push(0);
        raw.call("echo", 2, &long);
        raw.read_frame()
            .assert_error(2, Status::BadRequest, "trailing bytes");
        // `touch` takes `()`: any body at all is too much.
        raw.call("touch", 3, b"x");
        raw.read_frame()
            .assert_error(3, Status::BadRequest, "trailing");
        raw.call("echo", 4, &body);
        raw.read_frame().assert_response(4, &body);
        witness.check();
    });
}

/// A `Lab` built from another version of the service: `echo` takes a `Count`.
mod other {
    use super::super::lab::LabError;
    use super::Count;

    #[rpc_runtime::service]
    pub trait Lab {
        /// Same name, same id, different messages.
        async fn echo(&self, count: Count) -> Result<Count, LabError>;
    }
}

#[test]
fn schema_mismatch_names_the_method() {
    with_witness(Limits::default(), |served, witness| {
        let mut raw = served.raw();
        let body = ITEM.pack();
        let mut header = request("echo", 1);
        header.schema ^= 1;
        raw.send_frame(header, &body);
        raw.read_frame()
            .assert_error(1, Status::SchemaMismatch, "Lab.echo");
        // Fingerprint 0 skips the check.
        let mut header = request("echo", 2);
        header.schema = 0;
        raw.send_frame(header, &body);
        raw.read_frame().assert_response(2, &body);

        // The same through a generated client built against the other `Lab`.
        let client = rpc_runtime::Client::new(served.endpoint.clone());
        let stale = other::LabClient::new(client);
        let err = wait(HANG, "a mismatched call", stale.echo(Count { n: 1 })).unwrap_err();
        assert_eq!(err.status(), Status::SchemaMismatch, "{err}");
        assert!(err.to_string().contains("Lab.echo"), "{err}");
        witness.check();
    });
}

#[test]
fn silent_client_is_closed_after_the_read_timeout() {
    let read_timeout = Duration::from_millis(200);
    let limits = Limits {
        read_timeout,
        ..Limits::default()
    };
    with_witness(limits, |served, witness| {
        // Connected and sending nothing: idle, which the read timeout does not cover.
        let mut quiet = served.raw();
        let mut raw = served.raw();
        let start = Instant::now();
        raw.send(&request("echo", 1).pack().as_ref()[..12]);
        raw.read_frame()
            .assert_error(0, Status::BadRequest, "read timeout");
        raw.expect_closed();
        let took = start.elapsed();
        assert!(took >= read_timeout, "closed after {took:?}");
        witness.check();
        // Idle for longer than the read timeout, and still served.
        quiet.ping(1);
    });
}

#[test]
fn idle_connection_gets_a_goaway_and_a_close() {
    let idle_timeout = Duration::from_millis(300);
    let limits = Limits {
        idle_timeout,
        ..Limits::default()
    };
    with_witness(limits, |served, witness| {
        let mut raw = served.raw();
        // Before the ping: the server's idle clock starts when it reads the ping.
        let since = Instant::now();
        raw.ping(1);
        let goaway = raw.read_frame();
        let took = since.elapsed();
        assert_eq!(goaway.header.kind, FrameKind::Goaway, "{goaway:?}");
        assert!(goaway.text().contains("idle"), "{:?}", goaway.text());
        assert!(took >= idle_timeout, "goaway after {took:?}");
        raw.expect_closed();
        witness.check();

        // A call longer than the idle timeout is not idleness: the connection stays open
        // after its answer.
        let mut raw = served.raw();
        let nap = Nap { tag: 1, ms: 500 };
        raw.call("nap", 1, &nap.pack());
        raw.read_frame().assert_response(1, &nap.pack());
        raw.ping(2);
    });
}

#[test]
fn max_in_flight_holds_back_a_pipelining_client() {
    let limits = Limits {
        max_in_flight: 2,
        // Shorter than the queue takes to drain: waiting on the server is not being slow.
        read_timeout: Duration::from_millis(150),
        ..Limits::default()
    };
    with_witness(limits, |served, witness| {
        let lab = served.client();
        let naps: Vec<Nap> = (100..110).map(|tag| Nap { tag, ms: 100 }).collect();
        let replies = wait(HANG, "ten pipelined naps", async {
            let tasks: Vec<_> = naps
                .iter()
                .map(|&nap| {
                    let lab = lab.clone();
                    smol::spawn(async move { lab.nap(nap).await })
                })
                .collect();
            let mut replies = Vec::new();
            for task in tasks {
                replies.push(task.await);
            }
            replies
        });
        for (nap, reply) in naps.iter().zip(replies) {
            assert_eq!(reply.unwrap_or_else(|e| panic!("{nap:?}: {e}")), *nap);
        }
        assert_eq!(served.gauge.peak(), 2, "handlers running at once");
        witness.check();
    });
}

#[test]
fn max_connections_refuses_the_extra_connection() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    // The witness holds the first connection.
    with_witness(limits, |served, witness| {
        let mut second = served.raw();
        second.ping(1);
        let mut third = served.raw();
        third
            .read_frame()
            .assert_error(0, Status::ResourceExhausted, "too many connections");
        third.expect_closed();
        // A generated client is told the same.
        let err = wait(HANG, "a refused call", served.client().echo(ITEM)).unwrap_err();
        assert_eq!(err.status(), Status::ResourceExhausted, "{err}");
        witness.check();

        // Closing a connection frees its slot.
        drop(second);
        let start = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut next = Raw::connect(&served.endpoint);
            next.send_frame(Header::new(FrameKind::Ping, 1), b"hi");
            if next.read_frame().header.kind == FrameKind::Pong {
                break;
            }
            assert!(start.elapsed() < HANG, "no slot after {attempts} attempts");
        }
    });
}
