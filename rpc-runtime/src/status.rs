//! The outcome of a call: a small fixed set of status codes every client understands.
//!
//! Frames carry it in their header ([`Header::status`](crate::frame::Header::status)); the
//! call layer's errors ([`RpcError`](crate::RpcError), [`CallError`](crate::CallError)) report
//! it. It sits below both, so neither depends on the other for it.

use crate::Wire;

/// Outcome codes, in the spirit of gRPC's: a small fixed set every client understands.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[wire(crate = crate)]
#[repr(u16)]
pub enum Status {
    /// Success; a `Response` body holds the method's response.
    Ok = 0,
    /// The service returned its own typed error; a `Response` body holds it.
    Application = 1,
    /// The caller cancelled the call.
    Cancelled = 2,
    /// The call's deadline passed before it finished.
    DeadlineExceeded = 3,
    /// No served method has this id.
    UnknownMethod = 4,
    /// The request could not be decoded, or the frame broke the protocol.
    BadRequest = 5,
    /// A limit was hit: too many calls in flight, a frame too large, too many connections.
    ResourceExhausted = 6,
    /// The server is shutting down or cannot serve the call now; retrying later may work.
    Unavailable = 7,
    /// The server failed in a way that is not the caller's fault.
    Internal = 8,
    /// Client and server disagree on the method's messages (built from different versions).
    SchemaMismatch = 9,
}

impl Status {
    /// A lowercase name for logs and messages.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Application => "application error",
            Status::Cancelled => "cancelled",
            Status::DeadlineExceeded => "deadline exceeded",
            Status::UnknownMethod => "unknown method",
            Status::BadRequest => "bad request",
            Status::ResourceExhausted => "resource exhausted",
            Status::Unavailable => "unavailable",
            Status::Internal => "internal error",
            Status::SchemaMismatch => "schema mismatch",
        }
    }
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 10] = [
        Status::Ok,
        Status::Application,
        Status::Cancelled,
        Status::DeadlineExceeded,
        Status::UnknownMethod,
        Status::BadRequest,
        Status::ResourceExhausted,
        Status::Unavailable,
        Status::Internal,
        Status::SchemaMismatch,
    ];

    /// The name in snake_case, as JSON error objects carry it (`"deadline_exceeded"`).
    ///
    /// ```
    /// use rpc_runtime::Status;
    /// assert_eq!(Status::ResourceExhausted.snake_name(), "resource_exhausted");
    /// assert_eq!(Status::from_snake_name("bad_request"), Some(Status::BadRequest));
    /// ```
    pub const fn snake_name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Application => "application",
            Status::Cancelled => "cancelled",
            Status::DeadlineExceeded => "deadline_exceeded",
            Status::UnknownMethod => "unknown_method",
            Status::BadRequest => "bad_request",
            Status::ResourceExhausted => "resource_exhausted",
            Status::Unavailable => "unavailable",
            Status::Internal => "internal",
            Status::SchemaMismatch => "schema_mismatch",
        }
    }

    /// The status with this [`snake_name`](Status::snake_name).
    pub fn from_snake_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.snake_name() == name)
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
