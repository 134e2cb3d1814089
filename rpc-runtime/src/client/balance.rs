//! Client-side balancing over several endpoints: picking one per call, taking failed ones out
//! of rotation and probing them back, retrying where the server cannot have started the call.
//! The rules are in the [`client`](crate::client) module docs.

use super::conn::Body;
use super::node::Failure;
use super::{BalanceError, Client, ClientOptions};
use crate::endpoint::Endpoint;
use crate::error::{RpcError, WireError};
use crate::frame::FrameKind;
use crate::status::Status;
use std::sync::Arc;
use std::time::Instant;

/// The most endpoints one balanced client takes (a call tracks the ones it tried in a `u64`).
pub const MAX_ENDPOINTS: usize = 64;

impl Client {
    /// A client that spreads its calls over `endpoints`, takes an endpoint out of rotation when
    /// it fails and probes it back, and retries a call on another endpoint when the server
    /// cannot have started it. See [`Client::balanced_with_options`].
    ///
    /// # Errors
    ///
    /// No endpoints, or more than [`MAX_ENDPOINTS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use rpc_runtime::{Client, Server};
    ///
    /// let a = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?.spawn()?;
    /// let b = Server::builder().listen("tcp://127.0.0.1:0".parse()?).bind()?.spawn()?;
    /// let client = Client::balanced([a.endpoints()[0].clone(), b.endpoints()[0].clone()])?;
    /// smol::block_on(async {
    ///     for _ in 0..4 {
    ///         client.ping().await?;
    ///     }
    ///     Ok::<(), rpc_runtime::RpcError>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn balanced(endpoints: impl IntoIterator<Item = Endpoint>) -> Result<Client, BalanceError> {
        Client::balanced_with_options(endpoints, ClientOptions::default())
    }

    /// A balanced client over `endpoints` with `options`.
    ///
    /// Calls go to one of the endpoints in rotation, picked by the power of two choices on
    /// this client's calls in flight. An endpoint leaves the rotation when it cannot be
    /// reached, loses or closes a connection, sends goaway or answers `unavailable`, and comes
    /// back when a background probe (connect and ping, after
    /// [`probe_backoff`](ClientOptions::probe_backoff), doubling) gets a pong.
    ///
    /// A call is retried on another endpoint only when the server cannot have started it: the
    /// connection could not be made, was closed before the request was queued, or the server
    /// answered `unavailable` (it did not start the call). A connection lost after the request
    /// was queued is **not** retried: the call may have run. Callers whose requests carry an
    /// idempotency key resend them unchanged; the retry then goes to a healthy endpoint. The
    /// [module docs](crate::client) list every case and why.
    ///
    /// The call's timeout covers all attempts; each request carries the time left as its
    /// deadline.
    ///
    /// # Errors
    ///
    /// [`BalanceError::NoEndpoints`] or [`BalanceError::TooMany`].
    pub fn balanced_with_options(
        endpoints: impl IntoIterator<Item = Endpoint>,
        options: ClientOptions,
    ) -> Result<Client, BalanceError> {
        let endpoints: Vec<Endpoint> = endpoints.into_iter().collect();
        match endpoints.len() {
            0 => Err(BalanceError::NoEndpoints),
            count @ 65.. => Err(BalanceError::TooMany {
                count,
                max: MAX_ENDPOINTS,
            }),
            _ => Ok(Client::from_nodes(endpoints, options, true)),
        }
    }

    pub(super) async fn balanced_raw(
        &self,
        kind: FrameKind,
        method: u32,
        schema: u32,
        encode: &impl Fn(&mut Vec<u8>) -> Result<(), WireError>,
    ) -> Result<(Status, Body), RpcError> {
        let shared = &self.shared;
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut tried = 0u64;
        let mut failures: Vec<(usize, RpcError)> = Vec::new();
        while let Some(i) = self.pick(tried) {
            tried |= 1 << i;
            let node = &shared.nodes[i];
            let wait = match deadline {
                None => None,
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => break,
                },
            };
            let outcome = {
                let _in_flight = node.enter();
                node.attempt(&shared.options, kind, method, schema, wait, encode)
                    .await
            };
            match outcome {
                Ok(answer) => {
                    if node.connection_gone() {
                        // Answered, then told to go away or closed: the server is leaving.
                        let why = RpcError::new(Status::Unavailable, "connection closed");
                        node.mark_down(&shared.options, &why);
                    } else {
                        node.mark_up();
                    }
                    return Ok(answer);
                }
                Err(Failure::Unstarted(e)) => {
                    node.mark_down(&shared.options, &e);
                    failures.push((i, e));
                }
                Err(Failure::Final(e)) => {
                    if e.status == Status::Unavailable || node.connection_gone() {
                        node.mark_down(&shared.options, &e);
                    }
                    return Err(e);
                }
            }
        }
        let n = shared.nodes.len();
        if failures.len() < n {
            // Stopped by the deadline before every endpoint was tried.
            let t = self.timeout.unwrap_or_default();
            let tried: Vec<String> = failures
                .iter()
                .map(|(i, e)| format!("{}: {}", shared.nodes[*i].endpoint, e.message))
                .collect();
            return Err(RpcError::new(
                Status::DeadlineExceeded,
                format!("no reply within {t:?} ({})", tried.join("; ")),
            ));
        }
        let each: Vec<String> = failures
            .iter()
            .map(|(i, e)| format!("{}: {}", shared.nodes[*i].endpoint, e.message))
            .collect();
        Err(RpcError::new(
            Status::Unavailable,
            format!(
                "all {n} endpoint{} unavailable: {}",
                if n == 1 { " is" } else { "s are" },
                each.join("; ")
            ),
        ))
    }

    /// The endpoint for the next attempt of a call that has tried the endpoints in `tried`:
    /// the less busy of two random ones in rotation, else the one out of rotation that is due
    /// for a probe soonest. Starts the probes that are due. `None` once every endpoint was
    /// tried.
    fn pick(&self, tried: u64) -> Option<usize> {
        let nodes = &self.shared.nodes;
        let now = Instant::now();
        let mut up = [0u8; MAX_ENDPOINTS];
        let mut ups = 0;
        let mut soonest: Option<(usize, Option<Instant>)> = None;
        for (i, node) in nodes.iter().enumerate() {
            if node.claim_probe(now) {
                smol::spawn(Arc::clone(node).probe(self.shared.options.clone())).detach();
            }
            if tried & (1 << i) != 0 {
                continue;
            }
            if node.is_up() {
                // `i` < MAX_ENDPOINTS = 64, so it fits.
                up[ups] = i as u8;
                ups += 1;
            } else {
                let at = node.probe_at();
                if soonest.is_none_or(|(_, best)| at < best) {
                    soonest = Some((i, at));
                }
            }
        }
        let (a, b) = match ups {
            0 => return soonest.map(|(i, _)| i),
            1 => return Some(usize::from(up[0])),
            _ => {
                let first = fastrand::usize(..ups);
                let second = (first + 1 + fastrand::usize(..ups - 1)) % ups;
                (usize::from(up[first]), usize::from(up[second]))
            }
        };
        Some(if nodes[b].in_flight() < nodes[a].in_flight() {
            b
        } else {
            a
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: usize) -> Client {
        let endpoints = (0..n).map(|i| Endpoint::memory(format!("balance-unit-{i}")));
        Client::balanced(endpoints).unwrap()
    }

    fn down(client: &Client, i: usize) {
        let why = RpcError::new(Status::Unavailable, "test");
        client.shared.nodes[i].mark_down(&client.shared.options, &why);
    }

    #[test]
    fn the_less_busy_of_two_gets_the_call() {
        let client = client(2);
        let _busy: Vec<_> = (0..5).map(|_| client.shared.nodes[0].enter()).collect();
        for _ in 0..50 {
            assert_eq!(client.pick(0), Some(1));
        }
        assert_eq!(client.pick(0b10), Some(0), "tried endpoints are skipped");
        assert_eq!(client.pick(0b11), None);
    }

    #[test]
    fn endpoints_out_of_rotation_are_picked_only_when_none_is_in() {
        let client = client(3);
        down(&client, 0);
        for _ in 0..50 {
            assert_ne!(client.pick(0), Some(0));
        }
        down(&client, 2);
        assert_eq!(client.pick(0), Some(1));
        // All tried or out: the one out of rotation that is due soonest.
        down(&client, 2);
        assert_eq!(client.pick(0b010), Some(0));
        client.shared.nodes[0].mark_up();
        assert_eq!(client.pick(0b010), Some(0));
    }
}
