//! A blocking connection that sends whole frames and reads whole frames, over TCP or Unix.
//!
//! The tool talks to one server at a time with one call in flight, so plain `std` sockets do;
//! owning the bytes also lets `--hex` show exactly what crossed the wire.

use crate::error::{Result, ToolError};
use rpc_runtime::Endpoint;
use rpc_runtime::Wire as _;
use rpc_runtime::frame::{self, FrameKind, Header};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The largest reply body the tool accepts (the runtime's default frame limit is smaller).
const MAX_BODY: u32 = 64 << 20;

/// One frame as received: its header and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The parsed header.
    pub header: Header,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The whole frame, header and body, as it was on the wire.
    pub raw: Vec<u8>,
}

#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

/// A connection to a server.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    endpoint: String,
    timeout: Duration,
    next_call: u32,
}

impl Connection {
    /// Connects to `endpoint`, waiting at most `timeout` for the connection and for each reply.
    ///
    /// # Errors
    ///
    /// [`ToolError::Connect`] when nothing accepts the connection, and
    /// [`ToolError::NotReachable`] for in-memory endpoints.
    pub fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Connection> {
        let name = endpoint.to_string();
        let connect_err = |source| ToolError::Connect {
            endpoint: name.clone(),
            source,
        };
        let stream = match endpoint {
            Endpoint::Tcp(addr) => {
                let addrs: Vec<_> = addr.to_socket_addrs().map_err(connect_err)?.collect();
                let mut last = std::io::Error::new(ErrorKind::NotFound, "the host has no address");
                let mut stream = None;
                for a in addrs {
                    match TcpStream::connect_timeout(&a, timeout) {
                        Ok(s) => {
                            stream = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let stream = stream.ok_or_else(|| connect_err(last))?;
                stream.set_nodelay(true).map_err(connect_err)?;
                stream
                    .set_read_timeout(Some(timeout))
                    .map_err(connect_err)?;
                stream
                    .set_write_timeout(Some(timeout))
                    .map_err(connect_err)?;
                Stream::Tcp(stream)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let stream = std::os::unix::net::UnixStream::connect(path).map_err(connect_err)?;
                stream
                    .set_read_timeout(Some(timeout))
                    .map_err(connect_err)?;
                stream
                    .set_write_timeout(Some(timeout))
                    .map_err(connect_err)?;
                Stream::Unix(stream)
            }
            _ => return Err(ToolError::NotReachable { endpoint: name }),
        };
        Ok(Connection {
            stream,
            endpoint: name,
            timeout,
            next_call: 1,
        })
    }

    /// The endpoint, as the user wrote it (normalised).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The per-reply timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A fresh call id.
    pub fn next_call_id(&mut self) -> u32 {
        let id = self.next_call;
        self.next_call = self.next_call.wrapping_add(1).max(1);
        id
    }

    /// Builds the frame of `header` (with a fresh call id) and `body`, sends it, and returns its
    /// bytes.
    ///
    /// # Errors
    ///
    /// [`ToolError::Io`] when the write fails.
    pub fn send(&mut self, mut header: Header, body: &[u8]) -> Result<Vec<u8>> {
        header.call_id = self.next_call_id();
        let mut out = Vec::with_capacity(Header::SIZE + body.len());
        frame::encode_bytes(&mut out, header, body);
        let result = match &mut self.stream {
            Stream::Tcp(s) => s.write_all(&out),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(&out),
        };
        result.map_err(|e| self.io_error(e))?;
        Ok(out)
    }

    /// Reads frames until the one for `call_id` arrives (others, such as a ping from the
    /// server, are skipped).
    ///
    /// # Errors
    ///
    /// [`ToolError::Timeout`], [`ToolError::Closed`], [`ToolError::Frame`] or
    /// [`ToolError::Io`].
    pub fn receive(&mut self, call_id: u32) -> Result<Frame> {
        loop {
            let frame = self.read_frame()?;
            if frame.header.call_id == call_id
                || (frame.header.call_id == 0 && frame.header.kind == FrameKind::Error)
            {
                return Ok(frame);
            }
        }
    }

    /// Sends a request and waits for its reply.
    ///
    /// # Errors
    ///
    /// As [`Connection::send`] and [`Connection::receive`].
    pub fn round_trip(&mut self, header: Header, body: &[u8]) -> Result<(Vec<u8>, Frame)> {
        let sent = self.send(header, body)?;
        let call_id = u32::from_be_bytes([sent[12], sent[13], sent[14], sent[15]]);
        let reply = self.receive(call_id)?;
        Ok((sent, reply))
    }

    fn read_frame(&mut self) -> Result<Frame> {
        let mut head = [0u8; Header::SIZE];
        self.read_exact(&mut head)?;
        let header = frame::check_header(&head, MAX_BODY).map_err(|source| ToolError::Frame {
            endpoint: self.endpoint.clone(),
            source,
        })?;
        let mut raw = head.to_vec();
        raw.resize(Header::SIZE + header.body_len as usize, 0);
        self.read_exact(&mut raw[Header::SIZE..])?;
        Ok(Frame {
            header,
            body: raw[Header::SIZE..].to_vec(),
            raw,
        })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let result = match &mut self.stream {
            Stream::Tcp(s) => s.read_exact(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read_exact(buf),
        };
        result.map_err(|e| self.io_error(e))
    }

    fn io_error(&self, e: std::io::Error) -> ToolError {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => ToolError::Timeout {
                endpoint: self.endpoint.clone(),
                timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            },
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => {
                ToolError::Closed {
                    endpoint: self.endpoint.clone(),
                }
            }
            _ => ToolError::Io {
                endpoint: self.endpoint.clone(),
                source: e,
            },
        }
    }
}
