//! Plumbing for the runtime tests: a served `Lab`, hang guards, a client that speaks raw
//! frames over a blocking `std::net::TcpStream`, and a well-behaved witness client that keeps
//! calling while other connections misbehave.

use super::lab::{Gauge, Item, LabBlockingClient, LabClient, LabImpl, Nap, QUIET, ServeLab};
use rpc_runtime::frame::{self, FrameKind, Header, Status};
use rpc_runtime::schema::{MethodSchema, ServiceSchema};
use rpc_runtime::server::{Limits, RunningServer};
use rpc_runtime::{BlockingClient, Client, Endpoint, Server, Wire};
use smol::channel::{Receiver, bounded};
use smol::future::FutureExt as _;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The upper bound on anything a test waits for. Only reached when something hangs.
pub const HANG: Duration = Duration::from_secs(10);

/// A number, the request and response of the small services some tests declare.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    pub n: u32,
}

/// Those services' own error.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Oops {
    /// An odd number was given.
    Odd = 1,
}

/// Runs `fut` to completion on this thread, or panics naming `what` after `limit`.
pub fn wait<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    smol::block_on(guard(limit, what, fut))
}

/// `fut`, or a panic naming `what` after `limit`.
pub async fn guard<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    fut.or(async {
        smol::Timer::after(limit).await;
        panic!("gave up after {limit:?} waiting for {what}")
    })
    .await
}

/// A `Lab` server running on background threads, and the gauge its handlers report to.
#[derive(Debug)]
pub struct Served {
    pub server: RunningServer,
    pub gauge: Arc<Gauge>,
    pub endpoint: Endpoint,
}

impl Served {
    /// Serves `Lab` on `tcp://127.0.0.1:0` with default limits.
    pub fn tcp() -> Served {
        Served::start(Endpoint::tcp("127.0.0.1:0"), Limits::default())
    }

    /// Serves `Lab` on `tcp://127.0.0.1:0` with `limits`.
    pub fn tcp_with(limits: Limits) -> Served {
        Served::start(Endpoint::tcp("127.0.0.1:0"), limits)
    }

    /// Serves `Lab` on `endpoint` with `limits`.
    pub fn start(endpoint: Endpoint, limits: Limits) -> Served {
        let gauge = Gauge::new();
        let server = Server::builder()
            .listen(endpoint)
            .serve(ServeLab::new(LabImpl {
                gauge: Arc::clone(&gauge),
            }))
            .limits(limits)
            .bind()
            .expect("bind")
            .spawn()
            .expect("spawn");
        let endpoint = server.endpoints()[0].clone();
        Served {
            server,
            gauge,
            endpoint,
        }
    }

    /// A new async client with its own connection.
    pub fn client(&self) -> LabClient {
        LabClient::new(Client::new(self.endpoint.clone()))
    }

    /// A new blocking client with its own connection.
    pub fn blocking(&self) -> LabBlockingClient {
        LabBlockingClient::new(BlockingClient::new(self.endpoint.clone()))
    }

    /// A raw connection to the server's TCP endpoint.
    pub fn raw(&self) -> Raw {
        Raw::connect(&self.endpoint)
    }
}

/// The schema of `Lab.name`.
pub fn method(name: &str) -> &'static MethodSchema {
    method_of(&LabClient::SCHEMA, name)
}

/// The schema of method `name` of `service`.
pub fn method_of(service: &'static ServiceSchema, name: &str) -> &'static MethodSchema {
    service
        .methods
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{} has no method {name}", service.name))
}

/// A request header for `Lab.name`, with the right id and fingerprint.
pub fn request(name: &str, call_id: u32) -> Header {
    request_to(&LabClient::SCHEMA, name, call_id)
}

/// A request header for method `name` of `service`, with the right id and fingerprint.
pub fn request_to(service: &'static ServiceSchema, name: &str, call_id: u32) -> Header {
    let m = method_of(service, name);
    let mut header = Header::new(FrameKind::Request, call_id);
    header.method = m.id;
    header.schema = m.fingerprint;
    header
}

/// A frame read off a raw connection.
#[derive(Debug)]
pub struct Frame {
    pub header: Header,
    pub body: Vec<u8>,
}

impl Frame {
    /// The body as text (error and goaway bodies are UTF-8 messages).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an `Error` frame for `call_id` with `status` whose message contains `needle`.
    #[track_caller]
    pub fn assert_error(&self, call_id: u32, status: Status, needle: &str) {
        assert_eq!(
            (self.header.kind, self.header.status, self.header.call_id),
            (FrameKind::Error, status, call_id),
            "frame {:?} with body {:?}",
            self.header,
            self.text()
        );
        assert!(
            self.text().contains(needle),
            "error message {:?} lacks {needle:?}",
            self.text()
        );
    }

    /// Asserts a successful `Response` to `call_id` with body `body`.
    #[track_caller]
    pub fn assert_response(&self, call_id: u32, body: &[u8]) {
        assert_eq!(
            (self.header.kind, self.header.status, self.header.call_id),
            (FrameKind::Response, Status::Ok, call_id),
            "frame {:?} with body {:?}",
            self.header,
            self.text()
        );
        assert_eq!(self.body, body);
    }
}

/// A client that writes and reads bytes itself, with blocking std sockets.
#[derive(Debug)]
pub struct Raw {
    stream: TcpStream,
}

impl Raw {
    /// Connects to a TCP endpoint. Reads give up after [`HANG`].
    pub fn connect(endpoint: &Endpoint) -> Raw {
        let Endpoint::Tcp(addr) = endpoint else {
            panic!("raw connections are TCP, not {endpoint}");
        };
        let stream = TcpStream::connect(addr.as_str()).expect("connect");
        stream.set_read_timeout(Some(HANG)).expect("read timeout");
        Raw { stream }
    }

    /// The client's own address: what the server sees as the peer.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.stream.local_addr().expect("local address")
    }

    /// Sends `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends `header` exactly as given (its `body_len` included), with no body.
    pub fn send_header(&mut self, header: Header) {
        self.send(header.pack().as_ref());
    }

    /// Sends a frame: `header` with `body_len` set to the length of `body`.
    pub fn send_frame(&mut self, header: Header, body: &[u8]) {
        let mut out = Vec::new();
        frame::encode_bytes(&mut out, header, body);
        self.send(&out);
    }

    /// Sends a `Lab.name` request.
    pub fn call(&mut self, name: &str, call_id: u32, body: &[u8]) {
        self.send_frame(request(name, call_id), body);
    }

    /// Sends a ping and expects its pong as the next frame.
    #[track_caller]
    pub fn ping(&mut self, call_id: u32) {
        self.send_frame(Header::new(FrameKind::Ping, call_id), b"hi");
        let pong = self.read_frame();
        assert_eq!(
            (pong.header.kind, pong.header.call_id, pong.body.as_slice()),
            (FrameKind::Pong, call_id, &b"hi"[..]),
            "expected a pong, got {:?} {:?}",
            pong.header,
            pong.text()
        );
    }

    /// Closes the sending direction: the server reads end-of-stream.
    pub fn shutdown_write(&self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }

    /// Reads the next frame; panics on end-of-stream, a timeout or a malformed header.
    #[track_caller]
    pub fn read_frame(&mut self) -> Frame {
        let mut head = [0; Header::SIZE];
        self.stream
            .read_exact(&mut head)
            .expect("a frame header from the server");
        let header = Header::unpack(&head).expect("a valid header from the server");
        assert!(header.body_len < 1 << 20, "huge body in {header:?}");
        let mut body = vec![0; header.body_len as usize];
        self.stream
            .read_exact(&mut body)
            .expect("the frame body from the server");
        Frame { header, body }
    }

    /// Expects the server to close the connection with nothing more to say.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        let mut byte = [0; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Ok(_) => panic!("expected the connection to close, got more bytes"),
            Err(e) => panic!("expected the connection to close, got {e}"),
        }
    }
}

/// A well-behaved client that calls `nap(2 ms)` in a loop on its own connection until
/// finished, failing the test if any call fails.
#[derive(Debug)]
pub struct Witness {
    client: LabBlockingClient,
    stop: Arc<AtomicBool>,
    /// A token after each answer (dropped when one is already waiting).
    answered: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Witness {
    /// Connects (with a first call) and starts calling.
    pub fn start(served: &Served) -> Witness {
        let client = served.blocking();
        let stop = Arc::new(AtomicBool::new(false));
        let (answer, answered) = bounded(1);
        let thread = {
            let (client, stop) = (client.clone(), Arc::clone(&stop));
            move || {
                let nap = Nap { tag: QUIET, ms: 2 };
                while !stop.load(Ordering::SeqCst) {
                    match client.nap(nap) {
                        Ok(reply) => assert_eq!(reply, nap),
                        Err(e) => panic!("the witness's call failed: {e}"),
                    }
                    let _ = answer.try_send(());
                }
            }
        };
        let mut witness = Witness {
            client,
            stop,
            answered,
            thread: None,
        };
        witness.check();
        witness.thread = Some(std::thread::spawn(thread));
        witness
    }

    /// One more call on the witness's connection, which must be answered.
    #[track_caller]
    pub fn check(&self) {
        let item = Item {
            id: 0x5eed,
            value: -1,
        };
        match self.client.echo(item) {
            Ok(reply) => assert_eq!(reply, item),
            Err(e) => panic!("the witness's call failed: {e}"),
        }
    }

    /// Waits for the calling thread to be answered once more, then stops it; fails if any
    /// of its calls failed.
    pub fn finish(mut self) {
        self.check();
        while self.answered.try_recv().is_ok() {}
        // Closed only when the thread panicked; the join below reports why.
        let _ = wait(HANG, "the witness's next answer", self.answered.recv());
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.take().expect("started");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
