//! The account system's typed client: the protocol, idempotency keys, money as exact cents,
//! and safe retries.
//!
//! [`api`] holds the messages and the [`Accounts`] service trait, from which `#[service]`
//! generates [`AccountsClient`] (async) and [`AccountsBlockingClient`]. On top of those this
//! crate adds what every caller needs: [`new_idem_key`] for the key each mutation carries,
//! [`parse_cents`] and [`format_cents`] to read and show amounts without floating point, and
//! [`RetryingClient`] / [`RetryingBlockingClient`], which key every mutation once and resend
//! it unchanged while no answer comes (see [`retry`] for why that is safe). [`Servers`] names
//! one server or several on one database (`tcp://a:7878,tcp://b:7878`) and makes a client
//! that spreads calls over them and fails over; a retried mutation keeps its key on whichever
//! server it lands. The `account` command-line tool is built on this library; its README lists its commands and
//! exit codes.
//!
//! # Examples
//!
//! ```
//! use account_client::{format_cents, parse_cents};
//!
//! let cents = parse_cents("12.50")?;
//! assert_eq!(cents, 1250);
//! assert_eq!(format_cents(cents - 1300), "-0.50");
//! assert!(parse_cents("12.505").is_err());
//! # Ok::<(), account_client::MoneyError>(())
//! ```

pub mod api;
mod keys;
mod money;
pub mod retry;
mod servers;

pub use api::{
    AccountError, AccountInfo, AccountStatus, AccountSummary, Accounts, AccountsBlockingClient,
    AccountsClient, AmountRequest, Auth, CloseRequest, Entry, EntryKind, HistoryRequest, IdemKey,
    ListRequest, LoginRequest, Name, OpenRequest, Password, PasswordRequest, Receipt,
    RenameRequest, ServeAccounts, Session, Token, TransferRequest,
};
pub use keys::{KeyError, new_idem_key};
pub use money::{MoneyError, format_cents, parse_cents};
pub use retry::{RetryPolicy, RetryingBlockingClient, RetryingClient};
pub use servers::{Servers, ServersError};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDocTests;
