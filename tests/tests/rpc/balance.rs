//! One client over several servers: calls spread over them, an endpoint that is down or shuts
//! down is left out and probed back, every endpoint down is one clear error, and a call that
//! may have run is not sent again.

use super::lab::{LabBlockingClient, LabClient, Nap};
use super::support::{HANG, Served, wait};
use rpc_runtime::frame::Status;
use rpc_runtime::server::Limits;
use rpc_runtime::transport::memory::{Faults, set_faults};
use rpc_runtime::{BalanceError, BlockingClient, Client, ClientOptions, Endpoint};
use std::time::{Duration, Instant};

/// A memory endpoint whose name no other test uses.
fn memory(name: &str) -> Endpoint {
    Endpoint::memory(format!("balance-{name}"))
}

fn serve(endpoint: Endpoint) -> Served {
    Served::start(endpoint, Limits::default())
}

/// Quick probes, so that recovery tests do not wait long.
fn quick() -> ClientOptions {
    let mut options = ClientOptions::default();
    options.probe_backoff = Duration::from_millis(20);
    options.max_probe_backoff = Duration::from_millis(200);
    options
}

fn lab(endpoints: &[Endpoint]) -> LabBlockingClient {
    LabBlockingClient::new(
        BlockingClient::balanced_with_options(endpoints.iter().cloned(), quick()).unwrap(),
    )
}

/// A TCP endpoint on which nothing listens: a port bound and released.
fn closed_tcp_port() -> Endpoint {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Endpoint::tcp(addr)
}

#[test]
fn a_balanced_client_needs_between_one_and_64_endpoints() {
    assert_eq!(Client::balanced([]).unwrap_err(), BalanceError::NoEndpoints);
    let many = (0..65).map(|i| memory(&format!("many-{i}")));
    let err = Client::balanced(many).unwrap_err();
    assert_eq!(err, BalanceError::TooMany { count: 65, max: 64 });
    assert_eq!(
        err.to_string(),
        "a balanced client takes at most 64 endpoints, not 65"
    );
    let client = Client::balanced([memory("one"), memory("two")]).unwrap();
    assert!(client.is_balanced());
    assert_eq!(client.endpoints(), [memory("one"), memory("two")]);
    assert!(!Client::new(memory("one")).is_balanced());
}

#[test]
fn calls_spread_over_every_endpoint() {
    let servers: Vec<Served> = ["spread-a", "spread-b", "spread-c"]
        .into_iter()
        .map(|n| serve(memory(n)))
        .collect();
    let endpoints: Vec<Endpoint> = servers.iter().map(|s| s.endpoint.clone()).collect();
    let lab = LabClient::new(Client::balanced(endpoints).unwrap());
    // Many at once, so that the in-flight counts the choice looks at are not all zero.
    wait(HANG, "600 calls", async {
        let calls: Vec<_> = (0..600)
            .map(|_| {
                let lab = lab.clone();
                smol::spawn(async move { lab.touch(()).await })
            })
            .collect();
        for call in calls {
            call.await.expect("touch");
        }
    });
    let counts: Vec<usize> = servers.iter().map(|s| s.gauge.touched()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 600, "{counts:?}");
    // An even spread gives 200 each; random choices stay well above this.
    assert!(
        counts.iter().all(|&n| n >= 100),
        "uneven spread: {counts:?}"
    );
}

#[test]
fn an_endpoint_that_is_down_is_skipped() {
    let a = serve(Endpoint::tcp("127.0.0.1:0"));
    let b = serve(Endpoint::tcp("127.0.0.1:0"));
    let down = closed_tcp_port();
    let lab = lab(&[down, a.endpoint.clone(), b.endpoint.clone()]);
    for _ in 0..100 {
        lab.touch(()).expect("a call while one endpoint is down");
    }
    assert_eq!(a.gauge.touched() + b.gauge.touched(), 100);
    assert!(a.gauge.touched() > 0 && b.gauge.touched() > 0);
}

#[test]
fn every_endpoint_down_is_one_clear_error() {
    let endpoints = [memory("nobody-1"), closed_tcp_port(), memory("nobody-2")];
    let lab = lab(&endpoints);
    let start = Instant::now();
    let err = lab.touch(()).unwrap_err();
    assert_eq!(err.status(), Status::Unavailable, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("unavailable: all 3 endpoints are unavailable: "),
        "{text}"
    );
    for endpoint in &endpoints {
        assert!(
            text.contains(&format!("{endpoint}: cannot connect")),
            "{text}"
        );
    }
    assert!(start.elapsed() < HANG / 2, "took {:?}", start.elapsed());
    // Still one clear error once they are all out of rotation.
    let again = lab.touch(()).unwrap_err();
    assert_eq!(again.status(), Status::Unavailable, "{again}");
    assert!(again.to_string().contains("all 3 endpoints"), "{again}");
}

#[test]
fn an_endpoint_that_comes_up_is_probed_back_into_rotation() {
    let a = serve(memory("late-a"));
    let late = memory("late-b");
    let lab = lab(&[a.endpoint.clone(), late.clone()]);
    for _ in 0..20 {
        lab.touch(())
            .expect("a call while the second endpoint is down");
    }
    assert_eq!(a.gauge.touched(), 20);
    let b = serve(late);
    let since = Instant::now();
    while b.gauge.touched() == 0 {
        assert!(
            since.elapsed() < HANG,
            "the endpoint that came up got no call"
        );
        lab.touch(()).expect("a call while both are up");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn every_endpoint_down_recovers_when_one_comes_back() {
    let name = memory("all-back");
    let lab = lab(&[name.clone(), memory("all-back-never")]);
    assert_eq!(lab.touch(()).unwrap_err().status(), Status::Unavailable);
    let served = serve(name);
    // No waiting for a backoff: with none in rotation the call tries the others.
    lab.touch(()).expect("a call once one endpoint is back");
    assert_eq!(served.gauge.touched(), 1);
}

#[test]
fn a_server_shutting_down_hands_its_calls_to_the_others() {
    // Bytes to the client arrive late, so it keeps sending on `a`'s connection for a while
    // after `a` said goaway; those calls are answered `unavailable`, and must go to `b`.
    set_faults(
        "balance-drain-a",
        Faults::seeded(3).delay(1.0, Duration::from_millis(40)),
    );
    let a = serve(memory("drain-a"));
    let b = serve(memory("drain-b"));
    let lab = LabClient::new(
        Client::balanced_with_options([a.endpoint.clone(), b.endpoint.clone()], quick()).unwrap(),
    );
    // Naps running on both, so both connections are in use when `a` says goaway.
    let naps: Vec<_> = (0..40)
        .map(|tag| {
            let lab = lab.clone();
            smol::spawn(async move { lab.nap(Nap { tag, ms: 300 }).await })
        })
        .collect();
    a.gauge.wait_started(1, HANG);
    let Served { server, gauge, .. } = a;
    let stopping = std::thread::spawn(move || server.stop());
    // More calls while `a` drains: each is answered, by `a` if it started it, else by `b`.
    let more: Vec<_> = (100..140)
        .map(|tag| {
            let lab = lab.clone();
            std::thread::sleep(Duration::from_millis(2));
            smol::spawn(async move { lab.nap(Nap { tag, ms: 1 }).await })
        })
        .collect();
    for call in naps.into_iter().chain(more) {
        wait(HANG, "a nap", call).expect("a call across the shutdown");
    }
    stopping.join().unwrap();
    let touched = gauge.touched();
    let before = b.gauge.touched();
    wait(HANG, "calls after the shutdown", async {
        for _ in 0..20 {
            lab.touch(()).await.expect("a call after the shutdown");
        }
    });
    assert_eq!(b.gauge.touched(), before + 20);
    assert_eq!(gauge.touched(), touched);
    set_faults("balance-drain-a", Faults::default());
}

#[test]
fn a_call_whose_connection_is_lost_after_sending_is_not_sent_again() {
    // Every connection to `lost` is reset at its first write: the request may have gone out,
    // so the call fails rather than run again on `kept`.
    let lost = memory("lost");
    set_faults("balance-lost", Faults::seeded(1).reset(1.0));
    let _lost = serve(lost.clone());
    let kept = serve(memory("kept"));
    let lab = lab(&[lost, kept.endpoint.clone()]);
    let (mut answered, mut failed) = (0, 0);
    let since = Instant::now();
    while failed == 0 {
        assert!(since.elapsed() < HANG, "no call ever went to `lost`");
        match lab.touch(()) {
            Ok(()) => answered += 1,
            Err(e) => {
                assert_eq!(e.status(), Status::Unavailable, "{e}");
                assert!(e.to_string().contains("connection lost"), "{e}");
                failed += 1;
            }
        }
    }
    assert_eq!(
        kept.gauge.touched(),
        answered,
        "a failed call ran on `kept`"
    );
    // `lost` is out of rotation now: the next calls go to `kept`.
    for _ in 0..10 {
        lab.touch(())
            .expect("a call after `lost` went out of rotation");
    }
    set_faults("balance-lost", Faults::default());
}
