//! Writing replies: a batch goes out in one write, at once when the socket has room, else
//! under the write timeout, counted against the server-wide write budget meanwhile.

use super::{Conn, READ_CHUNK};
use crate::server::stats::Queued;
use smol::Timer;
use smol::future::FutureExt as _;
use smol::io::AsyncWriteExt as _;
use std::time::Duration;

impl Conn {
    /// Writes the pending frames: at once when the socket has room, else waiting at most
    /// `limit` for the client to take them.
    pub(super) async fn write_out(&mut self, limit: Duration) -> std::io::Result<()> {
        let n = self.stream.try_write(&self.wbuf)?;
        if n < self.wbuf.len() {
            let _queued = Queued::new(&self.guard.shared().counters, self.wbuf.len() - n);
            let stream = &mut self.stream;
            let rest = &self.wbuf[n..];
            stream
                .write_all(rest)
                .or(async {
                    Timer::after(limit).await;
                    Err(std::io::ErrorKind::TimedOut.into())
                })
                .await?;
        }
        self.wbuf.clear();
        shrink_write_buffer(&mut self.wbuf);
        Ok(())
    }
}

/// After a write: drops the memory of a large reply or batch (a normal batch reuses its
/// buffer).
fn shrink_write_buffer(wbuf: &mut Vec<u8>) {
    if wbuf.is_empty() && wbuf.capacity() > 2 * READ_CHUNK {
        *wbuf = Vec::with_capacity(READ_CHUNK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_buffer_shrinks_after_a_large_batch_only() {
        let mut wbuf = Vec::with_capacity(READ_CHUNK);
        wbuf.resize(READ_CHUNK, 1);
        wbuf.clear();
        shrink_write_buffer(&mut wbuf);
        assert!(wbuf.capacity() >= READ_CHUNK);
        let mut big = vec![1; 8 * READ_CHUNK];
        big.clear();
        shrink_write_buffer(&mut big);
        assert!(big.capacity() < 2 * READ_CHUNK, "{}", big.capacity());
    }
}
