//! The schema, as the list of migrations that build it. Migration `i` (counting from 0) takes
//! the database from `PRAGMA user_version` `i` to `i + 1`. Never edit a released migration:
//! append a new one.

use crate::validate;
use rusqlite::{Connection, params};
use std::collections::HashSet;

/// One step of the schema: SQL, or Rust for what SQL cannot compute.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Migration {
    /// Statements run as one batch.
    Sql(&'static str),
    /// A function run on the migration's transaction.
    Rust(fn(&Connection) -> rusqlite::Result<()>),
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration::Sql(V1), Migration::Rust(v2)];

/// The schema version this program writes.
pub(crate) const VERSION: u32 = MIGRATIONS.len() as u32;

/// Version 1: accounts, the ledger, sessions and idempotency records.
///
/// - `accounts.balance` is in cents and never negative; `status` is 1 (open) or 2 (closed).
///   Names stay taken after an account is closed.
/// - `ledger` has one row per balance change, with the balance after it; the sum of `delta`
///   over an account equals its balance. A transfer writes one row on each side, each naming
///   the other account in `counterparty_id`.
/// - `sessions` holds the blake2b-256 hash of each session token, never the token.
/// - `idempotency` keeps, per `(account_id, key)` (account 0 for `open`), the request's
///   fingerprint and the encoded first reply; `secret` is the PHC string of a password the
///   request set, so a retry's password can be checked without keeping a fast hash of it.
const V1: &str = "
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (1, 2)),
    created_at INTEGER NOT NULL,
    closed_at INTEGER
) STRICT;

CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 5),
    delta INTEGER NOT NULL CHECK (delta <> 0),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    counterparty_id INTEGER REFERENCES accounts (id),
    at INTEGER NOT NULL
) STRICT;

CREATE INDEX ledger_by_account ON ledger (account_id, id);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE idempotency (
    account_id INTEGER NOT NULL,
    key BLOB NOT NULL CHECK (length(key) = 16),
    fingerprint BLOB NOT NULL CHECK (length(fingerprint) = 32),
    ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
    reply BLOB NOT NULL,
    secret TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;
";

/// Version 2: `accounts.skeleton`, the UTS #39 skeleton of the name, unique, so that no two
/// accounts have names that look alike. Names are stored in normalisation form C.
///
/// Existing rows are back-filled in id order. A name not in NFC is rewritten to NFC unless
/// another account already has that form. When two existing names share a skeleton, the
/// older account keeps it and the newer gets its skeleton marked with its id (a line feed,
/// which no name holds, then the id): both keep working, and no new look-alike of either can
/// be made.
fn v2(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("ALTER TABLE accounts ADD COLUMN skeleton TEXT")?;
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT id, name FROM accounts ORDER BY id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut names: HashSet<String> = rows.iter().map(|(_, name)| name.clone()).collect();
    let mut skeletons = HashSet::new();
    for (id, name) in rows {
        let nfc = nfc(&name);
        let name = if nfc != name && !names.contains(&nfc) {
            tracing::info!(id, "stored an account name in normalisation form C");
            names.insert(nfc.clone());
            nfc
        } else {
            name
        };
        let mut skeleton = validate::skeleton(&name);
        if !skeletons.insert(skeleton.clone()) {
            tracing::warn!(
                id,
                "this account's name looks like an older account's; it keeps its name, and \
                 no new account can take a name like either"
            );
            skeleton = format!("{skeleton}\n{id}");
            skeletons.insert(skeleton.clone());
        }
        conn.execute(
            "UPDATE accounts SET name = ?1, skeleton = ?2 WHERE id = ?3",
            params![name, skeleton, id],
        )?;
    }
    conn.execute_batch("CREATE UNIQUE INDEX accounts_by_skeleton ON accounts (skeleton)")
}

fn nfc(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect()
}
