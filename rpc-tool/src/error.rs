//! The tool's error: what went wrong, phrased so the user knows what to do next.

use rpc_runtime::Status;
use rpc_runtime::frame::FrameError;
use rpc_runtime::json::JsonError;
use thiserror::Error;

/// Result of a tool operation.
pub type Result<T> = core::result::Result<T, ToolError>;

/// Why a command failed before a reply could be shown.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The endpoint string does not parse.
    #[error(transparent)]
    Endpoint(#[from] rpc_runtime::endpoint::EndpointError),
    /// The endpoint is an in-memory one, which only exists inside another process.
    #[error(
        "`{endpoint}` is an in-process endpoint; the rpc tool needs tcp://HOST:PORT or unix://PATH"
    )]
    NotReachable {
        /// The endpoint given.
        endpoint: String,
    },
    /// Nothing accepted the connection.
    #[error("cannot connect to {endpoint}: {source} (is the server running and listening there?)")]
    Connect {
        /// The endpoint given.
        endpoint: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The connection failed after it was made.
    #[error("connection to {endpoint} failed: {source}")]
    Io {
        /// The endpoint.
        endpoint: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// No reply came within the timeout.
    #[error("no reply from {endpoint} within {timeout_ms} ms")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The timeout, in milliseconds.
        timeout_ms: u64,
    },
    /// The server closed the connection before answering.
    #[error("{endpoint} closed the connection before answering")]
    Closed {
        /// The endpoint.
        endpoint: String,
    },
    /// The peer sent bytes that are not a frame of this protocol.
    #[error("{endpoint} does not speak this protocol: {source}")]
    Frame {
        /// The endpoint.
        endpoint: String,
        /// What is wrong with the frame.
        #[source]
        source: FrameError,
    },
    /// The server refused a call the tool makes itself (describe, ping).
    #[error("the server answered {status}: {message}")]
    Refused {
        /// The status of the reply.
        status: Status,
        /// The server's message.
        message: String,
    },
    /// A `describe` document (from a server or a file) that cannot be read.
    #[error("cannot read the schema: {0}")]
    Schema(String),
    /// The method is not served.
    #[error("{}", unknown_method(name, suggestions))]
    UnknownMethod {
        /// The name given.
        name: String,
        /// The closest served names, best first.
        suggestions: Vec<String>,
    },
    /// The request JSON does not fit the method's request message.
    #[error("the request does not fit {method}'s request ({format}): {source}")]
    Request {
        /// `Service.method`.
        method: String,
        /// The request's Python format.
        format: String,
        /// Which value, and what was expected.
        #[source]
        source: Box<JsonError>,
    },
    /// The reply's bytes do not decode as the method's response or error.
    #[error("cannot decode the reply of {method}: {source}")]
    Reply {
        /// `Service.method`.
        method: String,
        /// What is wrong with the bytes.
        #[source]
        source: Box<JsonError>,
    },
    /// A local file or stream could not be read.
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

fn unknown_method(name: &str, suggestions: &[String]) -> String {
    match suggestions {
        [] => format!("no method `{name}` is served (run `rpc describe` to list them)"),
        [one] => format!("no method `{name}` is served; did you mean `{one}`?"),
        many => format!(
            "no method `{name}` is served; closest: {}",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
