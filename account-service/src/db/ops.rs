//! The writes, one function per request, run by the writer inside the request's savepoint.
//!
//! Each keyed request goes through [`keyed`]: resolve the session, look the key up, run the
//! body in a nested savepoint (so a refusal can never leave half a change behind), record the
//! reply. Bodies check everything before they write. A `rusqlite::Error` anywhere aborts the
//! request: the writer rolls its savepoint back and answers `StorageFailure`.

use super::idempotency::{self, OPEN_SCOPE};
use super::queries::{self, kind_code, status_code, to_id};
use crate::store::{
    Fingerprint, Keyed, NewAccount, NewName, NewPassword, NewSession, Payment, StoredReply,
    TokenHash,
};
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, EntryKind, IdemKey, Receipt, Session,
};
use rpc_runtime::Message;
use rusqlite::{Connection, OptionalExtension, params};

/// A write request, as queued for the writer.
#[derive(Debug)]
pub(crate) enum Op {
    Open(NewAccount),
    StartSession(NewSession),
    EndSession(TokenHash),
    Rename(Keyed<NewName>),
    ChangePassword(Keyed<NewPassword>),
    Deposit(Keyed<i64>),
    Withdraw(Keyed<i64>),
    Transfer(Keyed<Payment>),
    Close(Keyed<()>),
}

/// What the writer answers a request with (after the batch committed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Run now.
    Fresh(StoredReply),
    /// The first answer to the same request under the same key.
    Replayed {
        reply: StoredReply,
        secret: Option<String>,
    },
}

impl Outcome {
    pub(crate) fn fresh<T: Message>(result: &Result<T, AccountError>) -> Self {
        Outcome::Fresh(StoredReply::encode(result))
    }

    /// The answer for a request that was not applied.
    pub(crate) fn storage_failure() -> Self {
        Self::fresh::<()>(&Err(AccountError::StorageFailure))
    }
}

/// Runs `op` at time `now`.
pub(crate) fn apply(conn: &Connection, op: &Op, now: i64) -> rusqlite::Result<Outcome> {
    match op {
        Op::Open(r) => keyed(conn, None, &r.key, &r.fingerprint, now, |conn, _| {
            open(conn, r, now)
        }),
        Op::StartSession(s) => Ok(Outcome::fresh(&settle(start_session(conn, s, now))?)),
        Op::EndSession(token) => Ok(Outcome::fresh(&settle(end_session(conn, token, now))?)),
        Op::Rename(r) => on_account(conn, r, now, |conn, id| {
            Ok((rename(conn, id, &r.args)?, None))
        }),
        Op::ChangePassword(r) => on_account(conn, r, now, |conn, id| {
            change_password(conn, id, &r.token, &r.args)
        }),
        Op::Deposit(r) => on_account(conn, r, now, |conn, id| {
            Ok((deposit(conn, id, r.args, now)?, None))
        }),
        Op::Withdraw(r) => on_account(conn, r, now, |conn, id| {
            Ok((withdraw(conn, id, r.args, now)?, None))
        }),
        Op::Transfer(r) => on_account(conn, r, now, |conn, id| {
            Ok((transfer(conn, id, &r.args, now)?, None))
        }),
        Op::Close(r) => on_account(conn, r, now, |conn, id| Ok((close(conn, id, now)?, None))),
    }
}

/// Why a write did not produce its reply.
///
/// Internal to the ops: [`settle`] turns it back into the nested shape the writer relies on,
/// where the outer error aborts the request and the inner one is an answer.
#[derive(Debug)]
enum OpError {
    /// The database failed: the request is rolled back and answered `StorageFailure`.
    Db(rusqlite::Error),
    /// The request was refused: this is its answer.
    Refused(AccountError),
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> Self {
        OpError::Db(e)
    }
}

impl From<AccountError> for OpError {
    fn from(e: AccountError) -> Self {
        OpError::Refused(e)
    }
}

/// The one place an [`OpError`] is taken apart: a database failure stays an error, a refusal
/// becomes the reply.
fn settle<T>(result: Result<T, OpError>) -> rusqlite::Result<Result<T, AccountError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(OpError::Refused(e)) => Ok(Err(e)),
        Err(OpError::Db(e)) => Err(e),
    }
}

/// What a body returns on success: the reply, and the PHC string of a password it set.
type Body<T> = (T, Option<String>);

fn on_account<A, T: Message>(
    conn: &Connection,
    request: &Keyed<A>,
    now: i64,
    body: impl FnOnce(&Connection, i64) -> Result<Body<T>, OpError>,
) -> rusqlite::Result<Outcome> {
    keyed(
        conn,
        Some(&request.token),
        &request.key,
        &request.fingerprint,
        now,
        body,
    )
}

/// The idempotency protocol around `body`, which runs on the session's account (or, without
/// a session, in the `open` namespace).
fn keyed<T: Message>(
    conn: &Connection,
    token: Option<&TokenHash>,
    key: &IdemKey,
    fingerprint: &Fingerprint,
    now: i64,
    body: impl FnOnce(&Connection, i64) -> Result<Body<T>, OpError>,
) -> rusqlite::Result<Outcome> {
    let scope = match token {
        None => OPEN_SCOPE,
        Some(token) => match queries::session_account(conn, token, now)? {
            Some(id) => id,
            None => return Ok(Outcome::fresh::<T>(&Err(AccountError::Unauthenticated))),
        },
    };
    if let Some(record) = idempotency::find(conn, scope, key)? {
        if record.fingerprint != *fingerprint {
            return Ok(Outcome::fresh::<T>(&Err(AccountError::IdempotencyConflict)));
        }
        return Ok(Outcome::Replayed {
            reply: record.reply,
            secret: record.secret,
        });
    }
    exec(conn, "SAVEPOINT body")?;
    let (result, secret) = match settle(body(conn, scope)) {
        Ok(Ok((value, secret))) => (Ok(value), secret),
        Ok(Err(refusal)) => (Err(refusal), None),
        Err(e) => {
            exec(conn, "ROLLBACK TO body")?;
            exec(conn, "RELEASE body")?;
            return Err(e);
        }
    };
    if result.is_err() {
        // A refusal changes nothing, even if the body had started writing.
        exec(conn, "ROLLBACK TO body")?;
    }
    exec(conn, "RELEASE body")?;
    let reply = StoredReply::encode(&result);
    if idempotency::is_recorded(&result) {
        let secret = if result.is_ok() {
            secret.as_deref()
        } else {
            None
        };
        idempotency::record(conn, scope, key, fingerprint, &reply, secret, now)?;
    }
    Ok(Outcome::Fresh(reply))
}

/// Runs one statement without parameters through the statement cache.
pub(crate) fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn open(conn: &Connection, r: &NewAccount, now: i64) -> Result<Body<AccountInfo>, OpError> {
    if queries::by_skeleton(conn, &r.skeleton)?.is_some() {
        return Err(AccountError::NameTaken.into());
    }
    conn.prepare_cached(
        "INSERT INTO accounts (name, skeleton, password_hash, balance, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        r.name.as_str(),
        r.skeleton,
        r.password_hash,
        r.initial_cents,
        status_code(AccountStatus::Open),
        now
    ])?;
    let id = conn.last_insert_rowid();
    if r.initial_cents > 0 {
        ledger(
            conn,
            id,
            EntryKind::Opening,
            r.initial_cents,
            r.initial_cents,
            None,
            now,
        )?;
    }
    Ok((queries::account(conn, id)?, Some(r.password_hash.clone())))
}

fn start_session(conn: &Connection, s: &NewSession, now: i64) -> Result<Session, OpError> {
    let id = i64::try_from(s.account_id).unwrap_or(-1);
    let current: Option<(String, i64)> = conn
        .prepare_cached("SELECT password_hash, status FROM accounts WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match current {
        Some((hash, _)) if hash != s.password_hash => {
            return Err(AccountError::InvalidCredentials.into());
        }
        None => return Err(AccountError::InvalidCredentials.into()),
        Some((_, status)) if status != status_code(AccountStatus::Open) => {
            return Err(AccountError::AccountClosed.into());
        }
        Some(_) => {}
    }
    let ttl = i64::try_from(s.ttl.as_secs()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl);
    // Sweep this account's dead sessions while we are here.
    conn.prepare_cached("DELETE FROM sessions WHERE account_id = ?1 AND expires_at <= ?2")?
        .execute(params![id, now])?;
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![s.token.0.as_slice(), id, now, expires_at])?;
    // The token itself never reaches the store; the service fills it in.
    Ok(Session {
        token: [0; 32],
        account_id: s.account_id,
        expires_at,
    })
}

fn end_session(conn: &Connection, token: &TokenHash, now: i64) -> Result<(), OpError> {
    let expires_at: Option<i64> = conn
        .prepare_cached("DELETE FROM sessions WHERE token_hash = ?1 RETURNING expires_at")?
        .query_row([token.0.as_slice()], |row| row.get(0))
        .optional()?;
    match expires_at {
        Some(at) if at > now => Ok(()),
        _ => Err(AccountError::Unauthenticated.into()),
    }
}

/// The balance and status of account `id`, refusing a closed account.
fn open_balance(conn: &Connection, id: i64) -> Result<i64, OpError> {
    let (balance, status): (i64, i64) = conn
        .prepare_cached("SELECT balance, status FROM accounts WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    if status == status_code(AccountStatus::Open) {
        Ok(balance)
    } else {
        Err(AccountError::AccountClosed.into())
    }
}

fn rename(conn: &Connection, id: i64, name: &NewName) -> Result<AccountInfo, OpError> {
    open_balance(conn, id)?;
    match queries::by_skeleton(conn, &name.skeleton)? {
        // Taken, or looks like one that is.
        Some(other) if other != id => return Err(AccountError::NameTaken.into()),
        // Its own name, or one that looks like it: the account may change how it is written.
        Some(_) | None => {
            conn.prepare_cached("UPDATE accounts SET name = ?1, skeleton = ?2 WHERE id = ?3")?
                .execute(params![name.name.as_str(), name.skeleton, id])?;
        }
    }
    Ok(queries::account(conn, id)?)
}

fn change_password(
    conn: &Connection,
    id: i64,
    token: &TokenHash,
    r: &NewPassword,
) -> Result<Body<()>, OpError> {
    open_balance(conn, id)?;
    if queries::credentials_by_id(conn, id)?.password_hash != r.old_hash {
        // Changed by another request since the old password was verified.
        return Err(AccountError::InvalidCredentials.into());
    }
    conn.prepare_cached("UPDATE accounts SET password_hash = ?1 WHERE id = ?2")?
        .execute(params![r.new_hash, id])?;
    conn.prepare_cached("DELETE FROM sessions WHERE account_id = ?1 AND token_hash <> ?2")?
        .execute(params![id, token.0.as_slice()])?;
    Ok(((), Some(r.new_hash.clone())))
}

fn deposit(conn: &Connection, id: i64, cents: i64, now: i64) -> Result<Receipt, OpError> {
    let balance = open_balance(conn, id)?;
    let Some(after) = balance.checked_add(cents) else {
        return Err(AccountError::Overflow.into());
    };
    set_balance(conn, id, after)?;
    let entry = ledger(conn, id, EntryKind::Deposit, cents, after, None, now)?;
    Ok(receipt(entry, after, now))
}

fn withdraw(conn: &Connection, id: i64, cents: i64, now: i64) -> Result<Receipt, OpError> {
    let balance = open_balance(conn, id)?;
    if balance < cents {
        return Err(AccountError::InsufficientFunds.into());
    }
    let after = balance - cents;
    set_balance(conn, id, after)?;
    let entry = ledger(conn, id, EntryKind::Withdrawal, -cents, after, None, now)?;
    Ok(receipt(entry, after, now))
}

fn transfer(conn: &Connection, id: i64, p: &Payment, now: i64) -> Result<Receipt, OpError> {
    let balance = open_balance(conn, id)?;
    let recipient = match queries::credentials(conn, &p.to)? {
        Some(c) if c.status == AccountStatus::Open => i64::try_from(c.account_id).unwrap_or(-1),
        _ => return Err(AccountError::RecipientNotFound.into()),
    };
    if recipient == id {
        return Err(AccountError::SameAccount.into());
    }
    if balance < p.cents {
        return Err(AccountError::InsufficientFunds.into());
    }
    // A closed recipient is refused as not found; a database failure stays one.
    let their_balance = match open_balance(conn, recipient) {
        Err(OpError::Refused(_)) => return Err(AccountError::RecipientNotFound.into()),
        other => other?,
    };
    let Some(their_after) = their_balance.checked_add(p.cents) else {
        return Err(AccountError::Overflow.into());
    };
    let after = balance - p.cents;
    set_balance(conn, id, after)?;
    set_balance(conn, recipient, their_after)?;
    let entry = ledger(
        conn,
        id,
        EntryKind::TransferOut,
        -p.cents,
        after,
        Some(recipient),
        now,
    )?;
    ledger(
        conn,
        recipient,
        EntryKind::TransferIn,
        p.cents,
        their_after,
        Some(id),
        now,
    )?;
    Ok(receipt(entry, after, now))
}

fn close(conn: &Connection, id: i64, now: i64) -> Result<AccountInfo, OpError> {
    if open_balance(conn, id)? != 0 {
        return Err(AccountError::NonZeroBalance.into());
    }
    conn.prepare_cached("UPDATE accounts SET status = ?1, closed_at = ?2 WHERE id = ?3")?
        .execute(params![status_code(AccountStatus::Closed), now, id])?;
    Ok(queries::account(conn, id)?)
}

fn set_balance(conn: &Connection, id: i64, balance: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE accounts SET balance = ?1 WHERE id = ?2")?
        .execute(params![balance, id])?;
    Ok(())
}

/// Appends a ledger entry and returns its id.
fn ledger(
    conn: &Connection,
    id: i64,
    kind: EntryKind,
    delta: i64,
    balance_after: i64,
    counterparty: Option<i64>,
    now: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO ledger (account_id, kind, delta, balance_after, counterparty_id, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        kind_code(kind),
        delta,
        balance_after,
        counterparty,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

fn receipt(entry: i64, balance: i64, now: i64) -> Receipt {
    Receipt {
        entry_id: to_id(entry),
        balance_cents: balance,
        at: now,
    }
}
