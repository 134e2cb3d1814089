//! The PostgreSQL backend: [`PgStore`], for several account servers sharing one ledger.
//!
//! Each server has one writer thread that commits requests in batches (group commit), and a
//! pool of connections for reads. Accounts, sessions and idempotency records live in the
//! database, so every server sees the same ones: a retry under the same key is answered from
//! the first reply whichever server ran it. Concurrency between servers is handled with row
//! locks taken in id order, and batches PostgreSQL aborts (deadlock, serialization failure, a
//! key taken by another server) run again (see `pg/writer.rs`).
//!
//! While the database is unreachable (restarting, say), requests fail fast with
//! `StorageFailure`, and with the `unavailable` status when served by
//! [`ServeAccounts`](crate::ServeAccounts); connections are opened again on the next request,
//! so the server recovers by itself.
//!
//! The driver is tokio-postgres without its runtime: sockets come from async-io and the
//! connection futures run on smol (see `pg/conn.rs`).

mod conn;
mod import;
mod money;
mod ops;
mod pool;
mod queries;
mod schema;
mod throttle;
mod writer;

pub use conn::ConnectError;
pub use import::{MigrationReport, migrate_sqlite_to_postgres};
pub use schema::VERSION as PG_SCHEMA_VERSION;

use crate::config::Config;
use crate::db::audit::Auditor;
use crate::db::ops::{Op, Outcome};
use crate::db::{Audit, WriterStats};
use crate::error::Error;
use crate::store::{
    Answer, Credentials, Fingerprint, Keyed, LoginOutcome, NewAccount, NewName, NewPassword,
    NewSession, Payment, Replay, SharedAttempt, Store, TokenHash,
};
use account_client::api::{
    AccountError, AccountInfo, AccountSummary, Entry, IdemKey, Name, Receipt, Session,
};
use pool::Pool;
use rpc_runtime::Message;
use tokio_postgres::error::SqlState;
use writer::Writer;

pub(crate) use crate::db::unix_now;

/// Why a database step failed.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The database cannot be reached (down, restarting, shutting down): nothing was done.
    Unavailable,
    /// A statement failed.
    Db(tokio_postgres::Error),
    /// A row holds a value this program never writes.
    Corrupt(&'static str),
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Unavailable => f.write_str("the database cannot be reached"),
            Fail::Db(e) => write!(f, "{}", pool::Chain(e)),
            Fail::Corrupt(what) => write!(f, "unexpected value in {what}"),
        }
    }
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        if is_unavailable(&e) {
            tracing::debug!(error = %e, "the database went away");
            Fail::Unavailable
        } else {
            Fail::Db(e)
        }
    }
}

/// Whether `e` means the server is gone or going, rather than that the statement was wrong.
///
/// Without a SQLSTATE only a failed socket counts: an error whose cause is an I/O error other
/// than malformed data. A row that does not decode, an unexpected row count or a message that
/// does not parse (tokio-postgres reports those with `InvalidData`/`InvalidInput` I/O causes,
/// or none) is a bug or a corrupt database, not a reason to retry elsewhere.
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
                || code.code().starts_with("08")
        }
        None => std::error::Error::source(e)
            .and_then(|cause| cause.downcast_ref::<std::io::Error>())
            .is_some_and(|io| {
                !matches!(
                    io.kind(),
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput
                )
            }),
    }
}

/// Accounts, sessions, the ledger and idempotency records in a PostgreSQL database, shared by
/// any number of servers.
#[derive(Debug)]
pub struct PgStore {
    writer: Writer,
    readers: Pool,
    config: tokio_postgres::Config,
    connect_timeout: std::time::Duration,
    throttle: crate::config::LoginThrottle,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host/db`, or with the socket
    /// directory as `host`: `postgres://user@%2Frun%2Fpostgresql/db`), migrates its schema,
    /// and starts the writer.
    ///
    /// This blocks while it connects and migrates: call it before serving.
    ///
    /// # Errors
    ///
    /// [`Error::DatabaseUrl`] for a URL that does not parse, [`Error::Connect`] when the
    /// database cannot be reached, [`Error::SchemaTooNew`] for a database from a newer
    /// program, [`Error::PostgresMigration`] when a migration fails (nothing of it is kept),
    /// [`Error::Thread`] when the writer cannot start.
    pub fn open(url: &str, config: &Config) -> Result<Self, Error> {
        let pg: tokio_postgres::Config = url.parse().map_err(|source| Error::DatabaseUrl {
            source: Box::new(source),
        })?;
        let version = smol::block_on(async {
            let conn = conn::connect(&pg, config.pg.connect_timeout)
                .await
                .map_err(|source| Error::Connect { source })?;
            schema::migrate(&conn).await
        })?;
        let writer = Writer::start(
            pg.clone(),
            writer::Settings {
                max_batch: config.max_batch,
                queue_depth: config.queue_depth,
                connect_timeout: config.pg.connect_timeout,
                batch_timeout: config.pg.statement_timeout,
            },
        )?;
        let readers = Pool::new(
            pg.clone(),
            config.pg.pool_size,
            config.pg.connect_timeout,
            config.pg.acquire_timeout,
            config.pg.statement_timeout,
        );
        tracing::info!(
            database = pg.get_dbname().unwrap_or(""),
            schema = version,
            "database open"
        );
        Ok(PgStore {
            writer,
            readers,
            config: pg,
            connect_timeout: config.pg.connect_timeout,
            throttle: config.login_throttle,
        })
    }

    /// Checks the ledger invariant over the whole database, in one repeatable-read snapshot.
    ///
    /// # Errors
    ///
    /// [`Error::Connect`] when the database cannot be reached, [`Error::Postgres`] when a
    /// query fails.
    pub async fn audit(&self) -> Result<Audit, Error> {
        audit_url(&self.config, self.connect_timeout).await
    }

    /// How many batches and requests the writer has run.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// How many batches PostgreSQL aborted and the writer ran again.
    pub fn writer_retries(&self) -> u64 {
        self.writer.retries()
    }

    /// Stops the writer after it has run every request already queued. Later writes fail
    /// with `StorageFailure`. Blocks until the writer is done.
    ///
    /// # Errors
    ///
    /// [`Error::WriterPanicked`] when the writer thread panicked.
    pub fn shutdown(&self) -> Result<(), Error> {
        self.writer.shutdown()
    }

    async fn submit(&self, op: Op) -> Result<Outcome, AccountError> {
        match self.writer.submit(op).await {
            Some(outcome) => Ok(outcome),
            None => Err(unavailable()),
        }
    }

    async fn keyed<T: Message>(&self, op: Op) -> Answer<T> {
        match self.submit(op).await {
            Ok(Outcome::Fresh(reply)) => Answer::Fresh(reply.decode()),
            Ok(Outcome::Replayed { reply, secret }) => Answer::Replayed(Replay {
                result: reply.decode(),
                secret,
            }),
            Err(e) => Answer::Fresh(Err(e)),
        }
    }

    async fn unkeyed<T: Message>(&self, op: Op) -> Result<T, AccountError> {
        match self.submit(op).await? {
            Outcome::Fresh(reply) => reply.decode(),
            Outcome::Replayed { .. } => Err(AccountError::StorageFailure),
        }
    }

    /// Runs `read` on a pooled connection; failures become `StorageFailure` (marked
    /// unavailable when the database could not be reached).
    async fn read<T>(
        &self,
        read: impl AsyncFnOnce(&conn::Conn) -> Result<Result<T, AccountError>, Fail>,
    ) -> Result<T, AccountError> {
        let conn = self.readers.get().await.map_err(storage_failure)?;
        let timeout = self.readers.read_timeout;
        let result = smol::future::or(async { Some(read(&conn).await) }, async {
            smol::Timer::after(timeout).await;
            None
        })
        .await;
        match result {
            Some(result) => result.map_err(storage_failure)?,
            None => {
                tracing::warn!("a read took too long; dropping its connection");
                conn.discard();
                Err(unavailable())
            }
        }
    }

    /// Resolves the session, then runs `read` on its account.
    async fn on_session<T>(
        &self,
        token: TokenHash,
        read: impl AsyncFnOnce(&conn::Conn, i64) -> Result<T, Fail>,
    ) -> Result<T, AccountError> {
        self.read(
            async |conn| match queries::session_account(conn, &token, unix_now()).await? {
                Some(id) => read(conn, id).await.map(Ok),
                None => Ok(Err(AccountError::Unauthenticated)),
            },
        )
        .await
    }
}

/// Audits the database of `config` on a connection of its own.
async fn audit_url(
    config: &tokio_postgres::Config,
    connect_timeout: std::time::Duration,
) -> Result<Audit, Error> {
    let conn = conn::connect(config, connect_timeout)
        .await
        .map_err(|source| Error::Connect { source })?;
    let client = conn.client();
    let failed = |source| Error::Postgres {
        doing: "auditing the ledger",
        source,
    };
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(failed)?;
    let entries = client
        .query(
            "SELECT id, account_id, delta, balance_after FROM ledger ORDER BY account_id, id",
            &[],
        )
        .await
        .map_err(failed)?;
    let accounts = client
        .query("SELECT id, balance FROM accounts ORDER BY id", &[])
        .await
        .map_err(failed)?;
    client.batch_execute("COMMIT").await.map_err(failed)?;
    let mut auditor = Auditor::default();
    for row in &entries {
        auditor.entry(
            row.try_get(0).map_err(failed)?,
            row.try_get(1).map_err(failed)?,
            row.try_get(2).map_err(failed)?,
            row.try_get(3).map_err(failed)?,
        );
    }
    for row in &accounts {
        auditor.account(
            row.try_get(0).map_err(failed)?,
            row.try_get(1).map_err(failed)?,
        );
    }
    Ok(auditor.finish())
}

/// The answer when the database cannot be reached: `StorageFailure`, and under a
/// [`ServeAccounts`](crate::ServeAccounts) call the `unavailable` status.
fn unavailable() -> AccountError {
    crate::serve::mark_unavailable();
    AccountError::StorageFailure
}

fn storage_failure(fail: Fail) -> AccountError {
    match fail {
        Fail::Unavailable => unavailable(),
        other => {
            tracing::error!(error = %other, "read failed");
            AccountError::StorageFailure
        }
    }
}

impl Store for PgStore {
    async fn open_account(&self, request: NewAccount) -> Answer<AccountInfo> {
        self.keyed(Op::Open(request)).await
    }

    async fn credentials(&self, name: Name) -> Result<Option<Credentials>, AccountError> {
        self.read(async |conn| Ok(Ok(queries::credentials(conn, &name).await?)))
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
        self.on_session(token, async |conn, id| queries::account(conn, id).await)
            .await
    }

    async fn list(
        &self,
        token: TokenHash,
        after_id: u64,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, AccountError> {
        self.on_session(token, async |conn, _| {
            queries::list(conn, after_id, limit).await
        })
        .await
    }

    async fn history(
        &self,
        token: TokenHash,
        before_id: u64,
        limit: u32,
    ) -> Result<Vec<Entry>, AccountError> {
        self.on_session(token, async |conn, id| {
            queries::history(conn, id, before_id, limit).await
        })
        .await
    }

    async fn password_context(
        &self,
        token: TokenHash,
        key: IdemKey,
        fingerprint: Fingerprint,
    ) -> Result<(Credentials, Option<Replay<()>>), AccountError> {
        let (credentials, record) = self
            .on_session(token, async |conn, id| {
                let credentials = queries::credentials_by_id(conn, id).await?;
                let record = ops::find(conn, id, &key).await?;
                Ok((credentials, record))
            })
            .await?;
        let replay = record.map(|r| r.replay_for(&fingerprint)).transpose()?;
        Ok((credentials, replay))
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

    async fn login_attempt(
        &self,
        name: Name,
        client: String,
    ) -> Result<Option<SharedAttempt>, AccountError> {
        let policy = self.throttle;
        self.read(async |conn| {
            Ok(throttle::attempt(conn, &policy, name, client)
                .await?
                .map(Some))
        })
        .await
    }

    async fn login_settled(&self, attempt: SharedAttempt, outcome: LoginOutcome) {
        let settled = async {
            let conn = self.readers.get().await?;
            throttle::settled(&conn, &attempt, outcome).await
        };
        if let Err(e) = settled.await {
            tracing::warn!(error = %e, "cannot record how a login attempt ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_failure_is_an_internal_error_not_unavailable() {
        smol::block_on(async {
            let Some(conn) = schema::tests::fresh("a_decode_failure_is_an_internal_error").await
            else {
                return;
            };
            let row = conn
                .client()
                .query_one("SELECT 'text'::text", &[])
                .await
                .unwrap();
            let decode = row.try_get::<_, i32>(0).unwrap_err();
            assert!(matches!(Fail::from(decode), Fail::Db(_)));
            let rows = conn
                .client()
                .query_one("SELECT 1 WHERE false", &[])
                .await
                .unwrap_err();
            assert!(matches!(Fail::from(rows), Fail::Db(_)));
            let wrong = conn
                .client()
                .query_one("SELECT no_such_column", &[])
                .await
                .unwrap_err();
            assert!(matches!(Fail::from(wrong), Fail::Db(_)));
        });
    }

    #[test]
    fn a_connection_that_ends_is_unavailable() {
        smol::block_on(async {
            let Some(conn) = schema::tests::fresh("a_connection_that_ends_is_unavailable").await
            else {
                return;
            };
            let ended = conn
                .client()
                .batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
                .await
                .unwrap_err();
            assert!(matches!(Fail::from(ended), Fail::Unavailable));
            let after = conn.client().query_one("SELECT 1", &[]).await.unwrap_err();
            assert!(matches!(Fail::from(after), Fail::Unavailable));
        });
    }
}
