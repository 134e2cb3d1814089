//! Reading frames: one batch of the complete frames in the read buffer at a time, within
//! the connection's limits, and a read buffer that grows for a large frame and shrinks back.

use super::{Conn, Held, READ_CHUNK, error_frame};
use crate::Wire as _;
use crate::frame::{self, FrameError, Header, Status};
use crate::server::Limits;
use std::sync::atomic::Ordering;

impl Conn {
    /// Handles one batch of the complete frames in the read buffer: until the buffer holds
    /// no complete frame, or the batch is full (see the module docs).
    pub(super) fn process(&mut self, limits: &Limits) {
        self.held = Held::No;
        if self.filled == 0 {
            return;
        }
        let queued = &self.guard.shared().counters.queued;
        if queued.load(Ordering::Relaxed) >= limits.total_write_budget {
            self.held = Held::Total;
            return;
        }
        let max_in_flight = limits.max_in_flight.max(1);
        let rbuf = std::mem::take(&mut self.rbuf);
        let mut start = 0;
        let mut batch = 0;
        while !self.close {
            if self.running.len() >= max_in_flight {
                self.held = Held::Slots;
                break;
            }
            if batch > 0
                && (self.running.len() + batch >= max_in_flight
                    || self.wbuf.len() >= limits.write_budget)
            {
                self.held = Held::Batch;
                break;
            }
            match frame::parse(&rbuf[start..self.filled], limits.max_body) {
                Ok(Some(parsed)) => {
                    let body = parsed.body(&rbuf[start..]);
                    self.handle(parsed.header, body);
                    start += parsed.len;
                    batch += 1;
                }
                Ok(None) => break,
                Err(error) => {
                    let status = match error {
                        FrameError::TooLarge { .. } => Status::ResourceExhausted,
                        _ => Status::BadRequest,
                    };
                    let message = crate::error::Chain(&error).to_string();
                    tracing::info!(peer = %self.peer, error = %message, "closing a connection: bad frame");
                    error_frame(&mut self.wbuf, 0, status, &message);
                    self.close = true;
                }
            }
        }
        self.rbuf = rbuf;
        if start > 0 {
            self.rbuf.copy_within(start..self.filled, 0);
            self.filled -= start;
            // What is left starts a new frame: its clock starts now.
            self.partial_since = None;
            shrink_read_buffer(&mut self.rbuf, self.filled);
        }
    }
}

/// Makes room in a full read buffer, which holds the start of a frame larger than itself
/// (complete frames were parsed before): for all of that frame when its header is in (it was
/// checked against `max_body` then), else twice the room.
pub(super) fn grow_read_buffer(rbuf: &mut Vec<u8>, max_body: u32) {
    let needed = rbuf
        .first_chunk::<{ Header::SIZE }>()
        .and_then(|head| frame::check_header(head, max_body).ok())
        .map_or(0, |h| Header::SIZE + h.body_len as usize);
    let new_len = if needed > rbuf.len() {
        needed
    } else {
        let limit = Header::SIZE + max_body as usize;
        (rbuf.len() * 2).min(limit.max(READ_CHUNK))
    };
    rbuf.resize(new_len, 0);
}

/// Once frames were consumed and at most `filled` bytes are left: gives the memory a large
/// frame needed back, so a connection does not keep it for its whole life.
fn shrink_read_buffer(rbuf: &mut Vec<u8>, filled: usize) {
    if rbuf.len() > READ_CHUNK && filled <= READ_CHUNK {
        rbuf.truncate(READ_CHUNK);
        rbuf.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    const MAX_BODY: u32 = 1 << 20;

    /// A read buffer of `len` bytes that starts with a ping of `body` bytes.
    fn buffer_with_ping(len: usize, body: u32) -> Vec<u8> {
        let mut header = Header::new(FrameKind::Ping, 1);
        header.body_len = body;
        let mut rbuf = vec![0; len];
        header.pack_into(&mut rbuf[..Header::SIZE]).unwrap();
        rbuf
    }

    #[test]
    fn read_buffer_grows_to_the_frame_then_shrinks_back() {
        let mut rbuf = buffer_with_ping(READ_CHUNK, MAX_BODY);
        grow_read_buffer(&mut rbuf, MAX_BODY);
        assert_eq!(rbuf.len(), Header::SIZE + MAX_BODY as usize);
        // The frame was consumed and the start of a small one is left.
        shrink_read_buffer(&mut rbuf, 10);
        assert_eq!(rbuf.len(), READ_CHUNK);
        assert_eq!(rbuf.capacity(), READ_CHUNK);
    }

    #[test]
    fn read_buffer_keeps_a_large_frame_in_progress() {
        let mut rbuf = vec![0; 4 * READ_CHUNK];
        shrink_read_buffer(&mut rbuf, READ_CHUNK + 1);
        assert_eq!(rbuf.len(), 4 * READ_CHUNK);
        let mut normal = vec![0; READ_CHUNK];
        shrink_read_buffer(&mut normal, 0);
        assert_eq!(normal.len(), READ_CHUNK);
    }

    #[test]
    fn read_buffer_without_a_whole_header_doubles() {
        let mut rbuf = vec![0; READ_CHUNK];
        rbuf[..2].copy_from_slice(&crate::frame::MAGIC.to_be_bytes());
        rbuf[2] = 0xff; // not a header the server accepts: fall back to doubling
        grow_read_buffer(&mut rbuf, MAX_BODY);
        assert_eq!(rbuf.len(), 2 * READ_CHUNK);
    }
}
