//! The account service: a durable SQLite ledger behind the `Accounts` RPC service.
//!
//! [`AccountService`] implements [`account_client::api::Accounts`]: accounts with argon2id
//! passwords, sessions, deposits, withdrawals, atomic transfers and a ledger in which the sum
//! of all balances always equals the sum of all entries. Every mutating request carries an
//! idempotency key, so a retry returns the first answer and changes nothing, even after a
//! restart. Writes go through one writer thread that commits many requests per transaction
//! (group commit) without letting one request's failure undo another's; reads use a pool of
//! read-only connections. Neither runs on the async executor, and neither does argon2, which
//! runs on a fixed pool of threads with a bounded queue.
//!
//! The database sits behind the [`Store`] trait; [`SqliteStore`] is the embedded default, and
//! [`PgStore`] keeps everything in a PostgreSQL database that several servers share
//! (docs/DEPLOY.md).
//!
//! # Examples
//!
//! Open a database, serve it on a free port, and use it with the generated client:
//!
//! ```
//! use account_client::api::{AccountsBlockingClient, AmountRequest, LoginRequest, OpenRequest};
//! use account_service::{AccountService, Config, PasswordHashing, ServeAccounts};
//! use rpc_runtime::{BlockingClient, Server};
//!
//! let dir = tempfile::tempdir()?;
//! let mut config = Config::new(dir.path().join("accounts.db"));
//! config.password_hashing = PasswordHashing::INSECURE_FAST; // keep the example quick
//! let service = AccountService::open(config)?;
//!
//! let server = Server::builder()
//!     .listen("tcp://127.0.0.1:0".parse()?)
//!     .serve(ServeAccounts::new(service.clone()))
//!     .bind()?
//!     .spawn()?;
//! let accounts =
//!     AccountsBlockingClient::new(BlockingClient::new(server.endpoints()[0].clone()));
//!
//! let name = "alice".parse()?;
//! let password = "correct horse".parse()?;
//! accounts.open(OpenRequest { key: [1; 16], name, password, initial_cents: 1000 })?;
//! let session = accounts.login(LoginRequest { name, password })?;
//! let receipt = accounts.deposit(AmountRequest { token: session.token, key: [2; 16], cents: 250 })?;
//! assert_eq!(receipt.balance_cents, 1250);
//!
//! // A retry with the same key returns the first answer and changes nothing.
//! let again = accounts.deposit(AmountRequest { token: session.token, key: [2; 16], cents: 250 })?;
//! assert_eq!(again, receipt);
//!
//! drop(accounts);
//! server.stop();
//! service.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod config;
mod db;
mod error;
pub mod http;
mod pg;
mod serve;
mod service;
pub mod store;
mod validate;

pub use account_client::api::Accounts;
pub use auth::HashingStats;
pub use config::{Config, LoginThrottle, PasswordCostError, PasswordHashing, PgSettings};
pub use db::{Audit, SCHEMA_VERSION, SqliteStore, WriterStats};
pub use error::{Error, Result};
pub use pg::{
    ConnectError, MigrationReport, PG_SCHEMA_VERSION, PgStore, migrate_sqlite_to_postgres,
};
pub use serve::ServeAccounts;
pub use service::AccountService;
pub use store::Store;
