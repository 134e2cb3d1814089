//! Deadlines and cancellation: a client that stops waiting tells the server, which drops the
//! handler; a deadline that travels with a request is enforced by the server on its own.

use super::lab::{Event, Item, LabClient, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{FrameKind, Header, Status};
use rpc_runtime::server::Limits;
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

/// Callers on several threads share one connection, and give up many of their calls at every
/// stage (just queued, waiting for another caller to read, reading for everyone, or when their
/// timeout passes): every call still ends, those not given up with their own answers, and the
/// connection keeps working. A hand-off of the reader role lost to a dropped call hangs here.
#[test]
fn calls_given_up_at_any_moment_leave_the_others_answered() {
    const THREADS: u32 = 4;
    const TASKS: u32 = 16;
    const ROUNDS: u32 = 40;
    let served = Served::tcp_with(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let lab = served.client();
    wait(HANG, "a first call", lab.inner().ping()).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (lab, done_tx) = (lab.clone(), done_tx.clone());
            std::thread::spawn(move || {
                let ex = smol::LocalExecutor::new();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|task| ex.spawn(rounds(lab.clone(), (thread * TASKS + task) * ROUNDS)))
                    .collect();
                smol::block_on(ex.run(async {
                    for task in tasks {
                        task.await;
                    }
                }));
                let _ = done_tx.send(());
            })
        })
        .collect();
    drop(done_tx);
    for _ in 0..THREADS {
        if let Err(e) = done_rx.recv_timeout(3 * HANG) {
            // A panic ends its thread without a word; a hang ends nothing.
            assert!(
                matches!(e, std::sync::mpsc::RecvTimeoutError::Disconnected),
                "calls on a shared connection still hang after {:?}",
                3 * HANG
            );
            break;
        }
    }
    for thread in threads {
        thread.join().expect("a caller thread panicked");
    }
    let item = Item { id: 1, value: 2 };
    assert_eq!(wait(HANG, "echo", lab.echo(item)).unwrap(), item);

    /// One task's calls, tagged from `first`: every fourth given up after its first poll or
    /// two, every fourth with a timeout about as long as its nap, the rest answered.
    async fn rounds(lab: LabClient, first: u32) {
        let hasty = lab.with_timeout(Duration::from_millis(2));
        for round in 0..ROUNDS {
            let id = first + round;
            let item = Item {
                id,
                value: -i64::from(id),
            };
            match round % 4 {
                0 => {
                    let call = async { Some(lab.echo(item).await) };
                    let give_up = async {
                        smol::future::yield_now().await;
                        None
                    };
                    if let Some(reply) = call.or(give_up).await {
                        assert_eq!(reply.expect("echo"), item);
                    }
                }
                1 => {
                    let nap = Nap {
                        tag: id,
                        ms: round % 3,
                    };
                    match hasty.nap(nap).await {
                        Ok(got) => assert_eq!(got, nap, "a caller got another's answer"),
                        Err(e) => assert_eq!(e.status(), Status::DeadlineExceeded, "{e}"),
                    }
                }
                _ => assert_eq!(lab.echo(item).await.expect("echo"), item),
            }
        }
    }
}
