//! The storage seam: the one trait a database backend implements, and the values that cross it.
//!
//! [`AccountService`](crate::AccountService) does everything that needs no database
//! (validation, password hashing, tokens, throttling) and hands the rest to a [`Store`]. The
//! store owns transactions, idempotency records and the ledger rules; [`SqliteStore`] is the
//! embedded implementation, [`PgStore`] the one several servers can share.
//!
//! A store never sees a password or a session token: only argon2 PHC strings and
//! [`TokenHash`]es.
//!
//! [`SqliteStore`]: crate::SqliteStore
//! [`PgStore`]: crate::PgStore

use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountSummary, Entry, IdemKey, Name, Receipt, Token,
};
use blake2::{Blake2b256, Digest};
use core::future::Future;
use rpc_runtime::Message;
use std::time::Duration;

/// The blake2b-256 hash of a session token: all a store keeps of one.
///
/// Tokens are 32 random bytes, so a fast hash is enough: the hash cannot be turned back into
/// the token, and looking sessions up by hash means no comparison ever touches the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a token.
    pub fn of(token: &Token) -> Self {
        TokenHash(blake2b256(&[token]))
    }
}

/// What makes two requests with the same idempotency key "the same request": the blake2b-256
/// hash of the method's name and the request's bytes with its secrets (token, passwords)
/// zeroed.
///
/// Secrets stay out so that a retry after logging in again still matches, and so that the
/// database never holds a fast hash of a password. Requests that set a password record its
/// argon2 hash instead (see [`Replay::secret`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of `canonical`, the request's packed bytes with secrets zeroed, sent to
    /// `method`.
    pub fn of(method: &str, canonical: &[u8]) -> Self {
        Fingerprint(blake2b256(&[method.as_bytes(), &[0], canonical]))
    }
}

fn blake2b256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Blake2b256::new();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0; 32];
    out.copy_from_slice(&hasher.finalize());
    out
}

/// An encoded `Result<T, AccountError>`: what an idempotency record keeps of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    /// `true` for `Ok`, `false` for an [`AccountError`].
    pub ok: bool,
    /// The response or the error, encoded as on the wire.
    pub body: Vec<u8>,
}

impl StoredReply {
    /// Encodes a reply.
    pub fn encode<T: Message>(result: &Result<T, AccountError>) -> Self {
        let mut body = Vec::new();
        let (ok, encoded) = match result {
            Ok(value) => (true, value.encode(&mut body)),
            Err(error) => (false, error.encode(&mut body)),
        };
        match encoded {
            Ok(()) => StoredReply { ok, body },
            // Only lists can fail to encode, and no keyed reply is a list.
            Err(_) => StoredReply::encode::<()>(&Err(AccountError::StorageFailure)),
        }
    }

    /// Decodes a reply; a record that no longer decodes is a `StorageFailure`.
    pub fn decode<T: Message>(&self) -> Result<T, AccountError> {
        if self.ok {
            T::decode(&self.body).map_err(|_| AccountError::StorageFailure)
        } else {
            Err(AccountError::decode(&self.body).unwrap_or(AccountError::StorageFailure))
        }
    }
}

/// A keyed mutation on the session's account.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<T> {
    /// The session.
    pub token: TokenHash,
    /// The idempotency key; records are kept per account.
    pub key: IdemKey,
    /// The request's fingerprint.
    pub fingerprint: Fingerprint,
    /// What the method needs besides.
    pub args: T,
}

/// `open`: a new account. Keys of `open` are kept in one namespace shared by all callers.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    /// The idempotency key.
    pub key: IdemKey,
    /// The request's fingerprint.
    pub fingerprint: Fingerprint,
    /// The (validated, NFC) name.
    pub name: Name,
    /// The name's confusable skeleton; the store refuses one that another account has.
    pub skeleton: String,
    /// The argon2 PHC string of the password.
    pub password_hash: String,
    /// The opening deposit, zero or more cents.
    pub initial_cents: i64,
}

/// `rename`'s argument: a validated name in normalisation form C and its UTS #39 skeleton
/// (see `validate::new_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewName {
    /// The name.
    pub name: Name,
    /// What it looks like; no two accounts share one.
    pub skeleton: String,
}

/// `login`, after the password was verified: a session to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The account.
    pub account_id: u64,
    /// The PHC string the password was verified against; if it changed since, the login
    /// fails with `InvalidCredentials`.
    pub password_hash: String,
    /// The new session's token hash.
    pub token: TokenHash,
    /// How long the session lasts.
    pub ttl: Duration,
}

/// `change_password`, after the old password was verified and the new one hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPassword {
    /// The PHC string the old password was verified against; if it changed since, the request
    /// fails with `InvalidCredentials`.
    pub old_hash: String,
    /// The new PHC string.
    pub new_hash: String,
}

/// `transfer`'s arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// The receiving account's (validated) name.
    pub to: Name,
    /// The amount, more than zero cents.
    pub cents: i64,
}

/// What login needs to know about an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    /// The account.
    pub account_id: u64,
    /// Its argon2 PHC string.
    pub password_hash: String,
    /// Open or closed.
    pub status: AccountStatus,
}

/// A login attempt counted in the database, for throttling shared by several servers (see
/// [`Store::login_attempt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAttempt {
    /// The attempt's row.
    pub id: i64,
    /// The name tried.
    pub name: Name,
    /// Who tried it: `ip:ADDRESS`, `unix` or `local`.
    pub client: String,
}

/// How a login attempt ended, for [`Store::login_settled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The password was wrong (or the name unknown): the attempt keeps counting.
    Failed,
    /// The password was right: this client's attempts on this name are forgotten.
    Succeeded,
    /// The password was never checked: the attempt is handed back.
    Refunded,
}

/// The first answer to a request whose key was used again by the same request.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay<T> {
    /// The first answer, unchanged.
    pub result: Result<T, AccountError>,
    /// For requests that set a password (`open`, `change_password`): the PHC string of the
    /// password the first request set. The service verifies the retry's password against it
    /// and answers `IdempotencyConflict` when it does not match.
    pub secret: Option<String>,
}

/// The outcome of a keyed mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// The store ran the request now: it applied it, or refused it (a refusal that is the
    /// caller's fault is recorded under the key like a success).
    Fresh(Result<T, AccountError>),
    /// The key was already used by a request with the same fingerprint.
    Replayed(Replay<T>),
}

/// The storage operations behind [`Accounts`](account_client::api::Accounts).
///
/// Methods that take a [`TokenHash`] resolve the session themselves (a missing or expired one
/// is `Unauthenticated`), so that the check and the change happen in one transaction. Storage
/// failures come back as `StorageFailure`, and then nothing was applied.
///
/// The methods return `Send` futures, so the service can be generic over the backend
/// (`AccountService<S: Store>`); the choice is made at compile time.
///
/// Keyed mutations follow one protocol: in the same transaction as the change, look up
/// `(account, key)` (for `open`, `(0, key)`); when found with the same fingerprint, answer
/// [`Answer::Replayed`] and change nothing; when found with another fingerprint, answer
/// `IdempotencyConflict`; otherwise run the request and record its fingerprint and encoded
/// reply, unless the reply is `Unauthenticated`, `InvalidCredentials` or `StorageFailure`
/// (nothing happened, and the caller may retry under the same key).
pub trait Store: Send + Sync + 'static {
    /// Creates an account (with an `Opening` ledger entry when `initial_cents > 0`);
    /// `NameTaken` when another account has the name's skeleton.
    fn open_account(&self, request: NewAccount)
    -> impl Future<Output = Answer<AccountInfo>> + Send;

    /// The credentials of the account called `name`, if any.
    fn credentials(
        &self,
        name: Name,
    ) -> impl Future<Output = Result<Option<Credentials>, AccountError>> + Send;

    /// Starts a session and returns when it expires (seconds since the Unix epoch).
    fn start_session(
        &self,
        session: NewSession,
    ) -> impl Future<Output = Result<i64, AccountError>> + Send;

    /// Ends a session.
    fn end_session(
        &self,
        token: TokenHash,
    ) -> impl Future<Output = Result<(), AccountError>> + Send;

    /// The session's account.
    fn account(
        &self,
        token: TokenHash,
    ) -> impl Future<Output = Result<AccountInfo, AccountError>> + Send;

    /// A page of all accounts with ids above `after_id`, in id order.
    fn list(
        &self,
        token: TokenHash,
        after_id: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AccountSummary>, AccountError>> + Send;

    /// A page of the session account's ledger with ids below `before_id` (0: no bound),
    /// newest first.
    fn history(
        &self,
        token: TokenHash,
        before_id: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Entry>, AccountError>> + Send;

    /// Before `change_password` verifies the old password: the session account's credentials,
    /// and the replay when `key` was already used by a request with this fingerprint
    /// (`IdempotencyConflict` when used by another).
    fn password_context(
        &self,
        token: TokenHash,
        key: IdemKey,
        fingerprint: Fingerprint,
    ) -> impl Future<Output = Result<(Credentials, Option<Replay<()>>), AccountError>> + Send;

    /// Renames the session's account; `NameTaken` when another account has the name's
    /// skeleton.
    fn rename(&self, request: Keyed<NewName>) -> impl Future<Output = Answer<AccountInfo>> + Send;

    /// Replaces the password and ends the account's other sessions.
    fn change_password(
        &self,
        request: Keyed<NewPassword>,
    ) -> impl Future<Output = Answer<()>> + Send;

    /// Pays money in.
    fn deposit(&self, request: Keyed<i64>) -> impl Future<Output = Answer<Receipt>> + Send;

    /// Takes money out.
    fn withdraw(&self, request: Keyed<i64>) -> impl Future<Output = Answer<Receipt>> + Send;

    /// Moves money to another open account, writing both ledger entries atomically.
    fn transfer(&self, request: Keyed<Payment>) -> impl Future<Output = Answer<Receipt>> + Send;

    /// Closes the session's account, which must hold no money.
    fn close(&self, request: Keyed<()>) -> impl Future<Output = Answer<AccountInfo>> + Send;

    /// Counts a login attempt on `name` by `client` where every server sees it, or refuses it
    /// with `Throttled` when too many recent ones failed (over all servers). The service's
    /// in-memory throttle runs first either way.
    ///
    /// The default, for a store only one server uses, counts nothing and returns `None`.
    fn login_attempt(
        &self,
        name: Name,
        client: String,
    ) -> impl Future<Output = Result<Option<SharedAttempt>, AccountError>> + Send {
        let _ = (name, client);
        async { Ok(None) }
    }

    /// Records how an attempt from [`Store::login_attempt`] ended. Best effort: a failure
    /// here is logged, not answered.
    fn login_settled(
        &self,
        attempt: SharedAttempt,
        outcome: LoginOutcome,
    ) -> impl Future<Output = ()> + Send {
        let _ = (attempt, outcome);
        async {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_replies_round_trip() {
        let receipt = Receipt {
            entry_id: 7,
            balance_cents: 1250,
            at: 1_700_000_000,
        };
        let ok = StoredReply::encode(&Ok(receipt.clone()));
        assert!(ok.ok);
        assert_eq!(ok.decode::<Receipt>(), Ok(receipt));
        let err = StoredReply::encode::<Receipt>(&Err(AccountError::InsufficientFunds));
        assert!(!err.ok);
        assert_eq!(
            err.decode::<Receipt>(),
            Err(AccountError::InsufficientFunds)
        );
        let unit = StoredReply::encode(&Ok(()));
        assert_eq!(unit.decode::<()>(), Ok(()));
        let garbage = StoredReply {
            ok: true,
            body: vec![1, 2, 3],
        };
        assert_eq!(
            garbage.decode::<Receipt>(),
            Err(AccountError::StorageFailure)
        );
    }

    #[test]
    fn fingerprints_separate_methods_and_bytes() {
        let a = Fingerprint::of("deposit", &[1, 2, 3]);
        assert_eq!(a, Fingerprint::of("deposit", &[1, 2, 3]));
        assert_ne!(a, Fingerprint::of("withdraw", &[1, 2, 3]));
        assert_ne!(a, Fingerprint::of("deposit", &[1, 2, 4]));
        assert_ne!(TokenHash::of(&[0; 32]), TokenHash::of(&[1; 32]));
    }
}
