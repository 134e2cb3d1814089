//! Frames: the unit of the binary protocol, a fixed [`Header`] followed by its body.
//!
//! [`docs::protocol`](crate::docs::protocol) (`docs/PROTOCOL.md`) is the specification, with
//! hex examples; this module implements it. A frame is `Header::SIZE` bytes of header, then
//! exactly `body_len` bytes of body. The header is itself a Wire struct (`Header::FORMAT`), so
//! any `struct` module can read it.

pub use crate::status::Status;

use crate::Wire;
use crate::wire::WireError;
use thiserror::Error;

/// The two bytes every frame starts with (`0xC0 0xDE`). The first byte is not ASCII, so a
/// listener can tell a binary client from an HTTP one by the first byte it receives.
pub const MAGIC: u16 = 0xC0DE;

/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;

/// The method id of the built-in `describe` call: an empty request, a JSON response listing
/// every served service (see [`docs::protocol`](crate::docs::protocol)). `#[service]` never assigns id 0.
pub const DESCRIBE: u32 = 0;

/// The largest frame body accepted by default (1 MiB).
pub const DEFAULT_MAX_BODY: u32 = 1 << 20;

/// What a frame is for.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[wire(crate = crate)]
#[repr(u8)]
pub enum FrameKind {
    /// Client to server: call `method` with the body as its request.
    Request = 1,
    /// Server to client: the result of call `call_id`: its response (`status` Ok) or the
    /// service's typed error (`status` Application).
    Response = 2,
    /// Server to client: call `call_id` (or the connection, for id 0) failed in the runtime;
    /// the body is a UTF-8 message.
    Error = 3,
    /// Client to server: the caller of `call_id` gave up; the server may stop working on it.
    Cancel = 4,
    /// Either way: are you there? Answered by a `Pong` with the same `call_id` and body.
    Ping = 5,
    /// The answer to a `Ping`.
    Pong = 6,
    /// Server to client: no new calls on this connection. Calls up to `call_id` are still
    /// answered; the body is a UTF-8 reason.
    Goaway = 7,
}

/// The fixed 28-byte header of every frame (`!HBBHHIIIII`).
///
/// ```text
/// offset size field      format
///   0     2  magic       H   0xC0DE
///   2     1  version     B   1
///   3     1  kind        B   FrameKind
///   4     2  status      H   Status (Ok except on Response/Error)
///   6     2  flags       H   reserved, 0
///   8     4  method      I   method id (Request), else 0
///  12     4  call_id     I   chosen by the client, echoed by the server
///  16     4  timeout_ms  I   time the caller still waits (Request), 0 = no deadline
///  20     4  schema      I   fingerprint of the method's messages (Request), else 0
///  24     4  body_len    I   bytes of body that follow
/// ```
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[wire(crate = crate)]
pub struct Header {
    /// Always [`MAGIC`].
    pub magic: u16,
    /// Always [`VERSION`].
    pub version: u8,
    /// What the frame is for.
    pub kind: FrameKind,
    /// Outcome of a call, on `Response` and `Error` frames.
    pub status: Status,
    /// Reserved; must be zero.
    pub flags: u16,
    /// The method called, on `Request` frames.
    pub method: u32,
    /// The call this frame belongs to.
    pub call_id: u32,
    /// Milliseconds the caller will still wait for the answer; 0 means no deadline.
    pub timeout_ms: u32,
    /// The method's schema fingerprint, on `Request` frames; 0 skips the check.
    pub schema: u32,
    /// Length of the body that follows the header.
    pub body_len: u32,
}

impl Header {
    /// A header of `kind` for `call_id` with everything else zero (or Ok).
    pub const fn new(kind: FrameKind, call_id: u32) -> Header {
        Header {
            magic: MAGIC,
            version: VERSION,
            kind,
            status: Status::Ok,
            flags: 0,
            method: 0,
            call_id,
            timeout_ms: 0,
            schema: 0,
            body_len: 0,
        }
    }
}

/// Why bytes are not a valid frame. Each is fatal for the connection it arrived on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame does not start with [`MAGIC`]: not our protocol, or out of sync.
    #[error("bad magic {found:#06x} (expected {MAGIC:#06x}): not an rpc-runtime frame")]
    BadMagic {
        /// The two bytes found, big-endian.
        found: u16,
    },
    /// The peer speaks a protocol version we do not.
    #[error("unsupported protocol version {found} (this side speaks {VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
    },
    /// The header declares a body larger than the configured limit.
    #[error("frame body of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The declared body length.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// Reserved flags are set.
    #[error("reserved header flags {flags:#06x} are set")]
    ReservedFlags {
        /// The flags found.
        flags: u16,
    },
    /// The header has an unknown kind or status.
    #[error("malformed header")]
    Header(#[source] WireError),
}

/// A frame found in a buffer: its header and where its body lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// The frame's header.
    pub header: Header,
    /// Total bytes the frame occupies (header and body).
    pub len: usize,
}

impl Parsed {
    /// The body within the buffer the frame was parsed from.
    pub fn body<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        buf.get(Header::SIZE..self.len).unwrap_or_default()
    }
}

/// Checks a header's fixed fields; called before anything else trusts it.
pub fn check_header(bytes: &[u8; Header::SIZE], max_body: u32) -> Result<Header, FrameError> {
    let magic = u16::from_be_bytes([bytes[0], bytes[1]]);
    if magic != MAGIC {
        return Err(FrameError::BadMagic { found: magic });
    }
    if bytes[2] != VERSION {
        return Err(FrameError::UnsupportedVersion { found: bytes[2] });
    }
    let header = Header::unpack(bytes).map_err(FrameError::Header)?;
    if header.flags != 0 {
        return Err(FrameError::ReservedFlags {
            flags: header.flags,
        });
    }
    if header.body_len > max_body {
        return Err(FrameError::TooLarge {
            len: header.body_len,
            max: max_body,
        });
    }
    Ok(header)
}

/// Parses the frame at the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, and an error as soon as the header is
/// complete and wrong: a frame claiming a huge body is rejected before any of it is awaited
/// or allocated.
pub fn parse(buf: &[u8], max_body: u32) -> Result<Option<Parsed>, FrameError> {
    let Some(head) = buf.first_chunk::<{ Header::SIZE }>() else {
        // Reject garbage early: the magic is known as soon as two bytes are in.
        if let [a, b, ..] = *buf {
            let found = u16::from_be_bytes([a, b]);
            if found != MAGIC {
                return Err(FrameError::BadMagic { found });
            }
        }
        return Ok(None);
    };
    let header = check_header(head, max_body)?;
    let len = Header::SIZE + header.body_len as usize;
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(Parsed { header, len }))
}

/// Appends a frame with `header` and a body written by `body` to `out`, fixing `body_len`.
///
/// Callers keep bodies within their frame limit (at most `u32::MAX` bytes); the runtime's
/// client and server refuse larger messages before they are framed.
pub fn encode(out: &mut Vec<u8>, mut header: Header, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.resize(start + Header::SIZE, 0);
    body(out);
    let body_len = out.len() - start - Header::SIZE;
    debug_assert!(u32::try_from(body_len).is_ok(), "frame body over 4 GiB");
    header.body_len = u32::try_from(body_len).unwrap_or(u32::MAX);
    if let Some(slot) = out.get_mut(start..start + Header::SIZE) {
        // The slot is exactly Header::SIZE bytes, so packing cannot fail.
        let _ = header.pack_into(slot);
    }
}

/// Appends a frame whose body is `body`.
pub fn encode_bytes(out: &mut Vec<u8>, header: Header, body: &[u8]) {
    encode(out, header, |out| out.extend_from_slice(body));
}

/// Why [`encode_within`] left nothing in its buffer.
#[derive(Debug)]
pub(crate) enum EncodeFailed<E> {
    /// The body came out this many bytes long, over the limit.
    TooLarge(usize),
    /// Writing the body failed.
    Body(E),
}

/// Appends a frame like [`encode`] does, but with a body writer that may fail and a limit on
/// the body's length: when the body fails or comes out longer than `max_body`, `out` is cut
/// back to its length before the call, so no part of the frame stays behind.
pub(crate) fn encode_within<E>(
    out: &mut Vec<u8>,
    header: Header,
    max_body: u32,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), EncodeFailed<E>> {
    let start = out.len();
    let mut failed = None;
    encode(out, header, |out| {
        if let Err(e) = body(out) {
            failed = Some(EncodeFailed::Body(e));
        }
    });
    let body_len = out.len() - start - Header::SIZE;
    if failed.is_none() && body_len > max_body as usize {
        failed = Some(EncodeFailed::TooLarge(body_len));
    }
    match failed {
        None => Ok(()),
        Some(failed) => {
            out.truncate(start);
            Err(failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_28_bytes() {
        assert_eq!(Header::SIZE, 28);
        assert_eq!(Header::FORMAT, "!HBBHHIIIII");
    }

    #[test]
    fn parse_waits_for_a_whole_frame() {
        let mut out = Vec::new();
        encode_bytes(&mut out, Header::new(FrameKind::Ping, 9), b"abc");
        for cut in 0..out.len() {
            assert_eq!(parse(&out[..cut], 16), Ok(None), "cut at {cut}");
        }
        let parsed = parse(&out, 16).unwrap().unwrap();
        assert_eq!(parsed.len, out.len());
        assert_eq!(parsed.body(&out), b"abc");
        assert_eq!(parsed.header.call_id, 9);
    }

    #[test]
    fn parse_rejects_bad_frames_early() {
        assert_eq!(
            parse(b"GE", 16),
            Err(FrameError::BadMagic { found: 0x4745 })
        );
        let mut out = Vec::new();
        encode_bytes(&mut out, Header::new(FrameKind::Ping, 1), &[0; 17]);
        assert_eq!(
            parse(&out[..Header::SIZE], 16),
            Err(FrameError::TooLarge { len: 17, max: 16 })
        );
        out[2] = 2;
        assert_eq!(
            parse(&out, 1 << 20),
            Err(FrameError::UnsupportedVersion { found: 2 })
        );
        out[2] = VERSION;
        out[3] = 99;
        assert!(matches!(parse(&out, 1 << 20), Err(FrameError::Header(_))));
    }
}
