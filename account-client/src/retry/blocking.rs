//! The blocking client that keys and retries every mutation.

use super::{RetryPolicy, fresh_key, retry_unanswered_blocking};
use crate::api::{
    AccountError, AccountInfo, AccountsBlockingClient, AmountRequest, CloseRequest, Name,
    OpenRequest, Password, PasswordRequest, Receipt, RenameRequest, Token, TransferRequest,
};
use rpc_runtime::CallError;

/// The blocking [`AccountsBlockingClient`] with a fresh idempotency key for every mutation, retried as
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
/// Against a stand-in server that, like the real one, remembers its answer for each key:
///
/// ```
/// use account_client::{Accounts, AccountsBlockingClient, RetryingBlockingClient, ServeAccounts};
/// use account_client::api::*;
/// use rpc_runtime::{BlockingClient, Server};
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// #[derive(Default)]
/// struct Fake {
///     balance: Mutex<i64>,
///     seen: Mutex<HashMap<IdemKey, Receipt>>,
/// }
///
/// impl Accounts for Fake {
///     async fn deposit(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
///         let mut seen = self.seen.lock().unwrap();
///         if let Some(first) = seen.get(&r.key) {
///             return Ok(first.clone()); // a retry: the first answer, nothing applied
///         }
///         let mut balance = self.balance.lock().unwrap();
///         *balance += r.cents;
///         let receipt = Receipt { entry_id: seen.len() as u64 + 1, balance_cents: *balance, at: 0 };
///         seen.insert(r.key, receipt.clone());
///         Ok(receipt)
///     }
///     // The other methods are not needed here.
/// #   async fn open(&self, _: OpenRequest) -> Result<AccountInfo, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn login(&self, _: LoginRequest) -> Result<Session, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn logout(&self, _: Auth) -> Result<(), AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn get(&self, _: Auth) -> Result<AccountInfo, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn list(&self, _: ListRequest) -> Result<Vec<AccountSummary>, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn rename(&self, _: RenameRequest) -> Result<AccountInfo, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn change_password(&self, _: PasswordRequest) -> Result<(), AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn withdraw(&self, _: AmountRequest) -> Result<Receipt, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn transfer(&self, _: TransferRequest) -> Result<Receipt, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn history(&self, _: HistoryRequest) -> Result<Vec<Entry>, AccountError> { Err(AccountError::StorageFailure) }
/// #   async fn close(&self, _: CloseRequest) -> Result<AccountInfo, AccountError> { Err(AccountError::StorageFailure) }
/// }
///
/// let server = Server::builder()
///     .listen("tcp://127.0.0.1:0".parse()?)
///     .serve(ServeAccounts::new(Fake::default()))
///     .bind()?
///     .spawn()?;
/// let client = BlockingClient::new(server.endpoints()[0].clone());
/// let accounts = RetryingBlockingClient::new(AccountsBlockingClient::new(client));
/// let token = [0; 32];
/// assert_eq!(accounts.deposit(token, 1250)?.balance_cents, 1250);
/// // Each call is a new mutation with its own key, so both are applied.
/// assert_eq!(accounts.deposit(token, 50)?.balance_cents, 1300);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RetryingBlockingClient {
    client: AccountsBlockingClient,
    policy: RetryPolicy,
}

impl RetryingBlockingClient {
    /// Wraps `client` with the default [`RetryPolicy`].
    pub fn new(client: AccountsBlockingClient) -> RetryingBlockingClient {
        RetryingBlockingClient::with_policy(client, RetryPolicy::default())
    }

    /// Wraps `client` with `policy`.
    pub fn with_policy(
        client: AccountsBlockingClient,
        policy: RetryPolicy,
    ) -> RetryingBlockingClient {
        RetryingBlockingClient { client, policy }
    }

    /// The generated client underneath, for the calls that need no key.
    pub fn inner(&self) -> &AccountsBlockingClient {
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
    pub fn open(
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
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.open(r))
    }

    /// Renames the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn rename(&self, token: Token, name: Name) -> Result<AccountInfo, CallError<AccountError>> {
        let request = RenameRequest {
            token,
            key: fresh_key()?,
            name,
        };
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.rename(r))
    }

    /// Changes the session account's password from `old` to `new`.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn change_password(
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
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.change_password(r))
    }

    /// Pays `cents` into the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn deposit(&self, token: Token, cents: i64) -> Result<Receipt, CallError<AccountError>> {
        let request = AmountRequest {
            token,
            key: fresh_key()?,
            cents,
        };
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.deposit(r))
    }

    /// Takes `cents` out of the session's account.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn withdraw(&self, token: Token, cents: i64) -> Result<Receipt, CallError<AccountError>> {
        let request = AmountRequest {
            token,
            key: fresh_key()?,
            cents,
        };
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.withdraw(r))
    }

    /// Moves `cents` from the session's account to the account named `to`.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn transfer(
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
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.transfer(r))
    }

    /// Closes the session's account, which must hold no money.
    ///
    /// # Errors
    ///
    /// The service's [`AccountError`] or a runtime failure, after retries.
    pub fn close(&self, token: Token) -> Result<AccountInfo, CallError<AccountError>> {
        let request = CloseRequest {
            token,
            key: fresh_key()?,
        };
        retry_unanswered_blocking(&self.policy, &request, |r| self.client.close(r))
    }
}
