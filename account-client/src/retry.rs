//! Retrying mutations safely when the server did not answer.
//!
//! Every mutating request carries an idempotency key, and the server remembers the answer it
//! gave for each key: a request that arrives again with the same key and the same contents is
//! not applied again, it gets the first answer back. That makes one kind of retry safe, and
//! this module does exactly that kind:
//!
//! - the key is generated **once**, before the first attempt, and every attempt sends the
//!   **identical** request (same key, same fields);
//! - only an unanswered call is retried: [`Status::Unavailable`] (the connection was refused
//!   or lost, or the server is shutting down) and [`Status::DeadlineExceeded`] (no answer
//!   within the call's timeout). Neither means "not applied": the server may have committed
//!   the request and the answer been lost, or still be on its way. Resending the identical
//!   request applies it at most once, and the answer to the last attempt is the true outcome;
//! - every other outcome is final and returned as is. A service error (insufficient funds, name
//!   taken, …) is the server's answer and would only be repeated; a protocol or internal error
//!   does not heal by repetition.
//!
//! Retrying with a *new* key after an unanswered call would be wrong: the server would see a
//! new request and could apply a deposit or transfer twice. So when the retries run out, the
//! outcome is still unknown: calling the same method again is a *new* mutation. To finish the
//! one in doubt later, keep its request (key included) and pass it to [`retry_unanswered`] or
//! [`retry_unanswered_blocking`] again.
//!
//! [`RetryingClient`] and [`RetryingBlockingClient`] wrap the generated clients and do this for
//! every mutation; [`retry_unanswered`] and [`retry_unanswered_blocking`] do it for a request
//! you built yourself, for instance with a key you stored to resume after a crash or a
//! timeout.

mod blocking;
mod client;

pub use blocking::RetryingBlockingClient;
pub use client::RetryingClient;

use crate::api::IdemKey;
use crate::keys::new_idem_key;
use rpc_runtime::frame::Status;
use rpc_runtime::{CallError, RpcError};
use std::future::Future;
use std::time::Duration;

/// How many attempts to make, and how long to wait between them.
///
/// The wait before retry `n` (1-based) is `first_backoff * 2^(n-1)`, at most `max_backoff`,
/// of which a random part up to one half is taken off so that many clients cut off by the
/// same server restart do not all come back at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, counting the first; 1 means no retry.
    pub attempts: u32,
    /// The wait before the first retry.
    pub first_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, waiting up to 100 ms, 200 ms and 400 ms in between.
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// A policy that makes one attempt and never retries.
    pub const NEVER: RetryPolicy = RetryPolicy {
        attempts: 1,
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// The wait before retry `retry` (1 for the first retry), before jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// The jittered wait before retry `retry`: between half and all of [`Self::backoff`].
    fn wait(&self, retry: u32) -> Duration {
        let full = self.backoff(retry);
        let random = getrandom::u32().unwrap_or(0);
        full / 2 + (full / 2).mul_f64(f64::from(random) / f64::from(u32::MAX))
    }
}

/// Whether a call that failed with `status` went unanswered, so that its outcome is unknown
/// and resending the identical request is both safe and needed to learn it.
pub fn is_unanswered(status: Status) -> bool {
    matches!(status, Status::Unavailable | Status::DeadlineExceeded)
}

/// Calls `call` with clones of `request` until it returns anything but an unanswered call
/// ([`is_unanswered`]), or `policy.attempts` attempts are made.
///
/// The request, idempotency key included, is the same on every attempt; see the
/// [module docs](self) for why that makes the retry safe.
///
/// # Errors
///
/// The last attempt's error: the service's own error, or a runtime failure.
///
/// # Examples
///
/// ```no_run
/// use account_client::retry::{RetryPolicy, retry_unanswered};
/// use account_client::{AccountsClient, AmountRequest, new_idem_key};
///
/// # async fn run(accounts: AccountsClient, token: [u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
/// // A key saved before the first attempt lets a restarted program finish the same deposit.
/// let request = AmountRequest { token, key: new_idem_key()?, cents: 1250 };
/// let receipt = retry_unanswered(&RetryPolicy::default(), &request, |r| accounts.deposit(r)).await?;
/// println!("balance: {}", receipt.balance_cents);
/// # Ok(())
/// # }
/// ```
pub async fn retry_unanswered<Req, T, E, F, Fut>(
    policy: &RetryPolicy,
    request: &Req,
    mut call: F,
) -> Result<T, CallError<E>>
where
    Req: Clone,
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Result<T, CallError<E>>>,
{
    let mut attempt = 1;
    loop {
        match call(request.clone()).await {
            Err(e) if is_unanswered(e.status()) && attempt < policy.attempts => {
                smol::Timer::after(policy.wait(attempt)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// As [`retry_unanswered`], blocking the calling thread, for the blocking client.
///
/// # Errors
///
/// The last attempt's error: the service's own error, or a runtime failure.
pub fn retry_unanswered_blocking<Req, T, E, F>(
    policy: &RetryPolicy,
    request: &Req,
    mut call: F,
) -> Result<T, CallError<E>>
where
    Req: Clone,
    F: FnMut(Req) -> Result<T, CallError<E>>,
{
    let mut attempt = 1;
    loop {
        match call(request.clone()) {
            Err(e) if is_unanswered(e.status()) && attempt < policy.attempts => {
                std::thread::sleep(policy.wait(attempt));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// A fresh key, or the runtime error that stands for the RNG failing (nothing was sent).
fn fresh_key<E>() -> Result<IdemKey, CallError<E>> {
    new_idem_key().map_err(|e| {
        RpcError::new(
            Status::Internal,
            format!("cannot make an idempotency key: {e}"),
        )
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn unavailable() -> CallError<u8> {
        RpcError::new(Status::Unavailable, "connection refused").into()
    }

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let waits: Vec<u128> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
        for n in 1..=5 {
            let wait = policy.wait(n);
            assert!(wait >= policy.backoff(n) / 2 && wait <= policy.backoff(n));
        }
    }

    #[test]
    fn retries_the_same_request_while_unavailable() {
        let seen = Cell::new(Vec::new());
        let result = retry_unanswered_blocking(&quick(4), &[7u8; 16], |request| {
            let mut calls = seen.take();
            calls.push(request);
            let n = calls.len();
            seen.set(calls);
            if n < 3 { Err(unavailable()) } else { Ok(n) }
        });
        assert_eq!(result, Ok(3));
        assert_eq!(seen.take(), vec![[7u8; 16]; 3]);
    }

    #[test]
    fn retries_the_same_request_after_a_timeout() {
        let seen = Cell::new(Vec::new());
        let late: CallError<u8> = RpcError::new(Status::DeadlineExceeded, "no reply").into();
        let result = retry_unanswered_blocking(&quick(4), &[9u8; 16], |request| {
            let mut calls = seen.take();
            calls.push(request);
            let n = calls.len();
            seen.set(calls);
            if n == 1 { Err(late.clone()) } else { Ok(n) }
        });
        assert_eq!(result, Ok(2));
        assert_eq!(seen.take(), vec![[9u8; 16]; 2]);
        assert!(is_unanswered(Status::Unavailable) && is_unanswered(Status::DeadlineExceeded));
    }

    #[test]
    fn gives_up_after_the_last_attempt() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_unanswered_blocking(&quick(3), &(), |()| {
            calls.set(calls.get() + 1);
            Err(unavailable())
        });
        assert_eq!(result.unwrap_err().status(), Status::Unavailable);
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn never_retries_other_errors() {
        let errors: [CallError<u8>; 4] = [
            CallError::Application(8),
            RpcError::new(Status::Internal, "broken").into(),
            RpcError::new(Status::BadRequest, "garbled").into(),
            RpcError::new(Status::ResourceExhausted, "busy").into(),
        ];
        for error in errors {
            let calls = Cell::new(0);
            let result: Result<(), _> = retry_unanswered_blocking(&quick(5), &(), |()| {
                calls.set(calls.get() + 1);
                Err(error.clone())
            });
            assert_eq!(result, Err(error));
            assert_eq!(calls.get(), 1);
        }
    }

    #[test]
    fn async_retry_matches_blocking() {
        let calls = Cell::new(0);
        let result = smol::block_on(retry_unanswered(&quick(4), &5u8, |n| {
            calls.set(calls.get() + 1);
            let outcome = if calls.get() < 2 {
                Err(unavailable())
            } else {
                Ok(n * 2)
            };
            async move { outcome }
        }));
        assert_eq!(result, Ok(10));
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn never_policy_makes_one_attempt() {
        let calls = Cell::new(0);
        let result: Result<(), _> = retry_unanswered_blocking(&RetryPolicy::NEVER, &(), |()| {
            calls.set(calls.get() + 1);
            Err(unavailable())
        });
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }
}
