//! Target `frame`: the frame header check and the frame parser, as a connection reads a byte
//! stream.
//!
//! The whole input is the stream. It is parsed under three body limits (a small one, the
//! default and `u32::MAX`): one frame at the start, then frame after frame as a connection
//! does until the bytes run out or an error ends it.

use crate::{Seed, account, props};
use rpc_runtime::Wire;
use rpc_runtime::frame::{
    self, DEFAULT_MAX_BODY, FrameError, FrameKind, Header, MAGIC, Status, VERSION,
};

/// The body limits every input is parsed under.
const LIMITS: [u32; 3] = [16, DEFAULT_MAX_BODY, u32::MAX];

/// Checks one input: the bytes a peer sent.
pub fn check(data: &[u8]) {
    for max in LIMITS {
        check_one(data, max);
        // Frame after frame, as a connection's read loop parses its buffer.
        let mut start = 0;
        while let Ok(Some(parsed)) = frame::parse(&data[start..], max) {
            start += parsed.len;
        }
    }
}

fn be16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Parses the frame at the start of `buf` and checks the answer against the bytes.
fn check_one(buf: &[u8], max: u32) {
    let head = buf.first_chunk::<{ Header::SIZE }>();
    let checked = head.map(|head| frame::check_header(head, max));
    match frame::parse(buf, max) {
        Ok(Some(parsed)) => {
            let header = parsed.header;
            assert_eq!(checked, Some(Ok(header)), "parse and check_header disagree");
            assert!(parsed.len <= buf.len(), "the frame runs past the input");
            assert_eq!(parsed.len, Header::SIZE + header.body_len as usize);
            assert!(header.body_len <= max, "a body over the limit was accepted");
            assert_eq!(
                (header.magic, header.version, header.flags),
                (MAGIC, VERSION, 0)
            );
            assert_eq!(parsed.body(buf), &buf[Header::SIZE..parsed.len]);
            // The header has no padding: it re-encodes to the bytes it came from, and so does
            // the whole frame.
            let mut out = Vec::new();
            frame::encode_bytes(&mut out, header, parsed.body(buf));
            assert_eq!(
                out,
                &buf[..parsed.len],
                "the frame does not re-encode to itself"
            );
            // A frame cut short is incomplete, never an error.
            for cut in [0, 1, 2, Header::SIZE - 1, Header::SIZE, parsed.len - 1] {
                if cut < parsed.len {
                    assert_eq!(frame::parse(&buf[..cut], max), Ok(None), "cut at {cut}");
                }
            }
        }
        Ok(None) => match checked {
            Some(result) => {
                let header = result.expect("an incomplete frame with a bad header");
                assert!(buf.len() < Header::SIZE + header.body_len as usize);
            }
            None => {
                if buf.len() >= 2 {
                    assert_eq!(be16(buf), MAGIC, "bad magic waited for more bytes");
                }
            }
        },
        Err(error) => {
            let _ = error.to_string();
            if let Some(result) = checked {
                assert_eq!(
                    result.as_ref(),
                    Err(&error),
                    "parse and check_header disagree"
                );
            }
            match error {
                FrameError::BadMagic { found } => {
                    assert!(buf.len() >= 2);
                    assert_eq!(found, be16(buf));
                    assert_ne!(found, MAGIC);
                }
                FrameError::UnsupportedVersion { found } => {
                    assert!(head.is_some(), "version judged before the header was in");
                    assert_eq!(found, buf[2]);
                    assert_ne!(found, VERSION);
                }
                FrameError::TooLarge { len, max: limit } => {
                    assert!(head.is_some(), "length judged before the header was in");
                    assert_eq!((len, limit), (be32(&buf[24..]), max));
                    assert!(len > max);
                }
                FrameError::ReservedFlags { flags } => {
                    assert!(head.is_some(), "flags judged before the header was in");
                    assert_eq!(flags, be16(&buf[6..]));
                    assert_ne!(flags, 0);
                }
                FrameError::Header(ref wire) => {
                    assert!(head.is_some(), "header judged before it was in");
                    props::assert_error_describes(wire, &buf[..Header::SIZE]);
                }
                _ => panic!("unknown frame error {error:?}"),
            }
        }
    }
}

/// Real frames of every kind, alone and back to back.
pub fn seeds() -> Vec<Seed> {
    let request_body = account::seeds()
        .into_iter()
        .find(|s| s.name == "call-deposit")
        .map(|s| s.bytes[1..].to_vec())
        .expect("a deposit seed");
    let header = |kind, status, call_id| Header {
        status,
        ..Header::new(kind, call_id)
    };
    let request = Header {
        method: 0x1234_5678,
        timeout_ms: 5_000,
        schema: 0x9abc_def0,
        ..Header::new(FrameKind::Request, 1)
    };
    let frames: Vec<(&str, Header, Vec<u8>)> = vec![
        ("request", request, request_body),
        (
            "response-ok",
            header(FrameKind::Response, Status::Ok, 1),
            vec![0; 24],
        ),
        (
            "response-application",
            header(FrameKind::Response, Status::Application, 2),
            vec![0, 8],
        ),
        (
            "error",
            header(FrameKind::Error, Status::SchemaMismatch, 3),
            b"schema mismatch on `Accounts.deposit`".to_vec(),
        ),
        ("cancel", Header::new(FrameKind::Cancel, 4), Vec::new()),
        (
            "ping",
            Header::new(FrameKind::Ping, 0),
            b"\x00\x00\x00\x2a".to_vec(),
        ),
        (
            "pong",
            Header::new(FrameKind::Pong, 0),
            b"\x00\x00\x00\x2a".to_vec(),
        ),
        (
            "goaway",
            header(FrameKind::Goaway, Status::Unavailable, 9),
            b"shutting down".to_vec(),
        ),
    ];
    let mut seeds = Vec::new();
    let mut stream = Vec::new();
    for (name, header, body) in frames {
        let mut out = Vec::new();
        frame::encode_bytes(&mut out, header, &body);
        stream.extend_from_slice(&out);
        seeds.push(Seed::new(name, out));
    }
    seeds.push(Seed::new("stream", stream));
    seeds
}
