//! An in-memory transport: connected byte streams with no socket, and listeners bound to
//! names in a process-wide registry, so `memory://NAME` works wherever `tcp://` does.
//!
//! A [`MemoryStream`] behaves like a connected socket: each direction has a bounded buffer
//! (a writer waits while the peer does not read), readers and writers are woken like the
//! reactor wakes socket tasks, dropping the last handle of one end is an end of file for the
//! other, [`shutdown`](MemoryStream::shutdown) and [`reset`](MemoryStream::reset) do what
//! their socket namesakes do.
//!
//! For tests, [`Faults`] make a connection misbehave on purpose, driven by a seed: bytes
//! delivered late, writes accepted only in part, reads returning a piece of what is there,
//! connections reset mid-stream. [`set_faults`] applies them to every connection made to a
//! name from then on.
//!
//! # Examples
//!
//! A server and a client in one process, with no socket:
//!
//! ```
//! use rpc_runtime::{Client, Server};
//!
//! let server = Server::builder().listen("memory://doc-example".parse()?).bind()?.spawn()?;
//! let client = Client::new("memory://doc-example".parse()?);
//! let schema = smol::block_on(client.describe())?;
//! assert!(schema.starts_with("{\"protocol\":1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod faults;
mod listener;

pub use faults::Faults;
pub use listener::{MemoryListener, set_faults};

use async_io::Timer;
use core::fmt;
use core::future::Future as _;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use smol::io::{AsyncRead, AsyncWrite};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes each direction of a connection buffers before writers wait, unless
/// [`Faults::buffer`] says otherwise.
pub const DEFAULT_BUFFER: usize = 64 * 1024;

/// Wakers of the tasks waiting on one thing, one per handle (keyed by handle id), so that
/// clones of a stream each get woken, as sockets' clones do.
///
/// A waker this lets go of is handed back to be dropped once the connection's lock is
/// released, never dropped under it: dropping a waker runs code that is not ours (the last
/// reference to a task drops the task's future), which may use this connection and so take
/// the lock.
#[derive(Debug, Default)]
struct Wakers(Vec<(u64, Waker)>);

impl Wakers {
    /// Registers `waker` for handle `id`; returns the waker it replaces, if any.
    #[must_use = "the replaced waker is to be dropped after the lock is released"]
    fn register(&mut self, id: u64, waker: &Waker) -> Option<Waker> {
        match self.0.iter_mut().find(|(owner, _)| *owner == id) {
            Some((_, w)) if w.will_wake(waker) => None,
            Some((_, w)) => Some(std::mem::replace(w, waker.clone())),
            None => {
                self.0.push((id, waker.clone()));
                None
            }
        }
    }

    /// Forgets handle `id`'s waker, moving it into `gone`.
    fn forget(&mut self, id: u64, gone: &mut Vec<Waker>) {
        if let Some(at) = self.0.iter().position(|(owner, _)| *owner == id) {
            gone.push(self.0.swap_remove(at).1);
        }
    }

    fn take_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.0.drain(..).map(|(_, w)| w));
    }
}

/// One direction of a connection.
#[derive(Debug)]
struct Pipe {
    data: VecDeque<u8>,
    /// Bytes ever taken out of `data`: the offset of `data[0]` in the direction's byte stream.
    head: u64,
    /// Delayed writes: (offset of the first delayed byte, when it may be read), oldest first,
    /// with increasing times. Bytes from the first entry on wait for its time.
    delayed: VecDeque<(u64, Instant)>,
    capacity: usize,
    /// The writing end shut down or closed: the reader sees the end once `data` is drained.
    write_closed: bool,
    /// The reading end shut down or closed: writes fail, reads return the end.
    read_closed: bool,
    readers: Wakers,
    writers: Wakers,
    rng: fastrand::Rng,
}

impl Pipe {
    fn new(capacity: usize, rng: fastrand::Rng) -> Pipe {
        Pipe {
            data: VecDeque::new(),
            head: 0,
            delayed: VecDeque::new(),
            capacity,
            write_closed: false,
            read_closed: false,
            readers: Wakers::default(),
            writers: Wakers::default(),
            rng,
        }
    }

    /// How many bytes may be read now, and when more will be if some are held back.
    fn readable(&mut self, now: Instant) -> (usize, Option<Instant>) {
        while self.delayed.front().is_some_and(|&(_, due)| due <= now) {
            self.delayed.pop_front();
        }
        match self.delayed.front() {
            None => (self.data.len(), None),
            Some(&(from, due)) => ((from - self.head) as usize, Some(due)),
        }
    }

    fn close_write(&mut self, wake: &mut Vec<Waker>) {
        self.write_closed = true;
        self.readers.take_into(wake);
        self.writers.take_into(wake);
    }

    fn close_read(&mut self, wake: &mut Vec<Waker>) {
        self.read_closed = true;
        self.data.clear();
        self.delayed.clear();
        self.readers.take_into(wake);
        self.writers.take_into(wake);
    }
}

#[derive(Debug)]
struct Connection {
    /// `pipes[s]` carries the bytes that end `s` writes.
    pipes: [Pipe; 2],
    /// Live handles of each end.
    handles: [usize; 2],
    reset: bool,
    faults: Faults,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<Connection>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Each update leaves the connection consistent; recover from a poisoned lock.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// One end of an in-memory connection. Clones share it, like clones of a socket.
///
/// # Examples
///
/// ```
/// use rpc_runtime::transport::memory::MemoryStream;
/// use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
///
/// let (mut a, mut b) = MemoryStream::pair();
/// smol::block_on(async {
///     a.write_all(b"ping").await?;
///     drop(a);
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await?; // dropping `a` ends the stream
///     assert_eq!(got, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct MemoryStream {
    shared: Arc<Shared>,
    side: usize,
    id: u64,
    /// Wakes a reader when delayed bytes become readable.
    timer: Option<(Instant, Timer)>,
}

impl fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.shared.lock();
        f.debug_struct("MemoryStream")
            .field("side", &self.side)
            .field("unread_in", &c.pipes[1 - self.side].data.len())
            .field("unread_out", &c.pipes[self.side].data.len())
            .field("reset", &c.reset)
            .finish_non_exhaustive()
    }
}

impl Clone for MemoryStream {
    fn clone(&self) -> Self {
        self.shared.lock().handles[self.side] += 1;
        MemoryStream {
            shared: Arc::clone(&self.shared),
            side: self.side,
            id: NEXT_HANDLE.fetch_add(1, Ordering::Relaxed),
            timer: None,
        }
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        let mut wake = Vec::new();
        let mut gone = Vec::new();
        {
            let mut c = self.shared.lock();
            let side = self.side;
            c.pipes[side].writers.forget(self.id, &mut gone);
            c.pipes[1 - side].readers.forget(self.id, &mut gone);
            c.handles[side] -= 1;
            if c.handles[side] == 0 {
                c.pipes[side].close_write(&mut wake);
                c.pipes[1 - side].close_read(&mut wake);
            }
        }
        drop(gone);
        wake.into_iter().for_each(Waker::wake);
    }
}

impl MemoryStream {
    /// Two connected ends with the default buffer and no faults.
    pub fn pair() -> (MemoryStream, MemoryStream) {
        MemoryStream::pair_with(&Faults::default())
    }

    /// Two connected ends with `faults` (and its buffer size).
    pub fn pair_with(faults: &Faults) -> (MemoryStream, MemoryStream) {
        MemoryStream::pair_numbered(faults, 0)
    }

    pub(super) fn pair_numbered(faults: &Faults, n: u64) -> (MemoryStream, MemoryStream) {
        let [a, b] = faults.for_connection(n);
        let shared = Arc::new(Shared {
            state: Mutex::new(Connection {
                pipes: [Pipe::new(faults.buffer, a), Pipe::new(faults.buffer, b)],
                handles: [1, 1],
                reset: false,
                faults: *faults,
            }),
        });
        let end = |side| MemoryStream {
            shared: Arc::clone(&shared),
            side,
            id: NEXT_HANDLE.fetch_add(1, Ordering::Relaxed),
            timer: None,
        };
        (end(0), end(1))
    }

    /// Connects to the memory listener bound to `name`. Like a TCP connect, this succeeds as
    /// soon as the listener has queued the connection; it never waits.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when no listener is bound to `name` or its backlog is full.
    pub fn connect(name: &str) -> io::Result<MemoryStream> {
        listener::connect(name)
    }

    /// Shuts both directions down, as `shutdown(Both)` does to a socket: the peer reads the
    /// end once it has read what was sent, and every task blocked on either end wakes up.
    pub fn shutdown(&self) {
        let mut wake = Vec::new();
        {
            let mut c = self.shared.lock();
            c.pipes[self.side].close_write(&mut wake);
            c.pipes[1 - self.side].close_read(&mut wake);
        }
        wake.into_iter().for_each(Waker::wake);
    }

    /// Resets the connection, as a TCP reset does: bytes in flight are lost and both ends
    /// get `ConnectionReset` from every read and write.
    pub fn reset(&self) {
        let mut wake = Vec::new();
        reset(&mut self.shared.lock(), &mut wake);
        wake.into_iter().for_each(Waker::wake);
    }
}

fn reset(c: &mut Connection, wake: &mut Vec<Waker>) {
    c.reset = true;
    for pipe in &mut c.pipes {
        pipe.data.clear();
        pipe.delayed.clear();
        pipe.readers.take_into(wake);
        pipe.writers.take_into(wake);
    }
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "memory connection reset")
}

fn closed_error() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "memory connection closed")
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            let mut wake = Vec::new();
            let replaced;
            let due = {
                let mut c = this.shared.lock();
                if c.reset {
                    return Poll::Ready(Err(reset_error()));
                }
                let split = c.faults.split_chance;
                let pipe = &mut c.pipes[1 - this.side];
                if pipe.read_closed {
                    return Poll::Ready(Ok(0));
                }
                let (ready, due) = pipe.readable(Instant::now());
                if ready > 0 {
                    let mut n = ready.min(buf.len());
                    if split > 0.0 && n > 1 && pipe.rng.f64() < split {
                        n = pipe.rng.usize(1..=n);
                    }
                    let (front, back) = pipe.data.as_slices();
                    let from_front = n.min(front.len());
                    buf[..from_front].copy_from_slice(&front[..from_front]);
                    buf[from_front..n].copy_from_slice(&back[..n - from_front]);
                    pipe.data.drain(..n);
                    pipe.head += n as u64;
                    pipe.writers.take_into(&mut wake);
                    drop(c);
                    wake.into_iter().for_each(Waker::wake);
                    return Poll::Ready(Ok(n));
                }
                if pipe.data.is_empty() && pipe.write_closed {
                    return Poll::Ready(Ok(0));
                }
                replaced = pipe.readers.register(this.id, cx.waker());
                due
            };
            drop(replaced);
            let Some(due) = due else {
                return Poll::Pending;
            };
            let timer = match &mut this.timer {
                Some((at, timer)) if *at == due => timer,
                slot => &mut slot.insert((due, Timer::at(due))).1,
            };
            if Pin::new(timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The delayed bytes are due now: read them.
        }
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut wake = Vec::new();
        let mut replaced = None;
        let result = {
            let mut c = this.shared.lock();
            write(
                &mut c,
                this.side,
                this.id,
                cx,
                buf,
                &mut wake,
                &mut replaced,
            )
        };
        drop(replaced);
        wake.into_iter().for_each(Waker::wake);
        result
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shared.lock().reset {
            return Poll::Ready(Err(reset_error()));
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut wake = Vec::new();
        self.shared.lock().pipes[self.side].close_write(&mut wake);
        wake.into_iter().for_each(Waker::wake);
        Poll::Ready(Ok(()))
    }
}

fn write(
    c: &mut Connection,
    side: usize,
    id: u64,
    cx: &mut Context<'_>,
    buf: &[u8],
    wake: &mut Vec<Waker>,
    replaced: &mut Option<Waker>,
) -> Poll<io::Result<usize>> {
    if c.reset {
        return Poll::Ready(Err(reset_error()));
    }
    let faults = c.faults;
    let pipe = &mut c.pipes[side];
    if pipe.write_closed || pipe.read_closed {
        return Poll::Ready(Err(closed_error()));
    }
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let room = pipe.capacity.saturating_sub(pipe.data.len());
    if room == 0 {
        *replaced = pipe.writers.register(id, cx.waker());
        return Poll::Pending;
    }
    if faults.reset_chance > 0.0 && pipe.rng.f64() < faults.reset_chance {
        reset(c, wake);
        return Poll::Ready(Err(reset_error()));
    }
    let pipe = &mut c.pipes[side];
    let mut n = room.min(buf.len());
    if faults.split_chance > 0.0 && n > 1 && pipe.rng.f64() < faults.split_chance {
        n = pipe.rng.usize(1..=n);
    }
    if faults.delay_chance > 0.0 && pipe.rng.f64() < faults.delay_chance {
        let max = u64::try_from(faults.max_delay.as_micros()).unwrap_or(u64::MAX);
        let due = Instant::now() + Duration::from_micros(pipe.rng.u64(0..=max));
        let from = pipe.head + pipe.data.len() as u64;
        // Bytes stay in order: a write delayed less than the one before waits for it anyway.
        if pipe.delayed.back().is_none_or(|&(_, last)| due > last) {
            pipe.delayed.push_back((from, due));
        }
    }
    pipe.data.extend(&buf[..n]);
    pipe.readers.take_into(wake);
    Poll::Ready(Ok(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ends_in_time, on_drop};
    use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// A waker that counts how often it was woken.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (Arc::clone(&count), Waker::from(count))
    }

    fn woken(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    #[test]
    fn full_buffer_makes_writes_wait_until_the_peer_reads() {
        let (mut a, mut b) = MemoryStream::pair_with(&Faults::default().buffer(4));
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let mut w = Pin::new(&mut a);
        assert!(matches!(
            w.as_mut().poll_write(&mut cx, b"abcdef"),
            Poll::Ready(Ok(4))
        ));
        assert!(w.as_mut().poll_write(&mut cx, b"ef").is_pending());
        assert_eq!(woken(&count), 0);
        let mut got = [0; 3];
        smol::block_on(b.read_exact(&mut got)).unwrap();
        assert_eq!(&got, b"abc");
        assert_eq!(woken(&count), 1, "reading makes room and wakes the writer");
        assert!(matches!(w.poll_write(&mut cx, b"ef"), Poll::Ready(Ok(2))));
    }

    #[test]
    fn a_waiting_reader_is_woken_by_a_write() {
        let (mut a, mut b) = MemoryStream::pair();
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0; 8];
        assert!(Pin::new(&mut b).poll_read(&mut cx, &mut buf).is_pending());
        smol::block_on(a.write_all(b"hi")).unwrap();
        assert_eq!(woken(&count), 1);
        assert!(matches!(
            Pin::new(&mut b).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(2))
        ));
    }

    #[test]
    fn every_clone_waiting_to_read_is_woken() {
        let (mut a, b) = MemoryStream::pair();
        let mut b2 = b.clone();
        let mut b1 = b;
        let (c1, w1) = counting();
        let (c2, w2) = counting();
        let mut buf = [0; 1];
        assert!(
            Pin::new(&mut b1)
                .poll_read(&mut Context::from_waker(&w1), &mut buf)
                .is_pending()
        );
        assert!(
            Pin::new(&mut b2)
                .poll_read(&mut Context::from_waker(&w2), &mut buf)
                .is_pending()
        );
        smol::block_on(a.write_all(b"x")).unwrap();
        assert_eq!((woken(&c1), woken(&c2)), (1, 1));
    }

    #[test]
    fn dropping_the_last_handle_is_end_of_file_after_the_data() {
        let (mut a, mut b) = MemoryStream::pair();
        let a2 = a.clone();
        smol::block_on(a.write_all(b"tail")).unwrap();
        drop(a);
        let (count, waker) = counting();
        let mut buf = [0; 16];
        let mut cx = Context::from_waker(&waker);
        assert!(matches!(
            Pin::new(&mut b).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(4))
        ));
        assert!(
            Pin::new(&mut b).poll_read(&mut cx, &mut buf).is_pending(),
            "a clone is alive"
        );
        drop(a2);
        assert_eq!(woken(&count), 1);
        assert!(matches!(
            Pin::new(&mut b).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(0))
        ));
        let err = smol::block_on(b.write_all(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn shutdown_wakes_both_ends_and_ends_both_directions() {
        let (mut a, mut b) = MemoryStream::pair_with(&Faults::default().buffer(1));
        let (ra, wa) = counting();
        let (rb, wb) = counting();
        let mut buf = [0; 4];
        assert!(
            Pin::new(&mut a)
                .poll_read(&mut Context::from_waker(&wa), &mut buf)
                .is_pending()
        );
        let mut cxb = Context::from_waker(&wb);
        assert!(matches!(
            Pin::new(&mut b).poll_write(&mut cxb, b"xy"),
            Poll::Ready(Ok(1))
        ));
        assert!(Pin::new(&mut b).poll_write(&mut cxb, b"y").is_pending());
        a.shutdown();
        assert_eq!((woken(&ra), woken(&rb)), (1, 1));
        assert!(matches!(
            Pin::new(&mut a).poll_read(&mut Context::from_waker(&wa), &mut buf),
            Poll::Ready(Ok(0))
        ));
        let err = smol::block_on(b.write_all(b"y")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(smol::block_on(b.read(&mut buf)).unwrap(), 0);
        assert_eq!(
            smol::block_on(a.write(b"z")).unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[test]
    fn reset_fails_both_ends_and_loses_data_in_flight() {
        let (mut a, mut b) = MemoryStream::pair();
        smol::block_on(a.write_all(b"lost")).unwrap();
        b.reset();
        let mut buf = [0; 4];
        let err = smol::block_on(b.read(&mut buf)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        let err = smol::block_on(a.write(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }

    /// Sends 5000 bytes through a pair with `faults`, writer and reader running together;
    /// returns what arrived.
    fn transfer(faults: &Faults) -> Vec<u8> {
        let (mut a, mut b) = MemoryStream::pair_with(faults);
        let sent: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut got = Vec::new();
        smol::block_on(async {
            let writer = async {
                a.write_all(&sent).await.unwrap();
                drop(a);
            };
            let reader = async { b.read_to_end(&mut got).await.unwrap() };
            smol::future::zip(writer, reader).await;
        });
        assert_eq!(got, sent);
        got
    }

    #[test]
    fn delayed_and_split_bytes_arrive_in_order() {
        for seed in 0..4 {
            let faults = Faults::seeded(seed)
                .split(0.7)
                .delay(0.5, Duration::from_millis(1))
                .buffer(64);
            transfer(&faults);
        }
    }

    #[test]
    fn the_same_seed_splits_writes_the_same_way() {
        // A buffer that holds everything, so only the faults decide the write sizes.
        let writes = |seed| {
            let (mut a, _b) = MemoryStream::pair_with(&Faults::seeded(seed).split(0.7));
            (0..50)
                .map(|_| smol::block_on(a.write(&[0; 100])).unwrap())
                .collect::<Vec<_>>()
        };
        let first = writes(3);
        assert!(
            first.iter().any(|&n| n < 100),
            "writes were split: {first:?}"
        );
        assert_eq!(writes(3), first);
        assert_ne!(writes(4), first);
    }

    #[test]
    fn listeners_accept_connections_by_name_and_free_it_on_drop() {
        let name = "memory-tests-listener";
        let listener = MemoryListener::bind(name).unwrap();
        assert_eq!(
            MemoryListener::bind(name).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        let mut client = MemoryStream::connect(name).unwrap();
        let mut server = smol::block_on(listener.accept()).unwrap();
        smol::block_on(client.write_all(b"hi")).unwrap();
        let mut buf = [0; 2];
        smol::block_on(server.read_exact(&mut buf)).unwrap();
        assert_eq!(&buf, b"hi");

        let queued = MemoryStream::connect(name).unwrap();
        drop(listener);
        let err = MemoryStream::connect(name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let err = smol::block_on(queued.clone().read(&mut buf)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "never accepted");
        MemoryListener::bind(name).unwrap();
    }

    #[test]
    fn accept_waits_for_a_connection() {
        let name = "memory-tests-accept";
        let listener = MemoryListener::bind(name).unwrap();
        let (count, waker) = counting();
        let mut cx = Context::from_waker(&waker);
        assert!(listener.poll_accept(&mut cx).is_pending());
        let _client = MemoryStream::connect(name).unwrap();
        assert_eq!(woken(&count), 1);
        assert!(matches!(listener.poll_accept(&mut cx), Poll::Ready(Ok(_))));
    }

    /// What a scenario that does not end in time means here.
    const DEADLOCK: &str = "deadlock: a waker was dropped under the lock its drop takes";

    /// A reader polled again with another waker: the waker it replaces is the last
    /// reference to one whose drop drops a handle of the same connection.
    #[test]
    fn a_replaced_reader_waker_is_dropped_outside_the_lock() {
        ends_in_time(DEADLOCK, || {
            let (_a, mut b) = MemoryStream::pair();
            let other = b.clone();
            let (waker, ran) = on_drop(move || drop(other));
            let mut buf = [0; 1];
            let polled = Pin::new(&mut b).poll_read(&mut Context::from_waker(&waker), &mut buf);
            assert!(polled.is_pending());
            drop(waker);
            assert!(!ran.load(Ordering::SeqCst), "the reader's waker was let go");
            let mut cx = Context::from_waker(Waker::noop());
            assert!(Pin::new(&mut b).poll_read(&mut cx, &mut buf).is_pending());
            assert!(ran.load(Ordering::SeqCst), "the replaced waker was kept");
        });
    }

    /// As above, for a writer waiting on a full buffer.
    #[test]
    fn a_replaced_writer_waker_is_dropped_outside_the_lock() {
        ends_in_time(DEADLOCK, || {
            let (mut a, _b) = MemoryStream::pair_with(&Faults::default().buffer(4));
            let other = a.clone();
            let (waker, ran) = on_drop(move || drop(other));
            let mut w = Pin::new(&mut a);
            let mut cx = Context::from_waker(&waker);
            assert!(matches!(
                w.as_mut().poll_write(&mut cx, b"abcd"),
                Poll::Ready(Ok(4))
            ));
            assert!(w.as_mut().poll_write(&mut cx, b"e").is_pending());
            drop(waker);
            assert!(!ran.load(Ordering::SeqCst), "the writer's waker was let go");
            let mut cx = Context::from_waker(Waker::noop());
            assert!(w.as_mut().poll_write(&mut cx, b"e").is_pending());
            assert!(ran.load(Ordering::SeqCst), "the replaced waker was kept");
        });
    }

    /// A handle is dropped while it waits to read: the waker it leaves is the last reference
    /// to one whose drop drops another handle of the same connection.
    #[test]
    fn a_dropped_handles_waker_is_dropped_outside_the_lock() {
        ends_in_time(DEADLOCK, || {
            let (_a, b) = MemoryStream::pair();
            let mut waiting = b.clone();
            let (waker, ran) = on_drop(move || drop(b));
            let mut buf = [0; 1];
            let mut cx = Context::from_waker(&waker);
            assert!(
                Pin::new(&mut waiting)
                    .poll_read(&mut cx, &mut buf)
                    .is_pending()
            );
            drop(waker);
            assert!(!ran.load(Ordering::SeqCst), "the reader's waker was let go");
            drop(waiting);
            assert!(
                ran.load(Ordering::SeqCst),
                "the dropped handle's waker was kept"
            );
        });
    }

    /// A listener polled again with another waker: the waker it replaces is the last
    /// reference to one whose drop connects to the same listener.
    #[test]
    fn a_replaced_accept_waker_is_dropped_outside_the_lock() {
        ends_in_time(DEADLOCK, || {
            let name = "memory-tests-accept-waker";
            let listener = MemoryListener::bind(name).unwrap();
            let (waker, ran) = on_drop(move || {
                MemoryStream::connect(name).expect("connect");
            });
            assert!(
                listener
                    .poll_accept(&mut Context::from_waker(&waker))
                    .is_pending()
            );
            drop(waker);
            assert!(
                !ran.load(Ordering::SeqCst),
                "the listener's waker was let go"
            );
            let mut cx = Context::from_waker(Waker::noop());
            assert!(listener.poll_accept(&mut cx).is_pending());
            assert!(ran.load(Ordering::SeqCst), "the replaced waker was kept");
            assert!(matches!(listener.poll_accept(&mut cx), Poll::Ready(Ok(_))));
        });
    }
}
