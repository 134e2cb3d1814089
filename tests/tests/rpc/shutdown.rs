//! Graceful shutdown: calls already accepted are answered, new calls fail with `unavailable`,
//! clients are told with a goaway; a stopped server fails calls at once, and a client
//! reconnects by itself when a server comes back.

use super::lab::LabBlockingClient;
use super::lab::{Item, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{FrameKind, Status};
use rpc_runtime::server::Limits;
use rpc_runtime::{BlockingClient, Endpoint};
use std::time::{Duration, Instant};

const ITEM: Item = Item { id: 6, value: 66 };

/// Failing fast means well within this.
const FAST: Duration = Duration::from_secs(2);

#[cfg(unix)]
#[test]
fn shutdown_answers_every_accepted_call_then_the_client_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.sock");
    let endpoint = Endpoint::unix(&path);
    let served = Served::start(endpoint.clone(), Limits::default());
    let lab = served.client();
    const N: u32 = 12;
    // Short naps, and one that is still running after they are all answered.
    let short: Vec<Nap> = (0..N).map(|tag| Nap { tag, ms: 300 }).collect();
    let long = Nap { tag: 99, ms: 1_500 };
    let tasks: Vec<_> = short
        .iter()
        .chain([&long])
        .map(|&nap| {
            let lab = lab.clone();
            smol::spawn(async move { lab.nap(nap).await })
        })
        .collect();
    let mut started = served.gauge.wait_started(N as usize + 1, HANG);
    started.sort_unstable();
    assert_eq!(started, (0..N).chain([99]).collect::<Vec<_>>());

    served.server.shutdown_handle().shutdown();
    let mut tasks = tasks.into_iter();
    for (nap, task) in short.iter().zip(tasks.by_ref()) {
        let reply = wait(HANG, "an accepted call", task);
        assert_eq!(reply.unwrap_or_else(|e| panic!("{nap:?}: {e}")), *nap);
    }
    let long_task = tasks.next().unwrap();

    // The long nap still runs, but the client got the goaway with the short answers: a new
    // call does not go to the draining connection, and no new connection is accepted.
    let start = Instant::now();
    let err = wait(HANG, "a call after shutdown", lab.echo(ITEM)).unwrap_err();
    assert_eq!(err.status(), Status::Unavailable, "{err}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(start.elapsed() < FAST, "failing took {:?}", start.elapsed());
    assert!(!long_task.is_finished(), "the long nap is over already");
    let reply = wait(HANG, "the long call", long_task);
    assert_eq!(reply.unwrap(), long);

    served.server.stop();
    assert!(!path.exists(), "the socket outlived its server");
    // No server: calls fail at once, they do not hang.
    let start = Instant::now();
    let err = wait(FAST, "a call to no server", lab.echo(ITEM)).unwrap_err();
    assert_eq!(err.status(), Status::Unavailable, "{err}");
    let blocking = LabBlockingClient::new(BlockingClient::new(endpoint.clone()));
    assert_eq!(
        blocking.echo(ITEM).unwrap_err().status(),
        Status::Unavailable
    );
    assert!(start.elapsed() < FAST, "failing took {:?}", start.elapsed());

    // A new server on the same path: the same client reconnects on its next call.
    let _again = Served::start(endpoint, Limits::default());
    assert_eq!(
        wait(HANG, "a call after restart", lab.echo(ITEM)).unwrap(),
        ITEM
    );
    assert_eq!(blocking.echo(ITEM).unwrap(), ITEM);
}

#[test]
fn draining_connection_sends_goaway_and_refuses_new_calls() {
    let served = Served::tcp();
    let mut raw = served.raw();
    let nap = Nap { tag: 7, ms: 500 };
    raw.call("nap", 1, &nap.pack());
    served.gauge.wait_for(super::lab::Event::Started(7), HANG);
    served.server.shutdown_handle().shutdown();

    let goaway = raw.read_frame();
    assert_eq!(
        (goaway.header.kind, goaway.header.call_id),
        (FrameKind::Goaway, 1),
        "{goaway:?}"
    );
    // A call sent after the goaway is refused at once, before the running call finishes.
    raw.call("echo", 2, &ITEM.pack());
    raw.read_frame()
        .assert_error(2, Status::Unavailable, "shutting down");
    raw.read_frame().assert_response(1, &nap.pack());
    raw.expect_closed();

    let (endpoint, lab) = (served.endpoint.clone(), served.client());
    served.server.stop();
    let err = wait(FAST, "a call to no server", lab.echo(ITEM)).unwrap_err();
    assert_eq!(err.status(), Status::Unavailable, "{err}");
    let Endpoint::Tcp(addr) = endpoint else {
        unreachable!()
    };
    let refused = std::net::TcpStream::connect(addr.as_str()).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}
