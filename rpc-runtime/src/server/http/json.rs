//! Calls in JSON (feature `json`): `POST /{Service}/{method}` with an `application/json`
//! body, and `GET`/`HEAD /{Service}/{method}?field=...` for read-only methods. Requests and
//! replies are transcoded by the method's [`MethodCodec`]; failures are the error object
//! `{"status", "message", "error"}` under the same HTTP status mapping as Wire calls.

use super::context::HttpContext;
use super::routes::{http_status, status_headers};
use crate::frame::Status;
use crate::json::{JsonError, MethodCodec, error_object};
use http::Response;
use http::header::{self, HeaderValue};
use serde_json::Value;
use std::time::Duration;

/// The media type of JSON requests and replies.
pub(super) const JSON: &str = "application/json";

/// Calls method `id` with the request `wire` (already transcoded from JSON), and answers
/// the reply as JSON.
pub(super) async fn call(
    ctx: &HttpContext,
    codec: &MethodCodec,
    id: u32,
    wire: Result<Vec<u8>, JsonError>,
    timeout: Option<Duration>,
) -> Response<Vec<u8>> {
    let wire = match wire {
        Ok(wire) => wire,
        Err(e) => return error(Status::BadRequest, format!("cannot read the request: {e}")),
    };
    let reply = ctx.call_with_timeout(id, wire, timeout).await;
    match codec.reply_to_json(&reply) {
        Ok(body) => respond(reply.status, body),
        Err(e) => error(
            Status::Internal,
            format!("cannot write the reply as JSON: {e}"),
        ),
    }
}

/// A JSON error object for a runtime `status`, under its HTTP status.
pub(super) fn error(status: Status, message: String) -> Response<Vec<u8>> {
    let body = error_object(status, message, Value::Null)
        .to_string()
        .into_bytes();
    respond(status, body)
}

fn respond(status: Status, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = http_status(status);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    status_headers(&mut response, status);
    response
}
