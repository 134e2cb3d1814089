//! `rpc call`: JSON in, one binary call, JSON out, and an exit code per status.

use crate::conn::Connection;
use crate::dump;
use crate::error::{Result, ToolError};
use crate::schema::Schema;
use rpc_runtime::Status;
use rpc_runtime::frame::{FrameKind, Header};
use rpc_runtime::json::error_object;
use serde_json::Value;

/// The exit code for a successful call.
pub const EXIT_OK: u8 = 0;
/// The exit code when the service returned its typed (application) error.
pub const EXIT_APPLICATION: u8 = 1;
/// The exit code for a bad command line or unreadable input (nothing was sent).
pub const EXIT_USAGE: u8 = 2;

/// The exit code for a reply of `status`: 0 for ok, 1 for the service's own error, and
/// 10 + the status code for runtime failures (13 deadline exceeded, 14 unknown method,
/// 15 bad request, 16 resource exhausted, 17 unavailable, 18 internal, 19 schema mismatch).
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Ok => EXIT_OK,
        Status::Application => EXIT_APPLICATION,
        other => 10 + other as u8,
    }
}

/// The exit code for a failure that happened before or instead of a reply.
pub fn error_exit_code(error: &ToolError) -> u8 {
    match error {
        ToolError::Connect { .. } | ToolError::Closed { .. } | ToolError::Io { .. } => {
            exit_code(Status::Unavailable)
        }
        ToolError::NotReachable { .. } | ToolError::Endpoint(_) | ToolError::Read { .. } => {
            EXIT_USAGE
        }
        ToolError::Timeout { .. } => exit_code(Status::DeadlineExceeded),
        ToolError::UnknownMethod { .. } => exit_code(Status::UnknownMethod),
        ToolError::Request { .. } => exit_code(Status::BadRequest),
        ToolError::Refused { status, .. } => exit_code(*status),
        _ => exit_code(Status::Internal),
    }
}

/// What a call produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The reply's status.
    pub status: Status,
    /// The reply as JSON: the response, or `{"status", "message", "error"}`.
    pub reply: Value,
    /// Annotated dumps of the request and reply frames (`--hex`), else empty.
    pub hex: String,
}

impl Outcome {
    /// The process exit code for this reply.
    pub fn exit_code(&self) -> u8 {
        exit_code(self.status)
    }
}

/// Calls `method` (`Service.method`) with the JSON `request`, encoded by the schema.
///
/// The request carries the connection's timeout as its deadline, and the schema's fingerprint
/// so a server whose method changed answers `schema_mismatch` instead of misreading bytes.
///
/// # Errors
///
/// [`ToolError::UnknownMethod`], [`ToolError::Request`] (nothing is sent), a connection
/// failure, or [`ToolError::Reply`] when the reply does not decode.
pub fn call(
    conn: &mut Connection,
    schema: &Schema,
    method: &str,
    request: &[u8],
    hex: bool,
) -> Result<Outcome> {
    let (service, desc) = schema.find(method)?;
    let full = format!("{}.{}", service.service, desc.name);
    let codec = crate::schema::codec(desc)?;
    let body = codec
        .request()
        .from_json(request)
        .map_err(|source| ToolError::Request {
            source: Box::new(source),
            method: full.clone(),
            format: format_of(&desc.request),
        })?;
    let mut header = Header::new(FrameKind::Request, 0);
    header.method = desc.id;
    header.schema = desc.fingerprint;
    header.timeout_ms = u32::try_from(conn.timeout().as_millis().max(1)).unwrap_or(u32::MAX);
    let (sent, reply) = conn.round_trip(header, &body)?;
    let status = reply.header.status;
    let decoded = match (reply.header.kind, status) {
        (FrameKind::Response, Status::Ok) => codec.response().to_value(&reply.body),
        (FrameKind::Response, Status::Application) => codec
            .error()
            .to_value(&reply.body)
            .map(|error| error_object(status, status.name().to_owned(), error)),
        _ => Ok(error_object(
            status,
            String::from_utf8_lossy(&reply.body).into_owned(),
            Value::Null,
        )),
    }
    .map_err(|source| ToolError::Reply {
        source: Box::new(source),
        method: full.clone(),
    })?;
    let hex = if hex {
        let reply_message = match status {
            Status::Ok => Some(codec.response().desc()),
            Status::Application => Some(codec.error().desc()),
            _ => None,
        };
        format!(
            "{}\n{}",
            dump::frame(
                &format!("request {full} ({} bytes)", sent.len()),
                &sent,
                Some(codec.request().desc())
            ),
            dump::frame(
                &format!("reply {status} ({} bytes)", reply.raw.len()),
                &reply.raw,
                reply_message
            )
        )
    } else {
        String::new()
    };
    Ok(Outcome {
        status,
        reply: decoded,
        hex,
    })
}

fn format_of(message: &rpc_runtime::schema::MessageDesc) -> String {
    use rpc_runtime::schema::MessageDesc;
    match message {
        MessageDesc::Record(r) => r.format.clone(),
        MessageDesc::List(r) => format!("list of {}", r.format),
        _ => "no fields: send null or {}".to_owned(),
    }
}
