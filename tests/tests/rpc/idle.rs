//! Idle connections cost little memory: a connection waiting for its next frame holds no read
//! or write buffer.
//!
//! Resident memory is a process-wide figure, and the other tests of this binary allocate
//! while they run, so the measurement runs in a child process: this test re-runs the test
//! binary on itself alone.

use super::support::{Raw, Served};
use rpc_runtime::server::Limits;

/// Set in the child process that measures.
const CHILD: &str = "RPC_IDLE_MEMORY_CHILD";

/// Connections opened; both ends live in this process.
const WANTED: usize = 1_000;

/// The most resident memory one idle connection may add. A connection that kept its 64 KiB
/// read buffer (and touched its write buffer) cost over 50 kB; one without buffers about 4 kB.
const BOUND_PER_CONNECTION: usize = 20 * 1024;

/// This process's resident set size in bytes (Linux).
fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The soft limit on open files, from `/proc/self/limits`, else assume plenty.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(usize::MAX)
}

#[test]
fn idle_connections_hold_no_buffers() {
    if std::env::var_os(CHILD).is_some() {
        measure();
        return;
    }
    if rss_bytes().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no /proc/self/status to read resident memory from"
        );
        eprintln!("skipped: no /proc/self/status to read resident memory from");
        return;
    }
    // The test's own name, as the harness knows it (without the binary's crate name).
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let name = format!("{module}::idle_connections_hold_no_buffers");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the measuring child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

/// In the child: open many connections, make each do some work, and measure what they cost
/// once they wait.
fn measure() {
    let limit = open_file_limit();
    let n = WANTED.min(limit.saturating_sub(256) / 2);
    assert!(
        n >= 200,
        "open-file limit {limit} is too low to test many connections"
    );
    let served = Served::tcp_with(Limits {
        max_connections: n + 8,
        ..Limits::default()
    });
    // Warm up: the server's threads, the allocator's arenas and the reactor exist before
    // the baseline is taken.
    for id in 1..=4 {
        served.raw().ping(id);
    }
    let before = rss_bytes().expect("resident memory");
    let mut clients: Vec<Raw> = (0..n).map(|_| served.raw()).collect();
    for (i, raw) in clients.iter_mut().enumerate() {
        raw.ping(u32::try_from(i).unwrap() + 1);
    }
    // Every connection has read a frame and written a reply and now waits for the next one.
    // A connection whose task has not parked yet still holds its buffers, so take the
    // smallest of a few samples; one spread over all connections would be far below the bound.
    let mut after = rss_bytes().expect("resident memory");
    for _ in 0..20 {
        if after.saturating_sub(before) < n * BOUND_PER_CONNECTION {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = after.min(rss_bytes().expect("resident memory"));
    }
    let per_connection = after.saturating_sub(before) / n;
    eprintln!("{n} idle connections: {per_connection} bytes of resident memory each");
    assert!(
        per_connection < BOUND_PER_CONNECTION,
        "an idle connection costs {per_connection} bytes, over the bound of {BOUND_PER_CONNECTION}"
    );
    // Idle connections are still served: they take buffers again when work comes.
    for (i, raw) in clients.iter_mut().enumerate().step_by(97) {
        raw.ping(u32::try_from(i).unwrap() + 1);
    }
}
