//! How the server reads frames: the read timeout times each frame from its first byte, so a
//! client whose writes end mid-frame is fine as long as each frame completes in time, and the
//! built-in `describe` decodes its (empty) body as strictly as any method.

use super::support::{Served, Witness};
use rpc_runtime::frame::{self, FrameKind, Header, Status};
use rpc_runtime::server::Limits;
use std::time::Duration;

#[test]
fn the_read_timeout_restarts_with_each_frame() {
    let read_timeout = Duration::from_secs(1);
    let served = Served::tcp_with(Limits {
        read_timeout,
        ..Limits::default()
    });
    let witness = Witness::start(&served);
    let frames = 12;
    let mut bytes = Vec::new();
    for id in 1..=frames {
        frame::encode_bytes(
            &mut bytes,
            Header::new(FrameKind::Ping, id),
            b"sixteen bytes!!!",
        );
    }
    let len = bytes.len() / frames as usize;
    // Every write ends in the middle of a frame, so the server never sees its buffer empty;
    // 12 gaps of 200 ms last more than twice the read timeout, and each frame completes in
    // 200 ms.
    let mut raw = served.raw();
    let mut from = 0;
    for k in 0..frames as usize {
        let to = k * len + len / 2;
        raw.send(&bytes[from..to]);
        from = to;
        std::thread::sleep(Duration::from_millis(200));
    }
    raw.send(&bytes[from..]);
    for id in 1..=frames {
        let pong = raw.read_frame();
        assert_eq!(
            (pong.header.kind, pong.header.call_id),
            (FrameKind::Pong, id),
            "{:?} {:?}",
            pong.header,
            pong.text()
        );
    }
    raw.ping(100);
    witness.finish();
}

#[test]
fn describe_with_a_body_is_a_bad_request() {
    let served = Served::tcp();
    let mut raw = served.raw();
    raw.send_frame(Header::new(FrameKind::Request, 1), b"x");
    raw.read_frame().assert_error(
        1,
        Status::BadRequest,
        "describe takes an empty request body",
    );
    // The connection goes on.
    raw.send_frame(Header::new(FrameKind::Request, 2), &[]);
    let reply = raw.read_frame();
    assert_eq!(
        (reply.header.kind, reply.header.call_id),
        (FrameKind::Response, 2)
    );
    assert!(
        reply.text().starts_with("{\"protocol\":"),
        "{}",
        reply.text()
    );
}
