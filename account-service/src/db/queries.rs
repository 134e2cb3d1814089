//! Reads: sessions, accounts, pages of accounts and of the ledger. The writer uses the same
//! functions inside its transaction; the read pool uses them on read-only connections.

use crate::store::{Credentials, TokenHash};
use account_client::api::{AccountInfo, AccountStatus, AccountSummary, Entry, EntryKind, Name};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// The account a live session belongs to.
pub(crate) fn session_account(
    conn: &Connection,
    token: &TokenHash,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT account_id FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
    )?
    .query_row(params![token.0.as_slice(), now], |row| row.get(0))
    .optional()
}

/// The credentials of the account called `name`.
pub(crate) fn credentials(conn: &Connection, name: &Name) -> rusqlite::Result<Option<Credentials>> {
    conn.prepare_cached("SELECT id, password_hash, status FROM accounts WHERE name = ?1")?
        .query_row([name.as_str()], credentials_row)
        .optional()
}

/// The account whose name has the skeleton `skeleton`.
pub(crate) fn by_skeleton(conn: &Connection, skeleton: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM accounts WHERE skeleton = ?1")?
        .query_row([skeleton], |row| row.get(0))
        .optional()
}

/// The credentials of account `id`.
pub(crate) fn credentials_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Credentials> {
    conn.prepare_cached("SELECT id, password_hash, status FROM accounts WHERE id = ?1")?
        .query_row([id], credentials_row)
}

fn credentials_row(row: &Row<'_>) -> rusqlite::Result<Credentials> {
    Ok(Credentials {
        account_id: id_column(row, 0)?,
        password_hash: row.get(1)?,
        status: status_column(row, 2)?,
    })
}

/// Account `id` as its owner sees it.
pub(crate) fn account(conn: &Connection, id: i64) -> rusqlite::Result<AccountInfo> {
    conn.prepare_cached("SELECT id, name, balance, status, created_at FROM accounts WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(AccountInfo {
                id: id_column(row, 0)?,
                name: name_column(row, 1)?,
                balance_cents: row.get(2)?,
                status: status_column(row, 3)?,
                created_at: row.get(4)?,
            })
        })
}

/// Up to `limit` accounts with ids above `after_id`, by id.
pub(crate) fn list(
    conn: &Connection,
    after_id: u64,
    limit: u32,
) -> rusqlite::Result<Vec<AccountSummary>> {
    let after = i64::try_from(after_id).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, status FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |row| {
        Ok(AccountSummary {
            id: id_column(row, 0)?,
            name: name_column(row, 1)?,
            status: status_column(row, 2)?,
        })
    })?;
    rows.collect()
}

/// Up to `limit` ledger entries of account `id` with ids below `before_id` (0: no bound),
/// newest first.
pub(crate) fn history(
    conn: &Connection,
    id: i64,
    before_id: u64,
    limit: u32,
) -> rusqlite::Result<Vec<Entry>> {
    let before = match before_id {
        0 => i64::MAX,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, l.kind, l.delta, l.balance_after, c.name, l.at \
         FROM ledger l LEFT JOIN accounts c ON c.id = l.counterparty_id \
         WHERE l.account_id = ?1 AND l.id < ?2 ORDER BY l.id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![id, before, limit], |row| {
        let counterparty: Option<String> = row.get(4)?;
        Ok(Entry {
            id: id_column(row, 0)?,
            kind: kind_column(row, 1)?,
            cents: row.get(2)?,
            balance_after: row.get(3)?,
            counterparty: match counterparty {
                Some(name) => to_name(4, &name)?,
                None => Name::EMPTY,
            },
            at: row.get(5)?,
        })
    })?;
    rows.collect()
}

pub(crate) use super::codes::{kind_code, status_code, to_id};

fn id_column(row: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    row.get::<_, i64>(i).map(to_id)
}

fn name_column(row: &Row<'_>, i: usize) -> rusqlite::Result<Name> {
    to_name(i, &row.get::<_, String>(i)?)
}

fn to_name(i: usize, name: &str) -> rusqlite::Result<Name> {
    Name::new(name)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn status_column(row: &Row<'_>, i: usize) -> rusqlite::Result<AccountStatus> {
    let n = row.get::<_, i64>(i)?;
    super::codes::status(n).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, n))
}

fn kind_column(row: &Row<'_>, i: usize) -> rusqlite::Result<EntryKind> {
    let n = row.get::<_, i64>(i)?;
    super::codes::kind(n).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, n))
}
