//! HTTP load: requests per second over keep-alive connections for `GET /health` and for one
//! method called over HTTP with a JSON body (`POST /Bench/call`, `application/json`) and with
//! Wire bytes (`application/octet-stream`), beside the binary protocol's calls per second for
//! the same method, in one run against one server. The binary protocol is measured twice: raw
//! frames over a blocking socket, one exchange at a time like the HTTP clients, and through the
//! generated `BlockingClient`.
//!
//! ```sh
//! cargo bench -p rpc-runtime --features json --bench http -- [--secs N] [--rounds N] [--threads N] [--only MODE]
//! ```
//!
//! `--only` (`frames`, `binary`, `health`, `json` or `octets`) runs one mode alone, for
//! profiling it.
//!
//! Each round runs every mode for `--secs` (default 2) with `--threads` client threads
//! (default 4), each on its own connection, calling back to back; the modes take turns within a
//! round so a slow moment of the machine hits them all. The summary gives each mode's median
//! over the rounds (default 5) and its ratio to raw binary frames.

use rpc_runtime::frame::{self, FrameKind, Header};
use rpc_runtime::{BlockingClient, Endpoint, Server, Wire, service};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The request: `id: u32, amount: i64, name: [u8; 32]`, 44 bytes.
#[derive(Wire, Debug, Clone, Copy)]
pub struct BenchRequest {
    /// Per-caller counter.
    pub id: u32,
    /// `id * 3 + 1`.
    pub amount: i64,
    /// A fixed name.
    pub name: [u8; 32],
}

/// The response: `id: u32, balance: i64, ok: bool`, 13 bytes.
#[derive(Wire, Debug, Clone, Copy)]
pub struct BenchResponse {
    /// The request's id.
    pub id: u32,
    /// `amount * 2`.
    pub balance: i64,
    /// Always true.
    pub ok: bool,
}

/// The benchmark service.
#[service]
pub trait Bench {
    /// Echoes the id and doubles the amount.
    async fn call(&self, request: BenchRequest) -> Result<BenchResponse, ()>;
}

struct Handler;

impl Bench for Handler {
    async fn call(&self, r: BenchRequest) -> Result<BenchResponse, ()> {
        Ok(BenchResponse {
            id: r.id,
            balance: r.amount * 2,
            ok: true,
        })
    }
}

fn request(id: u32) -> BenchRequest {
    BenchRequest {
        id,
        amount: i64::from(id) * 3 + 1,
        name: *b"alice-account-0000000000000000!!",
    }
}

fn check(id: u32, response: &BenchResponse) {
    assert!(
        response.id == id && response.balance == (i64::from(id) * 3 + 1) * 2 && response.ok,
        "wrong answer for {id}: {response:?}"
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Frames,
    Binary,
    Health,
    Json,
    Octets,
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Frames,
        Mode::Binary,
        Mode::Health,
        Mode::Json,
        Mode::Octets,
    ];

    fn key(self) -> &'static str {
        match self {
            Mode::Frames => "frames",
            Mode::Binary => "binary",
            Mode::Health => "health",
            Mode::Json => "json",
            Mode::Octets => "octets",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Frames => "binary frames (blocking socket)",
            Mode::Binary => "binary call (BlockingClient)",
            Mode::Health => "GET /health",
            Mode::Json => "POST /Bench/call (json)",
            Mode::Octets => "POST /Bench/call (octet-stream)",
        }
    }
}

/// Writes the head and the JSON body of a call with `request(id)` into `head` and `body`, as
/// docs/JSON.md maps it: the 64-bit amount as a decimal string, the byte string as hex.
fn json_request(id: u32, head: &mut String, body: &mut String) {
    use std::fmt::Write as _;
    let r = request(id);
    body.clear();
    write!(
        body,
        "{{\"id\":{},\"amount\":\"{}\",\"name\":\"",
        r.id, r.amount
    )
    .expect("write");
    for byte in r.name {
        write!(body, "{byte:02x}").expect("write");
    }
    body.push_str("\"}");
    head.clear();
    write!(
        head,
        "POST /Bench/call HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
}

/// Reads a JSON reply of `call` back into a [`BenchResponse`].
fn json_response(reply: &[u8]) -> BenchResponse {
    let value: serde_json::Value = serde_json::from_slice(reply).expect("a JSON reply");
    BenchResponse {
        id: value["id"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .expect("id"),
        balance: value["balance"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("balance as a decimal string"),
        ok: value["ok"].as_bool().expect("ok"),
    }
}

/// One keep-alive HTTP/1.1 connection with a reusable read buffer.
struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    fn connect(addr: &str) -> Http {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Http {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `head` and `body`, and returns the status code and the response body.
    fn exchange(&mut self, head: &[u8], body: &[u8]) -> (u16, &[u8]) {
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(body);
        self.stream.write_all(&out).expect("write");
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill();
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).expect("ascii head");
        let code = head[9..12].parse().expect("status code");
        let len: usize = head
            .split("\r\n")
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            })
            .map(|(_, v)| v.trim().parse().expect("length"))
            .expect("content-length");
        while self.buf.len() < head_end + len {
            self.fill();
        }
        (code, &self.buf[head_end..head_end + len])
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).expect("read");
        assert!(n > 0, "the server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

/// Runs `mode` on `threads` connections for `secs`; returns requests per second.
fn measure(mode: Mode, endpoint: &Endpoint, threads: usize, secs: Duration) -> f64 {
    let Endpoint::Tcp(addr) = endpoint else {
        panic!("a tcp endpoint")
    };
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let stop = Arc::clone(&stop);
            let addr = addr.clone();
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                let mut id = (t as u32) << 24;
                match mode {
                    Mode::Frames => {
                        // One frame out, one frame in, over a plain blocking socket: the
                        // same exchange the HTTP modes make.
                        let mut stream = TcpStream::connect(&addr).expect("connect");
                        stream.set_nodelay(true).expect("nodelay");
                        let method = BenchClient::SCHEMA.methods[0];
                        let mut out = Vec::new();
                        let mut reply = vec![0u8; Header::SIZE + BenchResponse::SIZE];
                        while !stop.load(Ordering::Relaxed) {
                            id += 1;
                            let mut header = Header::new(FrameKind::Request, id);
                            header.method = method.id;
                            header.schema = method.fingerprint;
                            out.clear();
                            frame::encode_bytes(&mut out, header, &request(id).pack());
                            stream.write_all(&out).expect("write");
                            stream.read_exact(&mut reply).expect("read");
                            let body = &reply[Header::SIZE..];
                            check(id, &BenchResponse::unpack(body).expect("a response"));
                            done += 1;
                        }
                    }
                    Mode::Binary => {
                        let client = BenchBlockingClient::new(BlockingClient::new(endpoint));
                        while !stop.load(Ordering::Relaxed) {
                            id += 1;
                            let response = client.call(request(id)).expect("call");
                            check(id, &response);
                            done += 1;
                        }
                    }
                    Mode::Health => {
                        let mut http = Http::connect(&addr);
                        let head = b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n";
                        while !stop.load(Ordering::Relaxed) {
                            let (code, body) = http.exchange(head, b"");
                            assert_eq!((code, body), (200, &b"ok\n"[..]));
                            done += 1;
                        }
                    }
                    Mode::Json => {
                        let mut http = Http::connect(&addr);
                        let mut head = String::new();
                        let mut body = String::new();
                        while !stop.load(Ordering::Relaxed) {
                            id += 1;
                            json_request(id, &mut head, &mut body);
                            let (code, reply) = http.exchange(head.as_bytes(), body.as_bytes());
                            assert_eq!(code, 200, "{}", String::from_utf8_lossy(reply));
                            check(id, &json_response(reply));
                            done += 1;
                        }
                    }
                    Mode::Octets => {
                        let mut http = Http::connect(&addr);
                        let head = format!(
                            "POST /Bench/call HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                            BenchRequest::SIZE
                        );
                        while !stop.load(Ordering::Relaxed) {
                            id += 1;
                            let (code, body) = http.exchange(head.as_bytes(), &request(id).pack());
                            assert_eq!(code, 200);
                            check(id, &BenchResponse::unpack(body).expect("a response"));
                            done += 1;
                        }
                    }
                }
                done
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let mut secs = Duration::from_secs(2);
    let mut rounds = 5usize;
    let mut threads = 4usize;
    let mut modes = Mode::ALL.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse::<u64>().ok());
        match arg.as_str() {
            "--secs" => secs = Duration::from_secs(value().expect("--secs N")),
            "--rounds" => rounds = value().expect("--rounds N") as usize,
            "--threads" => threads = value().expect("--threads N") as usize,
            "--only" => {
                let key = args.next().unwrap_or_default();
                modes = Mode::ALL.into_iter().filter(|m| m.key() == key).collect();
                assert!(!modes.is_empty(), "--only frames|binary|health|json|octets");
            }
            // What cargo passes to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}; see the doc comment of benches/http.rs"),
        }
    }
    let server = Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(ServeBench::new(Handler))
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    let endpoint = server.endpoints()[0].clone();
    for &mode in &modes {
        measure(mode, &endpoint, threads, Duration::from_millis(300));
    }
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for round in 1..=rounds {
        for (i, &mode) in modes.iter().enumerate() {
            let rate = measure(mode, &endpoint, threads, secs);
            println!(
                "round={round} mode=\"{}\" requests_per_s={rate:.0}",
                mode.name()
            );
            results[i].push(rate);
        }
    }
    // Ratios are to raw binary frames when they ran (not with `--only`).
    let frames = (modes[0] == Mode::Frames).then(|| median(&mut results[0].clone()));
    println!("\nmedians over {rounds} rounds of {secs:?}, {threads} keep-alive connections:");
    for (i, &mode) in modes.iter().enumerate() {
        let m = median(&mut results[i]);
        let ratio =
            frames.map_or_else(String::new, |f| format!("  ({:.2} x binary frames)", m / f));
        println!("  {:<34} {m:>9.0} requests/s{ratio}", mode.name());
    }
    server.stop();
}
