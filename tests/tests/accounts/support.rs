//! Plumbing for the end-to-end tests: finding (or building) the real binaries, running an
//! `account-server` process that is always killed at the end, typed clients, idempotency keys,
//! a seeded random generator, a raw frame client, and the offline ledger audit.

use account_client::api::{
    AccountError, AccountInfo, AccountsBlockingClient, AccountsClient, Entry, HistoryRequest,
    IdemKey, LoginRequest, Name, OpenRequest, Password, Token,
};
use account_service::{AccountService, Audit, Config, PasswordHashing};
use rpc_runtime::frame::{self, FrameKind, Header};
use rpc_runtime::{BlockingClient, CallError, Endpoint, Wire as _};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The upper bound on anything a test waits for. Only reached when something hangs.
pub const HANG: Duration = Duration::from_secs(30);

/// The directory holding the test binary's profile outputs (`target/debug`): the parent of
/// the `deps` directory this test executable lives in.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    assert_eq!(
        deps.file_name().and_then(|n| n.to_str()),
        Some("deps"),
        "expected the test executable in a cargo `deps` directory, not {}",
        exe.display()
    );
    deps.parent().expect("the profile directory").to_path_buf()
}

/// The path of binary `name` of `package`, brought up to date with `$CARGO build` (same
/// profile and target directory as this test) the first time a test of this process asks.
///
/// A binary that is merely present may be stale: `cargo test` builds a package's binaries
/// only for that package's own integration tests (account-service has none), and `cargo test
/// -p tests` builds neither. When the binary is fresh, the build is a quick no-op.
pub fn binary(name: &str, package: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let dir = profile_dir();
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    // One build at a time, and one per binary per test process.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.iter().any(|b| b == name) {
        return path;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let target_dir = dir.parent().expect("the target directory");
    let output = Command::new(&cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            name,
            "--profile",
            &profile,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build {name}: {e}"));
    assert!(
        output.status.success() && path.is_file(),
        "{} could not be built: `cargo build -p {package} --bin {name} --profile {profile}` failed \
         ({}):\n{}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    built.push(name.to_owned());
    path
}

/// The `account-server` binary.
pub fn server_binary() -> PathBuf {
    binary("account-server", "account-service")
}

/// `account-server` to run in `dir`, with no `ACCOUNT_*` variables from whoever runs the
/// tests, and its stderr (the log) piped.
fn server_command(dir: &Path) -> Command {
    let mut command = Command::new(server_binary());
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("ACCOUNT_") {
            command.env_remove(var);
        }
    }
    command
}

/// Runs `account-server` in `dir` with `args`, expecting it to exit by itself (it is killed
/// after [`HANG`] if it does not); returns how it exited and everything it logged.
pub fn run_to_exit(dir: &Path, args: &[&OsStr]) -> (ExitStatus, String) {
    let mut child = server_command(dir)
        .args(args)
        .spawn()
        .expect("spawn account-server");
    let mut stderr = child.stderr.take().expect("piped stderr");
    // Its stderr closes when it exits.
    let (tx, log) = channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    match log.recv_timeout(HANG) {
        Ok(log) => (child.wait().expect("wait for account-server"), log),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("account-server did not exit within {HANG:?}");
        }
    }
}

/// What the thread reading a server's stderr reports.
#[derive(Debug)]
enum Event {
    /// A `listening endpoint=...` line.
    Listening(Endpoint),
    /// End of stderr: the server exited.
    Closed,
}

/// A running `account-server` process on a database in `dir`, listening on a free TCP port
/// and on `dir/a.sock`. Dropping it kills the process (SIGKILL) and waits for it, so no test
/// leaves a server behind, even when it panics; the server's log is printed on a panic.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The TCP endpoint, with the port the server bound.
    pub tcp: Endpoint,
    /// The Unix socket endpoint.
    pub unix: Endpoint,
    /// The Unix socket's path.
    pub socket: PathBuf,
    log: Arc<Mutex<String>>,
    events: Receiver<Event>,
    reader: Option<JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl Server {
    /// Starts a server on `dir/accounts.db` with default settings.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// Starts a server on `dir/accounts.db` with `extra` flags, and waits until it listens.
    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
        Server::start_on(dir, dir.join("accounts.db").as_os_str(), extra)
    }

    /// Starts a server in `dir` on the database `db` (a file, or a URL that several servers
    /// share) with `extra` flags, and waits until it listens on TCP and on `dir/a.sock`.
    pub fn start_on(dir: &Path, db: &OsStr, extra: &[&str]) -> Server {
        let socket = dir.join("a.sock");
        let mut command = server_command(dir);
        command
            .arg("--db")
            .arg(db)
            .args(["--listen", "tcp://127.0.0.1:0", "--listen"])
            .arg(format!("unix://{}", socket.display()))
            .args(["--log-level", "info"])
            .args(extra);
        Server::spawn(command, socket)
    }

    /// Starts a server configured through the environment only: `ACCOUNT_DB` is
    /// `dir/env.db`, `ACCOUNT_LISTEN` a free TCP port and `dir/a.sock`, plus `vars`.
    pub fn start_from_env(dir: &Path, vars: &[(&str, &str)]) -> Server {
        let socket = dir.join("a.sock");
        let mut command = server_command(dir);
        command
            .env("ACCOUNT_DB", dir.join("env.db"))
            .env(
                "ACCOUNT_LISTEN",
                format!("tcp://127.0.0.1:0,unix://{}", socket.display()),
            )
            .env("ACCOUNT_LOG", "info")
            .envs(vars.iter().copied());
        Server::spawn(command, socket)
    }

    /// Runs `command` and waits until it listens on TCP and on `socket`.
    fn spawn(mut command: Command, socket: PathBuf) -> Server {
        let mut child = command.spawn().expect("spawn account-server");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, events) = channel();
        let reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.split_once("listening endpoint=").map(|(_, r)| r) {
                        let text = rest.split_whitespace().next().unwrap_or_default();
                        if let Ok(endpoint) = text.parse() {
                            let _ = tx.send(Event::Listening(endpoint));
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
                let _ = tx.send(Event::Closed);
            })
        };
        let mut server = Server {
            child,
            tcp: Endpoint::tcp("unset:0"),
            unix: Endpoint::unix(&socket),
            socket,
            log,
            events,
            reader: Some(reader),
            exited: None,
        };
        let deadline = Instant::now() + HANG;
        let (mut tcp, mut unix) = (None, None);
        while tcp.is_none() || unix.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.events.recv_timeout(left) {
                Ok(Event::Listening(e @ Endpoint::Tcp(_))) => tcp = Some(e),
                Ok(Event::Listening(e @ Endpoint::Unix(_))) => unix = Some(e),
                Ok(Event::Listening(other)) => {
                    panic!("account-server listens on {other}, which no other process can reach")
                }
                Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().expect("wait for account-server");
                    server.exited = Some(status);
                    panic!(
                        "account-server exited ({status}) before listening:\n{}",
                        server.log()
                    );
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "account-server did not listen within {HANG:?}:\n{}",
                        server.log()
                    )
                }
            }
        }
        server.tcp = tcp.expect("tcp");
        server.unix = unix.expect("unix");
        assert_eq!(server.unix, Endpoint::unix(&server.socket));
        server
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A typed client on the TCP endpoint.
    pub fn tcp_client(&self) -> AccountsBlockingClient {
        client(&self.tcp)
    }

    /// A typed client on the Unix socket.
    pub fn unix_client(&self) -> AccountsBlockingClient {
        client(&self.unix)
    }

    /// `kill -9`: SIGKILL, no chance to clean up. Waits for the process to be gone.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL account-server");
        let status = self.child.wait().expect("wait for account-server");
        self.exited = Some(status);
        self.join_reader();
    }

    /// SIGTERM, as an operator or a service manager stops it; returns how it exited.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("pid fits i32");
        let pid = rustix::process::Pid::from_raw(pid).expect("a positive pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .expect("SIGTERM account-server");
        // Its stderr closes when it exits.
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Listening(_)) => {}
                Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "account-server did not stop within {HANG:?} of SIGTERM:\n{}",
                    self.log()
                ),
            }
        }
        let status = self.child.wait().expect("wait for account-server");
        self.exited = Some(status);
        self.join_reader();
        status
    }

    /// SIGTERM, and checks the server stopped cleanly: exit status 0, the writer stopped,
    /// the socket file removed.
    pub fn stop(mut self) {
        let status = self.terminate();
        let log = self.log();
        assert!(
            status.success(),
            "account-server exited with {status}:\n{log}"
        );
        assert!(log.contains("stopped"), "no `stopped` in the log:\n{log}");
        assert!(
            !self.socket.exists(),
            "the socket file {} outlived the server",
            self.socket.display()
        );
    }

    fn join_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let mut note = String::new();
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                note = format!(", which exited before the test ended ({status})");
            } else {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
            self.join_reader();
        }
        if std::thread::panicking() {
            let pid = self.child.id();
            eprintln!(
                "--- log of account-server pid {pid}{note} ---\n{}",
                self.log()
            );
        }
    }
}

/// A typed blocking client on `endpoint` whose calls give up after [`HANG`].
pub fn client(endpoint: &Endpoint) -> AccountsBlockingClient {
    AccountsBlockingClient::new(BlockingClient::new(endpoint.clone()).with_timeout(HANG))
}

/// A per-process random 64-bit value (std's hasher keys come from the OS).
pub fn random_u64() -> u64 {
    RandomState::new().hash_one(0x5eed_u64)
}

/// A fresh idempotency key: a process-wide random prefix and a counter.
pub fn key() -> IdemKey {
    static SALT: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let salt = *SALT.get_or_init(random_u64);
    let mut key = [0; 16];
    key[..8].copy_from_slice(&salt.to_be_bytes());
    key[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    key
}

/// 32 random bytes: a token nobody was given.
pub fn random_token() -> Token {
    let mut token = [0; 32];
    for chunk in token.chunks_mut(8) {
        chunk.copy_from_slice(&random_u64().to_be_bytes());
    }
    token
}

/// A small seeded generator (xorshift64*), so a failing run can be told apart by its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `s` as a name; panics when it does not fit.
pub fn name(s: &str) -> Name {
    Name::new(s).unwrap_or_else(|e| panic!("{s:?} is not a Name: {e}"))
}

/// `s` as a password; panics when it does not fit.
pub fn password(s: &str) -> Password {
    Password::new(s).unwrap_or_else(|e| panic!("{s:?} is not a Password: {e}"))
}

/// The service's typed error from `result`; panics on success or a runtime failure.
#[track_caller]
pub fn app_err<T: std::fmt::Debug>(result: Result<T, CallError<AccountError>>) -> AccountError {
    match result {
        Err(CallError::Application(e)) => e,
        other => panic!("expected an AccountError, got {other:?}"),
    }
}

/// Opens an account named `who` with password `pw` and `initial` cents.
#[track_caller]
pub fn open(c: &AccountsBlockingClient, who: &str, pw: &str, initial: i64) -> AccountInfo {
    c.open(OpenRequest {
        key: key(),
        name: name(who),
        password: password(pw),
        initial_cents: initial,
    })
    .unwrap_or_else(|e| panic!("open {who}: {e}"))
}

/// Logs `who` in and returns the session token.
#[track_caller]
pub fn login(c: &AccountsBlockingClient, who: &str, pw: &str) -> Token {
    c.login(LoginRequest {
        name: name(who),
        password: password(pw),
    })
    .unwrap_or_else(|e| panic!("login {who}: {e}"))
    .token
}

/// The session account's whole ledger, newest first, read in pages of `page`.
#[track_caller]
pub fn history_paged(c: &AccountsBlockingClient, token: Token, page: u32) -> Vec<Entry> {
    let mut all: Vec<Entry> = Vec::new();
    loop {
        let before_id = all.last().map_or(0, |e| e.id);
        let batch = c
            .history(HistoryRequest {
                token,
                before_id,
                limit: page,
            })
            .unwrap_or_else(|e| panic!("history before {before_id}: {e}"));
        let done = batch.len() < page as usize;
        all.extend(batch);
        if done {
            break;
        }
    }
    all
}

/// The session account's whole ledger, newest first.
#[track_caller]
pub fn history(c: &AccountsBlockingClient, token: Token) -> Vec<Entry> {
    history_paged(c, token, 1000)
}

/// The session account's balance.
#[track_caller]
pub fn balance(c: &AccountsBlockingClient, token: Token) -> i64 {
    c.get(account_client::api::Auth { token })
        .unwrap_or_else(|e| panic!("get: {e}"))
        .balance_cents
}

/// Checks that a ledger (newest first) is a consistent chain ending at `balance`: ids strictly
/// grow with time, every `balance_after` is the running sum, and none is negative. Returns the
/// sum of the entries.
#[track_caller]
pub fn check_chain(entries: &[Entry], balance: i64) -> i64 {
    let mut running: i64 = 0;
    let mut last_id = 0;
    for e in entries.iter().rev() {
        assert!(e.id > last_id, "entry ids out of order: {entries:#?}");
        last_id = e.id;
        assert_ne!(e.cents, 0, "a zero entry: {e:?}");
        running = running
            .checked_add(e.cents)
            .expect("ledger sum overflows i64");
        assert_eq!(e.balance_after, running, "broken running sum at {e:?}");
        assert!(e.balance_after >= 0, "negative balance at {e:?}");
    }
    assert_eq!(running, balance, "the balance is not the sum of the ledger");
    running
}

/// Opens the (stopped) server's database in-process and audits the whole ledger.
pub fn audit(db: &Path) -> Audit {
    let mut config = Config::new(db);
    config.password_hashing = PasswordHashing::INSECURE_FAST;
    let service = AccountService::open(config).expect("open the database for the audit");
    let audit = smol::block_on(service.audit()).expect("audit");
    service.shutdown().expect("shut the audit's writer down");
    audit
}

/// A frame read off a raw connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its header.
    pub header: Header,
    /// Its body.
    pub body: Vec<u8>,
}

/// A connection that writes requests and reads frames itself, to see the exact bytes.
#[derive(Debug)]
pub enum Raw {
    /// Over TCP.
    Tcp(TcpStream),
    /// Over a Unix socket.
    Unix(UnixStream),
}

impl Raw {
    /// Connects to `endpoint`; reads give up after [`HANG`].
    pub fn connect(endpoint: &Endpoint) -> Raw {
        let raw = match endpoint {
            Endpoint::Tcp(addr) => Raw::Tcp(TcpStream::connect(addr.as_str()).expect("connect")),
            Endpoint::Unix(path) => Raw::Unix(UnixStream::connect(path).expect("connect")),
            other => panic!("raw connections need tcp:// or unix://, not {other}"),
        };
        match &raw {
            Raw::Tcp(s) => s.set_read_timeout(Some(HANG)),
            Raw::Unix(s) => s.set_read_timeout(Some(HANG)),
        }
        .expect("read timeout");
        raw
    }

    /// Connects to the TCP `endpoint` from the loopback address `from` (such as 127.0.0.2), so
    /// that the server sees another client address.
    pub fn connect_from(endpoint: &Endpoint, from: std::net::Ipv4Addr) -> Raw {
        use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
        let Endpoint::Tcp(addr) = endpoint else {
            panic!("connect_from needs a TCP endpoint, not {endpoint}");
        };
        let to: std::net::SocketAddrV4 = addr.parse().expect("an IPv4 address");
        let fd = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
        bind(&fd, &std::net::SocketAddrV4::new(from, 0)).expect("bind the source address");
        connect(&fd, &to).expect("connect");
        let stream = TcpStream::from(fd);
        stream.set_read_timeout(Some(HANG)).expect("read timeout");
        Raw::Tcp(stream)
    }

    /// Calls `Accounts.method` with `body` as call `call_id` and returns the reply frame.
    pub fn call(&mut self, method: &str, call_id: u32, body: &[u8]) -> Frame {
        self.send(method, call_id, body);
        self.read_frame()
    }

    /// Sends a call of `Accounts.method` with `body` as call `call_id`, without waiting.
    pub fn send(&mut self, method: &str, call_id: u32, body: &[u8]) {
        let mut out = Vec::new();
        request_frame(&mut out, method, call_id, body);
        self.write(&out);
    }

    /// Writes raw bytes (several frames, say) in one go.
    pub fn write(&mut self, bytes: &[u8]) {
        match self {
            Raw::Tcp(s) => s.write_all(bytes),
            Raw::Unix(s) => s.write_all(bytes),
        }
        .expect("send");
    }

    /// Reads the next frame.
    pub fn read_frame(&mut self) -> Frame {
        let mut head = [0; Header::SIZE];
        self.read_exact(&mut head);
        let header = Header::unpack(&head).expect("a valid header from the server");
        assert!(header.body_len < 1 << 20, "huge body in {header:?}");
        let mut body = vec![0; header.body_len as usize];
        self.read_exact(&mut body);
        Frame { header, body }
    }

    fn read_exact(&mut self, buf: &mut [u8]) {
        match self {
            Raw::Tcp(s) => s.read_exact(buf),
            Raw::Unix(s) => s.read_exact(buf),
        }
        .expect("a frame from the server");
    }
}

/// Appends the frame of a call of `Accounts.method` with `body` as call `call_id` to `out`.
pub fn request_frame(out: &mut Vec<u8>, method: &str, call_id: u32, body: &[u8]) {
    let m = AccountsClient::SCHEMA
        .methods
        .iter()
        .find(|m| m.name == method)
        .unwrap_or_else(|| panic!("Accounts has no method {method}"));
    let mut header = Header::new(FrameKind::Request, call_id);
    header.method = m.id;
    header.schema = m.fingerprint;
    frame::encode_bytes(out, header, body);
}

/// Counts of equal items, to compare two collections as multisets.
pub fn multiset<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> HashMap<T, usize> {
    let mut counts = HashMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}
