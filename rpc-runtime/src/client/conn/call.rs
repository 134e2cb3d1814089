//! A call in flight: the future a caller awaits. While no one reads, a waiting call takes the
//! reader role and reads for everyone; a call dropped before its reply forgets its slot, sends
//! a cancel frame and passes the reader role on.

use super::calls::Polled;
use super::{Conn, Flush, Outcome, State};
use crate::error::RpcError;
use crate::frame::{self, FrameKind, Header, Status};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

/// A call whose frame is queued or sent; resolves to the server's reply.
#[derive(Debug)]
pub(crate) struct PendingCall {
    pub(super) conn: Arc<Conn>,
    pub(super) id: u32,
    pub(super) flush: Flush,
    /// Whether this call holds the reader role.
    pub(super) reader: bool,
    pub(super) finished: bool,
}

impl State {
    /// When nobody reads: the waker of a waiting call, to be woken to take the reader role.
    pub(super) fn next_reader(&mut self) -> Option<Waker> {
        if self.reading {
            return None;
        }
        self.calls
            .take_waiting()
            .or_else(|| self.flush_waker.take())
    }
}

/// Gives up the reader role, if held, and returns the waker of a waiting call to take it over.
pub(super) fn release_reader(reader: &mut bool, st: &mut State) -> Option<Waker> {
    if !std::mem::take(reader) {
        return None;
    }
    st.reading = false;
    st.next_reader()
}

impl Future for PendingCall {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match self.flush {
            Flush::Yield => {
                self.flush = Flush::Now;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Flush::Now => {
                self.flush = Flush::No;
                self.conn.flush();
            }
            Flush::No => {}
        }
        let this = &mut *self;
        loop {
            let mut st = this.conn.lock();
            let wait = (st.reading && !this.reader).then_some(cx.waker());
            // A waker the poll displaces is dropped only once the lock is released: its drop
            // may drop a call of this connection, which takes the lock (see `Polled`).
            let outcome = match st.calls.poll(this.id, wait) {
                Polled::Done(done) => done,
                Polled::Waiting(old) => {
                    drop(st);
                    drop(old);
                    return Poll::Pending;
                }
                Polled::Gone => Err(st
                    .closed
                    .clone()
                    .unwrap_or_else(|| RpcError::new(Status::Internal, "call slot vanished"))),
                Polled::Read(old) => {
                    // Nobody reads: this call does, until its own reply is in.
                    st.reading = true;
                    drop(st);
                    this.reader = true;
                    drop(old);
                    if this.conn.read_some(cx).is_pending() {
                        return Poll::Pending;
                    }
                    continue;
                }
            };
            this.conn.pending.store(st.calls.len(), Ordering::Release);
            let next = release_reader(&mut this.reader, &mut st);
            drop(st);
            if let Some(w) = next {
                w.wake();
            }
            this.finished = true;
            return Poll::Ready(outcome);
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let conn = Arc::clone(&self.conn);
        let mut st = conn.lock();
        if std::mem::take(&mut self.reader) {
            st.reading = false;
        }
        // The caller gave up (timeout, or the future was dropped): forget the call and tell
        // the server, so it can stop working on it.
        let (replied, waker) = match st.calls.remove(self.id) {
            Some((done, waker)) => (done.is_some(), waker),
            None => (false, None),
        };
        conn.pending.store(st.calls.len(), Ordering::Release);
        // Whether this call read, or was woken to read next and now never will: when nobody
        // reads, wake a waiting call to take the role.
        let next = st.next_reader();
        let mut must_flush = self.flush != Flush::No;
        if !replied && st.closed.is_none() {
            frame::encode(&mut st.out, Header::new(FrameKind::Cancel, self.id), |_| {});
            must_flush |= !st.flushing;
            st.flushing = true;
        }
        drop(st);
        // The call's waker, if it waited, is dropped only now that the lock is released: its
        // drop may drop another call of this connection, which takes the lock.
        drop(waker);
        if let Some(w) = next {
            w.wake();
        }
        if must_flush {
            conn.flush();
        }
    }
}
