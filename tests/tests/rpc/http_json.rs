//! Every method in JSON over HTTP: `POST` with `application/json`, `GET`/`HEAD` with a query
//! for read-only methods, and error objects under the documented status mapping.

use super::http::{Reply, connect, read_head, read_reply};
use super::support::Served;
use rpc_runtime::server::Limits;
use serde_json::{Value, json};
use std::io::Write as _;
use std::net::TcpStream;

fn send(http: &mut TcpStream, head: &str, body: &[u8]) -> Reply {
    let head = format!(
        "{head}\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    http.write_all(head.as_bytes()).expect("write");
    http.write_all(body).expect("write");
    read_reply(http)
}

fn post_json(http: &mut TcpStream, path: &str, body: &str) -> (Reply, Value) {
    let reply = send(
        http,
        &format!("POST {path} HTTP/1.1\r\nContent-Type: application/json"),
        body.as_bytes(),
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let value = serde_json::from_slice(&reply.body).expect("a JSON body");
    (reply, value)
}

fn get(http: &mut TcpStream, path: &str) -> (Reply, Value) {
    let reply = send(http, &format!("GET {path} HTTP/1.1"), b"");
    let value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply, value)
}

#[test]
fn json_calls_answer_json_with_the_status_mapping() {
    let served = Served::tcp();
    let mut http = connect(&served);

    let (reply, value) = post_json(&mut http, "/Lab/echo", r#"{"id": 7, "value": "-3"}"#);
    assert_eq!(reply.code, 200);
    assert_eq!(reply.header("x-rpc-status"), Some("ok"));
    assert_eq!(value, json!({"id": 7, "value": "-3"}));

    let (reply, value) = post_json(&mut http, "/Lab/refuse", r#"{"id": 7, "value": "1"}"#);
    assert_eq!(reply.code, 422);
    assert_eq!(value["error"], json!("Refused"));
    assert_eq!(value["status"], json!("application"));

    let (reply, value) = post_json(&mut http, "/Lab/echo", r#"{"id": "x", "value": "1"}"#);
    assert_eq!(reply.code, 400);
    assert_eq!(value["status"], json!("bad_request"));
    assert!(
        value["message"]
            .as_str()
            .expect("a message")
            .contains("$.id"),
        "{value}"
    );
    assert_eq!(value["error"], Value::Null);

    let (reply, value) = post_json(&mut http, "/Lab/touch", "");
    assert_eq!((reply.code, value), (200, Value::Null));

    let (reply, value) = post_json(&mut http, "/Lab/nope", "{}");
    assert_eq!(reply.code, 404);
    assert_eq!(value["status"], json!("unknown_method"));

    let reply = send(
        &mut http,
        "POST /Lab/nap HTTP/1.1\r\nContent-Type: application/json\r\nX-Rpc-Timeout-Ms: 50",
        br#"{"tag": 4294967295, "ms": 5000}"#,
    );
    assert_eq!(reply.code, 504);
    let value: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(value["status"], json!("deadline_exceeded"));

    let reply = send(
        &mut http,
        "POST /Lab/echo HTTP/1.1\r\nContent-Type: text/plain",
        b"{}",
    );
    assert_eq!(reply.code, 415);
}

#[test]
fn read_only_methods_answer_get_and_head_with_a_query() {
    let served = Served::tcp();
    let mut http = connect(&served);

    let (reply, value) = get(&mut http, "/Lab/list?n=2");
    assert_eq!(reply.code, 200);
    assert_eq!(
        value,
        json!([{"id": 0, "value": "0"}, {"id": 1, "value": "10"}])
    );

    http.write_all(b"HEAD /Lab/list?n=2 HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let head = read_head(&mut http).expect("a reply");
    assert_eq!(head.code, 200);
    assert_eq!(
        head.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );

    let (reply, value) = get(&mut http, "/Lab/list?n=oops");
    assert_eq!(reply.code, 400);
    assert_eq!(value["status"], json!("bad_request"));

    let (reply, value) = post_json(&mut http, "/Lab/list", r#"{"n": 1}"#);
    assert_eq!((reply.code, value), (200, json!([{"id": 0, "value": "0"}])));

    let (reply, _) = get(&mut http, "/Lab/echo?id=1&value=2");
    assert_eq!(reply.code, 405, "echo is not read-only");
    assert_eq!(reply.header("allow"), Some("POST"));

    let reply = send(&mut http, "DELETE /Lab/list HTTP/1.1", b"");
    assert_eq!(reply.code, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
}

#[test]
fn a_reply_over_the_limit_is_429_with_retry_after() {
    let served = Served::tcp_with(Limits {
        max_body: 256,
        ..Limits::default()
    });
    let mut http = connect(&served);
    let (reply, value) = get(&mut http, "/Lab/list?n=100");
    assert_eq!(reply.code, 429);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(value["status"], json!("resource_exhausted"));
}
