//! What the server promises a handler: `current_peer` names the caller while the handler
//! runs, inline or as a task, and a handler that panics fails its own call with `internal`
//! while the connection, the other calls and the call's slot stay intact.

use super::stats::eventually;
use super::support::{HANG, Raw, request_to, wait};
use rpc_runtime::frame::Header;
use rpc_runtime::frame::Status;
use rpc_runtime::server::{Limits, Peer, RunningServer, current_peer};
use rpc_runtime::{Client, Endpoint, Server, Wire, service};

/// Who the handler saw as its caller.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// 1 for TCP, 2 for a Unix socket, 0 when `current_peer` was `None`.
    pub kind: u8,
    pub port: u16,
}

/// `Probe`'s errors (it has none of its own).
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProbeError {
    Never = 1,
}

/// A service whose handlers report what the server does around them.
#[service]
pub trait Probe {
    /// The peer, read on the first poll (answered inline).
    async fn peer_now(&self, unit: ()) -> Result<Seen, ProbeError>;
    /// The peer, read after yielding once (answered from a task).
    async fn peer_later(&self, unit: ()) -> Result<Seen, ProbeError>;
    /// Panics on the first poll.
    async fn panic_now(&self, unit: ()) -> Result<(), ProbeError>;
    /// Panics after yielding once, from a task.
    async fn panic_later(&self, unit: ()) -> Result<(), ProbeError>;
}

fn seen() -> Seen {
    match current_peer() {
        Some(Peer::Tcp(addr)) => Seen {
            kind: 1,
            port: addr.port(),
        },
        Some(Peer::Unix) => Seen { kind: 2, port: 0 },
        Some(_) | None => Seen { kind: 0, port: 0 },
    }
}

#[derive(Debug)]
struct ProbeImpl;

impl Probe for ProbeImpl {
    async fn peer_now(&self, (): ()) -> Result<Seen, ProbeError> {
        Ok(seen())
    }

    async fn peer_later(&self, (): ()) -> Result<Seen, ProbeError> {
        smol::future::yield_now().await;
        Ok(seen())
    }

    async fn panic_now(&self, (): ()) -> Result<(), ProbeError> {
        panic!("probe: panic on the first poll")
    }

    async fn panic_later(&self, (): ()) -> Result<(), ProbeError> {
        smol::future::yield_now().await;
        panic!("probe: panic in a task")
    }
}

fn serve(endpoint: Endpoint) -> RunningServer {
    serve_with(endpoint, Limits::default())
}

fn serve_with(endpoint: Endpoint, limits: Limits) -> RunningServer {
    Server::builder()
        .listen(endpoint)
        .serve(ServeProbe::new(ProbeImpl))
        .limits(limits)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A `Probe.name` request header for `call_id`.
fn request(name: &str, call_id: u32) -> Header {
    request_to(&ProbeClient::SCHEMA, name, call_id)
}

#[test]
fn handlers_see_their_tcp_peer_inline_and_as_tasks() {
    let server = serve(Endpoint::tcp("127.0.0.1:0"));
    let mut raws = [
        Raw::connect(&server.endpoints()[0]),
        Raw::connect(&server.endpoints()[0]),
    ];
    for round in 0..2 {
        for (i, raw) in raws.iter_mut().enumerate() {
            let port = raw.local_addr().port();
            let want = Seen { kind: 1, port }.pack();
            let id = 1 + 2 * (round * 2 + i as u32);
            raw.send_frame(request("peer_now", id), &[]);
            raw.read_frame().assert_response(id, &want);
            raw.send_frame(request("peer_later", id + 1), &[]);
            raw.read_frame().assert_response(id + 1, &want);
        }
    }
    // Outside a handler there is none.
    assert_eq!(current_peer(), None);
}

#[cfg(unix)]
#[test]
fn handlers_see_a_unix_peer() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(Endpoint::unix(dir.path().join("probe.sock")));
    let probe = ProbeClient::new(Client::new(server.endpoints()[0].clone()));
    let want = Seen { kind: 2, port: 0 };
    assert_eq!(wait(HANG, "peer_now", probe.peer_now(())).unwrap(), want);
    assert_eq!(
        wait(HANG, "peer_later", probe.peer_later(())).unwrap(),
        want
    );
}

#[test]
fn a_panicking_handler_fails_its_call_only() {
    // One call at a time: a slot a panic kept would stop the connection for good.
    let server = serve_with(
        Endpoint::tcp("127.0.0.1:0"),
        Limits {
            max_in_flight: 1,
            ..Limits::default()
        },
    );
    let stats = server.stats();
    let mut raw = Raw::connect(&server.endpoints()[0]);
    let port = raw.local_addr().port();
    let seen = Seen { kind: 1, port }.pack();
    for round in 0..2 {
        let id = 10 * round + 1;
        raw.send_frame(request("panic_now", id), &[]);
        raw.read_frame()
            .assert_error(id, Status::Internal, "the handler panicked");
        raw.send_frame(request("peer_now", id + 1), &[]);
        raw.read_frame().assert_response(id + 1, &seen);

        raw.send_frame(request("panic_later", id + 2), &[]);
        raw.read_frame()
            .assert_error(id + 2, Status::Internal, "the handler panicked");
        raw.send_frame(request("peer_later", id + 3), &[]);
        raw.read_frame().assert_response(id + 3, &seen);
        raw.ping(id + 4);
    }
    eventually("calls in flight", 0, || stats.calls_in_flight());

    // The same through a generated client.
    let probe = ProbeClient::new(Client::new(server.endpoints()[0].clone()));
    let err = wait(HANG, "panic_later", probe.panic_later(())).unwrap_err();
    assert_eq!(err.status(), Status::Internal, "{err}");
    let answer = wait(HANG, "peer_now", probe.peer_now(())).unwrap();
    assert_eq!(answer.kind, 1);
}
