//! The schema, as the list of migrations that build it. Migration `i` (counting from 0) takes
//! the database from `PRAGMA user_version` `i` to `i + 1`. Never edit a released migration:
//! append a new one.

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[V1];

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
