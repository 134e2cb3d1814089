//! Target `http_head`: the HTTP/1.1 request head parser of the server's HTTP listener.
//!
//! The whole input is what a client sent. It is parsed under two body limits (0 and the
//! default frame limit) through `rpc_runtime::__private::http_parse_head`.

use crate::{Seed, account};
use rpc_runtime::__private::http_parse_head;
use rpc_runtime::frame::DEFAULT_MAX_BODY;

/// The body limits every input is parsed under.
const LIMITS: [u32; 2] = [0, DEFAULT_MAX_BODY];

/// The status codes the parser may refuse a head with.
const CODES: [u16; 3] = [400, 411, 413];

/// Checks one input: the bytes a client sent.
pub fn check(data: &[u8]) {
    for max in LIMITS {
        check_one(data, max);
    }
}

fn check_one(bytes: &[u8], max: u32) {
    let result = http_parse_head(bytes, max);
    // More bytes never change a verdict already reached, and a head that is still incomplete
    // was incomplete at every earlier point too: the server parses a growing buffer.
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(b"\r\n\r\nX");
    match result {
        Ok(Some((head_len, body_len))) => {
            assert!(head_len <= bytes.len(), "the head runs past the input");
            assert!(
                bytes[..head_len].ends_with(b"\n"),
                "a head that does not end a line"
            );
            assert!(
                body_len <= max as usize,
                "a body over the limit was accepted"
            );
            assert_eq!(
                http_parse_head(&bytes[..head_len], max),
                result,
                "the head alone"
            );
            assert_eq!(http_parse_head(&longer, max), result, "with more bytes");
        }
        Ok(None) => {
            for cut in [0, bytes.len() / 2, bytes.len().saturating_sub(1)] {
                assert_eq!(
                    http_parse_head(&bytes[..cut], max),
                    Ok(None),
                    "cut at {cut}"
                );
            }
        }
        Err(code) => {
            assert!(CODES.contains(&code), "unexpected status {code}");
            assert_eq!(http_parse_head(&longer, max), result, "with more bytes");
        }
    }
}

/// Real requests: the health and describe pages, calls, and heads the server refuses.
pub fn seeds() -> Vec<Seed> {
    let deposit = account::seeds()
        .into_iter()
        .find(|s| s.name == "call-deposit")
        .map(|s| s.bytes[1..].to_vec())
        .expect("a deposit seed");
    let mut call = format!(
        "POST /Accounts/deposit HTTP/1.1\r\nHost: localhost\r\nContent-Type: \
         application/octet-stream\r\nContent-Length: {}\r\nX-Rpc-Timeout-Ms: 2500\r\n\r\n",
        deposit.len()
    )
    .into_bytes();
    call.extend_from_slice(&deposit);
    let mut pipelined = b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
    pipelined.extend_from_slice(b"GET /describe?pretty HTTP/1.1\r\nHost: a\r\n\r\n");
    vec![
        Seed::new(
            "health",
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n\r\n".to_vec(),
        ),
        Seed::new(
            "describe-close",
            b"GET /describe HTTP/1.1\r\nConnection: close\r\nAccept: */*\r\n\r\n".to_vec(),
        ),
        Seed::new("http10", b"GET /health HTTP/1.0\n\n".to_vec()),
        Seed::new("call", call),
        Seed::new(
            "chunked",
            b"POST /Accounts/get HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        Seed::new(
            "too-large",
            b"POST /Accounts/get HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n".to_vec(),
        ),
        Seed::new(
            "bad-timeout",
            b"POST /Accounts/get HTTP/1.1\r\nX-Rpc-Timeout-Ms: -1\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        ),
        Seed::new("partial", b"GET /health HTTP/1.1\r\nHost: a\r\n".to_vec()),
        Seed::new("pipelined", pipelined),
    ]
}
