//! Deadlines and cancellation: a client that stops waiting tells the server, which drops the
//! handler; a deadline that travels with a request is enforced by the server on its own.

use super::lab::{Event, Item, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{FrameKind, Header, Status};
use smol::future::FutureExt as _;
use std::time::{Duration, Instant};

/// Comfortably less than the naps below, which must never get to finish.
const WELL_BEFORE: Duration = Duration::from_secs(3);

#[test]
fn client_timeout_is_deadline_exceeded_and_drops_the_handler() {
    let served = Served::tcp();
    let lab = served.client();
    let hasty = lab.with_timeout(Duration::from_millis(100));
    let start = Instant::now();
    let err = wait(
        HANG,
        "a timed-out call",
        hasty.nap(Nap { tag: 31, ms: 8_000 }),
    )
    .expect_err("the nap outlasts the timeout");
    let took = start.elapsed();
    assert_eq!(err.status(), Status::DeadlineExceeded, "{err}");
    assert!(took < WELL_BEFORE, "the timeout took {took:?}");
    // The server started the handler and then dropped it, long before its nap would end.
    let gauge = &served.gauge;
    assert_eq!(gauge.next_event(WELL_BEFORE, "start"), Event::Started(31));
    assert_eq!(gauge.next_event(WELL_BEFORE, "drop"), Event::Dropped(31));
    // The connection, shared with `lab`, still works; so does a call that beats its timeout.
    let item = Item { id: 1, value: 2 };
    assert_eq!(wait(HANG, "echo", lab.echo(item)).unwrap(), item);
    let quick = Nap { tag: 32, ms: 1 };
    assert_eq!(wait(HANG, "quick nap", hasty.nap(quick)).unwrap(), quick);
}

#[test]
fn abandoned_call_is_cancelled_on_the_server() {
    let served = Served::tcp();
    // No timeout, so no deadline goes to the server: only a cancel frame can stop the handler.
    let lab = served.client();
    let gauge = &served.gauge;
    let abandoned = wait(HANG, "the handler to start", async {
        let call = async { Some(lab.nap(Nap { tag: 33, ms: 8_000 }).await) };
        let give_up = async {
            assert_eq!(gauge.event().await, Event::Started(33));
            None
        };
        // Dropping the call's future, once the handler runs, is giving up.
        call.or(give_up).await
    });
    assert!(abandoned.is_none(), "the nap finished: {abandoned:?}");
    assert_eq!(gauge.next_event(WELL_BEFORE, "drop"), Event::Dropped(33));
    let item = Item { id: 3, value: 4 };
    assert_eq!(wait(HANG, "echo", lab.echo(item)).unwrap(), item);
}

#[test]
fn server_enforces_the_deadline_it_receives() {
    let served = Served::tcp();
    let mut raw = served.raw();
    let mut header = super::support::request("nap", 5);
    header.timeout_ms = 50;
    let start = Instant::now();
    raw.send_frame(header, &Nap { tag: 34, ms: 2_000 }.pack());
    raw.read_frame()
        .assert_error(5, Status::DeadlineExceeded, "deadline");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
    let gauge = &served.gauge;
    assert_eq!(gauge.next_event(WELL_BEFORE, "start"), Event::Started(34));
    assert_eq!(gauge.next_event(WELL_BEFORE, "drop"), Event::Dropped(34));

    // A deadline the call meets changes nothing; the connection is still in business.
    let mut header = super::support::request("nap", 6);
    header.timeout_ms = 5_000;
    let nap = Nap { tag: 35, ms: 10 };
    raw.send_frame(header, &nap.pack());
    raw.read_frame().assert_response(6, &nap.pack());
    // A cancel for a call that already finished is ignored.
    raw.send_frame(Header::new(FrameKind::Cancel, 6), &[]);
    raw.ping(7);
}
