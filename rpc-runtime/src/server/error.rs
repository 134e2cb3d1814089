//! The server layer's error: why a server could not start or stopped.

use thiserror::Error;

/// Why a server could not start or stopped with an error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding or accepting on an endpoint failed.
    #[error("cannot listen on {endpoint}")]
    Listen {
        /// The endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Unix socket path is held by a live server.
    #[error("address in use: a server is already listening on {path}")]
    AddressInUse {
        /// The socket path.
        path: String,
    },
    /// A path to bind exists and is not a socket; it is left alone.
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket {
        /// The path.
        path: String,
    },
    /// Two served methods have the same id.
    #[error("method id {id:#010x} is served twice: {first} and {second}")]
    DuplicateMethod {
        /// The id.
        id: u32,
        /// The first `Service.method`.
        first: String,
        /// The second `Service.method`.
        second: String,
    },
    /// The server was built with nothing to listen on.
    #[error("no endpoint to listen on")]
    NoEndpoints,
    /// A served message type has a layout no derived type produces, so `describe` cannot
    /// describe it.
    #[error("cannot describe the served services")]
    Describe(#[source] crate::schema::DescError),
    /// Starting worker threads failed.
    #[error("cannot start worker threads")]
    Threads(#[source] std::io::Error),
}
