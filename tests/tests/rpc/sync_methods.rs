//! `#[service]` methods declared as a plain `fn`: the server runs them inline and frames their
//! result in place, next to `async fn` methods of the same trait. Over the real server and the
//! generated clients they answer, fail and panic exactly as an `async fn` would, and nothing a
//! client sees (ids, fingerprints, `describe`, OpenAPI) tells the two kinds apart.

use super::http::{connect_to, read_reply};
use super::support::{HANG, Oops, Raw, Value, request_to, wait};
use rpc_runtime::frame::{self, FrameKind, Header, Status};
use rpc_runtime::server::{Limits, Peer, RunningServer, current_peer};
use rpc_runtime::{BlockingClient, Client, Endpoint, Reply, Server, Service, Wire, service};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};

/// A service whose methods never wait are plain `fn`s, beside one that does.
#[service]
pub trait Mixed {
    /// Twice an even number; `Oops::Odd` for an odd one.
    #[rpc(read_only)]
    fn double(&self, value: Value) -> Result<Value, Oops>;
    /// The same after waiting once, so answered from a task.
    async fn double_later(&self, value: Value) -> Result<Value, Oops>;
    /// Panics.
    fn panics(&self, value: Value) -> Result<Value, Oops>;
    /// The caller's TCP port, as `current_peer` tells the handler (0 for none).
    fn peer(&self, unit: ()) -> Result<Value, Oops>;
}

/// The same trait with every method an `async fn`: what a client built against an older,
/// all-async version of the service would have.
mod twin {
    use super::{Oops, Value};
    use rpc_runtime::service;

    /// `Mixed`, every method async.
    #[service]
    pub trait Mixed {
        /// Twice an even number.
        #[rpc(read_only)]
        async fn double(&self, value: Value) -> Result<Value, Oops>;
        /// The same after waiting once.
        async fn double_later(&self, value: Value) -> Result<Value, Oops>;
        /// Panics.
        async fn panics(&self, value: Value) -> Result<Value, Oops>;
        /// The caller's TCP port.
        async fn peer(&self, unit: ()) -> Result<Value, Oops>;
    }

    /// Answers as `super::MixedImpl` does.
    pub struct TwinImpl;

    impl Mixed for TwinImpl {
        async fn double(&self, value: Value) -> Result<Value, Oops> {
            super::double(value)
        }

        async fn double_later(&self, value: Value) -> Result<Value, Oops> {
            super::double(value)
        }

        async fn panics(&self, _: Value) -> Result<Value, Oops> {
            panic!("twin: panic")
        }

        async fn peer(&self, (): ()) -> Result<Value, Oops> {
            Ok(super::port())
        }
    }
}

fn double(value: Value) -> Result<Value, Oops> {
    if value.n.is_multiple_of(2) {
        Ok(Value { n: value.n * 2 })
    } else {
        Err(Oops::Odd)
    }
}

fn port() -> Value {
    match current_peer() {
        Some(Peer::Tcp(addr)) => Value {
            n: u32::from(addr.port()),
        },
        _ => Value { n: 0 },
    }
}

/// Counts the calls its plain `fn`s handled.
#[derive(Debug, Default)]
struct MixedImpl {
    handled: Arc<AtomicU32>,
}

impl Mixed for MixedImpl {
    fn double(&self, value: Value) -> Result<Value, Oops> {
        self.handled.fetch_add(1, Ordering::Relaxed);
        double(value)
    }

    async fn double_later(&self, value: Value) -> Result<Value, Oops> {
        smol::future::yield_now().await;
        double(value)
    }

    fn panics(&self, _: Value) -> Result<Value, Oops> {
        panic!("mixed: a plain fn panics")
    }

    fn peer(&self, (): ()) -> Result<Value, Oops> {
        Ok(port())
    }
}

fn serve_with(service: impl Service, limits: Limits) -> RunningServer {
    Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(service)
        .limits(limits)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn")
}

fn serve() -> RunningServer {
    serve_with(ServeMixed::new(MixedImpl::default()), Limits::default())
}

/// A `Mixed.name` request header for `call_id`.
fn request(name: &str, call_id: u32) -> Header {
    request_to(&MixedClient::SCHEMA, name, call_id)
}

fn body(n: u32) -> Vec<u8> {
    Value { n }.pack().to_vec()
}

#[test]
fn plain_and_async_methods_answer_through_the_generated_clients() {
    let server = serve();
    let endpoint = server.endpoints()[0].clone();
    let mixed = MixedClient::new(Client::new(endpoint.clone()));
    wait(HANG, "async client calls", async {
        assert_eq!(mixed.double(Value { n: 4 }).await.unwrap(), Value { n: 8 });
        let odd = mixed.double(Value { n: 5 }).await.unwrap_err();
        assert_eq!(odd.status(), Status::Application, "{odd}");
        assert_eq!(odd.application(), Some(&Oops::Odd));
        assert_eq!(
            mixed.double_later(Value { n: 6 }).await.unwrap(),
            Value { n: 12 }
        );
        let odd = mixed.double_later(Value { n: 7 }).await.unwrap_err();
        assert_eq!(odd.application(), Some(&Oops::Odd));
    });
    let blocking = MixedBlockingClient::new(BlockingClient::new(endpoint));
    assert_eq!(blocking.double(Value { n: 10 }).unwrap(), Value { n: 20 });
    let odd = blocking.double(Value { n: 11 }).unwrap_err();
    assert_eq!(odd.application(), Some(&Oops::Odd));
    assert_eq!(
        blocking.double_later(Value { n: 2 }).unwrap(),
        Value { n: 4 }
    );
    // The handler sees its caller, as an async one does.
    let port = blocking.peer(()).unwrap();
    assert_ne!(port.n, 0, "current_peer was not set around a plain fn");
}

#[test]
fn a_panicking_plain_fn_fails_its_call_and_the_connection_lives() {
    // One call at a time: a slot the panic kept would stop the connection for good.
    let server = serve_with(
        ServeMixed::new(MixedImpl::default()),
        Limits {
            max_in_flight: 1,
            ..Limits::default()
        },
    );
    let mut raw = Raw::connect(&server.endpoints()[0]);
    let port = u32::from(raw.local_addr().port());
    for round in 0..3 {
        let id = 10 * round + 1;
        raw.send_frame(request("panics", id), &body(2));
        raw.read_frame()
            .assert_error(id, Status::Internal, "the handler panicked");
        raw.send_frame(request("double", id + 1), &body(round));
        if round % 2 == 0 {
            raw.read_frame().assert_response(id + 1, &body(2 * round));
        } else {
            let reply = raw.read_frame();
            assert_eq!(reply.header.status, Status::Application);
            assert_eq!(reply.body, [Oops::Odd as u8]);
        }
        raw.send_frame(request("peer", id + 2), &[]);
        raw.read_frame().assert_response(id + 2, &body(port));
        raw.ping(id + 3);
    }
    // The same error an async handler's panic gives.
    let twin = serve_with(
        twin::ServeMixed::new(twin::TwinImpl),
        Limits {
            max_in_flight: 1,
            ..Limits::default()
        },
    );
    let mut twin_raw = Raw::connect(&twin.endpoints()[0]);
    twin_raw.send_frame(request("panics", 1), &body(2));
    let from_async = twin_raw.read_frame();
    raw.send_frame(request("panics", 1), &body(2));
    let from_plain = raw.read_frame();
    assert_eq!(from_plain.header.pack(), from_async.header.pack());
    assert_eq!(from_plain.body, from_async.body);

    // Through a generated client, which keeps its connection.
    let mixed = MixedClient::new(Client::new(server.endpoints()[0].clone()));
    wait(HANG, "calls after a panic", async {
        for _ in 0..2 {
            let err = mixed.panics(Value { n: 0 }).await.unwrap_err();
            assert_eq!(err.status(), Status::Internal, "{err}");
            assert_eq!(mixed.double(Value { n: 2 }).await.unwrap(), Value { n: 4 });
        }
    });
}

#[test]
fn pipelined_plain_and_async_calls_each_get_their_own_reply() {
    let server = serve();
    let mut raw = Raw::connect(&server.endpoints()[0]);
    // One write: the server takes them in one batch, so plain calls' replies are framed in
    // place between calls that wait, a panic and a request that does not decode.
    let mut out = Vec::new();
    let mut expected: BTreeMap<u32, (Status, Vec<u8>)> = BTreeMap::new();
    for id in 1..=40u32 {
        let (name, n) = match id % 4 {
            0 => ("double_later", id),
            _ => ("double", id),
        };
        frame::encode_bytes(&mut out, request(name, id), &body(n));
        let answer = if n % 2 == 0 {
            (Status::Ok, body(2 * n))
        } else {
            (Status::Application, vec![Oops::Odd as u8])
        };
        expected.insert(id, answer);
    }
    frame::encode_bytes(&mut out, request("panics", 41), &body(0));
    expected.insert(41, (Status::Internal, b"the handler panicked".to_vec()));
    frame::encode_bytes(&mut out, request("double", 42), &[0, 0, 1]);
    expected.insert(
        42,
        (Status::BadRequest, b"cannot decode the request".to_vec()),
    );
    frame::encode_bytes(&mut out, Header::new(FrameKind::Ping, 43), b"hi");
    expected.insert(43, (Status::Ok, b"hi".to_vec()));
    raw.send(&out);
    let mut got = BTreeMap::new();
    while got.len() < expected.len() {
        let frame = raw.read_frame();
        let again = got.insert(frame.header.call_id, (frame.header.status, frame.body));
        assert!(again.is_none(), "two replies to one call");
    }
    for (id, (status, want)) in &expected {
        let (got_status, got_body) = &got[id];
        assert_eq!(got_status, status, "call {id}: {got_body:?}");
        assert!(got_body.starts_with(want), "call {id}: {got_body:?}");
    }

    // Many callers on one generated client's connection.
    let mixed = MixedClient::new(Client::new(server.endpoints()[0].clone()));
    let answers = wait(HANG, "pipelined client calls", async {
        let tasks: Vec<_> = (0..64u32)
            .map(|n| {
                let mixed = mixed.clone();
                smol::spawn(async move {
                    let value = Value { n: 2 * n };
                    if n % 3 == 0 {
                        mixed.double_later(value).await
                    } else {
                        mixed.double(value).await
                    }
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("a call"));
        }
        answers
    });
    for (n, answer) in (0..64u32).zip(answers) {
        assert_eq!(
            answer,
            Value { n: 4 * n },
            "caller {n} got another's answer"
        );
    }
}

fn http(stream: &mut TcpStream, head: &str, body: &str) -> (u16, Json) {
    let head = format!(
        "{head}\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body.as_bytes()).expect("write");
    let reply = read_reply(stream);
    let value = serde_json::from_slice(&reply.body).unwrap_or(Json::Null);
    (reply.code, value)
}

#[test]
fn a_plain_fn_answers_json_over_http() {
    let server = serve();
    let mut stream = connect_to(&server.endpoints()[0]);
    let (code, value) = http(&mut stream, "POST /Mixed/double HTTP/1.1", r#"{"n": 4}"#);
    assert_eq!((code, value), (200, json!({"n": 8})));

    let (code, value) = http(&mut stream, "POST /Mixed/double HTTP/1.1", r#"{"n": 3}"#);
    assert_eq!(code, 422, "{value}");
    assert_eq!(value["status"], json!("application"));
    assert_eq!(value["error"], json!("Odd"));

    let (code, value) = http(&mut stream, "GET /Mixed/double?n=6 HTTP/1.1", "");
    assert_eq!((code, value), (200, json!({"n": 12})));

    let (code, value) = http(&mut stream, "POST /Mixed/panics HTTP/1.1", r#"{"n": 0}"#);
    assert_eq!(code, 500, "{value}");
    assert_eq!(value["status"], json!("internal"));

    // The connection survived the panic; the async method answers on it too.
    let (code, value) = http(
        &mut stream,
        "POST /Mixed/double_later HTTP/1.1",
        r#"{"n": 2}"#,
    );
    assert_eq!((code, value), (200, json!({"n": 4})));
    let (code, value) = http(&mut stream, "POST /Mixed/peer HTTP/1.1", "null");
    assert_eq!(code, 200, "{value}");
    assert_ne!(value["n"], json!(0), "current_peer was not set over HTTP");
}

#[test]
fn start_runs_a_plain_fn_at_once_and_returns_a_finished_call() {
    let handled = Arc::new(AtomicU32::new(0));
    let serve = ServeMixed::new(MixedImpl {
        handled: Arc::clone(&handled),
    });
    let double_id = request("double", 1).method;
    let mut call = serve.start(double_id, &body(4)).expect("a method");
    assert_eq!(
        handled.load(Ordering::Relaxed),
        1,
        "the handler did not run in start"
    );
    let reply = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert_eq!(
        reply,
        Poll::Ready(Reply::from_result(Ok::<_, Oops>(Value { n: 8 })))
    );
    let mut call = serve.start(double_id, &[1]).expect("a method");
    let Poll::Ready(reply) = call.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("a bad request waited");
    };
    assert_eq!(reply.status, Status::BadRequest);
    assert_eq!(handled.load(Ordering::Relaxed), 1, "ran on a bad request");
}

#[test]
fn clients_cannot_tell_plain_from_async_methods() {
    // Ids, fingerprints, formats and the read-only mark depend on names and messages only.
    assert_eq!(MixedClient::SCHEMA.name, twin::MixedClient::SCHEMA.name);
    assert_eq!(
        MixedClient::SCHEMA.methods,
        twin::MixedClient::SCHEMA.methods
    );
    assert_eq!(
        rpc_runtime::openapi::document("t", "1", &[&MixedClient::SCHEMA]).unwrap(),
        rpc_runtime::openapi::document("t", "1", &[&twin::MixedClient::SCHEMA]).unwrap()
    );
    let plain = serve();
    let async_twin = serve_with(twin::ServeMixed::new(twin::TwinImpl), Limits::default());
    let to_plain = Client::new(plain.endpoints()[0].clone());
    let to_async = Client::new(async_twin.endpoints()[0].clone());
    wait(HANG, "describe and cross calls", async {
        assert_eq!(
            to_plain.describe().await.unwrap(),
            to_async.describe().await.unwrap()
        );
        // A client generated from the async trait calls the plain fns, and the other way.
        let old = twin::MixedClient::new(to_plain.clone());
        assert_eq!(old.double(Value { n: 2 }).await.unwrap(), Value { n: 4 });
        let odd = old.double(Value { n: 1 }).await.unwrap_err();
        assert_eq!(odd.application(), Some(&Oops::Odd));
        let new = MixedClient::new(to_async);
        assert_eq!(new.double(Value { n: 8 }).await.unwrap(), Value { n: 16 });
    });
}
