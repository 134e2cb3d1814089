//! Connections to PostgreSQL without tokio's runtime: a socket from async-io, adapted to the
//! I/O traits tokio-postgres speaks, and the connection's background future run on smol.
//!
//! tokio-postgres is built without its `runtime` feature, so it never opens a socket or starts
//! a timer itself: [`connect`] opens the TCP or Unix socket (with a timeout), hands it to
//! `Config::connect_raw`, and spawns the returned connection future on smol's global executor.
//! Only tokio's `AsyncRead`/`AsyncWrite` traits are used; no tokio executor or reactor exists
//! in the process.

use smol::Async;
use smol::io::{AsyncRead as FuturesRead, AsyncWrite as FuturesWrite};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, NoTls, Statement};

/// The default PostgreSQL port.
const DEFAULT_PORT: u16 = 5432;

/// A socket to the database: TCP or Unix, registered with async-io.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(Async<TcpStream>),
    Unix(Async<UnixStream>),
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        let n = ready!(match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, unfilled),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, unfilled),
        })?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_close(cx),
            Socket::Unix(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// A socket that counts the writes that sent something: each is one trip to the server
/// (statements sent together go out in one write), so the count shows whether statements
/// are pipelined.
#[derive(Debug)]
pub(crate) struct Metered {
    socket: Socket,
    writes: Arc<AtomicU64>,
}

impl AsyncRead for Metered {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Metered {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.socket).poll_write(cx, buf))?;
        if written > 0 {
            this.writes.fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No host or socket directory answered.
    #[error("cannot reach the database server")]
    Io(#[source] io::Error),
    /// The server answered but refused the session (authentication, unknown database).
    #[error("the database server refused the connection")]
    Postgres(#[source] tokio_postgres::Error),
    /// Nothing answered within the connect timeout.
    #[error("connecting to the database server timed out")]
    Timeout,
}

/// One session with the server and its prepared statements.
#[derive(Debug)]
pub(crate) struct Conn {
    client: Client,
    statements: Mutex<HashMap<&'static str, Statement>>,
    writes: Arc<AtomicU64>,
}

impl Conn {
    /// The client, for statements that are not cached.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// How many writes went to the server so far (see [`Metered`]).
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Whether the session ended (the server went away or closed it).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// `sql` prepared once per connection.
    pub(crate) async fn prepare(
        &self,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        let cached = self
            .statements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sql)
            .cloned();
        if let Some(statement) = cached {
            return Ok(statement);
        }
        let statement = self.client.prepare(sql).await?;
        self.statements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sql, statement.clone());
        Ok(statement)
    }
}

/// The future that drives a connection's socket.
pub(crate) type Driver = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Opens a session as `config` says, trying each host in turn, within `timeout`; its
/// connection future runs on smol's global executor.
pub(crate) async fn connect(
    config: &tokio_postgres::Config,
    timeout: Duration,
) -> Result<Conn, ConnectError> {
    connect_with(config, timeout, |driver| smol::spawn(driver).detach()).await
}

/// Like [`connect`], with the connection future handed to `spawn` (the writer runs it on its
/// own thread, so that a reply wakes the writer without a hop through another thread).
pub(crate) async fn connect_with(
    config: &tokio_postgres::Config,
    timeout: Duration,
    spawn: impl FnOnce(Driver),
) -> Result<Conn, ConnectError> {
    let attempt = async {
        let socket = open_socket(config).await.map_err(ConnectError::Io)?;
        let writes = Arc::new(AtomicU64::new(0));
        let socket = Metered {
            socket,
            writes: Arc::clone(&writes),
        };
        let (client, connection) = config
            .connect_raw(socket, NoTls)
            .await
            .map_err(ConnectError::Postgres)?;
        spawn(Box::pin(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "database connection ended");
            }
        }));
        Ok(Conn {
            client,
            statements: Mutex::new(HashMap::new()),
            writes,
        })
    };
    smol::future::or(attempt, async {
        smol::Timer::after(timeout).await;
        Err(ConnectError::Timeout)
    })
    .await
}

async fn open_socket(config: &tokio_postgres::Config) -> io::Result<Socket> {
    let ports = config.get_ports();
    let hosts: Vec<Host> = match config.get_hosts() {
        [] => vec![Host::Unix("/var/run/postgresql".into())],
        hosts => hosts.to_vec(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no database host given");
    for (i, host) in hosts.into_iter().enumerate() {
        let port = match ports {
            [] => DEFAULT_PORT,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(DEFAULT_PORT),
        };
        let opened = match host {
            Host::Unix(dir) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                Async::<UnixStream>::connect(path).await.map(Socket::Unix)
            }
            Host::Tcp(name) => connect_tcp(name, port).await.map(Socket::Tcp),
        };
        match opened {
            Ok(socket) => return Ok(socket),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn connect_tcp(name: String, port: u16) -> io::Result<Async<TcpStream>> {
    let addrs: Vec<_> = smol::unblock(move || (name.as_str(), port).to_socket_addrs())
        .await?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for addr in addrs {
        match Async::<TcpStream>::connect(addr).await {
            Ok(stream) => {
                stream.get_ref().set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
