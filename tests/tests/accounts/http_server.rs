//! The real `account-server` over HTTP/1.1, as users meet it with `curl` and Python's
//! `http.client`, and what a flood of bodies that never arrive costs it.

use super::support::Server;
use rpc_runtime::Endpoint;
use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn addr(server: &Server) -> String {
    let Endpoint::Tcp(addr) = &server.tcp else {
        panic!("a tcp endpoint");
    };
    addr.clone()
}

/// Whether `program` can run; when it cannot, the test skips locally and fails in CI.
fn have(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is needed in CI (.ci/run installs it)"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}

fn run(command: &mut Command) -> (String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run the client");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn curl_head_keep_alive_and_close() {
    if !have("curl") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let base = format!("http://{}", addr(&server));

    let (head, _) = run(Command::new("curl").args(["-sSI", &format!("{base}/health")]));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-length: 3"),
        "{head}"
    );

    // Two URLs in one run: the second reuses the first's connection.
    let (body, log) = run(Command::new("curl").args([
        "-sSv",
        &format!("{base}/health"),
        &format!("{base}/describe"),
    ]));
    assert!(body.starts_with("ok\n{"), "{body}");
    assert!(log.contains("e-using existing connection"), "{log}");

    let (body, log) = run(Command::new("curl").args([
        "-sSv",
        "-H",
        "Connection: close",
        &format!("{base}/health"),
    ]));
    assert_eq!(body, "ok\n");
    assert!(
        log.to_ascii_lowercase().contains("< connection: close"),
        "{log}"
    );

    let (code, _) = run(Command::new("curl").args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "BREW",
        &format!("{base}/health"),
    ]));
    assert_eq!(code, "501");
}

const PYTHON_CLIENT: &str = r#"
import http.client, json, sys
conn = http.client.HTTPConnection(sys.argv[1], timeout=10)
conn.request("HEAD", "/health")
r = conn.getresponse()
assert r.status == 200 and r.read() == b"" and r.getheader("Content-Length") == "3", r.status
sock = conn.sock
conn.request("GET", "/health")
r = conn.getresponse()
assert (r.status, r.read()) == (200, b"ok\n")
conn.request("GET", "/describe")
r = conn.getresponse()
described = json.loads(r.read())
assert r.status == 200 and described["services"][0]["service"] == "Accounts", described
assert conn.sock is sock, "keep-alive: one connection for three requests"
conn.request("POST", "/Accounts/nope", body=b"", headers={"Content-Type": "application/octet-stream"})
r = conn.getresponse()
assert r.status == 404, r.status
r.read()
conn.request("POST", "/health", body=b"x")
r = conn.getresponse()
assert r.status == 405 and r.getheader("Allow") == "GET, HEAD", (r.status, r.getheader("Allow"))
r.read()
conn.request("GET", "/health", headers={"Connection": "close"})
r = conn.getresponse()
assert r.status == 200 and r.getheader("Connection") == "close"
r.read()
print("ok")
"#;

#[test]
fn python_http_client_keeps_one_connection() {
    if !have("python3") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (out, _) = run(Command::new("python3").args(["-I", "-c", PYTHON_CLIENT, &addr(&server)]));
    assert_eq!(out, "ok\n");
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// 300 connections each declaring a 1 MiB body and sending one byte used to cost the server
/// about 300 MB, allocated for bytes that never came.
#[cfg(target_os = "linux")]
#[test]
fn declared_bodies_are_not_allocated_before_they_arrive() {
    const CONNECTIONS: usize = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let before = rss_kib(server.pid());
    let mut held = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut http = TcpStream::connect(addr(&server)).expect("connect");
        http.write_all(b"POST /Accounts/open HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\n\r\nx")
            .expect("write");
        held.push(http);
    }
    // The server reads these at once; give it time to, and watch for growth meanwhile.
    let limit_kib = 96 * 1024;
    let until = Instant::now() + Duration::from_secs(3);
    let mut grown = 0;
    while Instant::now() < until {
        grown = rss_kib(server.pid()).saturating_sub(before);
        assert!(
            grown < limit_kib,
            "{CONNECTIONS} connections waiting for their bodies grew the server by {grown} KiB"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("{CONNECTIONS} waiting bodies: +{grown} KiB");
    drop(held);
}
