//! Calls through the generated clients, async and blocking, over TCP and a Unix socket; the
//! built-in `describe` and ping; and many calls pipelined on one connection.

use super::lab::{Count, Gauge, Item, LabBlockingClient, LabClient, LabError, MAX_LIST, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::frame::Status;
use rpc_runtime::server::Limits;
use rpc_runtime::{CallError, Endpoint};
use std::sync::{Arc, Mutex};

const ITEM: Item = Item { id: 7, value: -42 };

/// `items(n)` is what `list(n)` returns.
fn items(n: u32) -> Vec<Item> {
    (0..n)
        .map(|id| Item {
            id,
            value: 10 * i64::from(id),
        })
        .collect()
}

/// Checks a `describe` reply names the service, every method with its id and fingerprint, and
/// the message formats.
fn check_describe(json: &str) {
    assert!(
        json.starts_with(r#"{"protocol":1,"services":[{"service":"Lab","methods":["#),
        "{json}"
    );
    assert!(json.ends_with("}]}]}"), "{json}");
    for m in LabClient::SCHEMA.methods {
        let entry = format!(
            r#"{{"name":"{}","id":{},"fingerprint":{},"read_only":{},"#,
            m.name, m.id, m.fingerprint, m.read_only
        );
        assert!(json.contains(&entry), "{json} lacks {entry}");
    }
    for needle in [
        r#""request":{"kind":"record","format":"!Iq","size":12,"order":"!","type":{"kind":"record","fields":[{"name":"id","type":{"kind":"int","size":4,"signed":false}},"#,
        r#""response":{"kind":"list","format":"!Iq","size":12,"order":"!","type":"#,
        r#""request":{"kind":"unit"}"#,
        r#""error":{"kind":"record","format":"!B","size":1,"order":"!","type":{"kind":"enum","name":"LabError""#,
    ] {
        assert!(json.contains(needle), "{json} lacks {needle}");
    }
}

fn refused<T: core::fmt::Debug>(result: Result<T, CallError<LabError>>) {
    let err = result.expect_err("refuse always fails");
    assert_eq!(err.status(), Status::Application);
    assert_eq!(err.application(), Some(&LabError::Refused));
}

/// Every kind of call through the async client.
fn exercise_async(lab: &LabClient, gauge: &Gauge) {
    wait(HANG, "async calls", async {
        assert_eq!(lab.echo(ITEM).await.unwrap(), ITEM);
        refused(lab.refuse(ITEM).await);
        assert_eq!(lab.list(Count { n: 3 }).await.unwrap(), items(3));
        assert_eq!(lab.list(Count { n: 0 }).await.unwrap(), items(0));
        // ~700 KiB: more than one read's worth on both sides.
        assert_eq!(
            lab.list(Count { n: MAX_LIST }).await.unwrap(),
            items(MAX_LIST)
        );
        let too_many = lab.list(Count { n: MAX_LIST + 1 }).await.unwrap_err();
        assert_eq!(too_many.application(), Some(&LabError::TooMany));
        let touched = gauge.touched();
        lab.touch(()).await.unwrap();
        assert_eq!(gauge.touched(), touched + 1);
        let nap = Nap { tag: 1, ms: 1 };
        assert_eq!(lab.nap(nap).await.unwrap(), nap);
        lab.inner().ping().await.unwrap();
        check_describe(&lab.inner().describe().await.unwrap());
    });
}

/// Every kind of call through the blocking client.
fn exercise_blocking(lab: &LabBlockingClient, gauge: &Gauge) {
    assert_eq!(lab.echo(ITEM).unwrap(), ITEM);
    refused(lab.refuse(ITEM));
    assert_eq!(lab.list(Count { n: 5 }).unwrap(), items(5));
    assert_eq!(lab.list(Count { n: MAX_LIST }).unwrap(), items(MAX_LIST));
    let touched = gauge.touched();
    lab.touch(()).unwrap();
    assert_eq!(gauge.touched(), touched + 1);
    let nap = Nap { tag: 2, ms: 1 };
    assert_eq!(lab.nap(nap).unwrap(), nap);
    lab.inner().ping().unwrap();
    check_describe(&lab.inner().describe().unwrap());
}

#[test]
fn tcp_calls_with_async_and_blocking_clients() {
    let served = Served::tcp();
    assert!(matches!(&served.endpoint, Endpoint::Tcp(addr) if !addr.ends_with(":0")));
    exercise_async(&served.client(), &served.gauge);
    exercise_blocking(&served.blocking(), &served.gauge);
}

#[cfg(unix)]
#[test]
fn unix_calls_with_async_and_blocking_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.sock");
    let served = Served::start(Endpoint::unix(&path), Limits::default());
    assert_eq!(served.endpoint, Endpoint::unix(&path));
    exercise_async(&served.client(), &served.gauge);
    exercise_blocking(&served.blocking(), &served.gauge);
}

#[test]
fn pipelined_calls_finish_out_of_order() {
    // One connection only: a second one would be refused, so every call shares the first.
    let served = Served::tcp_with(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let lab = served.client();
    wait(HANG, "a first call", lab.inner().ping()).unwrap();
    const N: u32 = 8;
    let finished = Arc::new(Mutex::new(Vec::new()));
    let replies = wait(HANG, "pipelined calls", async {
        // Sent in tag order; the first sent sleeps longest.
        let tasks: Vec<_> = (0..N)
            .map(|tag| {
                let (lab, finished) = (lab.clone(), Arc::clone(&finished));
                smol::spawn(async move {
                    let reply = lab
                        .nap(Nap {
                            tag,
                            ms: 50 + 60 * (N - tag),
                        })
                        .await;
                    finished.lock().unwrap().push(tag);
                    (tag, reply)
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await);
        }
        replies
    });
    for (tag, reply) in replies {
        let nap = reply.unwrap_or_else(|e| panic!("call {tag}: {e}"));
        assert_eq!(nap.tag, tag, "a caller got another caller's answer");
    }
    let order = finished.lock().unwrap().clone();
    assert_eq!(order.len(), N as usize);
    assert_eq!(
        order.first(),
        Some(&(N - 1)),
        "shortest nap first: {order:?}"
    );
    assert_eq!(order.last(), Some(&0), "longest nap last: {order:?}");
}

/// Thousands of calls in flight on one connection at once (more than the client's slots with
/// short ids, and far more than the server's in-flight limit, which holds them back): each
/// caller gets its own answer.
#[test]
fn thousands_of_calls_in_flight_on_one_connection_get_their_own_answers() {
    let served = Served::tcp_with(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let lab = served.client();
    wait(HANG, "a first call", lab.inner().ping()).unwrap();
    const N: u32 = 6000;
    let replies = wait(HANG, "thousands of calls", async {
        let tasks: Vec<_> = (0..N)
            .map(|id| {
                let lab = lab.clone();
                smol::spawn(async move {
                    let item = Item {
                        id,
                        value: -i64::from(id),
                    };
                    (item, lab.echo(item).await)
                })
            })
            .collect();
        let mut replies = Vec::new();
        for task in tasks {
            replies.push(task.await);
        }
        replies
    });
    for (sent, reply) in replies {
        let got = reply.unwrap_or_else(|e| panic!("call {}: {e}", sent.id));
        assert_eq!(got, sent, "a caller got another caller's answer");
    }
}

#[test]
fn a_reply_over_the_frame_limit_fails_that_call_only() {
    let served = Served::tcp_with(Limits {
        max_body: 1024,
        ..Limits::default()
    });
    let lab = served.blocking();
    // 4 + 100 * 12 bytes: over the limit.
    let err = lab.list(Count { n: 100 }).unwrap_err();
    assert_eq!(err.status(), Status::ResourceExhausted, "{err}");
    assert!(err.to_string().contains("exceeds the frame limit"), "{err}");
    // The connection is still good for calls that fit.
    assert_eq!(lab.list(Count { n: 3 }).unwrap().len(), 3);
}

#[test]
fn a_request_over_the_client_frame_limit_is_refused_before_sending() {
    let served = Served::tcp();
    let mut options = rpc_runtime::ClientOptions::default();
    options.max_body = 4;
    let client = rpc_runtime::BlockingClient::with_options(served.endpoint.clone(), options);
    let lab = LabBlockingClient::new(client);
    let err = lab.echo(Item { id: 1, value: 2 }).unwrap_err();
    assert_eq!(err.status(), Status::BadRequest, "{err}");
    assert!(
        err.to_string().contains("exceeds the frame limit of 4"),
        "{err}"
    );
    // Nothing was queued: the same client's next small call goes through.
    assert!(lab.inner().ping().is_ok());
}
