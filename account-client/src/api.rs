//! The account service's protocol: its messages and the `#[service]` trait.
//!
//! Every message is a fixed Wire record (network byte order), so a Python client reads them
//! with `struct`. Money is `i64` cents. Names are at most 32 bytes of UTF-8, passwords at most
//! 64. Mutating requests carry a client-chosen 16-byte idempotency key: a retry with the same
//! key returns the first answer and changes nothing.

use rpc_runtime::{FixedStr, Wire, service};

/// An account name: 1 to 32 bytes of UTF-8. The server stores names in Unicode normalisation
/// form C and refuses a new name that looks like an existing one.
pub type Name = FixedStr<32>;
/// A password: 8 to 64 bytes of UTF-8.
pub type Password = FixedStr<64>;
/// A session token, as returned by `login`.
pub type Token = [u8; 32];
/// An idempotency key, chosen at random by the client for each distinct mutation.
pub type IdemKey = [u8; 16];

/// Whether an account can still be used.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AccountStatus {
    /// Open for business.
    Open = 1,
    /// Closed: no more logins or money movements.
    Closed = 2,
}

/// What a ledger entry records.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EntryKind {
    /// The initial deposit made when the account was opened.
    Opening = 1,
    /// Money paid in.
    Deposit = 2,
    /// Money taken out.
    Withdrawal = 3,
    /// Money sent to another account.
    TransferOut = 4,
    /// Money received from another account.
    TransferIn = 5,
}

/// Everything that can go wrong, as the service reports it.
///
/// Errors never reveal whether a name exists to a caller who is not logged in: a bad name and
/// a bad password are both `InvalidCredentials`.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum AccountError {
    /// Name or password wrong (deliberately not saying which).
    InvalidCredentials = 1,
    /// The session token is unknown, logged out or expired: log in again.
    Unauthenticated = 2,
    /// Too many failed logins for this name recently: wait and retry.
    Throttled = 3,
    /// The name is taken, or looks like one that is (the same letters from another script, or
    /// the same text in another Unicode normalisation form).
    NameTaken = 4,
    /// The name is empty, too long, has control or invisible characters (format, tag,
    /// variation-selector, filler or blank characters), starts with a combining mark, or
    /// starts or ends with whitespace.
    InvalidName = 5,
    /// The password is shorter than 8 or longer than 64 bytes.
    InvalidPassword = 6,
    /// The amount is zero, negative, or too large.
    InvalidAmount = 7,
    /// The balance is too small for the withdrawal or transfer.
    InsufficientFunds = 8,
    /// The balance would exceed the largest representable amount.
    Overflow = 9,
    /// The other account of a transfer does not exist or is closed.
    RecipientNotFound = 10,
    /// A transfer to the sender's own account.
    SameAccount = 11,
    /// The account still holds money: withdraw or transfer it before closing.
    NonZeroBalance = 12,
    /// The account is closed.
    AccountClosed = 13,
    /// This idempotency key was already used for a different request.
    IdempotencyConflict = 14,
    /// The paging limit is zero or larger than 1,000.
    InvalidPage = 15,
    /// The server's storage failed; the request was not applied. Retrying is safe.
    StorageFailure = 16,
}

/// `open`: create an account, optionally with a first deposit.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct OpenRequest {
    /// Idempotency key.
    pub key: IdemKey,
    /// The new account's name.
    pub name: Name,
    /// Its password.
    pub password: Password,
    /// An initial deposit in cents (0 for none).
    pub initial_cents: i64,
}

/// An account as its owner sees it.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct AccountInfo {
    /// The account's id.
    pub id: u64,
    /// Its name.
    pub name: Name,
    /// Its balance in cents.
    pub balance_cents: i64,
    /// Open or closed.
    pub status: AccountStatus,
    /// When it was opened, in seconds since the Unix epoch.
    pub created_at: i64,
}

/// `login`: exchange a name and password for a session.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct LoginRequest {
    /// The account's name.
    pub name: Name,
    /// Its password.
    pub password: Password,
}

/// A session: present the token with every request that needs one.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Session {
    /// The secret token.
    pub token: Token,
    /// The account logged in.
    pub account_id: u64,
    /// When the session expires, in seconds since the Unix epoch.
    pub expires_at: i64,
}

/// A request that needs only a session: `logout`, `get`.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Auth {
    /// The session token.
    pub token: Token,
}

/// `list`: one page of accounts, by id.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// The session token.
    pub token: Token,
    /// Only accounts with a larger id (0 for the first page).
    pub after_id: u64,
    /// At most this many (1 to 1,000).
    pub limit: u32,
}

/// One row of `list`: what any logged-in user may see of an account.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct AccountSummary {
    /// The account's id.
    pub id: u64,
    /// Its name.
    pub name: Name,
    /// Open or closed.
    pub status: AccountStatus,
}

/// `rename`: change the session's account name.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct RenameRequest {
    /// The session token.
    pub token: Token,
    /// Idempotency key.
    pub key: IdemKey,
    /// The new name.
    pub name: Name,
}

/// `change_password`.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct PasswordRequest {
    /// The session token.
    pub token: Token,
    /// Idempotency key.
    pub key: IdemKey,
    /// The current password.
    pub old: Password,
    /// The new password.
    pub new: Password,
}

/// `deposit` and `withdraw`.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct AmountRequest {
    /// The session token.
    pub token: Token,
    /// Idempotency key.
    pub key: IdemKey,
    /// The amount in cents, greater than zero.
    pub cents: i64,
}

/// `transfer`: move money from the session's account to another.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct TransferRequest {
    /// The session token.
    pub token: Token,
    /// Idempotency key.
    pub key: IdemKey,
    /// The receiving account's name.
    pub to: Name,
    /// The amount in cents, greater than zero.
    pub cents: i64,
}

/// The outcome of a money movement.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The ledger entry on the session's account.
    pub entry_id: u64,
    /// The account's balance afterwards, in cents.
    pub balance_cents: i64,
    /// When it happened, in seconds since the Unix epoch.
    pub at: i64,
}

/// `history`: one page of the session account's ledger, newest first.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct HistoryRequest {
    /// The session token.
    pub token: Token,
    /// Only entries with a smaller id (0 for the newest page).
    pub before_id: u64,
    /// At most this many (1 to 1,000).
    pub limit: u32,
}

/// One ledger entry.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Entry {
    /// The entry's id; ids grow with time.
    pub id: u64,
    /// What happened.
    pub kind: EntryKind,
    /// The change to the balance in cents (negative for money out).
    pub cents: i64,
    /// The balance after the change.
    pub balance_after: i64,
    /// The other account of a transfer (empty otherwise).
    pub counterparty: Name,
    /// When it happened, in seconds since the Unix epoch.
    pub at: i64,
}

/// `close`: close the session's account, which must be empty.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct CloseRequest {
    /// The session token.
    pub token: Token,
    /// Idempotency key.
    pub key: IdemKey,
}

/// The account service.
#[service]
pub trait Accounts {
    /// Opens an account. Idempotent by key.
    async fn open(&self, request: OpenRequest) -> Result<AccountInfo, AccountError>;
    /// Logs in; failures do not say whether the name exists.
    async fn login(&self, request: LoginRequest) -> Result<Session, AccountError>;
    /// Ends a session.
    async fn logout(&self, request: Auth) -> Result<(), AccountError>;
    /// The session's account.
    #[rpc(read_only)]
    async fn get(&self, request: Auth) -> Result<AccountInfo, AccountError>;
    /// A page of all accounts (names and status only).
    #[rpc(read_only)]
    async fn list(&self, request: ListRequest) -> Result<Vec<AccountSummary>, AccountError>;
    /// Renames the session's account. Idempotent by key.
    async fn rename(&self, request: RenameRequest) -> Result<AccountInfo, AccountError>;
    /// Changes the password and ends every other session. Idempotent by key.
    async fn change_password(&self, request: PasswordRequest) -> Result<(), AccountError>;
    /// Pays money in. Idempotent by key.
    async fn deposit(&self, request: AmountRequest) -> Result<Receipt, AccountError>;
    /// Takes money out. Idempotent by key.
    async fn withdraw(&self, request: AmountRequest) -> Result<Receipt, AccountError>;
    /// Moves money to another account, atomically. Idempotent by key.
    async fn transfer(&self, request: TransferRequest) -> Result<Receipt, AccountError>;
    /// A page of the session account's ledger, newest first.
    #[rpc(read_only)]
    async fn history(&self, request: HistoryRequest) -> Result<Vec<Entry>, AccountError>;
    /// Closes the session's account, which must hold no money. Idempotent by key.
    async fn close(&self, request: CloseRequest) -> Result<AccountInfo, AccountError>;
}
