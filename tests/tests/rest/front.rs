//! A test-only HTTP/1.1 front for [`RestApi`]: one thread per connection, one request per
//! connection (every answer says `Connection: close`), on `127.0.0.1` and a free port.
//!
//! It stands in for the runtime's HTTP layer, which will serve the same handler from
//! `account-server`; it is deliberately minimal and is not a model for one.

use account_service::http::RestApi;
use account_service::{AccountService, Config, PasswordHashing, ServeAccounts};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most bytes of request head the front reads.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body it accepts.
const MAX_BODY: usize = 1024 * 1024;

/// A REST server for a test: its base URL and what keeps it alive.
#[derive(Debug)]
pub struct RestServer {
    addr: SocketAddr,
    service: AccountService,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl RestServer {
    /// Serves a fresh account database in `dir`.
    pub fn start(dir: &Path) -> RestServer {
        let mut config = Config::new(dir.join("accounts.db"));
        config.password_hashing = PasswordHashing::INSECURE_FAST;
        let service = AccountService::open(config).expect("open the account service");
        let backend = Arc::new(ServeAccounts::new(service.clone()));
        let api = Arc::new(RestApi::new());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (api, backend) = (Arc::clone(&api), Arc::clone(&backend));
                std::thread::spawn(move || serve(stream, &api, &backend));
            }
        });
        RestServer {
            addr,
            service,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let _ = self.service.shutdown();
    }
}

/// Reads one request from `stream`, answers it, and closes the connection.
fn serve(stream: TcpStream, api: &RestApi, backend: &ServeAccounts) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(&stream);
    let (head_only, response) = match read_request(&mut reader) {
        Ok(request) => {
            let head_only = request.method() == http::Method::HEAD;
            match smol::block_on(api.handle(backend, request)) {
                Some(response) => (head_only, response),
                None => (head_only, plain(404, "not an account route")),
            }
        }
        Err(message) => (false, plain(400, message)),
    };
    let _ = write_response(&stream, head_only, response);
}

fn read_request(reader: &mut impl BufRead) -> Result<http::Request<Vec<u8>>, &'static str> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let before = head.len();
        reader
            .take((MAX_HEAD - head.len()) as u64)
            .read_until(b'\n', &mut head)
            .map_err(|_| "cannot read the request")?;
        if head.len() == before || head.len() >= MAX_HEAD {
            return Err("incomplete or oversized request head");
        }
    }
    // Request line and headers, as HTTP/1.1 writes them; anything else is refused.
    let head = std::str::from_utf8(&head).map_err(|_| "the request head is not UTF-8")?;
    let mut lines = head.trim_end_matches("\r\n").split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some("HTTP/1.1"), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    let mut builder = http::Request::builder().method(method).uri(target);
    let mut length = 0;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_BODY)
                .ok_or("bad Content-Length")?;
        }
        builder = builder.header(name, value);
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|_| "the body is shorter than its Content-Length")?;
    builder.body(body).map_err(|_| "malformed request")
}

fn plain(code: u16, message: &str) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(format!("{message}\n").into_bytes());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
    response
}

fn write_response(
    mut stream: &TcpStream,
    head_only: bool,
    response: http::Response<Vec<u8>>,
) -> std::io::Result<()> {
    let (head, body) = response.into_parts();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        head.status.as_u16(),
        head.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &head.headers {
        out.extend_from_slice(format!("{name}: ").as_bytes());
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let length = body.len();
    out.extend_from_slice(
        format!("content-length: {length}\r\nconnection: close\r\n\r\n").as_bytes(),
    );
    // A HEAD answer is the GET answer's head, with the length its body has.
    if !head_only {
        out.extend_from_slice(&body);
    }
    stream.write_all(&out)?;
    stream.flush()
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The path of the program `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The programs a test needs, or `None` after printing why the test is skipped. Skipping is
/// allowed only outside CI: with `CI` set, a missing program fails the test.
pub fn require(programs: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = programs.iter().map(|p| which(p)).collect();
    let missing: Vec<&str> = programs
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return Some(found.into_iter().flatten().collect());
    }
    let reason = format!("{} not found on PATH", missing.join(", "));
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason}; .ci/run installs them"
    );
    eprintln!("skipped: {reason} (install them, or set CI to make this a failure)");
    None
}
