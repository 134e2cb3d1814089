//! The async client that keys and retries every mutation.

use super::{RetryPolicy, fresh_key, retry_unanswered};
use crate::api::{
    AccountError, AccountInfo, AccountsClient, AmountRequest, CloseRequest, Name, OpenRequest,
    Password, PasswordRequest, Receipt, RenameRequest, Token, TransferRequest,
};
use rpc_runtime::CallError;

/// The async [`AccountsClient`] with a fresh idempotency key for every mutation, retried as
/// the [module docs](super) describe while the call goes unanswered (server unavailable or
/// no reply within the timeout).
///
/// When a mutation still fails with `unavailable` or `deadline exceeded` after the last
/// attempt, it may or may not have been applied, and calling the method again is a *new*
/// mutation with a new key. To finish it, build the request yourself and resend it with
/// [`retry_unanswered`](super::retry_unanswered) (see the [module docs](super)).
///
/// Reads (`login`, `get`, `list`, `history`, `logout`) carry no key: call them on
/// [`inner`](Self::inner).
///
/// # Examples
///
/// ```no_run
/// use account_client::{AccountsClient, Name, RetryingClient};
/// use rpc_runtime::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let accounts = RetryingClient::new(AccountsClient::new(Client::new("tcp://127.0.0.1:7878".parse()?)));
/// let info = accounts.open(Name::new("alice")?, "correct horse".parse()?, 1250).await?;
/// assert_eq!(info.balance_cents, 1250);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RetryingClient {
    client: AccountsClient,
    policy: RetryPolicy,
}

impl RetryingClient {
    /// Wraps `client` with the default [`RetryPolicy`].
    pub fn new(client: AccountsClient) -> RetryingClient {
        RetryingClient::with_policy(client, RetryPolicy::default())
    }

    /// Wraps `client` with `policy`.
    pub fn with_policy(client: AccountsClient, policy: RetryPolicy) -> RetryingClient {
        RetryingClient { client, policy }
    }

    /// The generated client underneath, for the calls that need no key.
    pub fn inner(&self) -> &AccountsClient {
        &self.client
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Opens an account named `name` with `initial_cents` paid in (0 for none).
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn open(
        &self,
        name: Name,
        password: Password,
        initial_cents: i64,
    ) -> Result<AccountInfo, CallError<AccountError>> {
        let request = OpenRequest {
            key: fresh_key()?,
            name,
            password,
            initial_cents,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.open(r)).await
    }

    /// Renames the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn rename(
        &self,
        token: Token,
        name: Name,
    ) -> Result<AccountInfo, CallError<AccountError>> {
        let request = RenameRequest {
            token,
            key: fresh_key()?,
            name,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.rename(r)).await
    }

    /// Changes the session account's password from `old` to `new`.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn change_password(
        &self,
        token: Token,
        old: Password,
        new: Password,
    ) -> Result<(), CallError<AccountError>> {
        let request = PasswordRequest {
            token,
            key: fresh_key()?,
            old,
            new,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.change_password(r)).await
    }

    /// Pays `cents` into the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn deposit(
        &self,
        token: Token,
        cents: i64,
    ) -> Result<Receipt, CallError<AccountError>> {
        let request = AmountRequest {
            token,
            key: fresh_key()?,
            cents,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.deposit(r)).await
    }

    /// Takes `cents` out of the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn withdraw(
        &self,
        token: Token,
        cents: i64,
    ) -> Result<Receipt, CallError<AccountError>> {
        let request = AmountRequest {
            token,
            key: fresh_key()?,
            cents,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.withdraw(r)).await
    }

    /// Moves `cents` from the session's account to the account named `to`.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn transfer(
        &self,
        token: Token,
        to: Name,
        cents: i64,
    ) -> Result<Receipt, CallError<AccountError>> {
        let request = TransferRequest {
            token,
            key: fresh_key()?,
            to,
            cents,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.transfer(r)).await
    }

    /// Closes the session's account, which must hold no money.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub async fn close(&self, token: Token) -> Result<AccountInfo, CallError<AccountError>> {
        let request = CloseRequest {
            token,
            key: fresh_key()?,
        };
        retry_unanswered(&self.policy, &request, |r| self.client.close(r)).await
    }
}
