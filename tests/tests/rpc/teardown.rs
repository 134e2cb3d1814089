//! What a stopped server leaves behind: nothing. When `Server::run` returns, every task of its
//! executors has been dropped, with everything it owned (sockets, buffers, the services, the
//! futures of handlers that never finished), even a connection, binary or HTTP, that was still
//! busy when the shutdown grace period ran out.

use super::support::{HANG, wait};
use rpc_runtime::server::Limits;
use rpc_runtime::{Client, Endpoint, Server, service};
use smol::channel::{Receiver, Sender, unbounded};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How long `block` holds its worker thread. Only the old defect needs it to outlast the
/// server's wait for its connections (`shutdown_grace + read_timeout`, 40 ms here): a
/// connection on the held thread is then still there when `run` stops waiting. The fixed
/// server drops it whatever the timing.
const BLOCK: Duration = Duration::from_secs(1);

/// The worker thread `block` holds: one that is not the thread calling `Server::run`, so that
/// the server's wait for its connections runs out meanwhile.
const HELD_THREAD: &str = "rpc-worker-1";

/// Two pipelined HTTP requests: `block`, then `hang`, which keeps the connection busy once
/// `block` has let its thread go.
const BLOCK_THEN_HANG: &[u8] =
    b"POST /Stuck/block HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n\
    POST /Stuck/hang HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n";

/// What the handlers tell the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// A `hang` handler started.
    Hanging,
    /// `block` runs on the held thread and holds it.
    Blocking,
    /// `block` ran on another thread and returned at once.
    NotHere,
}

/// A service whose handlers never finish or hold their thread.
#[service]
pub trait Stuck {
    /// Never finishes; counted in [`Probe::hanging`] until its future is dropped.
    async fn hang(&self, unit: ()) -> Result<(), ()>;
    /// Holds its thread for [`BLOCK`] when that is [`HELD_THREAD`] (it tells which in a
    /// [`Note`]).
    async fn block(&self, unit: ()) -> Result<(), ()>;
}

/// What the test watches: live `hang` futures, and whether the service itself was dropped.
#[derive(Debug, Default)]
struct Probe {
    hanging: AtomicUsize,
    service_dropped: AtomicBool,
}

#[derive(Debug)]
struct StuckImpl {
    probe: Arc<Probe>,
    notes: Sender<Note>,
}

/// Held by a `hang` future; uncounts it when dropped.
struct Hanging(Arc<Probe>);

impl Drop for Hanging {
    fn drop(&mut self) {
        self.0.hanging.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for StuckImpl {
    fn drop(&mut self) {
        self.probe.service_dropped.store(true, Ordering::SeqCst);
    }
}

impl Stuck for StuckImpl {
    async fn hang(&self, (): ()) -> Result<(), ()> {
        self.probe.hanging.fetch_add(1, Ordering::SeqCst);
        let _hanging = Hanging(Arc::clone(&self.probe));
        let _ = self.notes.try_send(Note::Hanging);
        std::future::pending::<()>().await;
        Ok(())
    }

    async fn block(&self, (): ()) -> Result<(), ()> {
        if std::thread::current().name() != Some(HELD_THREAD) {
            let _ = self.notes.try_send(Note::NotHere);
            return Ok(());
        }
        let _ = self.notes.try_send(Note::Blocking);
        // Blocks the executor thread on purpose (see `BLOCK`).
        std::thread::sleep(BLOCK);
        Ok(())
    }
}

fn next_note(notes: &Receiver<Note>) -> Note {
    wait(HANG, "a note from a handler", notes.recv()).expect("the service holds a sender")
}

/// Which connection holds the worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// A binary connection with a `hang` call running, through its `block` call.
    Frames,
    /// An HTTP connection, through a `POST /Stuck/block` followed by a `hang`.
    Http,
}

/// Leaves a connection stuck on a held worker thread while the server shuts down (with a call
/// that never finishes, for a binary one), then checks that everything is dropped when `run`
/// has returned.
fn stopped_server_drops_every_task(shared_executor: bool, held: Held) {
    let probe = Arc::new(Probe::default());
    let (notes_tx, notes) = unbounded();
    let server = Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(ServeStuck::new(StuckImpl {
            probe: Arc::clone(&probe),
            notes: notes_tx,
        }))
        .limits(Limits {
            shutdown_grace: Duration::from_millis(20),
            read_timeout: Duration::from_millis(20),
            ..Limits::default()
        })
        .workers(2)
        .shared_executor(shared_executor)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    let endpoint = server.endpoints()[0].clone();
    let Endpoint::Tcp(addr) = &endpoint else {
        unreachable!("a tcp endpoint")
    };

    // Each attempt is a new connection (with a `hang` call running, for a binary one) that
    // calls `block`, until a call lands on the held thread. Earlier connections stay open, so
    // that new ones are placed on the other executor; with a shared executor any thread may
    // take a call, so a few attempts may be needed.
    let mut pending = Vec::new();
    let mut http = Vec::new();
    let mut blocker = None;
    let mut holding = false;
    let mut hangs = 0;
    for _ in 0..100 {
        if held == Held::Http {
            let mut stream = std::net::TcpStream::connect(addr.as_str()).expect("connect");
            stream
                .write_all(BLOCK_THEN_HANG)
                .expect("send the requests");
            http.push(stream);
            match next_note(&notes) {
                Note::Blocking => {
                    holding = true;
                    break;
                }
                Note::NotHere => {
                    assert_eq!(next_note(&notes), Note::Hanging, "the pipelined hang");
                    hangs += 1;
                    continue;
                }
                Note::Hanging => panic!("a hang call ran before its block call"),
            }
        }
        let client = StuckClient::new(Client::new(endpoint.clone()));
        let hang = client.clone();
        pending.push(smol::spawn(async move { hang.hang(()).await }));
        assert_eq!(next_note(&notes), Note::Hanging);
        hangs += 1;
        let thread = std::thread::spawn(move || smol::block_on(client.block(())));
        match next_note(&notes) {
            Note::Blocking => {
                blocker = Some(thread);
                holding = true;
                break;
            }
            Note::NotHere => {
                assert_eq!(thread.join().expect("block call"), Ok(()));
            }
            Note::Hanging => panic!("a hang call started twice"),
        }
    }
    assert!(holding, "no call ran on {HELD_THREAD}");
    let hanging = probe.hanging.load(Ordering::SeqCst);
    assert_eq!(hanging, hangs, "every hang call is running");

    // The shutdown starts while a worker thread is held: the connection on it sees the
    // shutdown only after `run` stopped waiting for connections.
    server.stop();
    let left = (
        probe.hanging.load(Ordering::SeqCst),
        probe.service_dropped.load(Ordering::SeqCst),
    );
    assert_eq!(
        left,
        (0, true),
        "after `run` returned: (hang futures alive, service dropped); {hanging} hang calls ran"
    );
    drop(pending);
    drop(blocker);
    drop(http);
}

#[test]
fn run_drops_every_task_of_its_per_thread_executors() {
    stopped_server_drops_every_task(false, Held::Frames);
}

#[test]
fn run_drops_every_task_of_its_shared_executor() {
    stopped_server_drops_every_task(true, Held::Frames);
}

#[test]
fn run_drops_a_stuck_http_connection() {
    stopped_server_drops_every_task(false, Held::Http);
    stopped_server_drops_every_task(true, Held::Http);
}
