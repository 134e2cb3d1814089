//! Clients: many calls share one connection, responses come back in any order, and a caller
//! that times out or gives up tells the server to stop.
//!
//! # Several endpoints
//!
//! [`Client::balanced`] makes one client over several endpoints of the same service (several
//! servers on one database, say); generated clients wrap it as they wrap a single-endpoint one.
//!
//! Picking: among the endpoints in rotation that this call has not tried yet, two are drawn at
//! random and the one with fewer of this client's calls in flight gets the call
//! (power of two choices). That spreads load evenly without a shared counter, and steers away
//! from an endpoint that has become slow, since its calls pile up.
//!
//! Health: an endpoint leaves the rotation when connecting to it fails, when its connection is
//! lost or closed, when it sends goaway (it is shutting down), or when it answers a call with
//! `unavailable`. It is probed after [`ClientOptions::probe_backoff`], doubled after every
//! failed probe up to [`ClientOptions::max_probe_backoff`]: a probe is a background task that
//! connects and pings, and a pong puts the endpoint back in rotation. When no endpoint is in
//! rotation, calls try the ones out of rotation anyway, the soonest due first, so that a
//! client whose servers all restarted does not wait out a backoff needlessly; one that
//! answers is back in rotation.
//!
//! Retries: a failed attempt is retried on another endpoint, within the call's timeout and at
//! most once per endpoint, **only when the server cannot have started the call**:
//!
//! - the connection could not be made (refused, unreachable, timed out);
//! - the connection was found closed before the request frame was queued on it;
//! - the server answered the call with `unavailable`, which by the protocol means it did not
//!   start it (it is shutting down; see `docs/PROTOCOL.md`).
//!
//! Everything else is returned as it is. In particular a connection lost *after* the request
//! was queued is returned as `unavailable` and not retried here: the request may have reached
//! the server and run, and only the caller knows whether running it twice is harmless. A
//! caller whose request carries an idempotency key (as every mutation of the account service
//! does) resends the identical request, and the balanced client sends it to another endpoint,
//! since the lost one is out of rotation by then. `deadline exceeded` (the call may still be
//! running), `resource exhausted` (retrying elsewhere would spread an overload rather than
//! shed it) and the service's own errors are final too. When every endpoint failed, the error
//! is `unavailable` and names each endpoint with its failure.
//!
//! # Threads
//!
//! A connection's callers share its socket: whichever of them is waiting reads the replies
//! for all of them and wakes the callers they belong to. Those hand-offs cost least when the
//! callers run on one thread. On an executor that several threads run and steal from (smol's
//! `Executor` run by two threads, say), a woken caller goes to whichever thread takes it, so
//! the connection's lock, its calls and the executor's queue pass between the threads' caches
//! on every reply, and one thread often wakes the other. A program that keeps many calls in
//! flight on one connection therefore does best with that connection's callers on one
//! thread (an executor per thread, each connection's tasks spawned on one of them), and
//! spreads connections, not callers, over its threads. In the project's bench
//! (`docs/PERFORMANCE.md`, "Sixth pass"), that layout cut the user CPU per call of 64 calls
//! in flight on one connection by 4-27% in full runs (29-48% in single alternated cells),
//! halved their context switches and made more calls per second in every pair of runs, and
//! took a single call in flight from 3.3-3.6 context switches per call to 1.7-2.0 (its calls
//! per second went both ways). With sixteen busy connections a shared executor did better
//! in three pairs of four: it keeps both threads busy, and stealing helps when one of them
//! is preempted. The machine was noisy, and the ranges overlap.
//!
//! ```
//! use rpc_runtime::{Client, RpcError, Server};
//!
//! let server = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?.spawn()?;
//! let client = Client::new(server.endpoints()[0].clone());
//! // Eight callers share the client's connection, all on this thread's executor.
//! let ex = smol::LocalExecutor::new();
//! let callers: Vec<_> = (0..8)
//!     .map(|_| {
//!         let client = client.clone();
//!         ex.spawn(async move {
//!             for _ in 0..10 {
//!                 client.ping().await?;
//!             }
//!             Ok::<(), RpcError>(())
//!         })
//!     })
//!     .collect();
//! smol::block_on(ex.run(async {
//!     for caller in callers {
//!         caller.await?;
//!     }
//!     Ok::<(), RpcError>(())
//! }))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod balance;
mod blocking;
mod conn;
mod error;
mod node;

pub use balance::MAX_ENDPOINTS;
pub use blocking::BlockingClient;
pub use error::{BalanceError, CallError, RpcError};

use crate::endpoint::Endpoint;
use crate::frame::{DEFAULT_MAX_BODY, DESCRIBE, FrameKind};
use crate::message::Message;
use crate::schema::MethodSchema;
use crate::status::Status;
use crate::wire::WireError;
use conn::Body;
use node::Node;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Default per-call timeout, sent to the server as the call's deadline. `None`: wait
    /// as long as the server takes.
    pub timeout: Option<Duration>,
    /// How long to wait for a connection to be established.
    pub connect_timeout: Duration,
    /// Largest response body accepted, in bytes (the frame's header comes on top). Requests
    /// with a larger body are refused before they are sent.
    pub max_body: u32,
    /// A [balanced](Client::balanced) client only: how long an endpoint stays out of rotation
    /// after its first failure before it is probed. Each failed probe doubles the wait.
    pub probe_backoff: Duration,
    /// A balanced client only: the longest wait between two probes of an endpoint.
    pub max_probe_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: None,
            connect_timeout: Duration::from_secs(5),
            max_body: DEFAULT_MAX_BODY,
            probe_backoff: Duration::from_millis(100),
            max_probe_backoff: Duration::from_secs(5),
        }
    }
}

/// An async client for any service. `#[service]` wraps it in a typed `{Trait}Client`.
///
/// It connects lazily, on the first call, and again after the connection is lost, so a client
/// outlives server restarts; calls on a dead connection fail at once with `unavailable`.
/// Clones share the connection; the [module's documentation](self#threads) says on which
/// threads their callers run best.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{Client, Server};
///
/// let server = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?.spawn()?;
/// let client = Client::new(server.endpoints()[0].clone());
/// let schema = smol::block_on(client.describe())?;
/// assert!(schema.starts_with("{\"protocol\":1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Shared>,
    timeout: Option<Duration>,
}

#[derive(Debug)]
struct Shared {
    /// One per endpoint; exactly one unless the client is balanced.
    nodes: Box<[Arc<Node>]>,
    endpoints: Box<[Endpoint]>,
    options: ClientOptions,
    /// Whether calls are spread over the endpoints, with failover; see [`Client::balanced`].
    balanced: bool,
}

impl Client {
    /// A client for `endpoint` with default options. Nothing is connected until the first call.
    pub fn new(endpoint: Endpoint) -> Client {
        Client::with_options(endpoint, ClientOptions::default())
    }

    /// A client for `endpoint` with `options`.
    pub fn with_options(endpoint: Endpoint, options: ClientOptions) -> Client {
        Client::from_nodes(vec![endpoint], options, false)
    }

    fn from_nodes(endpoints: Vec<Endpoint>, options: ClientOptions, balanced: bool) -> Client {
        Client {
            timeout: options.timeout,
            shared: Arc::new(Shared {
                nodes: endpoints
                    .iter()
                    .map(|e| Arc::new(Node::new(e.clone())))
                    .collect(),
                endpoints: endpoints.into_boxed_slice(),
                options,
                balanced,
            }),
        }
    }

    /// Connects now, so that an unreachable server is reported before the first call.
    ///
    /// # Errors
    ///
    /// `unavailable` when the server cannot be reached.
    pub async fn connect(endpoint: Endpoint) -> Result<Client, RpcError> {
        let client = Client::new(endpoint);
        client.shared.nodes[0]
            .connection(&client.shared.options)
            .await?;
        Ok(client)
    }

    /// A clone whose calls time out after `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            timeout: Some(timeout),
        }
    }

    /// The endpoint this client connects to; for a balanced client, the first of its
    /// endpoints (see [`Client::endpoints`]).
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoints[0]
    }

    /// Every endpoint this client calls: one, or those of a balanced client in the order given.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.shared.endpoints
    }

    /// Whether this client spreads its calls over its endpoints ([`Client::balanced`]).
    pub fn is_balanced(&self) -> bool {
        self.shared.balanced
    }

    /// Calls `method` with `request`. Generated clients call this; use them instead.
    ///
    /// # Errors
    ///
    /// The service's error as [`CallError::Application`], or a runtime failure.
    pub async fn call<Req: Message, Resp: Message, E: Message>(
        &self,
        method: &'static MethodSchema,
        request: &Req,
    ) -> Result<Resp, CallError<E>> {
        let (status, body) = self
            .raw(FrameKind::Request, method.id, method.fingerprint, |out| {
                request.encode(out)
            })
            .await?;
        let bad = |e: WireError| {
            RpcError::new(
                Status::Internal,
                format!("cannot decode the reply of `{}`: {e}", method.name),
            )
        };
        match status {
            Status::Ok => Resp::decode(&body).map_err(|e| bad(e).into()),
            Status::Application => Err(CallError::Application(E::decode(&body).map_err(bad)?)),
            other => Err(RpcError::new(
                Status::Internal,
                format!(
                    "the server answered `{}` with a response of status {other}",
                    method.name
                ),
            )
            .into()),
        }
    }

    /// Asks the server for every service it serves: a JSON document with each method's name,
    /// id, fingerprint and message formats (see [`docs::protocol`](crate::docs::protocol)).
    ///
    /// # Errors
    ///
    /// A runtime failure.
    pub async fn describe(&self) -> Result<String, RpcError> {
        let (_, body) = self
            .raw(FrameKind::Request, DESCRIBE, 0, |_| Ok(()))
            .await?;
        String::from_utf8(body.into_vec())
            .map_err(|_| RpcError::new(Status::Internal, "describe reply is not UTF-8"))
    }

    /// Measures one round trip to the server.
    ///
    /// # Errors
    ///
    /// A runtime failure.
    pub async fn ping(&self) -> Result<Duration, RpcError> {
        let start = Instant::now();
        self.raw(FrameKind::Ping, 0, 0, |_| Ok(())).await?;
        Ok(start.elapsed())
    }

    async fn raw(
        &self,
        kind: FrameKind,
        method: u32,
        schema: u32,
        encode: impl Fn(&mut Vec<u8>) -> Result<(), WireError>,
    ) -> Result<(Status, Body), RpcError> {
        if self.shared.balanced {
            return self.balanced_raw(kind, method, schema, &encode).await;
        }
        let node = &self.shared.nodes[0];
        node.attempt(
            &self.shared.options,
            kind,
            method,
            schema,
            self.timeout,
            &encode,
        )
        .await
        .map_err(node::Failure::into_error)
    }
}
