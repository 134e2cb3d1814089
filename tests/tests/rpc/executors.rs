//! Where connections run: by default each worker thread runs an executor of its own and a
//! connection, with every call it starts, stays on one of them; with `shared_executor(true)`
//! the threads share one executor, so a handler that blocks its thread delays only its own
//! connection.

use super::support::{HANG, wait};
use rpc_runtime::server::RunningServer;
use rpc_runtime::{Client, Endpoint, Server, Wire, service};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

/// Numbers the threads that run handlers, in the order they first run one.
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// Which thread ran a handler.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ThreadNo {
    pub n: u64,
}

fn this_thread() -> ThreadNo {
    ThreadNo {
        n: THREAD.with(|t| *t),
    }
}

/// A service whose handlers say which thread ran them, or hold their thread.
#[service]
pub trait Where {
    /// The thread that ran the handler, answered on the first poll.
    async fn now(&self, unit: ()) -> Result<ThreadNo, ()>;
    /// The thread that finished the handler after it waited (it runs as a task).
    async fn later(&self, unit: ()) -> Result<ThreadNo, ()>;
    /// Blocks the thread that runs it until the test lets it go.
    async fn hold(&self, unit: ()) -> Result<(), ()>;
}

#[derive(Debug)]
struct WhereImpl {
    /// Told when `hold` has its thread.
    holding: Mutex<Sender<()>>,
    /// What `hold` waits for.
    release: Mutex<Receiver<()>>,
}

impl Where for WhereImpl {
    async fn now(&self, (): ()) -> Result<ThreadNo, ()> {
        Ok(this_thread())
    }

    async fn later(&self, (): ()) -> Result<ThreadNo, ()> {
        smol::Timer::after(std::time::Duration::from_millis(1)).await;
        Ok(this_thread())
    }

    async fn hold(&self, (): ()) -> Result<(), ()> {
        let _ = self.holding.lock().expect("lock").send(());
        // Blocks the executor thread on purpose; bounded so that a failing test ends.
        let _ = self.release.lock().expect("lock").recv_timeout(3 * HANG);
        Ok(())
    }
}

/// A two-thread server of `Where`, and the two ends the test holds `hold` with.
fn serve(shared: bool) -> (RunningServer, Receiver<()>, Sender<()>) {
    let (holding_tx, holding) = channel();
    let (release, release_rx) = channel();
    let server = Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(ServeWhere::new(WhereImpl {
            holding: Mutex::new(holding_tx),
            release: Mutex::new(release_rx),
        }))
        .workers(2)
        .shared_executor(shared)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    (server, holding, release)
}

fn client(server: &RunningServer) -> WhereClient {
    WhereClient::new(Client::new(server.endpoints()[0].clone()))
}

#[test]
fn a_connection_and_its_calls_stay_on_one_thread_and_connections_spread() {
    let (server, _holding, _release) = serve(false);
    let a = client(&server);
    let b = client(&server);
    let threads = |c: &WhereClient| {
        wait(HANG, "calls", async {
            let mut seen = Vec::new();
            for _ in 0..40 {
                seen.push(c.now(()).await.expect("now"));
                seen.push(c.later(()).await.expect("later"));
            }
            seen.sort_unstable();
            seen.dedup();
            seen
        })
    };
    // Both connect before either calls, so that both are live when the second is placed.
    wait(HANG, "connect", async {
        a.inner().ping().await.expect("ping a");
        b.inner().ping().await.expect("ping b");
    });
    let on_a = threads(&a);
    let on_b = threads(&b);
    assert_eq!(on_a.len(), 1, "connection a ran on threads {on_a:?}");
    assert_eq!(on_b.len(), 1, "connection b ran on threads {on_b:?}");
    assert_ne!(on_a, on_b, "two connections on two workers share a thread");
}

#[test]
fn with_a_shared_executor_a_blocked_thread_stalls_only_its_own_call() {
    let (server, holding, release) = serve(true);
    // Four connections over two threads: with one executor per thread, at least one of the
    // other three would live on the held thread and wait for it.
    let clients: Vec<_> = (0..4).map(|_| client(&server)).collect();
    wait(HANG, "connect", async {
        for c in &clients {
            c.inner().ping().await.expect("ping");
        }
    });
    let held = clients[0].clone();
    let holder = std::thread::spawn(move || smol::block_on(held.hold(())));
    holding.recv_timeout(HANG).expect("hold started");
    wait(HANG, "calls beside a held thread", async {
        for c in &clients[1..] {
            c.now(()).await.expect("now");
            c.later(()).await.expect("later");
        }
    });
    release.send(()).expect("release");
    holder.join().expect("holder").expect("hold");
}
