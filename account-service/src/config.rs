//! What the service can be told at start-up: where the database lives, how long sessions last,
//! how hard passwords are hashed, how failed logins are throttled, and the writer's batch size.

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`AccountService::open`](crate::AccountService::open) needs.
///
/// Build one with [`Config::new`] and change the fields you care about; the defaults are the
/// production settings.
///
/// # Examples
///
/// ```
/// use account_service::Config;
/// use std::time::Duration;
///
/// let mut config = Config::new("./accounts.db");
/// config.session_ttl = Duration::from_secs(3600);
/// assert_eq!(config.max_batch, 256);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The SQLite database file; created (with its schema) when missing. It must be a real
    /// file (not `:memory:`): the writer and the readers open it separately.
    pub db_path: PathBuf,
    /// How long a session lasts after login (default 24 hours).
    pub session_ttl: Duration,
    /// The argon2id cost of new password hashes (default: OWASP's m=19 MiB, t=2, p=1).
    pub password_hashing: PasswordHashing,
    /// Threads that hash and verify passwords (default: one per core). Each holds one argon2
    /// memory block (`password_hashing.memory_kib`) while it has work, and frees it after two
    /// seconds without, so this bounds the memory password checks can take.
    pub hashing_threads: usize,
    /// Password checks that may wait for a hashing thread (default 32). When that many wait,
    /// `open`, `login` and `change_password` are answered `resource exhausted` at once.
    pub hashing_queue: usize,
    /// When repeated failed logins for one name are refused without checking.
    pub login_throttle: LoginThrottle,
    /// The most requests the writer commits in one transaction (default 256).
    pub max_batch: usize,
    /// How many write requests may wait for the writer before callers wait to enqueue
    /// (default 4,096).
    pub queue_depth: usize,
    /// How many read-only connections serve reads at once (default 4).
    pub readers: usize,
    /// How long a connection waits for a lock held by another process (default 5 s).
    pub busy_timeout: Duration,
    /// Check after every batch, before it commits, that the sum of balances equals the sum of
    /// the ledger; a batch that fails the check is rolled back. It scans both tables, so it is
    /// on by default only in debug builds. SQLite only: the PostgreSQL backend checks the
    /// ledger with [`PgStore::audit`](crate::PgStore::audit) on demand.
    pub audit_each_batch: bool,
    /// Connection settings used when the database is PostgreSQL.
    pub pg: PgSettings,
}

impl Config {
    /// The production defaults, with the database at `db_path`.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Config {
            db_path: db_path.into(),
            session_ttl: Duration::from_secs(24 * 60 * 60),
            password_hashing: PasswordHashing::default(),
            hashing_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hashing_queue: 32,
            login_throttle: LoginThrottle::default(),
            max_batch: 256,
            queue_depth: 4096,
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            audit_each_batch: cfg!(debug_assertions),
            pg: PgSettings::default(),
        }
    }
}

/// How a [`PgStore`](crate::PgStore) uses PostgreSQL: pool size and timeouts.
///
/// Each server holds at most `pool_size` read connections plus one for its writer, so
/// PostgreSQL's `max_connections` must exceed `servers × (pool_size + 1)` plus whatever else
/// connects (see docs/DEPLOY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgSettings {
    /// Most read connections open at once (default 8).
    pub pool_size: usize,
    /// How long opening a connection may take before the request is answered unavailable
    /// (default 5 s).
    pub connect_timeout: Duration,
    /// How long a read waits for a free pooled connection (default 5 s).
    pub acquire_timeout: Duration,
    /// How long one write batch, or one read, may run before its connection is dropped and
    /// its requests are answered unavailable (default 30 s).
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// The argon2id parameters for new password hashes.
///
/// Existing hashes keep the parameters they were made with (they are part of the PHC string),
/// so raising the cost later does not lock anyone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordHashing {
    /// Memory in KiB (`m`); at least 8.
    pub memory_kib: u32,
    /// Passes over the memory (`t`); at least 1.
    pub iterations: u32,
    /// Lanes (`p`); at least 1.
    pub parallelism: u32,
}

impl PasswordHashing {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: PasswordHashing = PasswordHashing {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest parameters argon2 accepts (8 KiB, 1 pass, 1 lane). Only for tests: these
    /// hashes give no protection against guessing.
    pub const INSECURE_FAST: PasswordHashing = PasswordHashing {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

/// Why a password hashing cost given as text (`m=KIB,t=N,p=N`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordCostError {
    /// A part is not `KEY=NUMBER`.
    #[error("expected m=KIB,t=N,p=N, got part {0:?}")]
    Syntax(String),
    /// A key other than `m`, `t` or `p`.
    #[error("unknown key {0:?}: the keys are m (memory in KiB), t (passes) and p (lanes)")]
    UnknownKey(String),
    /// A key given twice.
    #[error("{0} is given twice")]
    Repeated(String),
    /// A value that is not a whole number that fits in 32 bits.
    #[error("{key}={value:?} is not a whole number")]
    NotANumber {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
    },
    /// Numbers argon2 refuses (for example less than 8 KiB per lane, or 0 passes).
    #[error("argon2 refuses these parameters: {0}")]
    Refused(argon2::Error),
}

impl std::str::FromStr for PasswordHashing {
    type Err = PasswordCostError;

    /// Parses `m=KIB,t=N,p=N` (any order; a key left out keeps its [`PasswordHashing::OWASP`]
    /// value) and checks the result with argon2.
    ///
    /// ```
    /// use account_service::PasswordHashing;
    ///
    /// let cost: PasswordHashing = "m=8,t=1,p=1".parse().unwrap();
    /// assert_eq!(cost, PasswordHashing::INSECURE_FAST);
    /// assert!("m=4".parse::<PasswordHashing>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut cost = PasswordHashing::OWASP;
        let mut seen = [false; 3];
        for part in text.split(',').map(str::trim) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| PasswordCostError::Syntax(part.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            let (slot, field) = match key {
                "m" => (0, &mut cost.memory_kib),
                "t" => (1, &mut cost.iterations),
                "p" => (2, &mut cost.parallelism),
                other => return Err(PasswordCostError::UnknownKey(other.to_owned())),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(PasswordCostError::Repeated(key.to_owned()));
            }
            *field = value.parse().map_err(|_| PasswordCostError::NotANumber {
                key: key.to_owned(),
                value: value.to_owned(),
            })?;
        }
        argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(PasswordCostError::Refused)?;
        Ok(cost)
    }
}

impl std::fmt::Display for PasswordHashing {
    /// `m=KIB,t=N,p=N`, the form [`str::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "m={},t={},p={}",
            self.memory_kib, self.iterations, self.parallelism
        )
    }
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Login throttling, kept in memory, per name and client address and per name.
///
/// Attempts are counted when they start, before the password is checked. After
/// `max_failures` attempts for one name from one address within `window`, that address is
/// refused that name for `lockout`, doubling with each further lockout up to `max_lockout`;
/// other addresses (the owner's) are not affected. After `name_max_failures` attempts for
/// one name from all addresses together within `window`, the name is refused for everyone for
/// `lockout`: only an attacker spread over many addresses can cause that. Refusals are
/// `Throttled`, whether or not the name exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginThrottle {
    /// Attempts allowed per name and address within `window` (default 5).
    pub max_failures: u32,
    /// How far back attempts count (default 60 s).
    pub window: Duration,
    /// The first lockout of an address, and the lockout of a name (default 30 s).
    pub lockout: Duration,
    /// The longest lockout of an address (default 15 minutes); an address quiet that long
    /// after a lockout starts again from `lockout`.
    pub max_lockout: Duration,
    /// Attempts allowed per name from all addresses together within `window` (default 50).
    pub name_max_failures: u32,
    /// The most names, and the most (name, address) pairs, tracked at once (default 65,536);
    /// when full, new ones are not throttled until old entries expire, rather than locking
    /// everyone out.
    pub max_names: usize,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
            name_max_failures: 50,
            max_names: 65_536,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_cost_reads_back_what_it_prints() {
        for cost in [PasswordHashing::OWASP, PasswordHashing::INSECURE_FAST] {
            assert_eq!(cost.to_string().parse::<PasswordHashing>(), Ok(cost));
        }
        let some: PasswordHashing = " t=3 , m=65536".parse().unwrap();
        assert_eq!(
            (some.memory_kib, some.iterations, some.parallelism),
            (65536, 3, 1)
        );
    }

    #[test]
    fn a_bad_password_cost_is_refused_with_the_reason() {
        let bad = |text: &str| text.parse::<PasswordHashing>().unwrap_err();
        assert!(matches!(bad("m"), PasswordCostError::Syntax(_)));
        assert!(matches!(bad(""), PasswordCostError::Syntax(_)));
        assert!(matches!(bad("x=1"), PasswordCostError::UnknownKey(_)));
        assert!(matches!(bad("m=8,m=9"), PasswordCostError::Repeated(_)));
        assert!(matches!(bad("t=-1"), PasswordCostError::NotANumber { .. }));
        assert!(matches!(
            bad("m=99999999999"),
            PasswordCostError::NotANumber { .. }
        ));
        assert!(matches!(bad("t=0"), PasswordCostError::Refused(_)));
        assert!(matches!(bad("m=4"), PasswordCostError::Refused(_)));
        assert!(matches!(bad("m=8,p=2"), PasswordCostError::Refused(_)));
    }
}
