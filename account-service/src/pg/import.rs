//! `migrate-db`: copies a SQLite database into an empty PostgreSQL one.
//!
//! The SQLite file is locked like a server would lock it (so no server writes to it during
//! the copy) and brought to the current SQLite schema first. Everything is copied in one
//! PostgreSQL transaction, with the same ids, so that ledger entries, counterparties,
//! sessions (tokens keep working) and idempotency records (retries keep being answered)
//! stay valid. Before `COMMIT`, the copy is audited: it must balance, and its counts and
//! totals must equal the source's. Any failure rolls everything back.

use super::conn;
use crate::config::Config;
use crate::db::{audit, file, migrations};
use crate::error::Error;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// What [`migrate_sqlite_to_postgres`] copied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Accounts copied.
    pub accounts: u64,
    /// Ledger entries copied.
    pub entries: u64,
    /// Sessions copied.
    pub sessions: u64,
    /// Idempotency records copied.
    pub idempotency: u64,
    /// The sum of all balances, in cents, the same on both sides.
    pub total_cents: i128,
}

/// Rows per `INSERT`: each column travels as one array parameter.
const CHUNK: usize = 1000;

/// Copies the SQLite database at `from` into the empty PostgreSQL database at `to` (whose
/// schema is created if needed), and checks the copy before committing it.
///
/// # Errors
///
/// [`Error::Locked`] when a server has the SQLite file open, the errors of opening either
/// database, [`Error::TargetNotEmpty`] when the PostgreSQL database already holds accounts,
/// [`Error::CopyMismatch`] when the copy does not balance or differs from the source.
pub fn migrate_sqlite_to_postgres(
    from: &Path,
    to: &str,
    config: &Config,
) -> Result<MigrationReport, Error> {
    if !from.is_file() {
        return Err(Error::Open {
            path: from.to_owned(),
            source: rusqlite::Error::InvalidPath(from.to_owned()),
        });
    }
    let _lock = file::lock(from)?;
    let open_error = |source| Error::Open {
        path: from.to_owned(),
        source,
    };
    let mut sqlite = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_error)?;
    migrations::migrate(&mut sqlite)?;
    let source = audit::audit(&sqlite)?;
    if !source.is_balanced() {
        return Err(Error::CopyMismatch {
            problem: format!("the sqlite ledger does not balance: {:?}", source.problems),
        });
    }
    let rows = Rows::read(&sqlite)?;
    let pg: tokio_postgres::Config = to.parse().map_err(|source| Error::DatabaseUrl {
        source: Box::new(source),
    })?;
    smol::block_on(async {
        let conn = conn::connect(&pg, config.pg.connect_timeout)
            .await
            .map_err(|source| Error::Connect { source })?;
        super::schema::migrate(&conn).await?;
        let client = conn.client();
        let failed = |source| Error::Postgres {
            doing: "copying the database",
            source,
        };
        client.batch_execute("BEGIN").await.map_err(failed)?;
        let copied = async {
            let present: i64 = client
                .query_one(
                    "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM idempotency)",
                    &[],
                )
                .await
                .map_err(failed)?
                .try_get(0)
                .map_err(failed)?;
            if present > 0 {
                return Err(Error::TargetNotEmpty);
            }
            rows.write(client).await.map_err(failed)?;
            client
                .batch_execute(
                    "SELECT setval(pg_get_serial_sequence('accounts', 'id'), \
                            COALESCE((SELECT max(id) FROM accounts), 0) + 1, false);
                     SELECT setval(pg_get_serial_sequence('ledger', 'id'), \
                            COALESCE((SELECT max(id) FROM ledger), 0) + 1, false);",
                )
                .await
                .map_err(failed)?;
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(e);
        }
        client.batch_execute("COMMIT").await.map_err(failed)?;
        Ok::<(), Error>(())
    })?;
    // Audited from a fresh snapshot, as any server would see it.
    let store_config = config.clone();
    let copy = smol::block_on(super::audit_url(&pg, store_config.pg.connect_timeout))?;
    let report = MigrationReport {
        accounts: rows.accounts.len() as u64,
        entries: rows.ledger.len() as u64,
        sessions: rows.sessions.len() as u64,
        idempotency: rows.idempotency.len() as u64,
        total_cents: source.total_balance,
    };
    if !copy.is_balanced()
        || copy.accounts != source.accounts
        || copy.entries != source.entries
        || copy.total_balance != source.total_balance
    {
        return Err(Error::CopyMismatch {
            problem: format!("source {source:?}, copy {copy:?}"),
        });
    }
    Ok(report)
}

/// `accounts`: id, name, skeleton, password_hash, balance, status, created_at, closed_at.
type AccountRow = (i64, String, String, String, i64, i64, i64, Option<i64>);
/// `ledger`: id, account_id, kind, delta, balance_after, counterparty_id, at.
type LedgerRow = (i64, i64, i64, i64, i64, Option<i64>, i64);
/// `sessions`: token_hash, account_id, created_at, expires_at.
type SessionRow = (Vec<u8>, i64, i64, i64);
/// `idempotency`: account_id, key, fingerprint, ok, reply, secret, at.
type IdempotencyRow = (i64, Vec<u8>, Vec<u8>, bool, Vec<u8>, Option<String>, i64);

/// Every row of the four tables.
#[derive(Debug, Default)]
struct Rows {
    accounts: Vec<AccountRow>,
    ledger: Vec<LedgerRow>,
    sessions: Vec<SessionRow>,
    idempotency: Vec<IdempotencyRow>,
}

impl Rows {
    fn read(conn: &Connection) -> rusqlite::Result<Rows> {
        let tx = conn.unchecked_transaction()?;
        let accounts = tx
            .prepare(
                "SELECT id, name, skeleton, password_hash, balance, status, created_at, closed_at \
                 FROM accounts ORDER BY id",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let ledger = tx
            .prepare(
                "SELECT id, account_id, kind, delta, balance_after, counterparty_id, at \
                 FROM ledger ORDER BY id",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let sessions = tx
            .prepare("SELECT token_hash, account_id, created_at, expires_at FROM sessions")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let idempotency = tx
            .prepare("SELECT account_id, key, fingerprint, ok, reply, secret, at FROM idempotency")?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        tx.finish()?;
        Ok(Rows {
            accounts,
            ledger,
            sessions,
            idempotency,
        })
    }

    async fn write(&self, client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
        for chunk in self.accounts.chunks(CHUNK) {
            client
                .execute(
                    "INSERT INTO accounts (id, name, skeleton, password_hash, balance, status, \
                     created_at, closed_at) \
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], \
                     $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])",
                    &[
                        &chunk.iter().map(|r| r.0).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.2.as_str()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.3.as_str()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.4).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.5).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.6).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.7).collect::<Vec<_>>(),
                    ],
                )
                .await?;
        }
        for chunk in self.ledger.chunks(CHUNK) {
            client
                .execute(
                    "INSERT INTO ledger (id, account_id, kind, delta, balance_after, \
                     counterparty_id, at) \
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], \
                     $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])",
                    &[
                        &chunk.iter().map(|r| r.0).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.1).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.2).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.3).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.4).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.5).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.6).collect::<Vec<_>>(),
                    ],
                )
                .await?;
        }
        for chunk in self.sessions.chunks(CHUNK) {
            client
                .execute(
                    "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) \
                     SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bigint[], $4::bigint[])",
                    &[
                        &chunk.iter().map(|r| r.0.as_slice()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.1).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.2).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.3).collect::<Vec<_>>(),
                    ],
                )
                .await?;
        }
        for chunk in self.idempotency.chunks(CHUNK) {
            client
                .execute(
                    "INSERT INTO idempotency (account_id, key, fingerprint, ok, reply, secret, at) \
                     SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::boolean[], \
                     $5::bytea[], $6::text[], $7::bigint[])",
                    &[
                        &chunk.iter().map(|r| r.0).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.1.as_slice()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.2.as_slice()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.3).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.4.as_slice()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.5.as_deref()).collect::<Vec<_>>(),
                        &chunk.iter().map(|r| r.6).collect::<Vec<_>>(),
                    ],
                )
                .await?;
        }
        Ok(())
    }
}
