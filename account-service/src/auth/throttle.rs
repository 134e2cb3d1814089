//! Login throttling, in memory: per name and client address with exponential backoff, under a
//! higher ceiling per name.
//!
//! An attempt is counted when it starts, before its password is checked
//! ([`Throttle::begin`]), so attempts sent together (pipelined on one connection, say) cannot
//! all slip past a check that only looks at finished failures. A success forgets the failures
//! of that name from that address; an attempt that was never checked (the hashing queue was
//! full, the database failed) is handed back ([`Throttle::refund`]).
//!
//! Who can lock a name out:
//!
//! - Per `(name, client address)`: `max_failures` attempts within `window`, then that address
//!   is refused for that name for `lockout`, doubling with each further lockout up to
//!   `max_lockout`. One attacker therefore gets a handful of guesses a minute, and only
//!   locks themselves out: the owner, from another address, is not affected.
//! - Per name, over all addresses: `name_max_failures` attempts within `window` (ten times the
//!   per-address budget by default), then the name is refused for everyone for `lockout`. This
//!   bounds an attacker spread over many addresses; only such an attacker can trigger it.
//!
//! TCP clients are told apart by IP address (not port, which changes per connection); Unix
//! socket clients share one key, as do in-process callers. Names, not accounts: a name that
//! does not exist is throttled exactly like one that does, so `Throttled` reveals nothing.
//! The state is lost on restart, which only forgives a few failures; argon2's cost remains the
//! real defence against guessing.

use crate::config::LoginThrottle;
use account_client::api::{AccountError, Name};
use rpc_runtime::server::{Peer, current_peer};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Who is calling, as far as throttling cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// A TCP client at this address.
    Ip(IpAddr),
    /// A client on the Unix socket.
    Unix,
    /// A caller in this process, or a transport that does not say.
    Local,
}

impl Client {
    /// The client of the call being polled. Read it at the start of a handler, before its
    /// first `.await`.
    pub(crate) fn current() -> Client {
        match current_peer() {
            Some(Peer::Tcp(addr)) => Client::Ip(addr.ip()),
            Some(Peer::Unix) => Client::Unix,
            _ => Client::Local,
        }
    }
}

/// A counted login attempt, in flight until settled with [`Attempt::failed`],
/// [`Attempt::succeeded`] or [`Attempt::refund`]. Dropped unsettled (its caller gave up half
/// way), it counts as a failure.
#[derive(Debug)]
#[must_use = "an attempt counts as a failure unless it is settled"]
pub(crate) struct Attempt<'a> {
    throttle: &'a Throttle,
    settled: bool,
    name: Name,
    client: Client,
    at: Instant,
    /// Whether it was counted per address (it is not when the table was full).
    per_client: bool,
    /// Whether it was counted per name.
    per_name: bool,
}

/// Counts login attempts and refuses names and addresses with too many recent failures.
#[derive(Debug)]
pub(crate) struct Throttle {
    policy: LoginThrottle,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<(Name, Client), ClientRecord>,
    names: HashMap<Name, NameRecord>,
}

#[derive(Debug, Default)]
struct ClientRecord {
    /// Attempts not known to have succeeded, within the window, oldest first: failures and
    /// attempts in flight.
    attempts: VecDeque<Instant>,
    /// How many of `attempts` are still in flight.
    pending: usize,
    /// Refused until then.
    locked_until: Option<Instant>,
    /// Lockouts so far, for the backoff.
    lockouts: u32,
}

#[derive(Debug, Default)]
struct NameRecord {
    attempts: VecDeque<Instant>,
    pending: usize,
    locked_until: Option<Instant>,
}

fn forget(attempts: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while attempts
        .front()
        .is_some_and(|&at| now.saturating_duration_since(at) >= window)
    {
        attempts.pop_front();
    }
}

fn remove(attempts: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = attempts.iter().position(|&t| t == at) {
        attempts.remove(i);
    }
}

impl ClientRecord {
    fn forget(&mut self, policy: &LoginThrottle, now: Instant) {
        forget(&mut self.attempts, policy.window, now);
        if let Some(until) = self.locked_until
            && until <= now
        {
            self.locked_until = None;
            // A quiet spell as long as the longest lockout forgives the backoff.
            if now.saturating_duration_since(until) >= policy.max_lockout {
                self.lockouts = 0;
            }
        }
    }

    /// Whether nothing about this record matters any more.
    fn is_spent(&self, policy: &LoginThrottle, now: Instant) -> bool {
        self.attempts.is_empty()
            && self.pending == 0
            && self
                .locked_until
                .is_none_or(|until| now.saturating_duration_since(until) >= policy.max_lockout)
    }

    fn lock(&mut self, policy: &LoginThrottle, now: Instant) -> Duration {
        let doubling = 2u32.saturating_pow(self.lockouts.min(20));
        let lockout = policy
            .lockout
            .saturating_mul(doubling)
            .min(policy.max_lockout.max(policy.lockout));
        self.lockouts = self.lockouts.saturating_add(1);
        self.attempts.clear();
        self.locked_until = Some(now + lockout);
        lockout
    }
}

impl NameRecord {
    fn forget(&mut self, policy: &LoginThrottle, now: Instant) {
        forget(&mut self.attempts, policy.window, now);
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
        }
    }

    fn is_spent(&self) -> bool {
        self.attempts.is_empty() && self.pending == 0 && self.locked_until.is_none()
    }
}

impl Throttle {
    pub(crate) fn new(policy: LoginThrottle) -> Self {
        Throttle {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    /// Counts a login attempt for `name` from `client` before its password is checked, or
    /// refuses it with `Throttled`.
    pub(crate) fn begin(
        &self,
        name: &Name,
        client: Client,
        now: Instant,
    ) -> Result<Attempt<'_>, AccountError> {
        let policy = &self.policy;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let State { clients, names } = &mut *state;

        let per_name = room(names, policy.max_names, name, |r| {
            r.forget(policy, now);
            r.is_spent()
        });
        if let Some(record) = names.get_mut(name) {
            record.forget(policy, now);
            if record.locked_until.is_some() {
                return Err(AccountError::Throttled);
            }
            let budget = policy.name_max_failures.max(1) as usize;
            if record.attempts.len() >= budget {
                // Locked only for failures, not for attempts still in flight.
                if record.attempts.len().saturating_sub(record.pending) >= budget {
                    record.attempts.clear();
                    record.locked_until = Some(now + policy.lockout);
                    tracing::warn!(%name, "too many failed logins from many addresses; throttling the name");
                }
                return Err(AccountError::Throttled);
            }
        }

        let key = (*name, client);
        let per_client = room(clients, policy.max_names, &key, |r| {
            r.forget(policy, now);
            r.is_spent(policy, now)
        });
        if let Some(record) = clients.get_mut(&key) {
            record.forget(policy, now);
            if record.locked_until.is_some() {
                return Err(AccountError::Throttled);
            }
            let budget = policy.max_failures.max(1) as usize;
            if record.attempts.len() >= budget {
                if record.attempts.len().saturating_sub(record.pending) >= budget {
                    let lockout = record.lock(policy, now);
                    tracing::info!(%name, ?client, ?lockout, "too many failed logins; throttling the name for this client");
                }
                return Err(AccountError::Throttled);
            }
        }

        if per_name {
            let record = names.entry(*name).or_default();
            record.attempts.push_back(now);
            record.pending += 1;
        }
        if per_client {
            let record = clients.entry(key).or_default();
            record.attempts.push_back(now);
            record.pending += 1;
        }
        Ok(Attempt {
            throttle: self,
            settled: false,
            name: *name,
            client,
            at: now,
            per_client,
            per_name,
        })
    }

    fn settle(&self, attempt: &Attempt<'_>, outcome: Outcome) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let key = (attempt.name, attempt.client);
        if outcome == Outcome::Succeeded {
            state.clients.remove(&key);
        } else if attempt.per_client
            && let Some(record) = state.clients.get_mut(&key)
        {
            record.pending = record.pending.saturating_sub(1);
            if outcome == Outcome::Unchecked {
                remove(&mut record.attempts, attempt.at);
            }
        }
        if attempt.per_name
            && let Some(record) = state.names.get_mut(&attempt.name)
        {
            record.pending = record.pending.saturating_sub(1);
            if outcome != Outcome::Failed {
                remove(&mut record.attempts, attempt.at);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Succeeded,
    Unchecked,
}

impl Attempt<'_> {
    /// The password was wrong (or the name unknown): the attempt stays counted.
    pub(crate) fn failed(mut self) {
        self.settled = true;
        self.throttle.settle(&self, Outcome::Failed);
    }

    /// The attempt logged in: forget the failures of its name from its client, and do not
    /// count it against the name.
    pub(crate) fn succeeded(mut self) {
        self.settled = true;
        self.throttle.settle(&self, Outcome::Succeeded);
    }

    /// The password was never checked (storage failed, the hashing queue was full): the
    /// attempt does not count.
    pub(crate) fn refund(mut self) {
        self.settled = true;
        self.throttle.settle(&self, Outcome::Unchecked);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.settle(self, Outcome::Failed);
        }
    }
}

/// Whether `key` has (or can get) an entry in `map`, which holds at most `max` entries. When
/// full, entries that `spent` says are over are dropped first; if it is still full, the new
/// key is not tracked (rather than refusing everyone).
fn room<K: Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    key: &K,
    mut spent: impl FnMut(&mut V) -> bool,
) -> bool {
    if map.contains_key(key) || map.len() < max {
        return true;
    }
    map.retain(|_, record| !spent(record));
    if map.len() < max {
        return true;
    }
    tracing::warn!(
        tracked = map.len(),
        "login throttle full; not tracking another entry"
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LoginThrottle {
        LoginThrottle {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(300),
            name_max_failures: 20,
            max_names: 64,
        }
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn ip(n: u8) -> Client {
        Client::Ip(IpAddr::from([10, 0, 0, n]))
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// `n` attempts that all fail.
    fn fail(throttle: &Throttle, who: &Name, client: Client, at: Instant, n: usize) {
        for _ in 0..n {
            throttle.begin(who, client, at).unwrap().failed();
        }
    }

    #[test]
    fn attempts_count_before_they_are_checked() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        // Five attempts in flight at once, none settled yet: the sixth is refused.
        let in_flight: Vec<_> = (0..5)
            .map(|_| throttle.begin(&alice, ip(1), t0).unwrap())
            .collect();
        assert!(throttle.begin(&alice, ip(1), t0).is_err());
        // They were not failures yet, so nothing is locked: once one succeeds, the address
        // may go on.
        let mut in_flight = in_flight.into_iter();
        in_flight.next().unwrap().succeeded();
        drop(in_flight);
        assert!(throttle.begin(&alice, ip(1), t0).is_ok());
    }

    #[test]
    fn failures_and_abandoned_attempts_lock_the_address() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        // Two fail, three are dropped unsettled (their callers gave up half way).
        fail(&throttle, &alice, ip(1), t0, 2);
        let abandoned: Vec<_> = (0..3)
            .map(|_| throttle.begin(&alice, ip(1), t0).unwrap())
            .collect();
        drop(abandoned);
        assert!(throttle.begin(&alice, ip(1), t0).is_err());
        assert!(throttle.begin(&alice, ip(1), t0 + S(29)).is_err());
        assert!(throttle.begin(&alice, ip(1), t0 + S(30)).is_ok());
    }

    #[test]
    fn one_address_locks_only_itself_out_with_growing_lockouts() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        fail(&throttle, &alice, ip(1), t0, 5);
        let refused = |client, at| throttle.begin(&alice, client, at).is_err();
        assert!(refused(ip(1), t0));
        assert!(refused(ip(1), t0 + S(29)));
        // The owner, elsewhere, is not locked out; nor is another name.
        throttle
            .begin(&alice, ip(2), t0 + S(1))
            .unwrap()
            .succeeded();
        assert!(throttle.begin(&name("bob"), ip(1), t0).is_ok());
        // After 30 s, five more; then 60 s; then 120 s.
        let mut at = t0;
        for lockout in [30, 60, 120, 240, 300, 300] {
            assert!(refused(ip(1), at), "locked at {at:?}");
            at += S(lockout);
            assert!(
                refused(ip(1), at - S(1)),
                "still locked just before {lockout} s"
            );
            fail(&throttle, &alice, ip(1), at, 5);
        }
    }

    #[test]
    fn many_addresses_together_hit_the_name_ceiling() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        // Four addresses, five guesses each: twenty, the name's budget.
        for n in 1..=4 {
            fail(&throttle, &alice, ip(n), t0, 5);
        }
        // Now the name is refused for everyone, for the base lockout.
        assert!(throttle.begin(&alice, ip(9), t0).is_err());
        assert!(throttle.begin(&alice, Client::Unix, t0 + S(29)).is_err());
        assert!(throttle.begin(&alice, ip(9), t0 + S(30)).is_ok());
        assert!(throttle.begin(&name("bob"), ip(9), t0).is_ok());
    }

    #[test]
    fn old_attempts_do_not_count() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        fail(&throttle, &alice, ip(1), t0, 4);
        // The first four are a minute old by now.
        fail(&throttle, &alice, ip(1), t0 + S(60), 4);
        assert!(throttle.begin(&alice, ip(1), t0 + S(60)).is_ok());
    }

    #[test]
    fn success_forgets_and_refunds_give_back() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        fail(&throttle, &alice, ip(1), t0, 4);
        throttle.begin(&alice, ip(1), t0).unwrap().succeeded();
        fail(&throttle, &alice, ip(1), t0, 4);
        // Never checked (say, the hashing queue was full): not counted.
        for _ in 0..10 {
            throttle.begin(&alice, ip(1), t0).unwrap().refund();
        }
        fail(&throttle, &alice, ip(1), t0, 1);
        assert!(throttle.begin(&alice, ip(1), t0).is_err());
    }

    #[test]
    fn a_full_table_drops_spent_entries_and_then_stops_tracking() {
        let throttle = Throttle::new(LoginThrottle {
            max_names: 4,
            ..policy()
        });
        let t0 = Instant::now();
        for n in ["a", "b", "c", "d"] {
            fail(&throttle, &name(n), ip(1), t0, 1);
        }
        // Full of live entries: a fifth name is not tracked.
        fail(&throttle, &name("e"), ip(1), t0, 6);
        assert!(throttle.begin(&name("e"), ip(1), t0).is_ok());
        // Once the old entries expire, there is room again.
        let later = t0 + S(61);
        fail(&throttle, &name("e"), ip(1), later, 5);
        assert!(throttle.begin(&name("e"), ip(1), later).is_err());
    }
}
