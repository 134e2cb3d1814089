//! Clients: many calls share one connection, responses come back in any order, and a caller
//! that times out or gives up tells the server to stop.

mod blocking;
mod conn;
mod error;

pub use blocking::BlockingClient;
pub use error::{CallError, RpcError};

use crate::endpoint::Endpoint;
use crate::frame::{DEFAULT_MAX_BODY, DESCRIBE, FrameKind};
use crate::message::Message;
use crate::schema::MethodSchema;
use crate::status::Status;
use crate::wire::WireError;
use conn::Conn;
use smol::future::FutureExt as _;
use std::sync::{Arc, Mutex};
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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: None,
            connect_timeout: Duration::from_secs(5),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// An async client for any service. `#[service]` wraps it in a typed `{Trait}Client`.
///
/// It connects lazily, on the first call, and again after the connection is lost, so a client
/// outlives server restarts; calls on a dead connection fail at once with `unavailable`.
/// Clones share the connection.
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
    endpoint: Endpoint,
    options: ClientOptions,
    conn: Mutex<Option<Arc<Conn>>>,
    connecting: smol::lock::Mutex<()>,
}

impl Client {
    /// A client for `endpoint` with default options. Nothing is connected until the first call.
    pub fn new(endpoint: Endpoint) -> Client {
        Client::with_options(endpoint, ClientOptions::default())
    }

    /// A client for `endpoint` with `options`.
    pub fn with_options(endpoint: Endpoint, options: ClientOptions) -> Client {
        Client {
            timeout: options.timeout,
            shared: Arc::new(Shared {
                endpoint,
                options,
                conn: Mutex::new(None),
                connecting: smol::lock::Mutex::new(()),
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
        client.connection().await?;
        Ok(client)
    }

    /// A clone whose calls time out after `timeout`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            timeout: Some(timeout),
        }
    }

    /// The endpoint this client connects to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
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
        String::from_utf8(body)
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
    ) -> Result<(Status, Vec<u8>), RpcError> {
        let timeout_ms = match (kind, self.timeout) {
            (FrameKind::Request, Some(t)) => {
                u32::try_from(t.as_millis().max(1)).unwrap_or(u32::MAX)
            }
            _ => 0,
        };
        let conn = self.connection().await?;
        let call = match conn.start(kind, method, schema, timeout_ms, &encode) {
            Ok(call) => call,
            // The connection died before the frame was queued, so nothing was sent: retrying
            // on a fresh connection cannot apply the call twice.
            Err(e) if e.status == Status::Unavailable => self
                .connection()
                .await?
                .start(kind, method, schema, timeout_ms, &encode)?,
            Err(e) => return Err(e),
        };
        match self.timeout {
            None => call.await,
            Some(t) => {
                call.or(async {
                    smol::Timer::after(t).await;
                    Err(RpcError::new(
                        Status::DeadlineExceeded,
                        format!("no reply within {t:?}"),
                    ))
                })
                .await
            }
        }
    }

    /// The current connection, or a new one when there is none or it is unusable.
    async fn connection(&self) -> Result<Arc<Conn>, RpcError> {
        if let Some(conn) = self.usable() {
            return Ok(conn);
        }
        let _connecting = self.shared.connecting.lock().await;
        if let Some(conn) = self.usable() {
            return Ok(conn);
        }
        let endpoint = &self.shared.endpoint;
        let limit = self.shared.options.connect_timeout;
        let stream = crate::transport::Stream::connect(endpoint)
            .or(async {
                smol::Timer::after(limit).await;
                Err(std::io::ErrorKind::TimedOut.into())
            })
            .await
            .map_err(|e| {
                RpcError::new(
                    Status::Unavailable,
                    format!("cannot connect to {endpoint}: {e}"),
                )
            })?;
        let conn = Conn::new(stream, self.shared.options.max_body);
        if let Ok(mut slot) = self.shared.conn.lock() {
            *slot = Some(Arc::clone(&conn));
        }
        Ok(conn)
    }

    fn usable(&self) -> Option<Arc<Conn>> {
        let conn = self.shared.conn.lock().ok()?.clone()?;
        conn.accepts_calls().then_some(conn)
    }
}
