//! `ServerStats`: connections and calls in flight, as the server counts them, back to zero
//! once clients finish, cancel or go away.

use super::lab::{Event, Item, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{FrameKind, Header};
use rpc_runtime::server::ServerStats;
use std::time::Instant;

/// Polls `value` until it returns `want`, failing after [`HANG`].
#[track_caller]
pub fn eventually(what: &str, want: usize, value: impl Fn() -> usize) {
    let start = Instant::now();
    loop {
        let now = value();
        if now == want {
            return;
        }
        assert!(
            start.elapsed() < HANG,
            "{what} stayed at {now}, expected {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn stats(served: &Served) -> ServerStats {
    served.server.stats()
}

#[test]
fn connections_are_counted_until_they_close() {
    let served = Served::tcp();
    let stats = stats(&served);
    assert_eq!(stats.connections(), 0);
    let mut first = served.raw();
    let mut second = served.raw();
    first.ping(1);
    second.ping(1);
    assert_eq!(stats.connections(), 2);
    drop(first);
    eventually("connections", 1, || stats.connections());
    drop(second);
    eventually("connections", 0, || stats.connections());
}

#[test]
fn calls_in_flight_return_to_zero_after_answers_cancels_and_closes() {
    let served = Served::tcp();
    let stats = stats(&served);
    let mut raw = served.raw();
    for id in 1..=3 {
        raw.call(
            "nap",
            id,
            &Nap {
                tag: id,
                ms: 60_000,
            }
            .pack(),
        );
    }
    eventually("calls in flight", 3, || stats.calls_in_flight());

    // Answered at once: counted while running (never observable), not after.
    let item = Item { id: 1, value: 2 };
    raw.call("echo", 10, &item.pack());
    raw.read_frame().assert_response(10, &item.pack());
    assert_eq!(stats.calls_in_flight(), 3);

    // A short call that waits is answered and leaves the count.
    let short = Nap { tag: 11, ms: 10 };
    raw.call("nap", 11, &short.pack());
    raw.read_frame().assert_response(11, &short.pack());
    eventually("calls in flight", 3, || stats.calls_in_flight());

    raw.send_header(Header::new(FrameKind::Cancel, 2));
    eventually("calls in flight", 2, || stats.calls_in_flight());
    served.gauge.wait_for(Event::Dropped(2), HANG);

    // A second connection's calls add up with the first's.
    let other = served.client();
    let nap = Nap { tag: 20, ms: 200 };
    let task = smol::spawn(async move { other.nap(nap).await });
    eventually("calls in flight", 3, || stats.calls_in_flight());
    assert_eq!(wait(HANG, "the other nap", task).unwrap(), nap);
    eventually("calls in flight", 2, || stats.calls_in_flight());

    drop(raw);
    eventually("calls in flight", 0, || stats.calls_in_flight());
}
