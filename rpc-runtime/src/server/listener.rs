//! The server's listeners: TCP, Unix sockets and memory behind one type, each accepting
//! [`Stream`]s.

#[cfg(unix)]
use super::unix::UnixSocketFile;
use super::{Peer, ServeError};
use crate::endpoint::Endpoint;
use crate::transport::Stream;
use crate::transport::memory::MemoryListener;
use smol::net::TcpListener;
use std::io;

/// The accept queue asked of the kernel (Linux caps it at `net.core.somaxconn`, 4096 by
/// default). std listens with 128, which a burst of connections overflows: the kernel then
/// drops their handshakes and clients retry after a second or more.
const BACKLOG: i32 = 4096;

/// Listens again on a bound socket, with [`BACKLOG`]; only ever raises the queue.
#[cfg(unix)]
fn deepen_backlog(socket: impl std::os::fd::AsFd) -> io::Result<()> {
    rustix::net::listen(socket, BACKLOG).map_err(io::Error::from)
}

/// Elsewhere the platform's default queue stays.
#[cfg(not(unix))]
fn deepen_backlog<T>(_socket: T) -> io::Result<()> {
    Ok(())
}

/// A bound listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(smol::net::unix::UnixListener, UnixSocketFile),
    Memory(MemoryListener),
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
                deepen_backlog(&std).map_err(listen_err)?;
                let listener = TcpListener::try_from(std).map_err(listen_err)?;
                Ok(Listener::Tcp(listener))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let (std, file) = super::unix::bind(path, unix_mode)?;
                deepen_backlog(&std).map_err(listen_err)?;
                let listener = smol::net::unix::UnixListener::try_from(std).map_err(listen_err)?;
                Ok(Listener::Unix(listener, file))
            }
            #[cfg(not(unix))]
            Endpoint::Unix(_) => {
                let _ = unix_mode;
                Err(listen_err(crate::transport::unix_unsupported()))
            }
            Endpoint::Memory(name) => Ok(Listener::Memory(
                MemoryListener::bind(name).map_err(listen_err)?,
            )),
        }
    }

    /// The endpoint as bound: TCP port 0 is replaced by the port the system chose.
    pub(crate) fn local_endpoint(&self) -> io::Result<Endpoint> {
        match self {
            Listener::Tcp(l) => Ok(Endpoint::Tcp(l.local_addr()?.to_string())),
            #[cfg(unix)]
            Listener::Unix(_, file) => Ok(Endpoint::Unix(file.path().to_path_buf())),
            Listener::Memory(l) => Ok(Endpoint::Memory(l.name().to_owned())),
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
            #[cfg(unix)]
            Listener::Unix(l, _) => {
                let (stream, _) = l.accept().await?;
                Ok(Stream::Unix(stream))
            }
            Listener::Memory(l) => Ok(Stream::Memory(l.accept().await?)),
        }
    }
}

impl Peer {
    /// The other end of the connection, as handlers see it through
    /// [`current_peer`](crate::server::current_peer). A TCP peer whose address cannot be
    /// read any more (it already hung up) reads as unspecified, port 0.
    pub(crate) fn of(stream: &Stream) -> Peer {
        match stream {
            Stream::Tcp(s) => Peer::Tcp(s.peer_addr().unwrap_or_else(|_| {
                std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0))
            })),
            #[cfg(unix)]
            Stream::Unix(_) => Peer::Unix,
            Stream::Memory(_) => Peer::Memory,
        }
    }
}
