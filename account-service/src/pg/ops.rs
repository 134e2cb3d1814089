//! The writes, one function per request, run by the PostgreSQL writer inside the request's
//! savepoint: the same rules as SQLite's `db/ops.rs`, with row locks for the other servers.
//!
//! Every balance is read `FOR UPDATE`, so two servers never compute a new balance from the
//! same old one; a transfer locks both accounts in id order. The writer also locks, before a
//! batch runs, every account the batch will touch, in id order ([`lock_batch`]), so batches on
//! different servers queue behind each other instead of deadlocking.

use super::Fail;
use super::conn::Conn;
use super::queries;
use crate::db::codes::{kind_code, status_code, to_id};
use crate::db::idempotency::{self, OPEN_SCOPE};
use crate::db::ops::{Op, Outcome};
use crate::store::{
    Fingerprint, NewAccount, NewName, NewPassword, NewSession, Payment, StoredReply, TokenHash,
};
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, EntryKind, IdemKey, Receipt, Session,
};
use rpc_runtime::Message;

/// Why a write did not produce its reply: the database failed (the request is rolled back),
/// or the request was refused (that is its answer).
#[derive(Debug)]
enum OpError {
    Db(Fail),
    Refused(AccountError),
}

impl<E: Into<Fail>> From<E> for OpError {
    fn from(e: E) -> Self {
        OpError::Db(e.into())
    }
}

fn refused<T>(error: AccountError) -> Result<T, OpError> {
    Err(OpError::Refused(error))
}

/// What a body returns on success: the reply, and the PHC string of a password it set.
type Body<T> = (T, Option<String>);

/// Runs `op` at time `now`.
pub(crate) async fn apply(conn: &Conn, op: &Op, now: i64) -> Result<Outcome, Fail> {
    match op {
        Op::Open(r) => {
            keyed(conn, None, &r.key, &r.fingerprint, now, async |_| {
                open(conn, r, now).await
            })
            .await
        }
        Op::StartSession(s) => {
            settle(start_session(conn, s, now).await).map(|r| Outcome::fresh(&r))
        }
        Op::EndSession(token) => {
            settle(end_session(conn, token, now).await).map(|r| Outcome::fresh(&r))
        }
        Op::Rename(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| Ok((rename(conn, id, &r.args).await?, None)),
            )
            .await
        }
        Op::ChangePassword(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| change_password(conn, id, &r.token, &r.args).await,
            )
            .await
        }
        Op::Deposit(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| Ok((deposit(conn, id, r.args, now).await?, None)),
            )
            .await
        }
        Op::Withdraw(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| Ok((withdraw(conn, id, r.args, now).await?, None)),
            )
            .await
        }
        Op::Transfer(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| Ok((transfer(conn, id, &r.args, now).await?, None)),
            )
            .await
        }
        Op::Close(r) => {
            keyed(
                conn,
                Some(&r.token),
                &r.key,
                &r.fingerprint,
                now,
                async |id| Ok((close(conn, id, now).await?, None)),
            )
            .await
        }
    }
}

/// Locks, in id order, every existing account the batch `ops` will change or check: those of
/// its sessions, its transfers' recipients and the accounts it starts sessions on.
pub(crate) async fn lock_batch(conn: &Conn, ops: &[&Op]) -> Result<(), Fail> {
    let mut tokens: Vec<&[u8]> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    for op in ops {
        match op {
            Op::Open(_) | Op::EndSession(_) => {}
            Op::StartSession(s) => ids.push(i64::try_from(s.account_id).unwrap_or(-1)),
            Op::Rename(r) => tokens.push(&r.token.0),
            Op::ChangePassword(r) => tokens.push(&r.token.0),
            Op::Deposit(r) | Op::Withdraw(r) => tokens.push(&r.token.0),
            Op::Transfer(r) => {
                tokens.push(&r.token.0);
                names.push(r.args.to.as_str());
            }
            Op::Close(r) => tokens.push(&r.token.0),
        }
    }
    if tokens.is_empty() && ids.is_empty() {
        return Ok(());
    }
    let statement = conn
        .prepare(
            // The ids first, so that the rows are found by primary key: an `OR` of the
            // three conditions would scan the whole table.
            "SELECT id FROM accounts WHERE id = ANY(ARRAY(\
             SELECT account_id FROM sessions WHERE token_hash = ANY($1) \
             UNION SELECT id FROM accounts WHERE name = ANY($2) \
             UNION SELECT unnest($3::bigint[]))) \
             ORDER BY id FOR UPDATE",
        )
        .await?;
    conn.client()
        .execute(&statement, &[&tokens, &names, &ids])
        .await?;
    Ok(())
}

/// The one place an [`OpError`] is taken apart: a database failure stays an error, a refusal
/// becomes the reply.
fn settle<T>(result: Result<T, OpError>) -> Result<Result<T, AccountError>, Fail> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(OpError::Refused(e)) => Ok(Err(e)),
        Err(OpError::Db(e)) => Err(e),
    }
}

/// The idempotency protocol around `body`, which runs on the session's account (or, without
/// a session, in the `open` namespace).
async fn keyed<T: Message>(
    conn: &Conn,
    token: Option<&TokenHash>,
    key: &IdemKey,
    fingerprint: &Fingerprint,
    now: i64,
    body: impl AsyncFnOnce(i64) -> Result<Body<T>, OpError>,
) -> Result<Outcome, Fail> {
    let (scope, existing) = match token {
        None => (OPEN_SCOPE, find(conn, OPEN_SCOPE, key).await?),
        Some(token) => match session_and_record(conn, token, key, now).await? {
            Some(found) => found,
            None => return Ok(Outcome::fresh::<T>(&Err(AccountError::Unauthenticated))),
        },
    };
    if let Some(record) = existing {
        if record.fingerprint != *fingerprint {
            return Ok(Outcome::fresh::<T>(&Err(AccountError::IdempotencyConflict)));
        }
        return Ok(Outcome::Replayed {
            reply: record.reply,
            secret: record.secret,
        });
    }
    // Unlike SQLite's, no savepoint around the body: every body here refuses before its
    // first write, and a database failure rolls back the request's own savepoint.
    let (result, secret) = match settle(body(scope).await) {
        Ok(Ok((value, secret))) => (Ok(value), secret),
        Ok(Err(refusal)) => (Err(refusal), None),
        Err(e) => return Err(e),
    };
    let reply = StoredReply::encode(&result);
    if idempotency::is_recorded(&result) {
        let secret = if result.is_ok() { secret } else { None };
        record(
            conn,
            scope,
            key,
            fingerprint,
            &reply,
            secret.as_deref(),
            now,
        )
        .await?;
    }
    Ok(Outcome::Fresh(reply))
}

/// Runs one statement without parameters or rows.
pub(crate) async fn exec(conn: &Conn, sql: &str) -> Result<(), Fail> {
    conn.client().batch_execute(sql).await?;
    Ok(())
}

/// The account of a live session and, in the same round trip, the record of `key` in that
/// account's scope. `None` when the session is missing or expired.
async fn session_and_record(
    conn: &Conn,
    token: &TokenHash,
    key: &IdemKey,
    now: i64,
) -> Result<Option<(i64, Option<idempotency::Record>)>, Fail> {
    let statement = conn
        .prepare(
            "SELECT s.account_id, i.fingerprint, i.ok, i.reply, i.secret FROM sessions s \
             LEFT JOIN idempotency i ON i.account_id = s.account_id AND i.key = $2 \
             WHERE s.token_hash = $1 AND s.expires_at > $3",
        )
        .await?;
    let Some(row) = conn
        .client()
        .query_opt(&statement, &[&token.0.as_slice(), &key.as_slice(), &now])
        .await?
    else {
        return Ok(None);
    };
    let scope: i64 = row.try_get(0)?;
    let fingerprint: Option<&[u8]> = row.try_get(1)?;
    let record = match fingerprint {
        None => None,
        Some(fingerprint) => Some(record_from(fingerprint, &row, 2)?),
    };
    Ok(Some((scope, record)))
}

/// A record from `fingerprint` and the columns `ok`, `reply`, `secret` from `first` on.
pub(crate) fn record_from(
    fingerprint: &[u8],
    row: &tokio_postgres::Row,
    first: usize,
) -> Result<idempotency::Record, Fail> {
    Ok(idempotency::Record {
        fingerprint: Fingerprint(
            fingerprint
                .try_into()
                .map_err(|_| Fail::Corrupt("idempotency.fingerprint"))?,
        ),
        reply: StoredReply {
            ok: row.try_get(first)?,
            body: row.try_get(first + 1)?,
        },
        secret: row.try_get(first + 2)?,
    })
}

pub(crate) async fn find(
    conn: &Conn,
    scope: i64,
    key: &IdemKey,
) -> Result<Option<idempotency::Record>, Fail> {
    let statement = conn
        .prepare(
            "SELECT fingerprint, ok, reply, secret FROM idempotency \
             WHERE account_id = $1 AND key = $2",
        )
        .await?;
    let Some(row) = conn
        .client()
        .query_opt(&statement, &[&scope, &key.as_slice()])
        .await?
    else {
        return Ok(None);
    };
    let fingerprint: &[u8] = row.try_get(0)?;
    Ok(Some(record_from(fingerprint, &row, 1)?))
}

async fn record(
    conn: &Conn,
    scope: i64,
    key: &IdemKey,
    fingerprint: &Fingerprint,
    reply: &StoredReply,
    secret: Option<&str>,
    now: i64,
) -> Result<(), Fail> {
    let statement = conn
        .prepare(
            "INSERT INTO idempotency (account_id, key, fingerprint, ok, reply, secret, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await?;
    conn.client()
        .execute(
            &statement,
            &[
                &scope,
                &key.as_slice(),
                &fingerprint.0.as_slice(),
                &reply.ok,
                &reply.body,
                &secret,
                &now,
            ],
        )
        .await?;
    Ok(())
}

async fn open(conn: &Conn, r: &NewAccount, now: i64) -> Result<Body<AccountInfo>, OpError> {
    if queries::by_skeleton(conn, &r.skeleton).await?.is_some() {
        return refused(AccountError::NameTaken);
    }
    let statement = conn
        .prepare(
            "INSERT INTO accounts (name, skeleton, password_hash, balance, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    let id: i64 = conn
        .client()
        .query_one(
            &statement,
            &[
                &r.name.as_str(),
                &r.skeleton,
                &r.password_hash,
                &r.initial_cents,
                &status_code(AccountStatus::Open),
                &now,
            ],
        )
        .await?
        .try_get(0)?;
    if r.initial_cents > 0 {
        let cents = r.initial_cents;
        ledger(conn, id, EntryKind::Opening, cents, cents, None, now).await?;
    }
    Ok((
        queries::account(conn, id).await?,
        Some(r.password_hash.clone()),
    ))
}

async fn start_session(conn: &Conn, s: &NewSession, now: i64) -> Result<Session, OpError> {
    let id = i64::try_from(s.account_id).unwrap_or(-1);
    let statement = conn
        .prepare("SELECT password_hash, status FROM accounts WHERE id = $1 FOR UPDATE")
        .await?;
    let row = conn.client().query_opt(&statement, &[&id]).await?;
    let Some(row) = row else {
        return refused(AccountError::InvalidCredentials);
    };
    let (hash, status): (&str, i64) = (row.try_get(0)?, row.try_get(1)?);
    if hash != s.password_hash {
        return refused(AccountError::InvalidCredentials);
    }
    if status != status_code(AccountStatus::Open) {
        return refused(AccountError::AccountClosed);
    }
    let ttl = i64::try_from(s.ttl.as_secs()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl);
    let sweep = conn
        .prepare("DELETE FROM sessions WHERE account_id = $1 AND expires_at <= $2")
        .await?;
    conn.client().execute(&sweep, &[&id, &now]).await?;
    let insert = conn
        .prepare(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .await?;
    conn.client()
        .execute(&insert, &[&s.token.0.as_slice(), &id, &now, &expires_at])
        .await?;
    Ok(Session {
        token: [0; 32],
        account_id: s.account_id,
        expires_at,
    })
}

async fn end_session(conn: &Conn, token: &TokenHash, now: i64) -> Result<(), OpError> {
    let statement = conn
        .prepare("DELETE FROM sessions WHERE token_hash = $1 RETURNING expires_at")
        .await?;
    let row = conn
        .client()
        .query_opt(&statement, &[&token.0.as_slice()])
        .await?;
    match row.map(|row| row.try_get::<_, i64>(0)).transpose()? {
        Some(at) if at > now => Ok(()),
        _ => refused(AccountError::Unauthenticated),
    }
}

/// The balance of account `id`, locked for this transaction, refusing a closed account.
async fn open_balance(conn: &Conn, id: i64) -> Result<i64, OpError> {
    let statement = conn
        .prepare("SELECT balance, status FROM accounts WHERE id = $1 FOR UPDATE")
        .await?;
    let row = conn.client().query_one(&statement, &[&id]).await?;
    let (balance, status): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if status == status_code(AccountStatus::Open) {
        Ok(balance)
    } else {
        refused(AccountError::AccountClosed)
    }
}

async fn rename(conn: &Conn, id: i64, name: &NewName) -> Result<AccountInfo, OpError> {
    open_balance(conn, id).await?;
    match queries::by_skeleton(conn, &name.skeleton).await? {
        Some(other) if other != id => return refused(AccountError::NameTaken),
        Some(_) | None => {
            let statement = conn
                .prepare("UPDATE accounts SET name = $1, skeleton = $2 WHERE id = $3")
                .await?;
            conn.client()
                .execute(&statement, &[&name.name.as_str(), &name.skeleton, &id])
                .await?;
        }
    }
    Ok(queries::account(conn, id).await?)
}

async fn change_password(
    conn: &Conn,
    id: i64,
    token: &TokenHash,
    r: &NewPassword,
) -> Result<Body<()>, OpError> {
    open_balance(conn, id).await?;
    if queries::credentials_by_id(conn, id).await?.password_hash != r.old_hash {
        // Changed by another request since the old password was verified.
        return refused(AccountError::InvalidCredentials);
    }
    let update = conn
        .prepare("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .await?;
    conn.client().execute(&update, &[&r.new_hash, &id]).await?;
    let others = conn
        .prepare("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
        .await?;
    conn.client()
        .execute(&others, &[&id, &token.0.as_slice()])
        .await?;
    Ok(((), Some(r.new_hash.clone())))
}

async fn deposit(conn: &Conn, id: i64, cents: i64, now: i64) -> Result<Receipt, OpError> {
    let balance = open_balance(conn, id).await?;
    let Some(after) = balance.checked_add(cents) else {
        return refused(AccountError::Overflow);
    };
    let entry = move_money(conn, id, EntryKind::Deposit, cents, after, None, now).await?;
    Ok(receipt(entry, after, now))
}

async fn withdraw(conn: &Conn, id: i64, cents: i64, now: i64) -> Result<Receipt, OpError> {
    let balance = open_balance(conn, id).await?;
    if balance < cents {
        return refused(AccountError::InsufficientFunds);
    }
    let after = balance - cents;
    let entry = move_money(conn, id, EntryKind::Withdrawal, -cents, after, None, now).await?;
    Ok(receipt(entry, after, now))
}

async fn transfer(conn: &Conn, id: i64, p: &Payment, now: i64) -> Result<Receipt, OpError> {
    let recipient = match queries::credentials(conn, &p.to).await? {
        Some(c) => i64::try_from(c.account_id).unwrap_or(-1),
        None => {
            // The sender's own account first, as SQLite checks it: a closed account paying
            // a name nobody has is told its account is closed.
            open_balance(conn, id).await?;
            return refused(AccountError::RecipientNotFound);
        }
    };
    // Both rows, locked in id order: two opposite transfers cannot deadlock.
    let statement = conn
        .prepare(
            "SELECT id, balance, status FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .await?;
    let rows = conn
        .client()
        .query(&statement, &[&vec![id, recipient]])
        .await?;
    let mut mine = None;
    let mut theirs = None;
    for row in &rows {
        let (row_id, balance, status): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let open = status == status_code(AccountStatus::Open);
        if row_id == id {
            mine = Some((balance, open));
        }
        if row_id == recipient {
            theirs = Some((balance, open));
        }
    }
    let Some((balance, my_account_open)) = mine else {
        return Err(OpError::Db(Fail::Corrupt(
            "the session's account is missing",
        )));
    };
    if !my_account_open {
        return refused(AccountError::AccountClosed);
    }
    let their_balance = match theirs {
        Some((balance, true)) => balance,
        _ => return refused(AccountError::RecipientNotFound),
    };
    if recipient == id {
        return refused(AccountError::SameAccount);
    }
    if balance < p.cents {
        return refused(AccountError::InsufficientFunds);
    }
    let Some(their_after) = their_balance.checked_add(p.cents) else {
        return refused(AccountError::Overflow);
    };
    let after = balance - p.cents;
    let out = EntryKind::TransferOut;
    let entry = move_money(conn, id, out, -p.cents, after, Some(recipient), now).await?;
    let into = EntryKind::TransferIn;
    move_money(conn, recipient, into, p.cents, their_after, Some(id), now).await?;
    Ok(receipt(entry, after, now))
}

async fn close(conn: &Conn, id: i64, now: i64) -> Result<AccountInfo, OpError> {
    if open_balance(conn, id).await? != 0 {
        return refused(AccountError::NonZeroBalance);
    }
    let statement = conn
        .prepare("UPDATE accounts SET status = $1, closed_at = $2 WHERE id = $3")
        .await?;
    conn.client()
        .execute(
            &statement,
            &[&status_code(AccountStatus::Closed), &now, &id],
        )
        .await?;
    Ok(queries::account(conn, id).await?)
}

/// Sets account `id`'s balance to `balance_after` and appends the ledger entry that says why,
/// in one statement; returns the entry's id.
async fn move_money(
    conn: &Conn,
    id: i64,
    kind: EntryKind,
    delta: i64,
    balance_after: i64,
    counterparty: Option<i64>,
    now: i64,
) -> Result<i64, Fail> {
    let statement = conn
        .prepare(
            "WITH balance AS (UPDATE accounts SET balance = $4 WHERE id = $1) \
             INSERT INTO ledger (account_id, kind, delta, balance_after, counterparty_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    let row = conn
        .client()
        .query_one(
            &statement,
            &[
                &id,
                &kind_code(kind),
                &delta,
                &balance_after,
                &counterparty,
                &now,
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Appends a ledger entry and returns its id.
async fn ledger(
    conn: &Conn,
    id: i64,
    kind: EntryKind,
    delta: i64,
    balance_after: i64,
    counterparty: Option<i64>,
    now: i64,
) -> Result<i64, Fail> {
    let statement = conn
        .prepare(
            "INSERT INTO ledger (account_id, kind, delta, balance_after, counterparty_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .await?;
    let row = conn
        .client()
        .query_one(
            &statement,
            &[
                &id,
                &kind_code(kind),
                &delta,
                &balance_after,
                &counterparty,
                &now,
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

fn receipt(entry: i64, balance: i64, now: i64) -> Receipt {
    Receipt {
        entry_id: to_id(entry),
        balance_cents: balance,
        at: now,
    }
}
