use super::*;
use crate::frame::DEFAULT_MAX_BODY;
use crate::test_support::{ends_in_time, on_drop};
use crate::transport::memory::{Faults, MemoryStream};
use smol::future::FutureExt as _;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::task::Wake;

/// Something a test runs at the start of the next `read_some`.
#[derive(Default)]
pub(super) struct Hook(Mutex<Option<HookFn>>);

type HookFn = Box<dyn FnOnce(&Arc<Conn>) + Send>;

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

impl Hook {
    fn set(&self, hook: impl FnOnce(&Arc<Conn>) + Send + 'static) {
        *self.0.lock().unwrap() = Some(Box::new(hook));
    }

    pub(super) fn run(&self, conn: &Arc<Conn>) {
        let hook = self.0.lock().ok().and_then(|mut h| h.take());
        if let Some(hook) = hook {
            hook(conn);
        }
    }
}

/// How many slots get short ids (the top bit clear).
const SHORT_ID_SLOTS: usize = 4096;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A call polled by hand with its own counting waker.
struct Handle {
    call: PendingCall,
    count: Arc<Count>,
    waker: Waker,
}

impl Handle {
    fn start(conn: &Arc<Conn>) -> Handle {
        let call = conn
            .start(FrameKind::Request, 7, 0, 0, |_| Ok(()))
            .expect("start");
        let count = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&count));
        Handle { call, count, waker }
    }

    fn poll(&mut self) -> Poll<Outcome> {
        Pin::new(&mut self.call).poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls until the call has queued and written its frame (it yields once first, and
    /// wakes itself to be polled again: that wake-up is not counted).
    fn poll_sent(&mut self) -> Poll<Outcome> {
        let first = self.poll();
        if first.is_ready() {
            return first;
        }
        self.count.0.store(0, Ordering::SeqCst);
        self.poll()
    }

    fn woken(&self) -> usize {
        self.count.0.load(Ordering::SeqCst)
    }
}

/// The server's end: reads request frames and writes replies, never waiting.
struct Server(Stream);

impl Server {
    fn requests(&mut self) -> Vec<u32> {
        let mut buf = vec![0; 1 << 20];
        let mut filled = 0;
        let mut cx = Context::from_waker(Waker::noop());
        while let Poll::Ready(Ok(n @ 1..)) =
            Pin::new(&mut self.0).poll_read(&mut cx, &mut buf[filled..])
        {
            filled += n;
        }
        let mut ids = Vec::new();
        let mut at = 0;
        while let Ok(Some(parsed)) = frame::parse(&buf[at..filled], DEFAULT_MAX_BODY) {
            if parsed.header.kind == FrameKind::Request {
                ids.push(parsed.header.call_id);
            }
            at += parsed.len;
        }
        ids
    }

    fn reply(&mut self, call_id: u32) {
        self.reply_with(call_id, b"ok");
    }

    fn reply_with(&mut self, call_id: u32, body: &[u8]) {
        let mut out = Vec::new();
        frame::encode_bytes(&mut out, Header::new(FrameKind::Response, call_id), body);
        assert_eq!(self.0.try_write(&out).expect("write"), out.len());
    }
}

fn connected() -> (Arc<Conn>, Server) {
    let (client, server) = MemoryStream::pair();
    (
        Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY),
        Server(Stream::Memory(server)),
    )
}

fn assert_replied(poll: Poll<Outcome>) {
    match poll {
        Poll::Ready(Ok((Status::Ok, body))) => assert_eq!(&body[..], b"ok"),
        other => panic!("expected the reply, got {other:?}"),
    }
}

#[test]
fn replies_complete_calls_in_any_order_and_the_reader_role_moves_on() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    assert!(a.poll_sent().is_pending(), "a reads and waits");
    assert!(b.poll().is_pending(), "b waits for a to read for it");
    assert_eq!(server.requests(), [a.call.id, b.call.id]);
    server.reply(b.call.id);
    assert!(a.woken() >= 1);
    assert!(
        a.poll().is_pending(),
        "a read b's reply, and still waits for its own"
    );
    assert_eq!(b.woken(), 1);
    assert_replied(b.poll());
    server.reply(a.call.id);
    assert_replied(a.poll());
}

/// A call that registers while `accepts_calls` holds the reader role (another thread
/// starting a call at that moment) must be woken to read when the role is released.
#[test]
fn a_call_waiting_while_accepts_calls_reads_is_handed_the_reader_role() {
    let (conn, mut server) = connected();
    let (tx, rx) = std::sync::mpsc::channel();
    conn.before_read.set(move |conn| {
        let mut b = Handle::start(conn);
        assert!(b.poll_sent().is_pending());
        tx.send(b).unwrap();
    });
    assert!(conn.accepts_calls());
    let mut b = rx.recv().unwrap();
    assert_eq!(server.requests(), [b.call.id]);
    server.reply(b.call.id);
    assert!(
        b.woken() >= 1,
        "nobody reads for the call and nothing will wake it"
    );
    assert_replied(b.poll());
}

/// The reader hands its role to a waiting call by waking it; if that call is dropped
/// before it is polled, the role must go to another waiting call.
#[test]
fn a_call_dropped_after_being_handed_the_reader_role_passes_it_on() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    let mut c = Handle::start(&conn);
    assert!(a.poll_sent().is_pending());
    assert!(b.poll().is_pending());
    assert!(c.poll().is_pending());
    assert_eq!(server.requests().len(), 3);
    server.reply(a.call.id);
    assert_replied(a.poll());
    // One of b and c was woken to read next; it gives up before it is polled.
    let (chosen, mut other) = match (b.woken(), c.woken()) {
        (1, 0) => (b, c),
        (0, 1) => (c, b),
        woken => panic!("expected exactly one of b and c woken, got {woken:?}"),
    };
    drop(chosen);
    server.reply(other.call.id);
    assert!(
        other.woken() >= 1,
        "the reader role went to a dropped call and nobody reads for the other"
    );
    assert_replied(other.poll());
}

/// The reader is between deciding to read and reading when another thread's failed write
/// closes the connection: the reader must see its call failed, not wait for a read that
/// never comes.
#[test]
fn a_connection_failing_just_before_the_reader_reads_fails_the_call() {
    let (conn, _server) = connected();
    let mut a = Handle::start(&conn);
    conn.before_read.set(|conn| {
        conn.fail(RpcError::new(Status::Unavailable, "connection lost: test"));
    });
    match a.poll_sent() {
        Poll::Ready(Err(e)) => assert_eq!(e.status, Status::Unavailable),
        Poll::Ready(Ok(_)) => panic!("a failed connection answered"),
        Poll::Pending => assert!(
            a.woken() >= 1,
            "the call waits on a dead connection and nothing will wake it"
        ),
    }
}

/// The server writes a reply and reads nothing more until it is written, while the
/// client is writing a request too big for the socket, and the call is dropped, so no
/// call is left to read: the client's writer must read meanwhile, or both ends wait on
/// each other forever.
#[test]
fn a_client_that_is_writing_reads_for_a_server_that_is_writing() {
    use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(64));
    let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
    let big = vec![7; 4096];
    let mut a = conn
        .start(FrameKind::Request, 7, 0, 0, |out| {
            out.extend_from_slice(&big);
            Ok(())
        })
        .expect("start");
    let id = a.id;
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut a).poll(&mut cx).is_pending());
    assert!(
        Pin::new(&mut a).poll(&mut cx).is_pending(),
        "the request is being sent"
    );
    drop(a);
    let mut server = server;
    let mut reply = Vec::new();
    frame::encode_bytes(&mut reply, Header::new(FrameKind::Response, id), &big);
    let exchange = async {
        server.write_all(&reply).await.expect("reply");
        // Only now does this server read: the request, then the cancel.
        let mut request = vec![0; Header::SIZE + big.len()];
        server.read_exact(&mut request).await.expect("request");
        let mut cancel = [0; Header::SIZE];
        server.read_exact(&mut cancel).await.expect("cancel");
        let cancel = frame::parse(&cancel, 0).unwrap().unwrap();
        assert_eq!(
            (cancel.header.kind, cancel.header.call_id),
            (FrameKind::Cancel, id)
        );
        true
    };
    let done = smol::block_on(exchange.or(async {
        smol::Timer::after(std::time::Duration::from_secs(20)).await;
        false
    }));
    assert!(done, "client and server each wait for the other to read");
}

/// As above, but a call holds the reader role when the flush task starts waiting: when
/// that call completes and no other call waits, the role must pass to the flush task.
#[test]
fn a_reader_finishing_hands_the_role_to_a_waiting_flush() {
    use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(64));
    let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
    let mut server = Server(Stream::Memory(server));
    let mut a = Handle::start(&conn);
    assert!(a.poll_sent().is_pending(), "a reads");
    assert_eq!(server.requests(), [a.call.id]);
    let big = vec![7; 4096];
    let mut b = conn
        .start(FrameKind::Request, 7, 0, 0, |out| {
            out.extend_from_slice(&big);
            Ok(())
        })
        .expect("start");
    let b_id = b.id;
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut b).poll(&mut cx).is_pending());
    assert!(
        Pin::new(&mut b).poll(&mut cx).is_pending(),
        "the request is being sent"
    );
    drop(b);
    // The flush task (on another thread) finds a reading and waits for the role.
    let waiting_since = std::time::Instant::now();
    while conn.lock().flush_waker.is_none() {
        assert!(
            waiting_since.elapsed().as_secs() < 20,
            "the flush task never waited"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    server.reply(a.call.id);
    assert_replied(a.poll());
    let mut reply = Vec::new();
    frame::encode_bytes(&mut reply, Header::new(FrameKind::Response, b_id), &big);
    let mut server = server.0;
    let exchange = async {
        server.write_all(&reply).await.expect("reply");
        let mut request = vec![0; Header::SIZE + big.len()];
        server.read_exact(&mut request).await.expect("request");
        true
    };
    let done = smol::block_on(exchange.or(async {
        smol::Timer::after(std::time::Duration::from_secs(20)).await;
        false
    }));
    assert!(done, "client and server each wait for the other to read");
}

/// A lone call (nothing else in flight, one request per write so far) writes on its
/// first poll without a trip through the executor; once calls overlap, the writer yields
/// so that the others queue their frames into the same write.
#[test]
fn a_lone_call_writes_at_once_and_overlapping_calls_batch() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    assert!(a.poll().is_pending());
    assert_eq!(a.woken(), 0, "a lone call yielded");
    assert_eq!(server.requests(), [a.call.id], "a lone call did not write");
    server.reply(a.call.id);
    assert_replied(a.poll());

    // b is in flight when c and d start: c yields, d queues behind it.
    let mut b = Handle::start(&conn);
    assert!(b.poll().is_pending());
    assert_eq!(server.requests(), [b.call.id]);
    let mut c = Handle::start(&conn);
    assert!(c.poll().is_pending());
    assert_eq!(c.woken(), 1, "c should yield before writing");
    let mut d = Handle::start(&conn);
    assert!(d.poll().is_pending());
    assert!(server.requests().is_empty(), "written before the yield");
    assert!(c.poll().is_pending());
    assert_eq!(server.requests(), [c.call.id, d.call.id]);
    for h in [&b, &c, &d] {
        server.reply(h.call.id);
    }
    assert_replied(b.poll());
    assert_replied(c.poll());
    assert_replied(d.poll());
}

/// A request encoder that panics halfway through its frame: the panic reaches the caller,
/// and the next call's frame is the first thing the server reads, not the half frame.
#[test]
fn a_panicking_encoder_leaves_nothing_in_the_write_buffer() {
    let (conn, mut server) = connected();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conn.start(FrameKind::Request, 7, 0, 0, |out| {
            out.extend_from_slice(b"half a request");
            panic!("the encoder fails");
        })
    }));
    assert!(
        panicked.is_err(),
        "the encoder's panic did not reach the caller"
    );
    assert!(
        !conn.state.is_poisoned(),
        "the panic poisoned the connection's lock"
    );
    let mut b = Handle::start(&conn);
    assert!(b.poll().is_pending());
    assert_eq!(
        server.requests(),
        [b.call.id],
        "the server reads something else before the next request"
    );
    server.reply(b.call.id);
    assert_replied(b.poll());
}

/// The server fails the whole connection (an `Error` frame on call id 0) while the flush
/// task, its write waiting on a full socket, holds the reader role: the task must end or
/// wait, not spin between a write that cannot go on and a read of a closed connection.
#[test]
fn an_error_on_the_whole_connection_ends_a_flush_waiting_on_a_full_socket() {
    let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(1024));
    let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
    let mut server = Server(Stream::Memory(server));
    let mut a = Handle::start(&conn);
    // The flush task's job: a's frame and more than the socket takes; the server reads
    // none of it, and tells the client it is about to close the connection.
    let mut buf = conn.lock().take_out();
    buf.resize(buf.len() + 4096, 0);
    let mut header = Header::new(FrameKind::Error, 0);
    header.status = Status::ResourceExhausted;
    let mut out = Vec::new();
    frame::encode_bytes(&mut out, header, b"too many connections");
    assert_eq!(server.0.try_write(&out).expect("write"), out.len());
    let flush = flush_later(Arc::clone(&conn), buf, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut flush = std::pin::pin!(flush);
        let polled = flush.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let _ = tx.send(polled.is_ready());
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_secs(10)).is_ok(),
        "the flush task's poll never returns"
    );
    match a.poll() {
        Poll::Ready(Err(e)) => assert_eq!(e.status, Status::ResourceExhausted),
        other => panic!("expected the connection's error, got {other:?}"),
    }
}

/// A waiting call polled again and again with new wakers (as a `select!` loop does) is
/// listed once, and the role goes to its last waker, not to one it no longer listens to.
#[test]
fn a_call_polled_with_new_wakers_waits_once_and_its_last_waker_takes_the_role() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    assert!(a.poll_sent().is_pending(), "a reads");
    assert!(b.poll().is_pending(), "b waits");
    let counts: Vec<Arc<Count>> = (0..100).map(|_| Arc::new(Count::default())).collect();
    for count in &counts {
        let waker = Waker::from(Arc::clone(count));
        let polled = Pin::new(&mut b.call).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
    }
    assert_eq!(
        conn.lock().calls.waiting_len(),
        1,
        "the waiting list grows with each poll"
    );
    assert_eq!(server.requests(), [a.call.id, b.call.id]);
    server.reply(a.call.id);
    assert_replied(a.poll());
    let woken: Vec<usize> = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
    assert_eq!(woken[99], 1, "b's last waker was not handed the role");
    assert_eq!(
        woken[..99].iter().sum::<usize>(),
        0,
        "an old waker was woken"
    );
    assert_eq!(b.woken(), 0, "b's first waker was woken");
    server.reply(b.call.id);
    assert_replied(b.poll());
}

/// A waiting call completes while its slot is still listed as waiting; the next call in
/// that slot waits through the same entry (not a second one) and is handed the role.
#[test]
fn a_call_in_the_slot_of_a_call_completed_while_listed_is_handed_the_role() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    assert!(a.poll_sent().is_pending(), "a reads");
    assert!(b.poll().is_pending(), "b waits");
    assert_eq!(server.requests(), [a.call.id, b.call.id]);
    server.reply(b.call.id);
    assert!(a.poll().is_pending(), "a read b's reply");
    assert_replied(b.poll());
    let mut c = Handle::start(&conn);
    assert_eq!(conn.lock().calls.slots(), 2, "c did not reuse b's slot");
    assert!(c.poll_sent().is_pending(), "c waits");
    assert_eq!(server.requests(), [c.call.id]);
    assert_eq!(
        conn.lock().calls.waiting_len(),
        1,
        "b's slot is listed twice"
    );
    server.reply(a.call.id);
    assert_replied(a.poll());
    assert_eq!(c.woken(), 1, "nobody was handed the role after a");
    server.reply(c.call.id);
    assert_replied(c.poll());
    assert_eq!(conn.lock().calls.waiting_len(), 0);
}

/// The connection fails (as when another thread's write breaks) with calls in every
/// state: reading, waiting, replied but not yet polled, queued and never polled. Each
/// ends, with its reply if it was in and the connection's error if not, and none is left.
#[test]
fn a_failed_connection_ends_every_call_whatever_its_state() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    let mut c = Handle::start(&conn);
    assert!(a.poll_sent().is_pending(), "a reads");
    assert!(b.poll().is_pending(), "b waits");
    assert!(c.poll().is_pending(), "c waits");
    assert_eq!(server.requests(), [a.call.id, b.call.id, c.call.id]);
    server.reply(c.call.id);
    assert!(a.poll().is_pending(), "a read c's reply");
    let mut d = Handle::start(&conn);
    a.count.0.store(0, Ordering::SeqCst);
    conn.fail(RpcError::new(Status::Unavailable, "connection lost: test"));
    assert!(
        a.woken() >= 1,
        "the reader sleeps on a socket nobody will read again"
    );
    assert_eq!(b.woken(), 1, "the waiting call was not woken");
    let failed = |poll: Poll<Outcome>| match poll {
        Poll::Ready(Err(e)) => assert_eq!(e.status, Status::Unavailable),
        other => panic!("expected the connection's error, got {other:?}"),
    };
    failed(a.poll());
    failed(b.poll());
    assert_replied(c.poll());
    failed(d.poll_sent());
    assert!(conn.lock().calls.is_empty(), "a failed call kept its slot");
    assert_eq!(conn.pending.load(Ordering::Acquire), 0);
    assert!(!conn.accepts_calls());
    match conn.start(FrameKind::Request, 7, 0, 0, |_| Ok(())) {
        Err(e) => assert_eq!(e.status, Status::Unavailable),
        Ok(_) => panic!("a failed connection took a new call"),
    }
}

#[test]
fn dropping_a_waiting_call_sends_a_cancel() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    assert!(a.poll_sent().is_pending());
    let id = a.call.id;
    drop(a);
    let mut buf = vec![0; 256];
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(n)) = Pin::new(&mut server.0).poll_read(&mut cx, &mut buf) else {
        panic!("nothing sent");
    };
    let first = frame::parse(&buf[..n], DEFAULT_MAX_BODY).unwrap().unwrap();
    let cancel = frame::parse(&buf[first.len..n], DEFAULT_MAX_BODY)
        .unwrap()
        .unwrap();
    assert_eq!(
        (cancel.header.kind, cancel.header.call_id),
        (FrameKind::Cancel, id)
    );
}

/// A call is dropped and a new one takes its slot; the server's late answer to the
/// dropped call must not complete the new one.
#[test]
fn a_late_reply_for_a_dropped_call_does_not_complete_the_call_in_its_slot() {
    let (conn, mut server) = connected();
    let mut a = Handle::start(&conn);
    assert!(a.poll_sent().is_pending());
    let stale = a.call.id;
    assert_eq!(server.requests(), [stale]);
    drop(a);
    let mut b = Handle::start(&conn);
    assert!(b.poll_sent().is_pending());
    assert_eq!(server.requests(), [b.call.id]);
    assert_eq!(conn.lock().calls.slots(), 1, "b did not reuse a's slot");
    assert_ne!(b.call.id, stale, "a reused slot kept its call id");
    server.reply_with(stale, b"stale");
    assert!(
        b.poll().is_pending(),
        "the dropped call's reply completed the call in its slot"
    );
    server.reply(b.call.id);
    assert_replied(b.poll());
}

/// Thousands of calls in flight at once (more than the slots with short ids): each gets
/// its own id and its own reply, whatever the order of the replies.
#[test]
fn thousands_of_pipelined_calls_have_distinct_ids_and_get_their_own_replies() {
    const CALLS: usize = 5000;
    let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(1 << 20));
    let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
    let mut server = Server(Stream::Memory(server));
    let mut calls: Vec<Handle> = (0..CALLS).map(|_| Handle::start(&conn)).collect();
    let ids: std::collections::HashSet<u32> = calls.iter().map(|h| h.call.id).collect();
    assert_eq!(ids.len(), CALLS, "two calls in flight share an id");
    assert!(!ids.contains(&0), "a call has the connection's id 0");
    for h in &mut calls {
        assert!(h.poll_sent().is_pending());
    }
    let sent = server.requests();
    assert_eq!(sent.len(), CALLS);
    for &id in sent.iter().rev() {
        server.reply_with(id, &id.to_le_bytes());
    }
    // The first call reads for everyone: the last reply is its own.
    for h in &mut calls {
        match h.poll() {
            Poll::Ready(Ok((Status::Ok, body))) => {
                assert_eq!(&body[..], h.call.id.to_le_bytes(), "another call's reply");
            }
            other => panic!("call {:#x}: expected its reply, got {other:?}", h.call.id),
        }
    }
    let st = conn.lock();
    assert_eq!((st.calls.len(), st.calls.slots()), (0, CALLS));
}

/// With all the short-id slots in flight, a caller that starts calls and gives them up in
/// a loop reuses one long-id slot over and over. A late reply to the first call given up
/// (sent before the server read its cancel, as the protocol allows) must not complete the
/// call in that slot one reuse before its id comes back (2^15 reuses).
#[test]
fn a_late_reply_does_not_complete_a_newer_call_in_a_slot_reused_many_times() {
    let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(4 << 20));
    let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
    let mut server = Server(Stream::Memory(server));
    let mut busy: Vec<Handle> = (0..SHORT_ID_SLOTS).map(|_| Handle::start(&conn)).collect();
    let x = Handle::start(&conn);
    assert!(
        busy[0].poll_sent().is_pending(),
        "the first call writes every request"
    );
    let stale = x.call.id;
    assert!(server.requests().contains(&stale));
    drop(x);
    // The bound calls.rs documents: a long-id slot's id comes back after 2^15 reuses.
    for reuse in 1..(1 << 15) - 1 {
        let call = Handle::start(&conn);
        assert_ne!(call.call.id, stale, "the id came back after {reuse} reuses");
        drop(call);
    }
    let mut w = Handle::start(&conn);
    server.reply_with(stale, b"stale");
    // w waits while busy[0] reads; the late reply must not complete it.
    assert!(w.poll_sent().is_pending());
    assert!(busy[0].poll().is_pending());
    match w.poll() {
        Poll::Pending => {}
        other => panic!(
            "w ({:#x}) got the late reply to {stale:#x}: {other:?}",
            w.call.id
        ),
    }
}

/// Steady traffic reuses the slots of finished calls: the slab holds as many slots as
/// calls were in flight at once, not as many as were made.
#[test]
fn steady_traffic_reuses_the_slots_of_finished_calls() {
    let (conn, mut server) = connected();
    for _ in 0..500 {
        let mut a = Handle::start(&conn);
        let mut b = Handle::start(&conn);
        assert!(a.poll_sent().is_pending());
        assert!(b.poll().is_pending());
        assert_eq!(server.requests(), [a.call.id, b.call.id]);
        server.reply(b.call.id);
        server.reply(a.call.id);
        assert_replied(a.poll());
        assert_replied(b.poll());
    }
    // A lone call after the pairs, then a dropped one.
    let mut c = Handle::start(&conn);
    assert!(c.poll_sent().is_pending());
    server.reply(c.call.id);
    assert_replied(c.poll());
    drop(Handle::start(&conn));
    let st = conn.lock();
    assert_eq!((st.calls.len(), st.calls.slots()), (0, 2), "the slab grew");
}

/// A request that cannot be encoded, or is too big, is refused without taking a slot.
#[test]
fn a_refused_request_leaves_no_call_in_flight() {
    let (client, _server) = MemoryStream::pair();
    let conn = Conn::new(Stream::Memory(client), 16);
    let refused = conn.start(FrameKind::Request, 7, 0, 0, |_| {
        Err(WireError::BufferTooSmall { needed: 8, got: 4 })
    });
    assert_eq!(
        refused.map(|c| c.id).unwrap_err().status,
        Status::BadRequest
    );
    let too_big = conn.start(FrameKind::Request, 7, 0, 0, |out| {
        out.extend_from_slice(&[0; 17]);
        Ok(())
    });
    assert_eq!(
        too_big.map(|c| c.id).unwrap_err().status,
        Status::BadRequest
    );
    let st = conn.lock();
    assert_eq!((st.calls.len(), st.out.len()), (0, 0));
    assert_eq!(conn.pending.load(Ordering::Acquire), 0);
}

/// A connection with as many calls in flight as its slab can hold refuses a new call
/// with a typed error, sends nothing for it, and takes calls again once one finishes.
#[test]
fn a_connection_with_every_slot_taken_refuses_a_new_call_until_one_finishes() {
    let (conn, mut server) = connected();
    conn.lock().calls.set_max(2);
    let mut a = Handle::start(&conn);
    let mut b = Handle::start(&conn);
    match conn.start(FrameKind::Request, 7, 0, 0, |_| Ok(())) {
        Err(e) => {
            assert_eq!(e.status, Status::ResourceExhausted, "{e}");
            assert!(e.to_string().contains("2 calls are in flight"), "{e}");
        }
        Ok(call) => panic!("a third call started: {:#x}", call.id),
    }
    assert!(a.poll_sent().is_pending());
    assert!(b.poll().is_pending());
    assert_eq!(server.requests(), [a.call.id, b.call.id]);
    server.reply(a.call.id);
    assert_replied(a.poll());
    let mut c = Handle::start(&conn);
    assert!(c.poll_sent().is_pending());
    assert_eq!(server.requests(), [c.call.id]);
    for h in [&b, &c] {
        server.reply(h.call.id);
    }
    // c took the reader role a left (b was woken for it, but c was polled first).
    assert_replied(c.poll());
    assert_replied(b.poll());
}

/// A waker whose last reference, when it goes, drops `call`: as when a task's last waker is
/// dropped and takes the task's future with it, and that future held a call. Dropping the
/// call takes the connection's lock, so this waker must never be dropped with that lock
/// held. Returns the flag it raises once it has dropped the call.
fn drops_call(call: Handle) -> (Waker, Arc<AtomicBool>) {
    let call = call.call;
    on_drop(move || drop(call))
}

/// What a scenario that does not end in time means here.
const DEADLOCK: &str = "deadlock: a waker was dropped under the connection's lock";

/// A waiting call is polled again with another waker (as a `select!` loop does): the
/// waker it replaces is the last reference to one whose drop drops another call.
#[test]
fn a_waker_replaced_by_a_new_poll_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (conn, mut server) = connected();
        let mut a = Handle::start(&conn);
        let mut b = Handle::start(&conn);
        let (waker, dropped) = drops_call(Handle::start(&conn));
        assert!(a.poll_sent().is_pending(), "a reads");
        let polled = Pin::new(&mut b.call).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "b waits");
        drop(waker);
        assert!(!dropped.load(Ordering::SeqCst), "b's slot let its waker go");
        assert!(b.poll().is_pending(), "b waits, with its own waker now");
        assert!(
            dropped.load(Ordering::SeqCst),
            "the replaced waker was kept"
        );
        assert_eq!(conn.lock().calls.len(), 2, "the dropped call kept its slot");
        server.requests();
        server.reply(a.call.id);
        assert_replied(a.poll());
        assert_eq!(b.woken(), 1, "b's new waker was not handed the role");
        server.reply(b.call.id);
        assert_replied(b.poll());
    });
}

/// A waiting call is woken to take the reader role and finds, when polled, that it is to
/// read: the waker it gives up is the last reference to one whose drop drops another call.
#[test]
fn a_waker_given_up_to_read_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (conn, mut server) = connected();
        let mut a = Handle::start(&conn);
        let mut b = Handle::start(&conn);
        let mut c = Handle::start(&conn);
        let (waker, dropped) = drops_call(Handle::start(&conn));
        assert!(a.poll_sent().is_pending(), "a reads");
        let polled = Pin::new(&mut b.call).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "b waits");
        drop(waker);
        assert!(c.poll().is_pending(), "c waits");
        server.requests();
        server.reply(a.call.id);
        // a hands the role to c, the latest to wait; b keeps its waker.
        assert_replied(a.poll());
        assert_eq!(c.woken(), 1, "c was not handed the role");
        assert!(!dropped.load(Ordering::SeqCst), "b's slot let its waker go");
        // b is polled first: nobody reads, so b reads, and needs its waker no more.
        assert!(b.poll().is_pending(), "b reads");
        assert!(dropped.load(Ordering::SeqCst), "b's old waker was kept");
        assert_eq!(conn.lock().calls.len(), 2, "the dropped call kept its slot");
        server.reply(b.call.id);
        assert_replied(b.poll());
        server.reply(c.call.id);
        assert_replied(c.poll());
    });
}

/// A waiting call is dropped (given up): the waker its slot held is the last reference to
/// one whose drop drops another call.
#[test]
fn the_waker_of_a_dropped_waiting_call_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (conn, mut server) = connected();
        let mut a = Handle::start(&conn);
        let mut b = Handle::start(&conn);
        let (waker, dropped) = drops_call(Handle::start(&conn));
        assert!(a.poll_sent().is_pending(), "a reads");
        let polled = Pin::new(&mut b.call).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "b waits");
        drop(waker);
        assert!(!dropped.load(Ordering::SeqCst), "b's slot let its waker go");
        drop(b);
        assert!(dropped.load(Ordering::SeqCst), "b's waker outlived b");
        assert_eq!(conn.lock().calls.len(), 1, "a dropped call kept its slot");
        server.requests();
        server.reply(a.call.id);
        assert_replied(a.poll());
    });
}

/// The flush task, its write waiting on a full socket while `a` holds the reader role,
/// as the flush-waker tests below set it up: `a` reads, and the task's buffer holds
/// every frame queued and more than the socket takes. The task was last polled with a
/// [`drops_call`] waker holding a call `d` (whose frame is in that buffer too).
struct FlushWaiting {
    conn: Arc<Conn>,
    server: Server,
    a: Handle,
    flush: Pin<Box<dyn Future<Output = ()> + Send>>,
    dropped: Arc<AtomicBool>,
}

impl FlushWaiting {
    /// `wait` calls are started, and polled to wait, after `a` takes the reader role.
    fn new(wait: usize) -> (FlushWaiting, Vec<Handle>) {
        let (client, server) = MemoryStream::pair_with(&Faults::default().buffer(1024));
        let conn = Conn::new(Stream::Memory(client), DEFAULT_MAX_BODY);
        let mut a = Handle::start(&conn);
        let d = Handle::start(&conn);
        let mut waiting: Vec<Handle> = (0..wait).map(|_| Handle::start(&conn)).collect();
        // Every frame goes to the flush task: a (the first call, the one to write) does
        // not write. The others left writing to a, so their drop does not write either.
        let mut buf = conn.lock().take_out();
        buf.resize(buf.len() + (64 << 10), 0);
        a.call.flush = Flush::No;
        assert!(a.poll().is_pending(), "a reads");
        for h in &mut waiting {
            assert!(h.poll().is_pending(), "a call waits");
        }
        let mut flush: Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(flush_later(Arc::clone(&conn), buf, 0));
        let (waker, dropped) = drops_call(d);
        let polled = flush.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "the flush task's write does not wait");
        drop(waker);
        assert!(
            conn.lock().flush_waker.is_some(),
            "the flush task did not wait"
        );
        let flush = FlushWaiting {
            conn,
            server: Server(Stream::Memory(server)),
            a,
            flush,
            dropped,
        };
        (flush, waiting)
    }

    /// Polls the flush task with a waker that wakes nothing.
    fn poll(&mut self) -> Poll<()> {
        let mut cx = Context::from_waker(Waker::noop());
        self.flush.as_mut().poll(&mut cx)
    }

    fn dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// The flush task is polled again while another call still reads: the waker it replaces
/// is the last reference to one whose drop drops a call.
#[test]
fn a_flush_waker_replaced_by_a_new_poll_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (mut f, _) = FlushWaiting::new(0);
        assert!(!f.dropped(), "the flush waker was let go");
        assert!(f.poll().is_pending());
        assert!(f.dropped(), "the replaced flush waker was kept");
        assert_eq!(
            f.conn.lock().calls.len(),
            1,
            "the dropped call kept its slot"
        );
        assert!(
            f.conn.lock().flush_waker.is_some(),
            "the flush task stopped waiting"
        );
    });
}

/// The reader hands its role to a waiting call and the flush task, polled first, takes
/// it: the waker it no longer needs is the last reference to one whose drop drops a call.
#[test]
fn a_flush_waker_given_up_to_read_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (mut f, waiting) = FlushWaiting::new(1);
        let reply = {
            let mut out = Vec::new();
            frame::encode_bytes(
                &mut out,
                Header::new(FrameKind::Response, f.a.call.id),
                b"ok",
            );
            out
        };
        assert_eq!(f.server.0.try_write(&reply).expect("write"), reply.len());
        assert_replied(f.a.poll());
        assert_eq!(
            waiting[0].woken(),
            1,
            "the waiting call was not handed the role"
        );
        assert!(!f.dropped(), "the flush waker was let go");
        assert!(f.poll().is_pending(), "the flush task reads");
        assert!(
            f.dropped(),
            "the flush task kept a waker it no longer needs"
        );
        assert!(f.conn.lock().flush_waker.is_none());
        assert_eq!(
            f.conn.lock().calls.len(),
            1,
            "the dropped call kept its slot"
        );
    });
}

/// The flush task is dropped (its executor shuts down, say) while it waits for the reader
/// role: the waker it leaves is the last reference to one whose drop drops a call.
#[test]
fn a_dropped_flush_tasks_waker_is_dropped_outside_the_lock() {
    ends_in_time(DEADLOCK, || {
        let (mut f, _) = FlushWaiting::new(0);
        // The server reads: the socket wakes the task and lets its waker go, so that
        // only the connection holds it.
        f.server.requests();
        assert!(!f.dropped(), "the flush waker was let go");
        drop(std::mem::replace(
            &mut f.flush,
            Box::pin(std::future::pending()),
        ));
        assert!(f.dropped(), "the dropped flush task's waker was kept");
        assert!(f.conn.lock().flush_waker.is_none());
        assert_eq!(
            f.conn.lock().calls.len(),
            1,
            "the dropped call kept its slot"
        );
    });
}
