//! Byte streams and listeners over TCP and Unix sockets, behind one type each, so framing and
//! dispatch never see which socket kind they run on.

use crate::endpoint::Endpoint;
use crate::error::ServeError;
use crate::unix::UnixSocketFile;
use core::pin::Pin;
use core::task::{Context, Poll};
use smol::io::{AsyncRead, AsyncWrite};
use smol::net::unix::UnixStream;
use smol::net::{TcpListener, TcpStream};
use std::io;

/// A connected byte stream. Clones share the socket.
#[derive(Debug, Clone)]
pub enum Stream {
    /// A TCP connection (with `TCP_NODELAY`).
    Tcp(TcpStream),
    /// A Unix domain socket connection.
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `endpoint`.
    ///
    /// # Errors
    ///
    /// The operating system's error: refused, unreachable, no such socket file, …
    pub async fn connect(endpoint: &Endpoint) -> io::Result<Stream> {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr.as_str()).await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Endpoint::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        }
    }

    /// Writes as much of `buf` as the socket takes right now, without waiting; returns how
    /// many bytes that was. Lets a writer skip the reactor whenever the socket has room.
    ///
    /// # Errors
    ///
    /// The operating system's error, or `WriteZero` when the socket accepts nothing.
    pub fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut from = 0;
        while from < buf.len() {
            match Pin::new(&mut *self).poll_write(&mut cx, &buf[from..]) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => from += n,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        Ok(from)
    }

    /// The other end of the connection, as handlers see it through
    /// [`current_peer`](crate::server::current_peer). A TCP peer whose address cannot be
    /// read any more (it already hung up) reads as unspecified, port 0.
    pub fn peer(&self) -> crate::server::Peer {
        match self {
            Stream::Tcp(s) => crate::server::Peer::Tcp(s.peer_addr().unwrap_or_else(|_| {
                std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
            })),
            Stream::Unix(_) => crate::server::Peer::Unix,
        }
    }

    /// Shuts both directions down, waking any task blocked on the stream.
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_close(cx),
            Stream::Unix(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// A bound listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(smol::net::unix::UnixListener, UnixSocketFile),
}

impl Listener {
    /// Binds `endpoint`. Unix sockets get mode `unix_mode`; a stale socket file is replaced.
    pub(crate) fn bind(endpoint: &Endpoint, unix_mode: u32) -> Result<Listener, ServeError> {
        let listen_err = |source| ServeError::Listen {
            endpoint: endpoint.to_string(),
            source,
        };
        match endpoint {
            Endpoint::Tcp(addr) => {
                let std = std::net::TcpListener::bind(addr.as_str()).map_err(listen_err)?;
                let listener = TcpListener::try_from(std).map_err(listen_err)?;
                Ok(Listener::Tcp(listener))
            }
            Endpoint::Unix(path) => {
                let (std, file) = crate::unix::bind(path, unix_mode)?;
                let listener = smol::net::unix::UnixListener::try_from(std).map_err(listen_err)?;
                Ok(Listener::Unix(listener, file))
            }
        }
    }

    /// The endpoint as bound: TCP port 0 is replaced by the port the system chose.
    pub(crate) fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Listener::Tcp(l) => Ok(Endpoint::Tcp(l.local_addr()?.to_string())),
            Listener::Unix(_, file) => Ok(Endpoint::Unix(file.path().to_path_buf())),
        }
    }

    /// Waits for the next connection.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Stream::Tcp(stream))
            }
            Listener::Unix(l, _) => {
                let (stream, _) = l.accept().await?;
                Ok(Stream::Unix(stream))
            }
        }
    }
}
