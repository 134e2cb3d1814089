//! A thousand clients, each on its own connection, all open at once, each making a few calls.

use super::lab::{Count, Item};
use super::support::{Raw, Served, wait};
use rpc_runtime::frame::Status;
use rpc_runtime::server::Limits;
use std::time::{Duration, Instant};

const WANTED: usize = 1_000;

/// The soft limit on open files, from `/proc/self/limits` (Linux), else assume plenty.
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
fn a_thousand_connections_at_once() {
    // Client and server live in this process: every connection costs two descriptors, and
    // the rest of the test binary needs some too.
    let limit = open_file_limit();
    let n = WANTED.min(limit.saturating_sub(256) / 2);
    if n < WANTED {
        eprintln!("open-file limit {limit} leaves room for {n} connections, not {WANTED}");
    }
    assert!(
        n >= 100,
        "open-file limit {limit} is too low to test many connections"
    );
    // Exactly `n` slots: once every client is connected, one more connection is refused,
    // which shows the server holds all of them at the same time.
    let served = Served::tcp_with(Limits {
        max_connections: n,
        ..Limits::default()
    });
    let clients: Vec<_> = (0..n).map(|_| served.client()).collect();
    let start = Instant::now();
    let failures = wait(Duration::from_secs(30), "a thousand clients", async {
        let tasks: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, lab)| {
                let lab = lab.clone();
                smol::spawn(async move {
                    let id = u32::try_from(i).unwrap();
                    for value in 0..3 {
                        let item = Item { id, value };
                        match lab.echo(item).await {
                            Ok(reply) if reply == item => {}
                            other => return Some(format!("client {i}: {other:?}")),
                        }
                    }
                    match lab.list(Count { n: id % 5 }).await {
                        Ok(list) if list.len() == (id % 5) as usize => None,
                        other => Some(format!("client {i}: {other:?}")),
                    }
                })
            })
            .collect();
        let mut failures = Vec::new();
        for task in tasks {
            failures.extend(task.await);
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    eprintln!("{n} connections, 4 calls each, in {:?}", start.elapsed());
    let mut extra = Raw::connect(&served.endpoint);
    extra
        .read_frame()
        .assert_error(0, Status::ResourceExhausted, "too many connections");
    drop(clients);
}
