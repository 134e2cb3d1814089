//! Idempotency records: `(account, key)` → the request's fingerprint and its first reply.
//!
//! Records are written in the same savepoint as the change they describe, so a request and its
//! record commit together or not at all, and they live in the database, so they survive
//! restarts.

use crate::store::{Fingerprint, Replay, StoredReply};
use account_client::api::{AccountError, IdemKey};
use rpc_runtime::Message;
use rusqlite::{Connection, OptionalExtension, params};

/// The namespace of `open`, whose caller has no account yet.
pub(crate) const OPEN_SCOPE: i64 = 0;

/// What a key already holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) reply: StoredReply,
    pub(crate) secret: Option<String>,
}

impl Record {
    /// The replay for a retry with `fingerprint`, or `IdempotencyConflict` when the key was
    /// used by another request.
    pub(crate) fn replay_for<T: Message>(
        self,
        fingerprint: &Fingerprint,
    ) -> Result<Replay<T>, AccountError> {
        if self.fingerprint != *fingerprint {
            return Err(AccountError::IdempotencyConflict);
        }
        Ok(Replay {
            result: self.reply.decode(),
            secret: self.secret,
        })
    }
}

/// The record of `key` in `scope`, if any.
pub(crate) fn find(
    conn: &Connection,
    scope: i64,
    key: &IdemKey,
) -> rusqlite::Result<Option<Record>> {
    conn.prepare_cached(
        "SELECT fingerprint, ok, reply, secret FROM idempotency WHERE account_id = ?1 AND key = ?2",
    )?
    .query_row(params![scope, key.as_slice()], |row| {
        Ok(Record {
            fingerprint: Fingerprint(row.get(0)?),
            reply: StoredReply {
                ok: row.get(1)?,
                body: row.get(2)?,
            },
            secret: row.get(3)?,
        })
    })
    .optional()
}

/// Whether a reply is worth recording: everything but failures after which nothing happened
/// and a retry under the same key may rightly succeed (a bad session or password, a storage
/// failure).
pub(crate) fn is_recorded(result: &Result<impl Sized, AccountError>) -> bool {
    !matches!(
        result,
        Err(AccountError::Unauthenticated
            | AccountError::InvalidCredentials
            | AccountError::StorageFailure)
    )
}

/// Records the first reply to `key` in `scope`.
pub(crate) fn record(
    conn: &Connection,
    scope: i64,
    key: &IdemKey,
    fingerprint: &Fingerprint,
    reply: &StoredReply,
    secret: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency (account_id, key, fingerprint, ok, reply, secret, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        scope,
        key.as_slice(),
        fingerprint.0.as_slice(),
        reply.ok,
        reply.body,
        secret,
        now
    ])?;
    Ok(())
}
