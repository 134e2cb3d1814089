//! Which account servers to call: one endpoint, or several servers on one database that the
//! client balances over (`tcp://a:7878,tcp://b:7878`).

use crate::api::{AccountsBlockingClient, AccountsClient};
use core::fmt;
use core::str::FromStr;
use rpc_runtime::client::MAX_ENDPOINTS;
use rpc_runtime::endpoint::EndpointError;
use rpc_runtime::{BlockingClient, Client, ClientOptions, Endpoint};
use thiserror::Error;

/// One or more endpoints of account servers that share one database.
///
/// Written as a comma-separated list, as the `account` tool's `--server` and `ACCOUNT_SERVER`
/// take it. A comma starts a new endpoint only where a scheme (`tcp://`, `unix://`,
/// `memory://`) follows, so a Unix socket path may itself hold commas.
///
/// With one endpoint, [`Servers::client`] is a plain [`Client`]; with several, a
/// [balanced](Client::balanced) one, which spreads calls over the servers and fails over. The
/// retrying clients resend a mutation with the same idempotency key wherever it goes, so a
/// mutation retried on another server is still applied at most once.
///
/// # Examples
///
/// ```
/// use account_client::Servers;
///
/// let servers: Servers = "tcp://10.0.0.1:7878,tcp://10.0.0.2:7878".parse()?;
/// assert_eq!(servers.endpoints().len(), 2);
/// assert_eq!(servers.to_string(), "tcp://10.0.0.1:7878,tcp://10.0.0.2:7878");
/// assert!(servers.client(Default::default()).is_balanced());
/// assert!("".parse::<Servers>().is_err());
/// # Ok::<(), account_client::ServersError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Servers(Vec<Endpoint>);

/// Why a list of servers is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ServersError {
    /// No endpoint at all.
    #[error("no server given; write ENDPOINT or ENDPOINT,ENDPOINT,...")]
    Empty,
    /// One of the endpoints does not parse.
    #[error("server {position} of the list: {source}")]
    Endpoint {
        /// Its position in the list, from 1.
        position: usize,
        /// Why it does not parse.
        #[source]
        source: EndpointError,
    },
    /// More endpoints than one client balances over.
    #[error("{count} servers given; at most {MAX_ENDPOINTS} are allowed")]
    TooMany {
        /// How many were given.
        count: usize,
    },
}

impl Servers {
    /// A list of `endpoints`.
    ///
    /// # Errors
    ///
    /// [`ServersError::Empty`] or [`ServersError::TooMany`].
    pub fn new(endpoints: Vec<Endpoint>) -> Result<Servers, ServersError> {
        match endpoints.len() {
            0 => Err(ServersError::Empty),
            count if count > MAX_ENDPOINTS => Err(ServersError::TooMany { count }),
            _ => Ok(Servers(endpoints)),
        }
    }

    /// The endpoints, in the order given.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.0
    }

    /// A runtime client over these servers: plain for one endpoint, balanced for several.
    pub fn client(&self, options: ClientOptions) -> Client {
        match self.0.as_slice() {
            [one] => Client::with_options(one.clone(), options),
            many => Client::balanced_with_options(many.iter().cloned(), options)
                .unwrap_or_else(|_| unreachable!("`Servers` holds 1 to 64 endpoints")),
        }
    }

    /// As [`Servers::client`], blocking.
    pub fn blocking_client(&self, options: ClientOptions) -> BlockingClient {
        BlockingClient::from_async(self.client(options))
    }

    /// The typed async client over these servers.
    pub fn accounts(&self, options: ClientOptions) -> AccountsClient {
        AccountsClient::new(self.client(options))
    }

    /// The typed blocking client over these servers.
    pub fn accounts_blocking(&self, options: ClientOptions) -> AccountsBlockingClient {
        AccountsBlockingClient::new(self.blocking_client(options))
    }
}

impl From<Endpoint> for Servers {
    fn from(endpoint: Endpoint) -> Servers {
        Servers(vec![endpoint])
    }
}

impl FromStr for Servers {
    type Err = ServersError;

    fn from_str(list: &str) -> Result<Servers, ServersError> {
        let mut pieces: Vec<String> = Vec::new();
        for piece in list.split(',') {
            let starts_endpoint = ["tcp://", "unix://", "memory://"]
                .iter()
                .any(|scheme| piece.trim_start().starts_with(scheme));
            match pieces.last_mut() {
                Some(last) if !starts_endpoint => {
                    last.push(',');
                    last.push_str(piece);
                }
                _ => pieces.push(piece.to_owned()),
            }
        }
        if list.split(',').all(|p| p.trim().is_empty()) {
            return Err(ServersError::Empty);
        }
        let endpoints = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                piece
                    .trim()
                    .parse()
                    .map_err(|source| ServersError::Endpoint {
                        position: i + 1,
                        source,
                    })
            })
            .collect::<Result<Vec<Endpoint>, _>>()?;
        Servers::new(endpoints)
    }
}

impl fmt::Display for Servers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, endpoint) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{endpoint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_or_several_endpoints() {
        let one: Servers = "tcp://127.0.0.1:7878".parse().unwrap();
        assert_eq!(one.endpoints(), [Endpoint::tcp("127.0.0.1:7878")]);
        assert!(!one.client(ClientOptions::default()).is_balanced());
        let three: Servers = "tcp://a:1, unix:///run/a,b.sock,memory://m"
            .parse()
            .unwrap();
        assert_eq!(
            three.endpoints(),
            [
                Endpoint::tcp("a:1"),
                Endpoint::unix("/run/a,b.sock"),
                Endpoint::memory("m")
            ]
        );
        assert_eq!(
            three.to_string(),
            "tcp://a:1,unix:///run/a,b.sock,memory://m"
        );
        assert_eq!(three.to_string().parse::<Servers>().unwrap(), three);
        assert!(three.client(ClientOptions::default()).is_balanced());
    }

    #[test]
    fn refuses_empty_bad_and_too_long_lists() {
        assert_eq!("".parse::<Servers>(), Err(ServersError::Empty));
        assert_eq!(" , ".parse::<Servers>(), Err(ServersError::Empty));
        let bad = "tcp://a:1,http://b".parse::<Servers>().unwrap_err();
        assert!(
            matches!(bad, ServersError::Endpoint { position: 1, .. }),
            "{bad}"
        );
        let bad = "tcp://a:1,tcp://b".parse::<Servers>().unwrap_err();
        assert!(
            matches!(bad, ServersError::Endpoint { position: 2, .. }),
            "{bad}"
        );
        let many = vec!["memory://x"; 65].join(",");
        assert_eq!(
            many.parse::<Servers>(),
            Err(ServersError::TooMany { count: 65 })
        );
    }
}
