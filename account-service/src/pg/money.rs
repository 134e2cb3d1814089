//! The writer's fast path for deposits, withdrawals and transfers: a whole batch of them in two
//! round trips, however many requests it holds.
//!
//! The sequential path (`writer::run_sequential`) costs five to seven round trips per request
//! (session, balance, ledger, record, savepoint), and each round trip wakes the writer and a
//! PostgreSQL backend on both sides of a socket: on a loaded machine that, not SQL, is where
//! the time went. Here the batch is run in memory on rows read under lock:
//!
//! 1. `BEGIN`, lock every account the batch touches (in id order, so that batches on
//!    different servers queue instead of deadlocking) and read their balances, read the
//!    batch's sessions with the idempotency records of its keys, and take enough ledger ids
//!    from the ledger's sequence: four statements, sent together.
//! 2. The requests are decided in memory, in order, with the rules of `pg/ops.rs`.
//! 3. The new balances, the ledger entries and the idempotency records are written with one
//!    statement each, and `COMMIT`: four statements, sent together.
//!
//! tokio-postgres sends every request that is polled before its connection runs in one write,
//! so "sent together" is one `sendto` and one wake of the backend. Any failure aborts the
//! whole transaction; the writer then retries it (deadlock, serialization failure, a key
//! another server took) or runs the batch again on the sequential path, where one request's
//! failure touches no other.

use super::Fail;
use super::conn::Conn;
use super::ops::record_from;
use crate::db::codes::{kind_code, status_code, to_id};
use crate::db::idempotency::{self, Record};
use crate::db::ops::{Op, Outcome};
use crate::store::{Keyed, StoredReply};
use account_client::api::{AccountError, AccountStatus, EntryKind, IdemKey, Receipt};
use smol::future::try_zip;
use std::collections::HashMap;

/// Locks and reads the accounts of the batch's sessions and recipients, in id order, ending
/// with `$tail`. Ids are gathered first so that the accounts are found through their primary
/// key (an `OR` of conditions would scan the whole table).
macro_rules! lock_accounts {
    ($tail:literal) => {
        concat!(
            "SELECT id, balance, status FROM accounts WHERE id = ANY(ARRAY(\
             SELECT account_id FROM sessions WHERE token_hash = ANY($1) \
             UNION SELECT id FROM accounts WHERE name = ANY($2))) \
             ORDER BY id FOR UPDATE",
            $tail
        )
    };
}

/// Locks the batch's accounts, waiting for those another transaction holds.
const LOCK: &str = lock_accounts!("");

/// [`LOCK`] without waiting: accounts another transaction holds are left out.
const LOCK_FREE: &str = lock_accounts!(" SKIP LOCKED");

/// The ids of the recipients' names, locked or not.
const NAMES: &str = "SELECT id, name FROM accounts WHERE name = ANY($1)";

/// For each request (`$1[i]`, `$2[i]`): its live session's account and the record of its key
/// in that account, both found by primary key.
///
/// The record is looked up in a subquery that the planner may not flatten (`OFFSET 0`), so
/// that both the account and the key are conditions of the primary-key scan. As a plain
/// join, the generic plan PostgreSQL caches for this prepared statement, when made while the
/// tables had no statistics yet (a fresh database under load), scanned every record of the
/// account and filtered on the key afterwards: a cost that grew with each account's history,
/// 4 to 5 ms a batch after a few seconds of the bench, half of PostgreSQL's time.
const SESSIONS: &str = "SELECT r.token, s.account_id, i.key, i.fingerprint, i.ok, i.reply, \
     i.secret FROM unnest($1::bytea[], $2::bytea[]) AS r (token, key) \
     JOIN sessions s ON s.token_hash = r.token AND s.expires_at > $3 \
     LEFT JOIN LATERAL (SELECT key, fingerprint, ok, reply, secret FROM idempotency \
     WHERE account_id = s.account_id AND key = r.key OFFSET 0) AS i ON true";

/// `$1` fresh ledger ids. The sequence's name is looked up once, not once per id (`OFFSET 0`
/// keeps the planner from folding the subquery into the call).
const LEDGER_IDS: &str = "SELECT nextval(q.seq) \
     FROM (SELECT pg_get_serial_sequence('ledger', 'id')::regclass AS seq OFFSET 0) AS q, \
     generate_series(1, $1::int)";

const SET_BALANCES: &str = "UPDATE accounts SET balance = u.balance \
     FROM unnest($1::bigint[], $2::bigint[]) AS u (id, balance) WHERE accounts.id = u.id";

const ADD_ENTRIES: &str = "INSERT INTO ledger (id, account_id, kind, delta, balance_after, counterparty_id, at) \
     SELECT u.*, $7::bigint FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], \
     $4::bigint[], $5::bigint[], $6::bigint[]) AS u";

const ADD_RECORDS: &str = "INSERT INTO idempotency (account_id, key, fingerprint, ok, reply, at) \
     SELECT u.*, $6::bigint FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::boolean[], \
     $5::bytea[]) AS u";

/// Whether `op` moves money, and so can run on this path.
pub(crate) fn is_money(op: &Op) -> bool {
    matches!(op, Op::Deposit(_) | Op::Withdraw(_) | Op::Transfer(_))
}

/// An account as locked at the start of the batch, then as the batch changes it.
#[derive(Debug)]
struct Account {
    balance: i64,
    open: bool,
    touched: bool,
}

/// A ledger entry to insert.
#[derive(Debug)]
struct NewEntry {
    id: i64,
    account: i64,
    kind: EntryKind,
    delta: i64,
    balance_after: i64,
    counterparty: Option<i64>,
}

/// What the batch reads in its first round trip, and changes in memory.
#[derive(Debug)]
struct State {
    accounts: HashMap<i64, Account>,
    by_name: HashMap<String, i64>,
    sessions: HashMap<[u8; 32], i64>,
    records: HashMap<(i64, IdemKey), Record>,
    ids: std::vec::IntoIter<i64>,
    now: i64,
    locking: Locking,
    entries: Vec<NewEntry>,
    new_records: Vec<(i64, IdemKey, Record)>,
}

/// How a batch takes its accounts' locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// Waits for every account, in id order.
    Wait,
    /// Takes the accounts no other transaction holds, and leaves the requests that need one
    /// of the others for a later batch: batches of several servers then run side by side
    /// instead of one after the other.
    SkipBusy,
}

/// Runs `ops`, each of which [`is_money`], in one transaction, and commits. A request is
/// answered `None` when it needs an account another transaction holds (only with
/// [`Locking::SkipBusy`]): it was not run, and must be run again.
///
/// # Errors
///
/// Any failure of a statement: the transaction is left aborted (or already rolled back by
/// the `COMMIT`), and nothing was applied.
pub(crate) async fn run(
    conn: &Conn,
    ops: &[&Op],
    now: i64,
    locking: Locking,
) -> Result<Vec<Option<Outcome>>, Fail> {
    let mut tokens: Vec<&[u8]> = Vec::with_capacity(ops.len());
    let mut names: Vec<&str> = Vec::new();
    let mut keys: Vec<&[u8]> = Vec::with_capacity(ops.len());
    let mut entries = 0i32;
    for op in ops {
        let (token, key) = match op {
            Op::Deposit(r) | Op::Withdraw(r) => {
                entries += 1;
                (&r.token, &r.key)
            }
            Op::Transfer(r) => {
                entries += 2;
                names.push(r.args.to.as_str());
                (&r.token, &r.key)
            }
            _ => return Err(Fail::Corrupt("a batch for the money path")),
        };
        tokens.push(&token.0);
        keys.push(key);
    }

    let lock = conn
        .prepare(match locking {
            Locking::Wait => LOCK,
            Locking::SkipBusy => LOCK_FREE,
        })
        .await?;
    let by_name = conn.prepare(NAMES).await?;
    let sessions = conn.prepare(SESSIONS).await?;
    let ledger_ids = conn.prepare(LEDGER_IDS).await?;
    let client = conn.client();
    let (_, (locked, (named, (found, ids)))) = try_zip(
        client.batch_execute("BEGIN"),
        try_zip(
            client.query(&lock, &[&tokens, &names]),
            try_zip(
                client.query(&by_name, &[&names]),
                try_zip(
                    client.query(&sessions, &[&tokens, &keys, &now]),
                    client.query(&ledger_ids, &[&entries]),
                ),
            ),
        ),
    )
    .await?;

    let mut ids = ids
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<Vec<i64>, _>>()?;
    ids.sort_unstable();
    let mut state = State {
        accounts: HashMap::with_capacity(locked.len()),
        by_name: HashMap::with_capacity(named.len()),
        sessions: HashMap::with_capacity(found.len()),
        records: HashMap::new(),
        ids: ids.into_iter(),
        now,
        locking,
        entries: Vec::new(),
        new_records: Vec::new(),
    };
    for row in &locked {
        let id: i64 = row.try_get(0)?;
        let status: i64 = row.try_get(2)?;
        let account = Account {
            balance: row.try_get(1)?,
            open: status == status_code(AccountStatus::Open),
            touched: false,
        };
        state.accounts.insert(id, account);
    }
    for row in &named {
        state
            .by_name
            .insert(row.try_get::<_, String>(1)?, row.try_get(0)?);
    }
    for row in &found {
        let token: &[u8] = row.try_get(0)?;
        let token: [u8; 32] = token
            .try_into()
            .map_err(|_| Fail::Corrupt("sessions.token_hash"))?;
        let account: i64 = row.try_get(1)?;
        state.sessions.insert(token, account);
        let key: Option<&[u8]> = row.try_get(2)?;
        if let Some(key) = key {
            let key: IdemKey = key
                .try_into()
                .map_err(|_| Fail::Corrupt("idempotency.key"))?;
            let fingerprint: &[u8] = row.try_get(3)?;
            state
                .records
                .insert((account, key), record_from(fingerprint, row, 4)?);
        }
    }

    let outcomes = ops
        .iter()
        .map(|op| state.decide(op))
        .collect::<Result<Vec<_>, _>>()?;
    if outcomes.iter().all(Option::is_none) {
        // Nothing to write: ending with ROLLBACK spares the WAL flush a COMMIT of the row
        // locks would cost.
        client.batch_execute("ROLLBACK").await?;
    } else {
        state.write(conn).await?;
    }
    Ok(outcomes)
}

impl State {
    /// Whether `op` needs an account this batch could not lock.
    fn busy(&self, op: &Op) -> bool {
        if self.locking == Locking::Wait {
            return false;
        }
        let (token, recipient) = match op {
            Op::Deposit(r) | Op::Withdraw(r) => (&r.token, None),
            Op::Transfer(r) => (&r.token, self.by_name.get(r.args.to.as_str())),
            _ => return false,
        };
        let mine = self.sessions.get(&token.0);
        [mine, recipient]
            .into_iter()
            .flatten()
            .any(|id| !self.accounts.contains_key(id))
    }

    /// Decides `op` on the state so far, as `ops::keyed` and the request's body would;
    /// `None` when it needs an account another transaction holds.
    fn decide(&mut self, op: &Op) -> Result<Option<Outcome>, Fail> {
        if self.busy(op) {
            return Ok(None);
        }
        self.run(op).map(Some)
    }

    fn run(&mut self, op: &Op) -> Result<Outcome, Fail> {
        match op {
            Op::Deposit(r) => self.keyed(r, |state, id| state.deposit(id, r.args)),
            Op::Withdraw(r) => self.keyed(r, |state, id| state.withdraw(id, r.args)),
            Op::Transfer(r) => self.keyed(r, |state, id| {
                let to = state.by_name.get(r.args.to.as_str()).copied();
                state.transfer(id, to, r.args.cents)
            }),
            _ => Err(Fail::Corrupt("a batch for the money path")),
        }
    }

    /// The idempotency protocol around `body`, which runs on the session's account.
    fn keyed<A>(
        &mut self,
        r: &Keyed<A>,
        body: impl FnOnce(&mut Self, i64) -> Result<Result<Receipt, AccountError>, Fail>,
    ) -> Result<Outcome, Fail> {
        let Some(&scope) = self.sessions.get(&r.token.0) else {
            return Ok(Outcome::fresh::<Receipt>(&Err(
                AccountError::Unauthenticated,
            )));
        };
        if let Some(record) = self.records.get(&(scope, r.key)) {
            if record.fingerprint != r.fingerprint {
                return Ok(Outcome::fresh::<Receipt>(&Err(
                    AccountError::IdempotencyConflict,
                )));
            }
            return Ok(Outcome::Replayed {
                reply: record.reply.clone(),
                secret: record.secret.clone(),
            });
        }
        let result = match body(self, scope) {
            Ok(result) => result,
            // Nothing was changed: the request alone fails, as its savepoint would.
            Err(fail) => {
                tracing::error!(error = %fail, "request failed");
                return Ok(Outcome::storage_failure());
            }
        };
        let reply = StoredReply::encode(&result);
        if idempotency::is_recorded(&result) {
            let record = Record {
                fingerprint: r.fingerprint,
                reply: reply.clone(),
                secret: None,
            };
            self.records.insert((scope, r.key), record.clone());
            self.new_records.push((scope, r.key, record));
        }
        Ok(Outcome::Fresh(reply))
    }

    /// The balance of the session's account `id`, refusing a closed one.
    fn open_balance(&self, id: i64) -> Result<Result<i64, AccountError>, Fail> {
        match self.accounts.get(&id) {
            None => Err(Fail::Corrupt("the session's account is missing")),
            Some(a) if !a.open => Ok(Err(AccountError::AccountClosed)),
            Some(a) => Ok(Ok(a.balance)),
        }
    }

    fn deposit(&mut self, id: i64, cents: i64) -> Result<Result<Receipt, AccountError>, Fail> {
        let balance = match self.open_balance(id)? {
            Ok(balance) => balance,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(after) = balance.checked_add(cents) else {
            return Ok(Err(AccountError::Overflow));
        };
        let entry = self.move_money(id, EntryKind::Deposit, cents, after, None)?;
        Ok(Ok(self.receipt(entry, after)))
    }

    fn withdraw(&mut self, id: i64, cents: i64) -> Result<Result<Receipt, AccountError>, Fail> {
        let balance = match self.open_balance(id)? {
            Ok(balance) => balance,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if balance < cents {
            return Ok(Err(AccountError::InsufficientFunds));
        }
        let after = balance - cents;
        let entry = self.move_money(id, EntryKind::Withdrawal, -cents, after, None)?;
        Ok(Ok(self.receipt(entry, after)))
    }

    /// A transfer of `cents` from `id` to the account `to` names (`None`: no such name).
    fn transfer(
        &mut self,
        id: i64,
        to: Option<i64>,
        cents: i64,
    ) -> Result<Result<Receipt, AccountError>, Fail> {
        // The sender's own account first, as SQLite checks it: a closed account paying a
        // name nobody has is told its account is closed.
        let balance = match self.open_balance(id)? {
            Ok(balance) => balance,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(recipient) = to else {
            return Ok(Err(AccountError::RecipientNotFound));
        };
        let their_balance = match self.accounts.get(&recipient) {
            Some(a) if a.open => a.balance,
            _ => return Ok(Err(AccountError::RecipientNotFound)),
        };
        if recipient == id {
            return Ok(Err(AccountError::SameAccount));
        }
        if balance < cents {
            return Ok(Err(AccountError::InsufficientFunds));
        }
        let Some(their_after) = their_balance.checked_add(cents) else {
            return Ok(Err(AccountError::Overflow));
        };
        let after = balance - cents;
        let out = EntryKind::TransferOut;
        let entry = self.move_money(id, out, -cents, after, Some(recipient))?;
        let into = EntryKind::TransferIn;
        self.move_money(recipient, into, cents, their_after, Some(id))?;
        Ok(Ok(self.receipt(entry, after)))
    }

    /// Sets account `id`'s balance to `balance_after` and appends the entry that says why;
    /// returns the entry's id.
    fn move_money(
        &mut self,
        id: i64,
        kind: EntryKind,
        delta: i64,
        balance_after: i64,
        counterparty: Option<i64>,
    ) -> Result<i64, Fail> {
        let entry = self
            .ids
            .next()
            .ok_or(Fail::Corrupt("fewer ledger ids than entries"))?;
        let account = self
            .accounts
            .get_mut(&id)
            .ok_or(Fail::Corrupt("an account that was not locked"))?;
        account.balance = balance_after;
        account.touched = true;
        self.entries.push(NewEntry {
            id: entry,
            account: id,
            kind,
            delta,
            balance_after,
            counterparty,
        });
        Ok(entry)
    }

    fn receipt(&self, entry: i64, balance: i64) -> Receipt {
        Receipt {
            entry_id: to_id(entry),
            balance_cents: balance,
            at: self.now,
        }
    }

    /// Writes the new balances, entries and records, and commits: one round trip.
    async fn write(self, conn: &Conn) -> Result<(), Fail> {
        let (ids, balances): (Vec<i64>, Vec<i64>) = self
            .accounts
            .iter()
            .filter(|(_, a)| a.touched)
            .map(|(id, a)| (*id, a.balance))
            .unzip();
        let entry_ids: Vec<i64> = self.entries.iter().map(|e| e.id).collect();
        let accounts: Vec<i64> = self.entries.iter().map(|e| e.account).collect();
        let kinds: Vec<i64> = self.entries.iter().map(|e| kind_code(e.kind)).collect();
        let deltas: Vec<i64> = self.entries.iter().map(|e| e.delta).collect();
        let afters: Vec<i64> = self.entries.iter().map(|e| e.balance_after).collect();
        let counterparties: Vec<Option<i64>> =
            self.entries.iter().map(|e| e.counterparty).collect();
        let scopes: Vec<i64> = self.new_records.iter().map(|r| r.0).collect();
        let keys: Vec<&[u8]> = self.new_records.iter().map(|r| r.1.as_slice()).collect();
        let fingerprints: Vec<&[u8]> = self
            .new_records
            .iter()
            .map(|r| r.2.fingerprint.0.as_slice())
            .collect();
        let oks: Vec<bool> = self.new_records.iter().map(|r| r.2.reply.ok).collect();
        let replies: Vec<&[u8]> = self
            .new_records
            .iter()
            .map(|r| r.2.reply.body.as_slice())
            .collect();

        let set_balances = conn.prepare(SET_BALANCES).await?;
        let add_entries = conn.prepare(ADD_ENTRIES).await?;
        let add_records = conn.prepare(ADD_RECORDS).await?;
        let client = conn.client();
        try_zip(
            client.execute(&set_balances, &[&ids, &balances]),
            try_zip(
                client.execute(
                    &add_entries,
                    &[
                        &entry_ids,
                        &accounts,
                        &kinds,
                        &deltas,
                        &afters,
                        &counterparties,
                        &self.now,
                    ],
                ),
                try_zip(
                    client.execute(
                        &add_records,
                        &[&scopes, &keys, &fingerprints, &oks, &replies, &self.now],
                    ),
                    // In a transaction that failed, COMMIT answers ROLLBACK without an
                    // error: the failed statement's own error is what comes back.
                    client.batch_execute("COMMIT"),
                ),
            ),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::schema;

    /// The plan PostgreSQL caches for [`SESSIONS`] when it is made before the tables have
    /// statistics: the record must be found by account and key, not by account alone.
    #[test]
    fn the_sessions_lookup_finds_records_by_the_whole_key_in_a_generic_plan() {
        smol::block_on(async {
            let Some(conn) =
                schema::tests::fresh("the_sessions_lookup_finds_records_by_the_whole_key").await
            else {
                return;
            };
            schema::migrate(&conn).await.unwrap();
            let client = conn.client();
            client
                .batch_execute(
                    "ALTER TABLE idempotency SET (autovacuum_enabled = off); \
                     ALTER TABLE sessions SET (autovacuum_enabled = off); \
                     ALTER TABLE accounts SET (autovacuum_enabled = off); \
                     INSERT INTO accounts (id, name, skeleton, password_hash, created_at) \
                     SELECT g, 'a' || g, 'a' || g, 'x', 0 FROM generate_series(1, 64) g; \
                     INSERT INTO sessions SELECT sha256(int8send(g)), g, 0, 99 \
                     FROM generate_series(1, 64) g; \
                     INSERT INTO idempotency (account_id, key, fingerprint, ok, reply, at) \
                     SELECT 1 + g % 64, substr(sha256(int8send(g)), 1, 16), \
                     sha256(int8send(g)), true, '\\x00', 0 FROM generate_series(1, 10000) g;",
                )
                .await
                .unwrap();
            client
                .batch_execute(&format!(
                    "SET plan_cache_mode = force_generic_plan; \
                     PREPARE lookup (bytea[], bytea[], bigint) AS {SESSIONS}"
                ))
                .await
                .unwrap();
            let plan: Vec<String> = client
                .simple_query("EXPLAIN EXECUTE lookup('{}', '{}', 0)")
                .await
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                    _ => None,
                })
                .collect();
            let plan = plan.join("\n");
            let scan = plan
                .lines()
                .skip_while(|l| !l.contains("idempotency_pkey"))
                .nth(1)
                .unwrap_or_else(|| panic!("no primary-key scan of idempotency:\n{plan}"));
            assert!(
                scan.contains("Index Cond") && scan.contains("account_id") && scan.contains("key"),
                "the record is not found by its whole key:\n{plan}"
            );
            assert!(!plan.contains("Join Filter"), "{plan}");
        });
    }
}
