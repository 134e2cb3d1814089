//! Failed-login throttling per name, in memory.
//!
//! Names, not accounts: a name that does not exist is throttled exactly like one that does, so
//! `Throttled` reveals nothing. The state is lost on restart, which only forgives a few
//! failures; argon2's cost remains the real defence against guessing.

use crate::config::LoginThrottle;
use account_client::api::{AccountError, Name};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Counts failed logins per name and refuses names with too many recent failures.
#[derive(Debug)]
pub(crate) struct Throttle {
    policy: LoginThrottle,
    names: Mutex<HashMap<Name, Record>>,
}

#[derive(Debug, Default)]
struct Record {
    /// The failures within the window, oldest first (at most `max_failures`).
    failures: Vec<Instant>,
    /// Refuse logins until then.
    locked_until: Option<Instant>,
}

impl Record {
    fn forget_before(&mut self, policy: &LoginThrottle, now: Instant) {
        self.failures
            .retain(|&at| now.saturating_duration_since(at) < policy.window);
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
        }
    }

    fn is_empty(&self) -> bool {
        self.failures.is_empty() && self.locked_until.is_none()
    }
}

impl Throttle {
    pub(crate) fn new(policy: LoginThrottle) -> Self {
        Throttle {
            policy,
            names: Mutex::new(HashMap::new()),
        }
    }

    /// `Throttled` while `name` is locked out.
    pub(crate) fn check(&self, name: &Name, now: Instant) -> Result<(), AccountError> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        match names.get(name).and_then(|r| r.locked_until) {
            Some(until) if until > now => Err(AccountError::Throttled),
            _ => Ok(()),
        }
    }

    /// Counts a failed login; the `max_failures`-th within the window locks the name out.
    pub(crate) fn failed(&self, name: &Name, now: Instant) {
        let policy = self.policy;
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if !names.contains_key(name) && names.len() >= policy.max_names {
            names.retain(|_, record| {
                record.forget_before(&policy, now);
                !record.is_empty()
            });
            if names.len() >= policy.max_names {
                tracing::warn!(
                    tracked = names.len(),
                    "login throttle full; not tracking another name"
                );
                return;
            }
        }
        let record = names.entry(*name).or_default();
        record.forget_before(&policy, now);
        record.failures.push(now);
        if record.failures.len() >= policy.max_failures.max(1) as usize {
            record.failures.clear();
            record.locked_until = Some(now + policy.lockout);
            tracing::info!(name = %name, "too many failed logins; throttling the name");
        }
    }

    /// Forgets the failures of a name that just logged in.
    pub(crate) fn succeeded(&self, name: &Name) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> LoginThrottle {
        LoginThrottle {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
            max_names: 4,
        }
    }

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn five_failures_in_a_minute_lock_the_name_for_thirty_seconds() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        for i in 0..4 {
            throttle.failed(&alice, t0 + Duration::from_secs(i * 10));
            assert_eq!(
                throttle.check(&alice, t0 + Duration::from_secs(i * 10)),
                Ok(())
            );
        }
        throttle.failed(&alice, t0 + Duration::from_secs(40));
        assert_eq!(
            throttle.check(&alice, t0 + Duration::from_secs(41)),
            Err(AccountError::Throttled)
        );
        assert_eq!(
            throttle.check(&alice, t0 + Duration::from_secs(69)),
            Err(AccountError::Throttled)
        );
        assert_eq!(throttle.check(&alice, t0 + Duration::from_secs(70)), Ok(()));
        // Other names are not affected.
        assert_eq!(
            throttle.check(&name("bob"), t0 + Duration::from_secs(41)),
            Ok(())
        );
    }

    #[test]
    fn old_failures_do_not_count() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        for i in 0..4 {
            throttle.failed(&alice, t0 + Duration::from_secs(i));
        }
        // The first four are more than a minute old by now.
        throttle.failed(&alice, t0 + Duration::from_secs(64));
        assert_eq!(throttle.check(&alice, t0 + Duration::from_secs(64)), Ok(()));
    }

    #[test]
    fn success_forgets_failures() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        let alice = name("alice");
        for _ in 0..4 {
            throttle.failed(&alice, t0);
        }
        throttle.succeeded(&alice);
        throttle.failed(&alice, t0);
        assert_eq!(throttle.check(&alice, t0), Ok(()));
    }

    #[test]
    fn a_full_table_drops_expired_names_and_then_stops_tracking() {
        let throttle = Throttle::new(policy());
        let t0 = Instant::now();
        for n in ["a", "b", "c", "d"] {
            throttle.failed(&name(n), t0);
        }
        // Full of live entries: a fifth name is not tracked.
        for _ in 0..5 {
            throttle.failed(&name("e"), t0);
        }
        assert_eq!(throttle.check(&name("e"), t0), Ok(()));
        // Once the old entries expire, there is room again.
        let later = t0 + Duration::from_secs(61);
        for _ in 0..5 {
            throttle.failed(&name("e"), later);
        }
        assert_eq!(
            throttle.check(&name("e"), later),
            Err(AccountError::Throttled)
        );
    }
}
