//! The ledger invariant: every account's balance is the sum of its ledger entries, each
//! entry's `balance_after` is the running sum, and so the sum of all balances equals the sum
//! of the whole ledger.
//!
//! [`audit`] checks everything (tests and operators use it). [`check_changes`] is the cheap
//! form the writer can run before each commit: temporary triggers note every account whose
//! balance a batch touched, and only those are checked. Accounts the batch did not touch did
//! not change, so checking the touched ones keeps the invariant true at every commit.

use rusqlite::Connection;
use std::collections::HashMap;

/// The result of [`AccountService::audit`](crate::AccountService::audit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Audit {
    /// Accounts checked.
    pub accounts: u64,
    /// Ledger entries checked.
    pub entries: u64,
    /// The sum of all balances, in cents.
    pub total_balance: i128,
    /// The sum of all ledger deltas, in cents.
    pub total_ledger: i128,
    /// What is wrong, one line per problem (empty when the ledger balances).
    pub problems: Vec<String>,
}

impl Audit {
    /// Whether the ledger balances: no problem found and equal totals.
    pub fn is_balanced(&self) -> bool {
        self.problems.is_empty() && self.total_balance == self.total_ledger
    }
}

/// The ledger check itself, fed rows by either backend: every ledger entry in
/// `(account_id, id)` order, then every account.
#[derive(Debug, Default)]
pub(crate) struct Auditor {
    report: Audit,
    /// Running sum per account, in entry order.
    running: HashMap<i64, i128>,
}

impl Auditor {
    /// Checks one ledger entry against its account's running sum.
    pub(crate) fn entry(&mut self, entry: i64, account: i64, delta: i64, after: i64) {
        self.report.entries += 1;
        self.report.total_ledger += i128::from(delta);
        let sum = self.running.entry(account).or_default();
        *sum += i128::from(delta);
        if *sum != i128::from(after) || after < 0 {
            self.report.problems.push(format!(
                "entry {entry} of account {account}: balance_after {after}, running sum {sum}"
            ));
        }
    }

    /// Checks one account's balance against the sum of its entries.
    pub(crate) fn account(&mut self, account: i64, balance: i64) {
        self.report.accounts += 1;
        self.report.total_balance += i128::from(balance);
        let sum = self.running.remove(&account).unwrap_or(0);
        if sum != i128::from(balance) || balance < 0 {
            self.report.problems.push(format!(
                "account {account}: balance {balance}, ledger sum {sum}"
            ));
        }
    }

    /// The report, with entries of accounts that were never seen.
    pub(crate) fn finish(mut self) -> Audit {
        for account in self.running.keys() {
            self.report
                .problems
                .push(format!("ledger entries for missing account {account}"));
        }
        self.report
    }
}

/// Checks the whole database. Run it inside one read transaction for a consistent answer.
pub(crate) fn audit(conn: &Connection) -> rusqlite::Result<Audit> {
    let mut auditor = Auditor::default();
    let mut stmt = conn.prepare(
        "SELECT id, account_id, delta, balance_after FROM ledger ORDER BY account_id, id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        auditor.entry(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    }
    let mut stmt = conn.prepare("SELECT id, balance FROM accounts ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        auditor.account(row.get(0)?, row.get(1)?);
    }
    Ok(auditor.finish())
}

/// Installs the temporary triggers that note which accounts' balances change.
pub(crate) fn track_changes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS touched (id INTEGER PRIMARY KEY);
         CREATE TEMP TRIGGER IF NOT EXISTS touched_on_insert AFTER INSERT ON main.accounts
         BEGIN INSERT OR IGNORE INTO touched (id) VALUES (NEW.id); END;
         CREATE TEMP TRIGGER IF NOT EXISTS touched_on_update AFTER UPDATE OF balance ON main.accounts
         BEGIN INSERT OR IGNORE INTO touched (id) VALUES (NEW.id); END;
         CREATE TEMP TRIGGER IF NOT EXISTS touched_on_entry AFTER INSERT ON main.ledger
         BEGIN INSERT OR IGNORE INTO touched (id) VALUES (NEW.account_id); END;",
    )
}

/// Checks the accounts touched since the last call (inside the current transaction) and
/// forgets them. The outer `Err` is a failed query; the inner one names the broken account.
pub(crate) fn check_changes(conn: &Connection) -> rusqlite::Result<Result<(), String>> {
    let broken: Option<(i64, i64, i64, Option<i64>)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, a.balance,
                    (SELECT COALESCE(SUM(delta), 0) FROM ledger WHERE account_id = t.id),
                    (SELECT balance_after FROM ledger WHERE account_id = t.id ORDER BY id DESC LIMIT 1)
             FROM temp.touched t JOIN main.accounts a ON a.id = t.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut broken = None;
        while let Some(row) = rows.next()? {
            let found = (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            let (_, balance, sum, last): (i64, i64, i64, Option<i64>) = found;
            if balance != sum || last.unwrap_or(0) != balance {
                broken = Some(found);
                break;
            }
        }
        broken
    };
    conn.prepare_cached("DELETE FROM temp.touched")?
        .execute([])?;
    Ok(match broken {
        None => Ok(()),
        Some((id, balance, sum, last)) => Err(format!(
            "account {id}: balance {balance}, ledger sum {sum}, last balance_after {last:?}"
        )),
    })
}
