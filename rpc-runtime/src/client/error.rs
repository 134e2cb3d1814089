//! The call layer's errors: a runtime failure, and a call's outcome as the caller sees it.

use crate::status::Status;
use thiserror::Error;

/// A failed call, as the runtime sees it: a status and a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status}: {message}")]
pub struct RpcError {
    /// What kind of failure.
    pub status: Status,
    /// Details for people.
    pub message: String,
}

impl RpcError {
    /// An error with `status` and `message`.
    pub fn new(status: Status, message: impl Into<String>) -> RpcError {
        RpcError {
            status,
            message: message.into(),
        }
    }
}

/// Why a call returned no response: the service's own error, or a runtime failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The service answered with its typed error.
    #[error("the service returned its own error")]
    Application(E),
    /// The call failed in the runtime: unreachable server, deadline, unknown method, …
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

impl<E> CallError<E> {
    /// The status: `Application` for service errors, else the runtime's.
    pub fn status(&self) -> Status {
        match self {
            CallError::Application(_) => Status::Application,
            CallError::Rpc(e) => e.status,
        }
    }

    /// The service's error, if that is what this is.
    pub fn application(&self) -> Option<&E> {
        match self {
            CallError::Application(e) => Some(e),
            CallError::Rpc(_) => None,
        }
    }
}

/// Why a [balanced](crate::Client::balanced) client cannot be made from a list of endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BalanceError {
    /// The list is empty.
    #[error("a balanced client needs at least one endpoint")]
    NoEndpoints,
    /// The list is longer than a balanced client takes.
    #[error("a balanced client takes at most {max} endpoints, not {count}")]
    TooMany {
        /// Endpoints given.
        count: usize,
        /// The most allowed, [`MAX_ENDPOINTS`](crate::client::MAX_ENDPOINTS).
        max: usize,
    },
}
