//! The server-side face of a service: what `#[service]` generates and the server dispatches to.

use crate::message::Message;
use crate::schema::ServiceSchema;
use crate::status::Status;
use crate::wire::WireError;
use core::future::Future;
use core::pin::Pin;

/// A call in progress: resolves to the reply the server sends back.
pub type Call = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// The outcome of one call, ready to be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `Ok` (body: the response), `Application` (body: the service's error), or a runtime
    /// status (body: a UTF-8 message).
    pub status: Status,
    /// The encoded body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A failure with a runtime `status` and a message for people, sent in an `Error` frame.
    ///
    /// # Examples
    ///
    /// ```
    /// use rpc_runtime::{Reply, Status};
    ///
    /// let reply = Reply::error(Status::Unavailable, "maintenance until 04:00");
    /// assert_eq!(reply.status, Status::Unavailable);
    /// assert_eq!(reply.body, b"maintenance until 04:00");
    /// ```
    pub fn error(status: Status, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: message.into().into_bytes(),
        }
    }

    /// The reply for a handler's result.
    pub fn from_result<T: Message, E: Message>(result: Result<T, E>) -> Reply {
        let mut body = Vec::new();
        let (status, encoded) = match &result {
            Ok(value) => (Status::Ok, value.encode(&mut body)),
            Err(error) => (Status::Application, error.encode(&mut body)),
        };
        match encoded {
            Ok(()) => Reply { status, body },
            Err(e) => Reply::error(Status::Internal, format!("cannot encode the reply: {e}")),
        }
    }
}

/// A service the server can dispatch calls to. `#[service]` implements it for `Serve{Trait}`.
pub trait Service: Send + Sync + 'static {
    /// The service's schema.
    fn schema(&self) -> &'static ServiceSchema;

    /// Decodes `body` and starts method `method`, or returns `None` when the service has no
    /// method with that id.
    fn start(&self, method: u32, body: &[u8]) -> Option<Call>;
}

/// A call that fails at once because its request did not decode.
#[doc(hidden)]
pub fn bad_request(error: WireError) -> Call {
    let reply = Reply::error(
        Status::BadRequest,
        format!("cannot decode the request: {error}"),
    );
    Box::pin(core::future::ready(reply))
}
