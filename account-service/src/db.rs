//! The SQLite backend: [`SqliteStore`], one writer thread with group commit and a pool of
//! read-only connections.
//!
//! The database runs in WAL mode with `synchronous=FULL` (in WAL mode `NORMAL` can lose
//! acknowledged commits on power loss), foreign keys on, and a busy timeout. Write
//! transactions begin `IMMEDIATE`, so they take the write lock up front rather than failing on
//! a stale snapshot half-way.

pub(crate) mod audit;
mod checkpoint;
pub(crate) mod codes;
pub(crate) mod file;
pub(crate) mod idempotency;
pub(crate) mod migrations;
pub(crate) mod ops;
mod queries;
mod readers;
mod schema;
mod writer;

pub use audit::Audit;
#[cfg(test)]
pub(crate) use writer::THREAD_NAME as WRITER_THREAD;
pub use writer::WriterStats;

use crate::config::Config;
use crate::error::Error;
use crate::store::{
    Answer, Credentials, Fingerprint, Keyed, NewAccount, NewName, NewPassword, NewSession, Payment,
    Replay, Store, TokenHash,
};
use account_client::api::{
    AccountError, AccountInfo, AccountSummary, Entry, IdemKey, Name, Receipt, Session,
};
use ops::{Op, Outcome};
use readers::Readers;
use rpc_runtime::Message;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;
use writer::Writer;
pub(crate) use writer::unix_now;

/// The schema version this program reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: u32 = schema::VERSION;

/// Accounts, sessions, the ledger and idempotency records in one SQLite file.
///
/// Writes go to one writer thread that commits many requests per transaction; reads use a
/// pool of read-only connections on blocking threads. Nothing here blocks the async executor.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    checkpointer: checkpoint::Checkpointer,
    /// Held for the store's life: no second store opens the same database.
    _lock: file::Lock,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database, then starts the writer.
    ///
    /// This blocks while it opens the file and migrates: call it before serving.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] when another store (in this process or another) has the database
    /// open, [`Error::Lock`] or [`Error::Permissions`] when the lock file or the database file
    /// cannot be set up, [`Error::Open`] when the file cannot be opened or configured,
    /// [`Error::SchemaTooNew`] for a database from a newer program, [`Error::Migration`] when
    /// a migration fails (the file keeps its old version), [`Error::Thread`] when the writer
    /// thread cannot start.
    pub fn open(config: &Config) -> Result<Self, Error> {
        let path = &config.db_path;
        let open_error = |source| Error::Open {
            path: path.clone(),
            source,
        };
        let lock = file::lock(path)?;
        file::create_owner_only(path)?;
        let mut conn = connect(path, config.busy_timeout).map_err(open_error)?;
        // WAL mode is on: `-wal` and `-shm` exist now, with the database's permissions.
        file::tighten(path)?;
        let version = migrations::migrate(&mut conn)?;
        if config.audit_each_batch {
            let report = audit::audit(&conn)?;
            if !report.is_balanced() {
                tracing::error!(problems = ?report.problems, "the ledger does not balance");
            }
        }
        let readers =
            Readers::open(path, config.readers, config.busy_timeout).map_err(open_error)?;
        let writer = Writer::start(
            conn,
            writer::Settings {
                max_batch: config.max_batch,
                queue_depth: config.queue_depth,
                audit: config.audit_each_batch,
            },
        )?;
        let checkpointer =
            checkpoint::Checkpointer::start(path, config.busy_timeout).map_err(|source| {
                Error::Thread {
                    name: "sqlite-checkpoint",
                    source,
                }
            })?;
        tracing::info!(path = %path.display(), schema = version, "database open");
        Ok(SqliteStore {
            writer,
            readers,
            checkpointer,
            _lock: lock,
        })
    }

    /// Checks the ledger invariant over the whole database, in one read transaction.
    ///
    /// # Errors
    ///
    /// When a query fails.
    pub async fn audit(&self) -> Result<Audit, Error> {
        Ok(self.readers.run_raw(audit::audit).await?)
    }

    /// How many batches and requests the writer has committed.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Stops the writer after it has run every request already queued, and closes its
    /// connection. Later writes fail with `StorageFailure`. Blocks until the writer is done.
    ///
    /// # Errors
    ///
    /// [`Error::WriterPanicked`] when the writer thread panicked.
    pub fn shutdown(&self) -> Result<(), Error> {
        let stopped = self.writer.shutdown();
        self.checkpointer.shutdown();
        stopped
    }

    async fn keyed<T: Message>(&self, op: Op) -> Answer<T> {
        match self.writer.submit(op).await {
            Outcome::Fresh(reply) => Answer::Fresh(reply.decode()),
            Outcome::Replayed { reply, secret } => Answer::Replayed(Replay {
                result: reply.decode(),
                secret,
            }),
        }
    }

    async fn unkeyed<T: Message>(&self, op: Op) -> Result<T, AccountError> {
        match self.writer.submit(op).await {
            Outcome::Fresh(reply) => reply.decode(),
            Outcome::Replayed { .. } => Err(AccountError::StorageFailure),
        }
    }

    /// Resolves the session, then runs `read` on its account.
    async fn on_session<T: Send + 'static>(
        &self,
        token: TokenHash,
        read: impl FnOnce(&Connection, i64) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, AccountError> {
        let now = unix_now();
        self.readers
            .run(
                move |conn| match queries::session_account(conn, &token, now)? {
                    Some(id) => read(conn, id).map(Ok),
                    None => Ok(Err(AccountError::Unauthenticated)),
                },
            )
            .await?
    }
}

impl Store for SqliteStore {
    async fn open_account(&self, request: NewAccount) -> Answer<AccountInfo> {
        self.keyed(Op::Open(request)).await
    }

    async fn credentials(&self, name: Name) -> Result<Option<Credentials>, AccountError> {
        self.readers
            .run(move |conn| queries::credentials(conn, &name))
            .await
    }

    async fn start_session(&self, session: NewSession) -> Result<i64, AccountError> {
        self.unkeyed::<Session>(Op::StartSession(session))
            .await
            .map(|s| s.expires_at)
    }

    async fn end_session(&self, token: TokenHash) -> Result<(), AccountError> {
        self.unkeyed(Op::EndSession(token)).await
    }

    async fn account(&self, token: TokenHash) -> Result<AccountInfo, AccountError> {
        self.on_session(token, queries::account).await
    }

    async fn list(
        &self,
        token: TokenHash,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, AccountError> {
        self.on_session(token, move |conn, _| queries::list(conn, after_id, limit))
            .await
    }

    async fn history(
        &self,
        token: TokenHash,
        before_id: u64,
        limit: u32,
    ) -> Result<Vec<Entry>, AccountError> {
        self.on_session(token, move |conn, id| {
            queries::history(conn, id, before_id, limit)
        })
        .await
    }

    async fn password_context(
        &self,
        token: TokenHash,
        key: IdemKey,
        fingerprint: Fingerprint,
    ) -> Result<(Credentials, Option<Replay<()>>), AccountError> {
        self.on_session(token, move |conn, id| {
            let credentials = queries::credentials_by_id(conn, id)?;
            let record = idempotency::find(conn, id, &key)?;
            Ok((credentials, record))
        })
        .await
        .and_then(|(credentials, record)| {
            let replay = record.map(|r| r.replay_for(&fingerprint)).transpose()?;
            Ok((credentials, replay))
        })
    }

    async fn rename(&self, request: Keyed<NewName>) -> Answer<AccountInfo> {
        self.keyed(Op::Rename(request)).await
    }

    async fn change_password(&self, request: Keyed<NewPassword>) -> Answer<()> {
        self.keyed(Op::ChangePassword(request)).await
    }

    async fn deposit(&self, request: Keyed<i64>) -> Answer<Receipt> {
        self.keyed(Op::Deposit(request)).await
    }

    async fn withdraw(&self, request: Keyed<i64>) -> Answer<Receipt> {
        self.keyed(Op::Withdraw(request)).await
    }

    async fn transfer(&self, request: Keyed<Payment>) -> Answer<Receipt> {
        self.keyed(Op::Transfer(request)).await
    }

    async fn close(&self, request: Keyed<()>) -> Answer<AccountInfo> {
        self.keyed(Op::Close(request)).await
    }
}

/// Opens the write connection and sets the durability pragmas.
fn connect(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    Ok(conn)
}

/// WAL, `synchronous=FULL`, foreign keys, busy timeout and a statement cache big enough for
/// every statement the writer runs.
fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(%mode, "the database did not switch to WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Checkpoints run on their own thread (db/checkpoint.rs); this is only a safety net.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}
