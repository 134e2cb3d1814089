//! Byte streams over TCP, Unix sockets and memory, behind one type, so framing and dispatch
//! never see which transport they run on. The server's listeners live in `server/listener.rs`.

pub mod memory;

use crate::endpoint::Endpoint;
use core::pin::Pin;
use core::task::{Context, Poll};
use memory::MemoryStream;
use smol::io::{AsyncRead, AsyncWrite};
use smol::net::TcpStream;
#[cfg(unix)]
use smol::net::unix::UnixStream;
use std::io;

/// A connected byte stream. Clones share the socket.
#[derive(Debug, Clone)]
pub enum Stream {
    /// A TCP connection (with `TCP_NODELAY`).
    Tcp(TcpStream),
    /// A Unix domain socket connection.
    #[cfg(unix)]
    Unix(UnixStream),
    /// An in-memory connection in this process (see [`memory`]).
    Memory(MemoryStream),
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
            #[cfg(unix)]
            Endpoint::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
            #[cfg(not(unix))]
            Endpoint::Unix(_) => Err(unix_unsupported()),
            Endpoint::Memory(name) => Ok(Stream::Memory(MemoryStream::connect(name)?)),
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

    /// Shuts both directions down, waking any task blocked on the stream.
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Stream::Memory(s) => {
                s.shutdown();
                Ok(())
            }
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
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Memory(s) => Pin::new(s).poll_read(cx, buf),
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
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Memory(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Memory(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_close(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_close(cx),
            Stream::Memory(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// The error for a Unix socket endpoint on a platform without Unix sockets.
#[cfg(not(unix))]
pub(crate) fn unix_unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "unix sockets are not available on this platform",
    )
}
