//! Reads: sessions, accounts, pages of accounts and of the ledger. The writer runs them inside
//! its transaction; the read pool runs them on their own.

use super::Fail;
use super::conn::Conn;
use crate::db::codes;
use crate::store::{Credentials, TokenHash};
use account_client::api::{AccountInfo, AccountSummary, Entry, Name};
use tokio_postgres::Row;

/// The account a live session belongs to.
pub(crate) async fn session_account(
    conn: &Conn,
    token: &TokenHash,
    now: i64,
) -> Result<Option<i64>, Fail> {
    let statement = conn
        .prepare("SELECT account_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
        .await?;
    let row = conn
        .client()
        .query_opt(&statement, &[&token.0.as_slice(), &now])
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The credentials of the account called `name`.
pub(crate) async fn credentials(conn: &Conn, name: &Name) -> Result<Option<Credentials>, Fail> {
    let statement = conn
        .prepare("SELECT id, password_hash, status FROM accounts WHERE name = $1")
        .await?;
    let row = conn
        .client()
        .query_opt(&statement, &[&name.as_str()])
        .await?;
    row.as_ref().map(credentials_row).transpose()
}

/// The account whose name has the skeleton `skeleton`.
pub(crate) async fn by_skeleton(conn: &Conn, skeleton: &str) -> Result<Option<i64>, Fail> {
    let statement = conn
        .prepare("SELECT id FROM accounts WHERE skeleton = $1")
        .await?;
    let row = conn.client().query_opt(&statement, &[&skeleton]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The credentials of account `id`.
pub(crate) async fn credentials_by_id(conn: &Conn, id: i64) -> Result<Credentials, Fail> {
    let statement = conn
        .prepare("SELECT id, password_hash, status FROM accounts WHERE id = $1")
        .await?;
    let row = conn.client().query_one(&statement, &[&id]).await?;
    credentials_row(&row)
}

fn credentials_row(row: &Row) -> Result<Credentials, Fail> {
    Ok(Credentials {
        account_id: codes::to_id(row.try_get(0)?),
        password_hash: row.try_get(1)?,
        status: codes::status(row.try_get(2)?).ok_or(Fail::Corrupt("accounts.status"))?,
    })
}

/// Account `id` as its owner sees it.
pub(crate) async fn account(conn: &Conn, id: i64) -> Result<AccountInfo, Fail> {
    let statement = conn
        .prepare("SELECT id, name, balance, status, created_at FROM accounts WHERE id = $1")
        .await?;
    let row = conn.client().query_one(&statement, &[&id]).await?;
    Ok(AccountInfo {
        id: codes::to_id(row.try_get(0)?),
        name: name(row.try_get(1)?)?,
        balance_cents: row.try_get(2)?,
        status: codes::status(row.try_get(3)?).ok_or(Fail::Corrupt("accounts.status"))?,
        created_at: row.try_get(4)?,
    })
}

/// Up to `limit` accounts with ids above `after_id`, by id.
pub(crate) async fn list(
    conn: &Conn,
    after_id: u64,
    limit: u32,
) -> Result<Vec<AccountSummary>, Fail> {
    let after = i64::try_from(after_id).unwrap_or(i64::MAX);
    let statement = conn
        .prepare("SELECT id, name, status FROM accounts WHERE id > $1 ORDER BY id LIMIT $2")
        .await?;
    let rows = conn
        .client()
        .query(&statement, &[&after, &i64::from(limit)])
        .await?;
    rows.iter()
        .map(|row| {
            Ok(AccountSummary {
                id: codes::to_id(row.try_get(0)?),
                name: name(row.try_get(1)?)?,
                status: codes::status(row.try_get(2)?).ok_or(Fail::Corrupt("accounts.status"))?,
            })
        })
        .collect()
}

/// Up to `limit` ledger entries of account `id` with ids below `before_id` (0: no bound),
/// newest first.
pub(crate) async fn history(
    conn: &Conn,
    id: i64,
    before_id: u64,
    limit: u32,
) -> Result<Vec<Entry>, Fail> {
    let before = match before_id {
        0 => i64::MAX,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let statement = conn
        .prepare(
            "SELECT l.id, l.kind, l.delta, l.balance_after, c.name, l.at \
             FROM ledger l LEFT JOIN accounts c ON c.id = l.counterparty_id \
             WHERE l.account_id = $1 AND l.id < $2 ORDER BY l.id DESC LIMIT $3",
        )
        .await?;
    let rows = conn
        .client()
        .query(&statement, &[&id, &before, &i64::from(limit)])
        .await?;
    rows.iter()
        .map(|row| {
            let counterparty: Option<&str> = row.try_get(4)?;
            Ok(Entry {
                id: codes::to_id(row.try_get(0)?),
                kind: codes::kind(row.try_get(1)?).ok_or(Fail::Corrupt("ledger.kind"))?,
                cents: row.try_get(2)?,
                balance_after: row.try_get(3)?,
                counterparty: match counterparty {
                    Some(n) => name(n)?,
                    None => Name::EMPTY,
                },
                at: row.try_get(5)?,
            })
        })
        .collect()
}

fn name(name: &str) -> Result<Name, Fail> {
    Name::new(name).map_err(|_| Fail::Corrupt("accounts.name"))
}
