//! Writing when the socket is full: a task finishes the write, and reads meanwhile whenever
//! nobody else does, so that client and server cannot both wait for the other to read.

use super::{Conn, release_reader};
use crate::error::RpcError;
use crate::frame::Status;
use smol::io::AsyncWrite;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Finishes a write the socket could not take at once, from `buf[from..]`, then everything
/// queued meanwhile. While the socket is full it also reads whenever nobody else does: the
/// server may be waiting for us to read its replies before it reads again, and with no call
/// waiting nobody else would.
pub(super) async fn flush_later(conn: Arc<Conn>, mut buf: Vec<u8>, mut from: usize) {
    let mut stream = conn.stream.clone();
    let mut reader = FlushReader {
        conn: &conn,
        held: false,
    };
    loop {
        let written = std::future::poll_fn(|cx| {
            while from < buf.len() {
                match Pin::new(&mut stream).poll_write(cx, &buf[from..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    Poll::Ready(Ok(n)) => from += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        if reader.read(cx).is_pending() {
                            return Poll::Pending;
                        }
                    }
                }
            }
            Poll::Ready(Ok(()))
        })
        .await;
        if let Err(e) = written {
            drop(reader);
            conn.fail(RpcError::new(
                Status::Unavailable,
                format!("connection lost: {e}"),
            ));
            return;
        }
        conn.recycle(buf);
        let mut st = conn.lock();
        if st.out.is_empty() {
            st.flushing = false;
            return;
        }
        buf = st.take_out();
        from = 0;
    }
}

/// The reader role as the flush task holds it, while its write waits; released on drop.
struct FlushReader<'a> {
    conn: &'a Arc<Conn>,
    held: bool,
}

impl FlushReader<'_> {
    /// Reads once if nobody else reads (taking the role), like a waiting call would.
    /// `Pending` when there is nothing to read now or another holds the role; either way
    /// `cx` is woken when there is something to do.
    ///
    /// A waker this displaces is dropped once the lock is released: its drop may drop a call
    /// of this connection, which takes the lock.
    fn read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.held {
            let mut st = self.conn.lock();
            if st.reading {
                // Whoever reads hands the role on when done, to us if no call waits.
                let old = match &st.flush_waker {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => st.flush_waker.replace(cx.waker().clone()),
                };
                drop(st);
                drop(old);
                return Poll::Pending;
            }
            st.reading = true;
            let old = st.flush_waker.take();
            self.held = true;
            drop(st);
            drop(old);
        }
        self.conn.read_some(cx)
    }
}

impl Drop for FlushReader<'_> {
    fn drop(&mut self) {
        let mut st = self.conn.lock();
        let old = st.flush_waker.take();
        let next = release_reader(&mut self.held, &mut st);
        drop(st);
        drop(old);
        if let Some(w) = next {
            w.wake();
        }
    }
}
