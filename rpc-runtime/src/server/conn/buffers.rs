//! Per-thread buffers that connections borrow only while they have work.
//!
//! A connection waiting for its next frame holds no read or write buffer: it takes its
//! thread's spare read buffer to read into, and gives it back when the bytes read were all
//! complete frames; its write buffer goes back to the thread once the replies are written.
//! A connection that waits for the rest of a frame keeps only the bytes it has (up to
//! `PARK_LIMIT`) in a buffer of their size, and copies them into the thread's read buffer when
//! the socket has more; it keeps a whole read buffer only for a larger partial frame, and its
//! write buffer only while the client has not taken its replies. So ten thousand idle
//! connections cost no buffer memory, a slow client sending a frame a byte at a time costs
//! its bytes, and a busy connection on a thread of its own reuses the same two buffers for
//! every batch.

use super::READ_CHUNK;
use std::cell::Cell;

thread_local! {
    /// A zeroed read buffer of `READ_CHUNK` bytes, or empty when taken.
    static READ: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// An empty write buffer with room for a normal batch, or none when taken.
    static WRITE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A read buffer of `READ_CHUNK` bytes: this thread's spare one, or a new one.
pub(super) fn take_read() -> Vec<u8> {
    let buf = READ.with(Cell::take);
    if buf.len() == READ_CHUNK {
        buf
    } else {
        vec![0; READ_CHUNK]
    }
}

/// Gives back a read buffer whose bytes were all consumed. One grown for a large frame is
/// dropped, so its memory goes back to the allocator.
pub(super) fn give_read(buf: Vec<u8>) {
    if buf.len() == READ_CHUNK && buf.capacity() == READ_CHUNK {
        READ.with(|slot| slot.set(buf));
    }
}

/// The largest start of a frame a waiting connection keeps in a buffer of its own size;
/// more stays in the full read buffer, so a large frame arriving slowly is not copied back and
/// forth on every read.
const PARK_LIMIT: usize = READ_CHUNK / 4;

/// Before reading into `rbuf` (which holds `filled` bytes of a frame's start): makes it a full
/// read buffer, borrowing this thread's and copying the bytes into it, unless it is one.
pub(super) fn unpark_read(rbuf: &mut Vec<u8>, filled: usize) {
    if rbuf.len() >= READ_CHUNK {
        return;
    }
    let mut full = take_read();
    full[..filled].copy_from_slice(&rbuf[..filled]);
    *rbuf = full;
}

/// When the connection is about to wait for more bytes: gives the read buffer back to the
/// thread, keeping the `filled` bytes of a frame's start (when at most `PARK_LIMIT`) in a
/// buffer of their size.
pub(super) fn park_read(rbuf: &mut Vec<u8>, filled: usize) {
    if rbuf.len() != READ_CHUNK || filled > PARK_LIMIT {
        return;
    }
    let kept = rbuf[..filled].to_vec();
    give_read(std::mem::replace(rbuf, kept));
}

/// This thread's spare write buffer (empty, possibly without capacity yet).
pub(super) fn take_write() -> Vec<u8> {
    WRITE.with(Cell::take)
}

/// Gives back a written-out write buffer. One grown for a large batch is dropped.
pub(super) fn give_write(mut buf: Vec<u8>) {
    buf.clear();
    if buf.capacity() <= 2 * READ_CHUNK {
        WRITE.with(|slot| slot.set(buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_read_buffer_is_reused_and_a_grown_one_is_not() {
        let buf = take_read();
        assert_eq!(buf.len(), READ_CHUNK);
        let at = buf.as_ptr();
        give_read(buf);
        let again = take_read();
        assert_eq!(again.as_ptr(), at, "the spare buffer was not reused");
        let mut grown = again;
        grown.resize(2 * READ_CHUNK, 0);
        give_read(grown);
        assert_eq!(READ.with(Cell::take).len(), 0, "a grown buffer was kept");
    }

    #[test]
    fn a_waiting_connection_keeps_only_the_start_of_its_frame() {
        let mut rbuf = take_read();
        rbuf[..3].copy_from_slice(b"abc");
        park_read(&mut rbuf, 3);
        assert_eq!(rbuf, b"abc");
        assert_eq!(rbuf.capacity(), 3);
        unpark_read(&mut rbuf, 3);
        assert_eq!(rbuf.len(), READ_CHUNK);
        assert_eq!(&rbuf[..3], b"abc");
        // Nothing buffered: nothing kept.
        park_read(&mut rbuf, 0);
        assert!(rbuf.is_empty());
        unpark_read(&mut rbuf, 0);
        assert_eq!(rbuf.len(), READ_CHUNK);
        // A large partial frame keeps the whole buffer.
        park_read(&mut rbuf, PARK_LIMIT + 1);
        assert_eq!(rbuf.len(), READ_CHUNK);
    }

    #[test]
    fn a_returned_write_buffer_is_emptied_and_a_large_one_dropped() {
        let mut buf = take_write();
        buf.extend_from_slice(b"frames");
        let at = buf.as_ptr();
        give_write(buf);
        let again = take_write();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        give_write(vec![1; 4 * READ_CHUNK]);
        assert_eq!(take_write().capacity(), 0, "a large buffer was kept");
    }
}
