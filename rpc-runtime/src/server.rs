//! The server: listeners, connection tasks and dispatch to services, on one smol executor per
//! worker thread (one thread per core by default), each connection staying on one of them.

mod call;
mod conn;
mod http;
mod limits;
mod listener;
mod pool;
pub(crate) mod registry;
mod shutdown;
mod stats;
#[cfg(unix)]
mod unix;

// The server layer's error type, re-exported below.
mod error;

pub use call::{Peer, current_peer};
pub use error::ServeError;
pub use http::{HttpContext, HttpFuture, HttpRoutes};
pub use limits::Limits;
pub use shutdown::ShutdownHandle;
#[cfg(unix)]
pub use shutdown::shutdown_on_signals;
pub use stats::ServerStats;

use crate::endpoint::Endpoint;
use crate::service::Service;
use listener::Listener;
use pool::{Placed, Pool};
use registry::Registry;
use stats::Counters;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread;

/// Builds a [`Server`]: endpoints to listen on, services to serve, limits.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{Endpoint, Server};
///
/// let server = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?;
/// let bound = &server.endpoints()[0];
/// assert!(bound.to_string().starts_with("tcp://127.0.0.1:"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct ServerBuilder {
    endpoints: Vec<Endpoint>,
    services: Vec<Arc<dyn Service>>,
    limits: Limits,
    workers: Option<usize>,
    shared_executor: bool,
    unix_mode: Option<u32>,
    http_routes: Option<Arc<dyn HttpRoutes>>,
}

impl core::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("endpoints", &self.endpoints)
            .field(
                "services",
                &self
                    .services
                    .iter()
                    .map(|s| s.schema().name)
                    .collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .field("workers", &self.workers)
            .field("shared_executor", &self.shared_executor)
            .field("http_routes", &self.http_routes.is_some())
            .finish()
    }
}

impl ServerBuilder {
    /// Adds an endpoint to listen on (call it once per endpoint).
    pub fn listen(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// Adds a service; one server serves any number of services.
    pub fn serve(mut self, service: impl Service) -> Self {
        self.services.push(Arc::new(service));
        self
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the number of worker threads (default: one per core).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers.max(1));
        self
    }

    /// Runs one executor shared by every worker thread instead of one per thread (default:
    /// `false`, one per thread).
    ///
    /// By default each worker thread runs its own executor and every connection, with the
    /// calls it spawns, stays on the one it was given (the one with the fewest connections
    /// when it was accepted). A call's wake-ups then never cross threads, which saves context
    /// switches on every call: the bench's one-call-at-a-time scenario (S1) makes ~3 context
    /// switches per call, client and server together, instead of ~5.2. The price: a handler
    /// that blocks its thread or computes for long stalls the other connections of that
    /// thread (and, on the first worker, the accepting of new ones) until it returns, since
    /// no other thread takes their work.
    ///
    /// With a shared executor, idle threads steal work from a busy one, so a blocking or
    /// CPU-heavy handler delays only its own connection, at the cost of the extra hops
    /// between threads on every call. Choose it when handlers may block or run long and cannot
    /// be moved off the executor (`smol::unblock`, a thread pool of their own).
    pub fn shared_executor(mut self, shared: bool) -> Self {
        self.shared_executor = shared;
        self
    }

    /// Sets the permission bits of Unix socket files (default `0o600`, owner only).
    pub fn unix_mode(mut self, mode: u32) -> Self {
        self.unix_mode = Some(mode);
        self
    }

    /// Adds an application's own HTTP routes, asked before the built-in ones (see
    /// [`HttpRoutes`]). A second call replaces the first.
    pub fn http_routes(mut self, routes: impl HttpRoutes) -> Self {
        self.http_routes = Some(Arc::new(routes));
        self
    }

    /// Binds every endpoint. Nothing is served until [`Server::run`] or [`Server::spawn`].
    ///
    /// # Errors
    ///
    /// A bind failure, a Unix socket path held by a live server, two services with the same
    /// method id, or no endpoint at all.
    pub fn bind(self) -> Result<Server, ServeError> {
        if self.endpoints.is_empty() {
            return Err(ServeError::NoEndpoints);
        }
        let registry = Registry::new(self.services)?;
        let mode = self.unix_mode.unwrap_or(0o600);
        let listeners = self
            .endpoints
            .iter()
            .map(|e| Listener::bind(e, mode))
            .collect::<Result<Vec<_>, _>>()?;
        let endpoints = listeners
            .iter()
            .zip(&self.endpoints)
            .map(|(l, e)| {
                l.local_endpoint().map_err(|source| ServeError::Listen {
                    endpoint: e.to_string(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let workers = self
            .workers
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Server {
            listeners,
            endpoints,
            shared: Arc::new(Shared {
                registry,
                limits: self.limits,
                counters: Arc::default(),
                http_routes: self.http_routes,
            }),
            workers,
            shared_executor: self.shared_executor,
            shutdown: ShutdownHandle::new(),
        })
    }
}

/// What every connection task of a server shares.
pub(crate) struct Shared {
    pub(crate) registry: Registry,
    pub(crate) limits: Limits,
    pub(crate) counters: Arc<Counters>,
    pub(crate) http_routes: Option<Arc<dyn HttpRoutes>>,
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("registry", &self.registry)
            .field("limits", &self.limits)
            .field("http_routes", &self.http_routes.is_some())
            .finish_non_exhaustive()
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<Listener>,
    endpoints: Vec<Endpoint>,
    shared: Arc<Shared>,
    workers: usize,
    shared_executor: bool,
    shutdown: ShutdownHandle,
}

impl Server {
    /// Starts building a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The endpoints as bound (TCP port 0 replaced by the real port), in the order given.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// A handle that starts a graceful shutdown from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// A live view of the server's connections and calls, valid before, during and after
    /// running.
    pub fn stats(&self) -> ServerStats {
        ServerStats::new(Arc::clone(&self.shared.counters))
    }

    /// Serves until shut down, on this thread and `workers - 1` more, each running its own
    /// executor (or all of them one, see [`ServerBuilder::shared_executor`]); this thread
    /// also accepts the connections. Returns once every connection has finished (or the
    /// shutdown grace period ran out) and every Unix socket file the server created is
    /// removed. What is left then (a connection that did not finish in time, calls still
    /// running) is dropped before it returns: its socket is closed and handlers' futures are
    /// dropped, as when a call is cancelled.
    ///
    /// # Errors
    ///
    /// [`ServeError::Threads`] when worker threads cannot be started.
    pub fn run(self) -> Result<(), ServeError> {
        let pool = Arc::new(Pool::new(if self.shared_executor {
            1
        } else {
            self.workers
        }));
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let mut threads = Vec::new();
        for i in 1..self.workers {
            let ex = pool.executor(i);
            let stopped = stopped.clone();
            let handle = thread::Builder::new()
                .name(format!("rpc-worker-{i}"))
                .spawn(move || pool::run(&ex, stopped.recv()))
                .map_err(ServeError::Threads)?;
            threads.push(handle);
        }
        let ex = pool.executor(0);
        pool::run(&ex, self.serve(&ex, Arc::downgrade(&pool)));
        drop(stop);
        for t in threads {
            let _ = t.join();
        }
        // No thread runs the executors now, and no task holds one (see `server/pool.rs`):
        // these are the last handles, and dropping them drops every task left on them (a
        // connection still draining when the grace period ran out, its calls), with the
        // sockets, buffers and services they hold.
        drop(ex);
        drop(pool);
        Ok(())
    }

    /// Runs the server on background threads and returns a handle to stop it.
    ///
    /// # Errors
    ///
    /// [`ServeError::Threads`] when the threads cannot be started.
    pub fn spawn(self) -> Result<RunningServer, ServeError> {
        let shutdown = self.shutdown_handle();
        let endpoints = self.endpoints.clone();
        let stats = self.stats();
        let thread = thread::Builder::new()
            .name("rpc-server".into())
            .spawn(move || self.run())
            .map_err(ServeError::Threads)?;
        Ok(RunningServer {
            shutdown,
            endpoints,
            stats,
            thread: Some(thread),
        })
    }

    /// Accepts connections until shut down, then waits for them. The acceptors are tasks
    /// and reach the pool through a `Weak`, so as not to keep their executor alive.
    async fn serve(self, ex: &smol::Executor<'static>, pool: Weak<Pool>) {
        let (alive, all_done) = smol::channel::bounded::<()>(1);
        let acceptors: Vec<_> = self
            .listeners
            .into_iter()
            .map(|listener| {
                ex.spawn(accept_loop(
                    listener,
                    Arc::clone(&self.shared),
                    Weak::clone(&pool),
                    self.shutdown.clone(),
                    alive.clone(),
                ))
            })
            .collect();
        drop(alive);
        self.shutdown.wait().await;
        // Stop accepting: dropping the acceptors drops the listeners and removes socket files.
        for task in acceptors {
            task.cancel().await;
        }
        // Connections see the same signal, send goaway and drain; wait for the last one.
        let grace = self.shared.limits.shutdown_grace + self.shared.limits.read_timeout;
        smol::future::or(
            async {
                let _ = all_done.recv().await;
            },
            async {
                smol::Timer::after(grace).await;
            },
        )
        .await;
    }
}

async fn accept_loop(
    listener: Listener,
    shared: Arc<Shared>,
    pool: Weak<Pool>,
    shutdown: ShutdownHandle,
    alive: smol::channel::Sender<()>,
) {
    let mut failing = false;
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning, and
                // say so once per run of failures rather than fifty times a second.
                if !failing {
                    tracing::warn!(%error, "accepting a connection failed; retrying every 20 ms");
                    failing = true;
                }
                smol::Timer::after(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        if failing {
            tracing::info!("accepting connections again");
            failing = false;
        }
        let Some(pool) = pool.upgrade() else {
            // The server has stopped (the acceptor is cancelled before that, so not reached).
            return;
        };
        let count = shared.counters.connections.fetch_add(1, Ordering::AcqRel) + 1;
        let (placed, ex) = pool.place();
        let guard = ConnectionGuard {
            shared: Arc::clone(&shared),
            _alive: alive.clone(),
            _placed: placed,
        };
        if count > shared.limits.max_connections {
            ex.spawn(conn::refuse(stream, guard)).detach();
            continue;
        }
        ex.spawn(conn::serve(stream, shutdown.clone(), guard))
            .detach();
    }
}

/// Counts a live connection; dropping it releases the slot.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    shared: Arc<Shared>,
    /// Held while the connection lives; the server waits for every sender to drop.
    _alive: smol::channel::Sender<()>,
    /// The connection's place: counted as one of its executor's connections while this
    /// lives.
    _placed: Placed,
}

impl ConnectionGuard {
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn shared_arc(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared
            .counters
            .connections
            .fetch_sub(1, Ordering::AcqRel);
    }
}

/// A server running on background threads.
#[derive(Debug)]
pub struct RunningServer {
    shutdown: ShutdownHandle,
    endpoints: Vec<Endpoint>,
    stats: ServerStats,
    thread: Option<thread::JoinHandle<Result<(), ServeError>>>,
}

impl RunningServer {
    /// The endpoints as bound.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// A handle that starts a graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// A live view of the server's connections and calls.
    pub fn stats(&self) -> ServerStats {
        self.stats.clone()
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
