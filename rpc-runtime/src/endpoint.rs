//! Where a server listens and a client connects: `tcp://host:port`, `unix://PATH` or
//! `memory://NAME`.

use core::fmt;
use core::str::FromStr;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The longest Unix socket path the kernel accepts (`sun_path` is 108 bytes with its NUL).
const MAX_UNIX_PATH: usize = 107;

/// A transport address.
///
/// | string | meaning |
/// |---|---|
/// | `tcp://127.0.0.1:7878` | TCP; host names such as `localhost` are resolved when used |
/// | `tcp://[::1]:7878` | TCP over IPv6 |
/// | `unix:///run/account.sock` | Unix socket at an absolute path |
/// | `unix://./account.sock` | Unix socket relative to the working directory |
/// | `memory://tests` | in-memory listener named `tests` in this process (see [`transport::memory`](crate::transport::memory)) |
///
/// # Examples
///
/// ```
/// use rpc_runtime::Endpoint;
///
/// let tcp: Endpoint = "tcp://127.0.0.1:7878".parse()?;
/// assert_eq!(tcp, Endpoint::Tcp("127.0.0.1:7878".into()));
/// let unix: Endpoint = "unix:///run/account.sock".parse()?;
/// assert_eq!(unix.to_string(), "unix:///run/account.sock");
/// let memory: Endpoint = "memory://tests".parse()?;
/// assert_eq!(memory, Endpoint::Memory("tests".into()));
/// assert!("http://example.com".parse::<Endpoint>().is_err());
/// # Ok::<(), rpc_runtime::endpoint::EndpointError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// A TCP address, `host:port`.
    Tcp(String),
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// The name of an in-memory listener in this process.
    Memory(String),
}

/// Why a string is not an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The string has no `scheme://` prefix.
    #[error(
        "endpoint {input:?} has no scheme; write tcp://HOST:PORT, unix://PATH or memory://NAME"
    )]
    MissingScheme {
        /// The string given.
        input: String,
    },
    /// The scheme is none of `tcp`, `unix` and `memory`.
    #[error(
        "unknown endpoint scheme {scheme:?} in {input:?}; expected tcp://, unix:// or memory://"
    )]
    UnknownScheme {
        /// The scheme found.
        scheme: String,
        /// The string given.
        input: String,
    },
    /// A TCP endpoint lacks a host or a valid port.
    #[error("tcp endpoint {input:?} needs HOST:PORT with a port from 0 to 65535")]
    BadTcpAddress {
        /// The string given.
        input: String,
    },
    /// A Unix endpoint has an empty path.
    #[error("unix endpoint {input:?} has no path; write unix:///abs/path or unix://./rel/path")]
    EmptyPath {
        /// The string given.
        input: String,
    },
    /// A memory endpoint has an empty name.
    #[error("memory endpoint {input:?} has no name; write memory://NAME")]
    EmptyName {
        /// The string given.
        input: String,
    },
    /// A Unix socket path is longer than the kernel allows.
    #[error("unix socket path of {len} bytes is too long (the limit is {MAX_UNIX_PATH})")]
    PathTooLong {
        /// The path's length in bytes.
        len: usize,
    },
}

impl Endpoint {
    /// A Unix endpoint for `path`.
    pub fn unix(path: impl AsRef<Path>) -> Endpoint {
        Endpoint::Unix(path.as_ref().to_path_buf())
    }

    /// A TCP endpoint for `addr` (`host:port`).
    pub fn tcp(addr: impl fmt::Display) -> Endpoint {
        Endpoint::Tcp(addr.to_string())
    }

    /// An in-memory endpoint named `name`.
    pub fn memory(name: impl Into<String>) -> Endpoint {
        Endpoint::Memory(name.into())
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(input: &str) -> Result<Self, EndpointError> {
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err(EndpointError::MissingScheme {
                input: input.to_owned(),
            });
        };
        match scheme {
            "tcp" => {
                let valid = rest.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && port.parse::<u16>().is_ok() && !rest.contains('/')
                });
                if !valid {
                    return Err(EndpointError::BadTcpAddress {
                        input: input.to_owned(),
                    });
                }
                Ok(Endpoint::Tcp(rest.to_owned()))
            }
            "unix" => {
                if rest.is_empty() {
                    return Err(EndpointError::EmptyPath {
                        input: input.to_owned(),
                    });
                }
                if rest.len() > MAX_UNIX_PATH {
                    return Err(EndpointError::PathTooLong { len: rest.len() });
                }
                Ok(Endpoint::Unix(PathBuf::from(rest)))
            }
            "memory" => {
                if rest.is_empty() {
                    return Err(EndpointError::EmptyName {
                        input: input.to_owned(),
                    });
                }
                Ok(Endpoint::Memory(rest.to_owned()))
            }
            other => Err(EndpointError::UnknownScheme {
                scheme: other.to_owned(),
                input: input.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Memory(name) => write!(f, "memory://{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_round_trip() {
        for s in [
            "tcp://127.0.0.1:7878",
            "tcp://localhost:0",
            "tcp://[::1]:80",
            "unix:///run/account.sock",
            "unix://./account.sock",
            "unix://relative.sock",
            "memory://tests",
            "memory://a/b:c",
        ] {
            let ep: Endpoint = s.parse().unwrap();
            assert_eq!(ep.to_string(), s);
        }
        assert_eq!(
            "unix://./a.sock".parse::<Endpoint>().unwrap(),
            Endpoint::unix("./a.sock")
        );
    }

    #[test]
    fn rejects_everything_else() {
        let cases = [
            ("127.0.0.1:7878", "no scheme"),
            ("http://x:1", "unknown endpoint scheme"),
            ("tcp://127.0.0.1", "needs HOST:PORT"),
            ("tcp://:80", "needs HOST:PORT"),
            ("tcp://h:99999", "needs HOST:PORT"),
            ("tcp://h:80/path", "needs HOST:PORT"),
            ("unix://", "no path"),
            ("memory://", "no name"),
        ];
        for (input, message) in cases {
            let err = input.parse::<Endpoint>().unwrap_err().to_string();
            assert!(err.contains(message), "{input}: {err}");
        }
        let long = format!("unix:///{}", "a".repeat(200));
        assert!(matches!(
            long.parse::<Endpoint>(),
            Err(EndpointError::PathTooLong { .. })
        ));
    }
}
