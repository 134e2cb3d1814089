//! A client for programs that do not use async: every call blocks the calling thread.

use super::{BalanceError, Client, ClientOptions};
use crate::endpoint::Endpoint;
use crate::error::{CallError, RpcError};
use crate::message::Message;
use crate::schema::MethodSchema;
use std::time::Duration;

/// A blocking client for any service. `#[service]` wraps it in `{Trait}BlockingClient`.
///
/// No executor is needed: calls run on the calling thread, and the connection's reader runs
/// on the runtime's background thread.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{BlockingClient, Server};
///
/// let server = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?.spawn()?;
/// let client = BlockingClient::connect(server.endpoints()[0].clone())?;
/// assert!(client.ping()?.as_secs() < 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingClient {
    client: Client,
}

impl BlockingClient {
    /// A client for `endpoint`; connects on the first call.
    pub fn new(endpoint: Endpoint) -> BlockingClient {
        BlockingClient {
            client: Client::new(endpoint),
        }
    }

    /// A client for `endpoint` with `options`.
    pub fn with_options(endpoint: Endpoint, options: ClientOptions) -> BlockingClient {
        BlockingClient {
            client: Client::with_options(endpoint, options),
        }
    }

    /// A client that spreads its calls over `endpoints` and fails over between them, as
    /// [`Client::balanced`] describes.
    ///
    /// # Errors
    ///
    /// No endpoints, or too many.
    pub fn balanced(
        endpoints: impl IntoIterator<Item = Endpoint>,
    ) -> Result<BlockingClient, BalanceError> {
        Client::balanced(endpoints).map(|client| BlockingClient { client })
    }

    /// A balanced client over `endpoints` with `options`, as [`Client::balanced_with_options`].
    ///
    /// # Errors
    ///
    /// No endpoints, or too many.
    pub fn balanced_with_options(
        endpoints: impl IntoIterator<Item = Endpoint>,
        options: ClientOptions,
    ) -> Result<BlockingClient, BalanceError> {
        Client::balanced_with_options(endpoints, options).map(|client| BlockingClient { client })
    }

    /// Wraps an async client (single-endpoint or balanced).
    pub fn from_async(client: Client) -> BlockingClient {
        BlockingClient { client }
    }

    /// Connects now, so an unreachable server is reported before the first call.
    ///
    /// # Errors
    ///
    /// `unavailable` when the server cannot be reached.
    pub fn connect(endpoint: Endpoint) -> Result<BlockingClient, RpcError> {
        let client = smol::block_on(Client::connect(endpoint))?;
        Ok(BlockingClient { client })
    }

    /// A clone whose calls time out after `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> BlockingClient {
        BlockingClient {
            client: self.client.with_timeout(timeout),
        }
    }

    /// The async client underneath.
    pub fn as_async(&self) -> &Client {
        &self.client
    }

    /// Calls `method` with `request`. Generated clients call this; use them instead.
    ///
    /// # Errors
    ///
    /// As [`Client::call`].
    pub fn call<Req: Message, Resp: Message, E: Message>(
        &self,
        method: &'static MethodSchema,
        request: &Req,
    ) -> Result<Resp, CallError<E>> {
        smol::block_on(self.client.call(method, request))
    }

    /// As [`Client::describe`].
    ///
    /// # Errors
    ///
    /// A runtime failure.
    pub fn describe(&self) -> Result<String, RpcError> {
        smol::block_on(self.client.describe())
    }

    /// As [`Client::ping`].
    ///
    /// # Errors
    ///
    /// A runtime failure.
    pub fn ping(&self) -> Result<Duration, RpcError> {
        smol::block_on(self.client.ping())
    }
}
