//! The login throttle's second line, shared by every server on the database.
//!
//! Each server keeps its own in-memory throttle (`auth/throttle.rs`), with backoff, but an
//! attacker could spread guesses over several servers. So every attempt is also written to
//! `login_attempts` before its password is checked, and refused with `Throttled` when, within
//! the throttle's window and over all servers, the same client already has `max_failures`
//! attempts on that name, or the name has `name_max_failures` from everyone. A success
//! forgets that client's attempts on the name; an attempt never checked is removed. The
//! refusal lasts until enough attempts leave the window (at least `window`, against the
//! in-memory throttle's `lockout`).
//!
//! The count and the insert are two statements, so servers that check at the very same
//! moment can each let one more attempt through: the bound is `max_failures` plus the number
//! of servers, not exact.

use super::Fail;
use super::conn::Conn;
use crate::config::LoginThrottle;
use crate::store::{LoginOutcome, SharedAttempt};
use account_client::api::{AccountError, Name};

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Counts an attempt, or refuses it (`Ok(Err(Throttled))`).
pub(crate) async fn attempt(
    conn: &Conn,
    policy: &LoginThrottle,
    name: Name,
    client: String,
) -> Result<Result<SharedAttempt, AccountError>, Fail> {
    let now = now_ms();
    let window = i64::try_from(policy.window.as_millis()).unwrap_or(i64::MAX);
    let since = now.saturating_sub(window);
    let forget = conn
        .prepare("DELETE FROM login_attempts WHERE name = $1 AND at_ms <= $2")
        .await?;
    conn.client()
        .execute(&forget, &[&name.as_str(), &since])
        .await?;
    let count = conn
        .prepare(
            "SELECT count(*) FILTER (WHERE client = $2), count(*) \
             FROM login_attempts WHERE name = $1 AND at_ms > $3",
        )
        .await?;
    let row = conn
        .client()
        .query_one(&count, &[&name.as_str(), &client, &since])
        .await?;
    let (mine, everyone): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if mine >= i64::from(policy.max_failures) || everyone >= i64::from(policy.name_max_failures) {
        return Ok(Err(AccountError::Throttled));
    }
    let insert = conn
        .prepare(
            "INSERT INTO login_attempts (name, client, at_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .await?;
    let id: i64 = conn
        .client()
        .query_one(&insert, &[&name.as_str(), &client, &now])
        .await?
        .try_get(0)?;
    Ok(Ok(SharedAttempt { id, name, client }))
}

/// Records how `attempt` ended.
pub(crate) async fn settled(
    conn: &Conn,
    attempt: &SharedAttempt,
    outcome: LoginOutcome,
) -> Result<(), Fail> {
    match outcome {
        LoginOutcome::Failed => {}
        LoginOutcome::Succeeded => {
            let statement = conn
                .prepare("DELETE FROM login_attempts WHERE name = $1 AND client = $2")
                .await?;
            conn.client()
                .execute(&statement, &[&attempt.name.as_str(), &attempt.client])
                .await?;
        }
        LoginOutcome::Refunded => {
            let statement = conn
                .prepare("DELETE FROM login_attempts WHERE id = $1")
                .await?;
            conn.client().execute(&statement, &[&attempt.id]).await?;
        }
    }
    Ok(())
}
