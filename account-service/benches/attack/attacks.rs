//! The attacks themselves: each drives its abusive clients over raw loopback sockets and
//! returns the connections to hold open until the server has settled, with what it counted.

use crate::raw::{self, Conn, Outcome, WriteEnd};
use rpc_runtime::frame::{DEFAULT_MAX_BODY, FrameKind, Header};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a writer waits for the server to take more bytes before calling it backpressure.
const STALL: Duration = Duration::from_secs(5);

/// What an attack leaves behind until the server has settled.
#[derive(Debug, Default)]
pub struct Aftermath {
    /// Connections to close only after the server has settled.
    pub held: Vec<TcpStream>,
    /// The legitimate login's time and outcome, where the attack makes one.
    pub legit: Option<(Duration, String)>,
    /// Attack-specific facts, printed before the goal.
    pub facts: Vec<(&'static str, String)>,
}

/// A and B: on each of `conns` connections, a 1 MiB ping and then about 1 MB of requests
/// made by `push` (given the call id), written without ever reading a reply.
pub fn amplify(
    addr: SocketAddr,
    conns: usize,
    push: impl Fn(&mut Vec<u8>, u32) + Sync,
) -> Result<Aftermath, String> {
    let mut payload = Vec::new();
    raw::push_frame(
        &mut payload,
        FrameKind::Ping,
        1,
        &vec![0; DEFAULT_MAX_BODY as usize],
    );
    let ping_len = payload.len();
    let mut requests = 0u32;
    while payload.len() - ping_len < 1_000_000 {
        requests += 1;
        push(&mut payload, requests + 1);
    }
    let mut streams = Vec::new();
    for _ in 0..conns {
        streams.push(
            Conn::connect(addr)
                .map_err(|e| format!("connect: {e}"))?
                .stream,
        );
    }
    let ends: Vec<(usize, WriteEnd)> = std::thread::scope(|s| {
        let writers: Vec<_> = streams
            .iter_mut()
            .map(|stream| s.spawn(|| raw::write_stalling(stream, &payload, STALL)))
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, WriteEnd::Closed)))
            .collect()
    });
    let count = |end| ends.iter().filter(|(_, e)| *e == end).count().to_string();
    let sent: usize = ends.iter().map(|(n, _)| n).sum();
    Ok(Aftermath {
        held: streams,
        legit: None,
        facts: vec![
            ("requests_per_conn", requests.to_string()),
            ("sent_kib", (sent / 1024).to_string()),
            ("stalled", count(WriteEnd::Stalled)),
            ("closed", count(WriteEnd::Closed)),
        ],
    })
}

/// Where the login flood comes from: a loopback address other than the legitimate client's
/// (`127.0.0.1`), as an attacker's machine is not its victims'.
const FLOOD_FROM: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// C: 256 connections log in in a closed loop for `flood`, from [`FLOOD_FROM`]; a legitimate
/// login goes in from `127.0.0.1` once they have all started.
pub fn login_flood(addr: SocketAddr, flood: Duration) -> Result<Aftermath, String> {
    const FLOODERS: usize = 256;
    let started = AtomicU64::new(0);
    let (sent, answered, refused, failed) = (
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    );
    let stop_at = Instant::now() + flood;
    let legit = std::thread::scope(|s| {
        for who in 0..FLOODERS {
            let (started, sent, answered, refused, failed) =
                (&started, &sent, &answered, &refused, &failed);
            s.spawn(move || {
                let mut conn = match Conn::connect_from(addr, FLOOD_FROM) {
                    Ok(conn) => conn,
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        started.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                let mut n = 0;
                loop {
                    let body = raw::login_body(&raw::flood_name(who, n), "wrong-password");
                    sent.fetch_add(1, Ordering::Relaxed);
                    let call_id = conn.next_call_id();
                    let written = std::io::Write::write_all(
                        &mut conn.stream,
                        &raw::request("login", call_id, &body),
                    );
                    if n == 0 {
                        started.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                    match written.and_then(|()| conn.answer(call_id)) {
                        Ok(Outcome::Runtime(_)) => refused.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    };
                    if Instant::now() >= stop_at {
                        return;
                    }
                }
            });
        }
        let waiting = Instant::now();
        while started.load(Ordering::Relaxed) < FLOODERS as u64
            && waiting.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(500));
        legit_login(addr)
    });
    Ok(Aftermath {
        held: Vec::new(),
        legit: Some(legit),
        facts: vec![
            ("flood_secs", flood.as_secs().to_string()),
            ("flood_sent", sent.into_inner().to_string()),
            ("flood_answered", answered.into_inner().to_string()),
            ("flood_refused", refused.into_inner().to_string()),
            ("flood_conn_errors", failed.into_inner().to_string()),
        ],
    })
}

/// The legitimate user's login, on a connection of its own: how long from request to answer
/// (or to giving up), and how it ended.
fn legit_login(addr: SocketAddr) -> (Duration, String) {
    let started = Instant::now();
    let outcome = Conn::connect(addr).and_then(|mut conn| {
        let body = raw::login_body("legit", raw::PASSWORD);
        conn.call("login", &body)
    });
    let label = match outcome {
        Ok(outcome) => outcome.label(),
        Err(e) => {
            eprintln!("the legitimate login failed: {e}");
            "conn_error".to_owned()
        }
    };
    (started.elapsed(), label)
}

/// D: 300 logins one after the other, each given up 3 ms after it was sent: cancelled on a
/// shared connection, or (`close`) by closing its own connection.
pub fn abandoned_logins(addr: SocketAddr, close: bool) -> Result<Aftermath, String> {
    const LOGINS: u64 = 300;
    let connect = || Conn::connect(addr).map_err(|e| format!("connect: {e}"));
    let mut conn = connect()?;
    let mut reconnects = 0;
    for n in 0..LOGINS {
        if close {
            conn = connect()?;
        }
        let call_id = conn.next_call_id();
        let mut out = raw::request(
            "login",
            call_id,
            &raw::login_body(&raw::flood_name(0, n), "wrong-password"),
        );
        let mut ok = std::io::Write::write_all(&mut conn.stream, &out).is_ok();
        std::thread::sleep(Duration::from_millis(3));
        if !close {
            out.clear();
            raw::push_frame(&mut out, FrameKind::Cancel, call_id, &[]);
            ok &= std::io::Write::write_all(&mut conn.stream, &out).is_ok();
            if !ok {
                // The server dropped the connection: go on with a new one.
                reconnects += 1;
                conn = connect()?;
            }
        }
    }
    drop(conn);
    Ok(Aftermath {
        held: Vec::new(),
        legit: None,
        facts: vec![
            ("logins", LOGINS.to_string()),
            ("reconnects", reconnects.to_string()),
        ],
    })
}

/// E: 1,000 connections that send nothing, held for `hold`.
pub fn idle(addr: SocketAddr, hold: Duration) -> Result<Aftermath, String> {
    let mut held = Vec::new();
    for _ in 0..1000 {
        held.push(TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?);
    }
    std::thread::sleep(hold);
    Ok(Aftermath {
        held,
        legit: None,
        facts: vec![("hold_secs", hold.as_secs().to_string())],
    })
}

/// E: 1,000 connections that send a ping header announcing 1 MiB, then one byte a second
/// each, for `hold`.
pub fn slowloris(addr: SocketAddr, hold: Duration) -> Result<Aftermath, String> {
    let mut header = Header::new(FrameKind::Ping, 1);
    header.body_len = DEFAULT_MAX_BODY;
    let head = rpc_runtime::Wire::pack(&header);
    let mut streams = Vec::new();
    for _ in 0..1000 {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_write_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
        streams.push((stream, true));
    }
    let write = |stream: &mut TcpStream, bytes: &[u8]| std::io::Write::write_all(stream, bytes);
    for (stream, open) in &mut streams {
        *open = write(stream, &head).is_ok();
    }
    let started = Instant::now();
    while started.elapsed() < hold {
        std::thread::sleep(Duration::from_secs(1));
        for (stream, open) in &mut streams {
            if *open {
                *open = write(stream, &[0]).is_ok();
            }
        }
    }
    let closed = streams.iter().filter(|(_, open)| !open).count();
    Ok(Aftermath {
        held: streams.into_iter().map(|(s, _)| s).collect(),
        legit: None,
        facts: vec![
            ("hold_secs", hold.as_secs().to_string()),
            ("closed", closed.to_string()),
        ],
    })
}

/// E: one connection that sends 64 pings of 1 MiB and never reads the pongs.
pub fn no_read(addr: SocketAddr) -> Result<Aftermath, String> {
    let mut stream = Conn::connect(addr)
        .map_err(|e| format!("connect: {e}"))?
        .stream;
    let mut ping = Vec::new();
    let body = vec![0; DEFAULT_MAX_BODY as usize];
    let (mut sent, mut end) = (0, WriteEnd::Done);
    for id in 1..=64 {
        ping.clear();
        raw::push_frame(&mut ping, FrameKind::Ping, id, &body);
        let (n, e) = raw::write_stalling(&mut stream, &ping, STALL);
        sent += n;
        end = e;
        if end != WriteEnd::Done {
            break;
        }
    }
    Ok(Aftermath {
        held: vec![stream],
        legit: None,
        facts: vec![
            ("sent_kib", (sent / 1024).to_string()),
            ("end", format!("{end:?}").to_lowercase()),
        ],
    })
}
