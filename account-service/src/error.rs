//! Errors of starting and stopping the service. Failures of single requests are
//! [`AccountError`](account_client::api::AccountError)s and go back to the caller instead.

use std::path::PathBuf;

/// The result of starting or stopping the service.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why the service could not start, stop or answer an administrative call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file could not be opened or configured.
    #[error("cannot open the database {}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of this program; it is left untouched.
    #[error("the database schema is version {found}, newer than this program's {supported}")]
    SchemaTooNew {
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this program knows.
        supported: u32,
    },
    /// Another process (or another store in this one) has the database open: two servers on
    /// one database would each think they own it.
    #[error("the database {} is in use by another account-server (it holds {})", path.display(), lock.display())]
    Locked {
        /// The database file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file beside the database could not be created or locked.
    #[error("cannot lock the database with {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be created owner-only, or its permissions could not be
    /// read or tightened.
    #[error("cannot make {} readable by its owner only", path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A migration failed; the database is left at the version it had before.
    #[error("migrating the database schema to version {version} failed")]
    Migration {
        /// The version the failed migration leads to.
        version: u32,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL URL (or key=value string) does not parse.
    #[error("invalid database url")]
    DatabaseUrl {
        /// What the parser said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The PostgreSQL server could not be reached or refused the session.
    #[error("cannot connect to the database")]
    Connect {
        /// Why.
        #[source]
        source: crate::pg::ConnectError,
    },
    /// A PostgreSQL statement outside a request failed.
    #[error("database query failed while {doing}")]
    Postgres {
        /// What was being done.
        doing: &'static str,
        /// What PostgreSQL said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A PostgreSQL migration failed; the database keeps the version it had.
    #[error("migrating the postgresql schema to version {version} failed")]
    PostgresMigration {
        /// The version the failed migration leads to.
        version: u32,
        /// What PostgreSQL said.
        #[source]
        source: tokio_postgres::Error,
    },
    /// `migrate-db` found accounts or idempotency records in the PostgreSQL database; it
    /// copies only into an empty one.
    #[error(
        "the postgresql database already holds accounts; migrate-db copies only into an empty one"
    )]
    TargetNotEmpty,
    /// The copy made by `migrate-db` does not balance or differs from its source; it was
    /// rolled back.
    #[error("the copied database does not match its source: {problem}")]
    CopyMismatch {
        /// What differs.
        problem: String,
    },
    /// A query outside a request (an audit, a migration check) failed.
    #[error("database query failed")]
    Query(#[from] rusqlite::Error),
    /// The argon2 parameters in the configuration are out of range.
    #[error("invalid password hashing parameters: {0}")]
    PasswordHashing(argon2::Error),
    /// The operating system's random number generator failed.
    #[error("the random number generator failed: {0}")]
    Random(getrandom::Error),
    /// A thread could not be started.
    #[error("cannot start the {name} thread")]
    Thread {
        /// Which thread.
        name: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The writer thread panicked; requests it had not committed were not applied.
    #[error("the database writer thread panicked")]
    WriterPanicked,
}
