//! Raw frames over blocking loopback sockets: requests built by hand from `rpc_runtime::frame`
//! and the `Accounts` messages, writes that notice backpressure, and the few typed calls the
//! attacks need to set up accounts (open, login, deposits).

use account_client::api::{
    AccountError, AccountsClient, AmountRequest, HistoryRequest, LoginRequest, OpenRequest,
    Session, Token,
};
use rpc_runtime::Wire;
use rpc_runtime::frame::{self, FrameKind, Header, Status};
use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long a setup call or a measured login may take before the bench gives up on it.
pub const REPLY_WAIT: Duration = Duration::from_secs(180);

/// The password of every account the bench opens.
pub const PASSWORD: &str = "attack-bench-password";

/// The request frame of `Accounts.{method}` with `body` as call `call_id`.
pub fn request(method: &str, call_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(Header::SIZE + body.len());
    push_request(&mut out, method, call_id, body);
    out
}

/// Appends the request frame of `Accounts.{method}` with `body` as call `call_id` to `out`.
/// `describe` (method 0, no fingerprint) is accepted beside the service's own methods.
pub fn push_request(out: &mut Vec<u8>, method: &str, call_id: u32, body: &[u8]) {
    let mut header = Header::new(FrameKind::Request, call_id);
    if method != "describe" {
        let m = AccountsClient::SCHEMA
            .methods
            .iter()
            .find(|m| m.name == method)
            .unwrap_or_else(|| panic!("Accounts has no method {method}"));
        header.method = m.id;
        header.schema = m.fingerprint;
    }
    frame::encode_bytes(out, header, body);
}

/// Appends a frame of `kind` (a ping or a cancel) for `call_id` with `body` to `out`.
pub fn push_frame(out: &mut Vec<u8>, kind: FrameKind, call_id: u32, body: &[u8]) {
    frame::encode_bytes(out, Header::new(kind, call_id), body);
}

/// A login request body for `name` and `password`.
pub fn login_body(name: &str, password: &str) -> Vec<u8> {
    LoginRequest {
        name: fixed(name),
        password: fixed(password),
    }
    .to_vec()
}

/// A `history` request body: the newest `limit` entries of the session's account.
pub fn history_body(token: Token, limit: u32) -> Vec<u8> {
    HistoryRequest {
        token,
        before_id: 0,
        limit,
    }
    .to_vec()
}

fn fixed<const N: usize>(text: &str) -> rpc_runtime::FixedStr<N> {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is not a valid fixed string: {e}"))
}

/// How a call ended, as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A `Response` with status Ok, and its body.
    Ok(Vec<u8>),
    /// A `Response` with the service's typed error.
    App(Option<AccountError>),
    /// An `Error` frame: a runtime status (on the call or on the whole connection).
    Runtime(Status),
}

impl Outcome {
    /// A short name for counting outcomes: `ok`, `app`, or the runtime status.
    pub fn label(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::App(_) => "app".into(),
            Outcome::Runtime(status) => status.name().replace(' ', "_"),
        }
    }
}

/// One loopback connection speaking raw frames.
#[derive(Debug)]
pub struct Conn {
    /// The socket; attacks write to it directly.
    pub stream: TcpStream,
    next_id: u32,
}

impl Conn {
    /// Connects to `addr` with `TCP_NODELAY`; reads give up after [`REPLY_WAIT`].
    pub fn connect(addr: SocketAddr) -> io::Result<Conn> {
        Self::ready(TcpStream::connect_timeout(&addr, Duration::from_secs(10))?)
    }

    /// [`connect`](Self::connect), from the local address `source` (another loopback
    /// address, say, so that the server sees a second client machine).
    pub fn connect_from(addr: SocketAddr, source: IpAddr) -> io::Result<Conn> {
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let fd = socket(family, SocketType::STREAM, None)?;
        bind(&fd, &SocketAddr::new(source, 0))?;
        connect(&fd, &addr)?;
        Self::ready(TcpStream::from(fd))
    }

    fn ready(stream: TcpStream) -> io::Result<Conn> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REPLY_WAIT))?;
        Ok(Conn { stream, next_id: 1 })
    }

    /// A fresh call id on this connection.
    pub fn next_call_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Calls `Accounts.{method}` and waits for its answer. Frames of other calls are skipped,
    /// so use it only with no other call in flight on this connection.
    pub fn call(&mut self, method: &str, body: &[u8]) -> io::Result<Outcome> {
        let id = self.next_call_id();
        self.stream.write_all(&request(method, id, body))?;
        self.answer(id)
    }

    /// Reads frames until the answer to `call_id` (or an error about the whole connection),
    /// dropping any other frame.
    pub fn answer(&mut self, call_id: u32) -> io::Result<Outcome> {
        loop {
            let (header, body) = self.read_frame()?;
            let mine = header.call_id == call_id;
            match header.kind {
                FrameKind::Response if mine => {
                    return Ok(match header.status {
                        Status::Ok => Outcome::Ok(body),
                        _ => Outcome::App(AccountError::unpack(&body).ok()),
                    });
                }
                FrameKind::Error if mine || header.call_id == 0 => {
                    return Ok(Outcome::Runtime(header.status));
                }
                _ => {}
            }
        }
    }

    /// Reads the next frame, header and body.
    pub fn read_frame(&mut self) -> io::Result<(Header, Vec<u8>)> {
        let mut head = [0; Header::SIZE];
        self.stream.read_exact(&mut head)?;
        let header = frame::check_header(&head, u32::MAX)
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
        let mut body = vec![0; header.body_len as usize];
        self.stream.read_exact(&mut body)?;
        Ok((header, body))
    }
}

/// How a [`write_stalling`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteEnd {
    /// Every byte was written.
    Done,
    /// The server stopped reading: no byte went out for the stall time (backpressure).
    Stalled,
    /// The server closed or reset the connection.
    Closed,
}

/// Writes `bytes` to `stream` until they are all sent, the server stops taking them for
/// `stall`, or the connection fails. Returns the bytes sent and how it ended.
pub fn write_stalling(stream: &mut TcpStream, bytes: &[u8], stall: Duration) -> (usize, WriteEnd) {
    if stream.set_write_timeout(Some(stall)).is_err() {
        return (0, WriteEnd::Closed);
    }
    let mut sent = 0;
    while sent < bytes.len() {
        match stream.write(&bytes[sent..]) {
            Ok(0) => return (sent, WriteEnd::Closed),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (sent, WriteEnd::Stalled);
            }
            Err(_) => return (sent, WriteEnd::Closed),
        }
    }
    (sent, WriteEnd::Done)
}

/// Opens account `name` (with the bench's password and `cents`) on `conn`.
pub fn open_account(conn: &mut Conn, name: &str, cents: i64) -> Result<(), String> {
    let request = OpenRequest {
        key: key(0, name.len() as u64),
        name: fixed::<32>(name),
        password: fixed::<64>(PASSWORD),
        initial_cents: cents,
    };
    match conn.call("open", &request.to_vec()) {
        Ok(Outcome::Ok(_)) => Ok(()),
        other => Err(format!("open {name}: {other:?}")),
    }
}

/// Logs in as `name` with the bench's password and returns the session token.
pub fn log_in(conn: &mut Conn, name: &str) -> Result<Token, String> {
    match conn.call("login", &login_body(name, PASSWORD)) {
        Ok(Outcome::Ok(body)) => {
            let session =
                Session::unpack(&body).map_err(|e| format!("login {name}: bad session: {e}"))?;
            Ok(session.token)
        }
        other => Err(format!("login {name}: {other:?}")),
    }
}

/// Deposits 1 cent `count` times into the session's account, pipelined on `conn`, so that its
/// history grows by `count` entries. Keys `first..first + count` of the deposit key space must
/// not have been used before.
pub fn deposits(conn: &mut Conn, token: Token, first: u64, count: u32) -> Result<(), String> {
    let mut out = Vec::new();
    for n in 0..u64::from(count) {
        let id = conn.next_call_id();
        let body = AmountRequest {
            token,
            key: key(1, first + n),
            cents: 1,
        };
        push_request(&mut out, "deposit", id, &body.to_vec());
    }
    conn.stream
        .write_all(&out)
        .map_err(|e| format!("send deposits: {e}"))?;
    // Answers come back in any order.
    let mut answered = 0;
    while answered < count {
        let (header, body) = conn
            .read_frame()
            .map_err(|e| format!("deposit answers: {e}"))?;
        match (header.kind, header.status) {
            (FrameKind::Response, Status::Ok) => answered += 1,
            (FrameKind::Response | FrameKind::Error, status) => {
                let error = AccountError::unpack(&body).ok();
                return Err(format!(
                    "deposit (call {}): {status} {error:?}",
                    header.call_id
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A distinct idempotency key for each (`space`, `n`).
fn key(space: u64, n: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&space.to_be_bytes());
    key[8..].copy_from_slice(&n.to_be_bytes());
    key
}

/// A name for the `n`th login of flooder `who`: distinct, so that no name collects enough
/// failures to be throttled, and unknown, so that each login is checked against the dummy hash
/// (the same argon2 work as a real account).
pub fn flood_name(who: usize, n: u64) -> String {
    format!("flood-{who}-{n}")
}
