//! Passwords and session tokens: argon2id hashing and verification on a fixed pool of
//! threads (never on the executor or the writer), random tokens, and failed-login throttling.

mod lanes;
mod pool;
mod throttle;

pub use pool::HashingStats;
pub(crate) use pool::Refused;
pub(crate) use throttle::{Client, Throttle};

use crate::config::PasswordHashing;
use crate::error::Error;
use account_client::api::{AccountError, Password, Token};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use pool::Pool;
use std::sync::Arc;

/// Hashes and verifies passwords with argon2id on a pool of worker threads.
///
/// Each worker owns one argon2 memory block, sized for the configured cost and reused by
/// every hash it makes while work keeps coming, so memory stays at `threads × m` however many
/// logins arrive; a worker without a job for a while frees its block, so memory comes back
/// after a burst. A stored hash whose parameters need more memory
/// than that (made before the cost was lowered) is verified with a one-off block that is freed
/// at once, rather than growing the worker's block for good.
pub(crate) struct Passwords {
    pool: Pool<Lane, Job, Done>,
    params: Params,
    /// A hash of a random password, verified against when a login names no account, so that
    /// both failures cost the same.
    dummy: Arc<str>,
    /// In tests, the names of the threads argon2 ran on, for this instance only.
    #[cfg(test)]
    pub(crate) threads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl core::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Whose lane of the hashing queue a job waits in: one per client address (an IPv6 client
/// per /64, the block one host usually gets), one for every Unix socket client and one for
/// callers in this process. A client flooding logins fills its own lane; another
/// address's login takes the place of its newest job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lane {
    V4([u8; 4]),
    V6([u8; 8]),
    Unix,
    Local,
}

impl Lane {
    /// The lane of the call being polled.
    fn current() -> Lane {
        match Client::current() {
            Client::Ip(std::net::IpAddr::V4(ip)) => Lane::V4(ip.octets()),
            Client::Ip(std::net::IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
                Some(ip) => Lane::V4(ip.octets()),
                None => {
                    let mut prefix = [0; 8];
                    prefix.copy_from_slice(&ip.octets()[..8]);
                    Lane::V6(prefix)
                }
            },
            Client::Unix => Lane::Unix,
            Client::Local => Lane::Local,
        }
    }
}

/// Work for a hashing thread.
enum Job {
    /// Hash a new password with a fresh salt.
    Hash(Password),
    /// Check a password against a PHC string.
    Verify(Password, Arc<str>),
}

/// A hashing thread's answer.
enum Done {
    Hashed(Result<String, AccountError>),
    Verified(bool),
}

impl Passwords {
    /// Checks the parameters, makes the dummy hash (one argon2 run: call it off the executor)
    /// and starts `threads` hashing threads with a queue of `queue` jobs.
    pub(crate) fn new(
        cost: PasswordHashing,
        threads: usize,
        queue: usize,
    ) -> Result<Arc<Self>, Error> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(Error::PasswordHashing)?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(Error::Random)?;
        let dummy: Arc<str> = Hasher::new(&params)
            .hash(&random)
            .map_err(|_| Error::PasswordHashing(argon2::Error::OutputTooShort))?
            .into();
        #[cfg(test)]
        let threads_used = Arc::new(std::sync::Mutex::new(Vec::new()));
        let pool = Pool::start("argon2", threads, queue, IDLE, |_| HashWorker {
            hasher: None,
            params: params.clone(),
            dummy: Arc::clone(&dummy),
            #[cfg(test)]
            threads: Arc::clone(&threads_used),
        })
        .map_err(|source| Error::Thread {
            name: "argon2",
            source,
        })?;
        Ok(Arc::new(Passwords {
            pool,
            params,
            dummy,
            #[cfg(test)]
            threads: threads_used,
        }))
    }

    /// Hashes `password` with a fresh random salt into a PHC string, on a hashing thread.
    ///
    /// # Errors
    ///
    /// `StorageFailure` when the pool refused the job (the server then answers `resource
    /// exhausted`) or hashing failed.
    pub(crate) async fn hash(&self, password: Password) -> Result<String, AccountError> {
        match self.pool.run(Lane::current(), Job::Hash(password)).await {
            Ok(Done::Hashed(result)) => result,
            Ok(Done::Verified(_)) => Err(AccountError::StorageFailure),
            Err(refused) => Err(refusal(refused)),
        }
    }

    /// Whether `password` matches the PHC string `hash` (or, when `hash` is `None`, runs the
    /// same work against the dummy hash and answers `false`), on a hashing thread.
    ///
    /// # Errors
    ///
    /// `StorageFailure` when the pool refused the job (the server then answers `resource
    /// exhausted`).
    pub(crate) async fn verify(
        &self,
        password: Password,
        hash: Option<String>,
    ) -> Result<bool, AccountError> {
        let hash = match hash {
            Some(hash) => Arc::from(hash),
            None => Arc::clone(&self.dummy),
        };
        match self
            .pool
            .run(Lane::current(), Job::Verify(password, hash))
            .await
        {
            Ok(Done::Verified(matches)) => Ok(matches),
            Ok(Done::Hashed(_)) => Err(AccountError::StorageFailure),
            Err(refused) => Err(refusal(refused)),
        }
    }

    /// What the hashing pool has done so far.
    pub(crate) fn stats(&self) -> HashingStats {
        self.pool.stats()
    }
}

fn refusal(refused: Refused) -> AccountError {
    if refused == Refused::Stopped {
        tracing::error!("the password hashing threads are gone");
    }
    AccountError::StorageFailure
}

/// How long a hashing thread keeps its memory block without a job.
const IDLE: std::time::Duration = std::time::Duration::from_secs(2);

/// A hashing thread: its argon2 memory, allocated for its first job, reused for every job
/// while work keeps coming, and freed after [`IDLE`] without a job, so a burst leaves
/// nothing behind.
struct HashWorker {
    hasher: Option<Hasher>,
    params: Params,
    dummy: Arc<str>,
    #[cfg(test)]
    threads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl pool::Worker<Job, Done> for HashWorker {
    fn run(&mut self, job: Job) -> Done {
        #[cfg(test)]
        self.threads.lock().unwrap().push(
            std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_owned(),
        );
        let hasher = self.hasher.get_or_insert_with(|| Hasher::new(&self.params));
        match job {
            Job::Hash(password) => Done::Hashed(hasher.hash(password.as_bytes())),
            Job::Verify(password, hash) => {
                let matches = hasher.verify(password.as_bytes(), &hash);
                Done::Verified(matches && !Arc::ptr_eq(&hash, &self.dummy))
            }
        }
    }

    fn idle(&mut self) {
        self.hasher = None;
    }
}

/// Blocks of argon2 memory, reserved with room for at least 32 MiB. glibc's malloc serves
/// requests that large straight from the OS (its mmap threshold never rises above 32 MiB on
/// 64-bit systems) and gives them straight back when freed; a 19 MiB block could instead
/// stay in a thread's arena after it is freed. Only the blocks in use are touched, so the
/// extra room costs address space, not memory.
fn blocks(count: usize) -> Vec<Block> {
    const RETURNED_TO_OS: usize = (32 << 20) / Block::SIZE + 1;
    let mut blocks = Vec::with_capacity(count.max(RETURNED_TO_OS));
    blocks.resize(count, Block::new());
    blocks
}

/// The argon2 state a hashing thread reuses from job to job: its memory block.
struct Hasher {
    argon2: Argon2<'static>,
    blocks: Vec<Block>,
}

impl Hasher {
    fn new(params: &Params) -> Self {
        Hasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            blocks: blocks(params.block_count()),
        }
    }

    /// A PHC string of `password` with a fresh salt.
    fn hash(&mut self, password: &[u8]) -> Result<String, AccountError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| {
            tracing::error!(error = %e, "the random number generator failed");
            AccountError::StorageFailure
        })?;
        let failed = |e: &dyn core::fmt::Display| {
            tracing::error!(error = %e, "password hashing failed");
            AccountError::StorageFailure
        };
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.argon2
            .hash_password_into_with_memory(password, &salt, &mut out, &mut self.blocks)
            .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|e| failed(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the PHC string `hash`, whose own parameters (algorithm,
    /// version, cost, output length) are used. The comparison is constant-time.
    fn verify(&mut self, password: &[u8], hash: &str) -> bool {
        let Ok(phc) = PasswordHash::new(hash) else {
            tracing::error!("a stored password hash does not parse");
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
            return false;
        };
        let version = match phc.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(version)) => version,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&phc) else {
            return false;
        };
        let needed = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        let computed = if needed <= self.blocks.len() {
            argon2.hash_password_into_with_memory(password, salt, &mut out, &mut self.blocks)
        } else {
            // Stronger than this pool's cost: a one-off block, freed on return.
            let mut blocks = blocks(needed);
            argon2.hash_password_into_with_memory(password, salt, &mut out, &mut blocks)
        };
        computed.is_ok() && Output::new(&out).is_ok_and(|out| out == *expected)
    }
}

/// A new random session token.
pub(crate) fn new_token() -> Result<Token, AccountError> {
    let mut token = [0u8; 32];
    getrandom::fill(&mut token).map_err(|e| {
        tracing::error!(error = %e, "the random number generator failed");
        AccountError::StorageFailure
    })?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Password {
        Password::new(s).unwrap()
    }

    #[test]
    fn hash_and_verify() {
        smol::block_on(async {
            let passwords = Passwords::new(PasswordHashing::INSECURE_FAST, 2, 8).unwrap();
            let hash = passwords.hash(pw("correct horse")).await.unwrap();
            assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
            let verify =
                |password: &str, hash: Option<String>| passwords.verify(pw(password), hash);
            assert_eq!(verify("correct horse", Some(hash.clone())).await, Ok(true));
            assert_eq!(verify("correct horsE", Some(hash.clone())).await, Ok(false));
            assert_eq!(verify("correct horse", None).await, Ok(false));
            assert_eq!(
                verify("correct horse", Some("garbage".into())).await,
                Ok(false)
            );
            // A second hash of the same password has its own salt.
            assert_ne!(passwords.hash(pw("correct horse")).await.unwrap(), hash);
            // A hash made with other parameters still verifies: they travel in the string.
            // A stronger one needs more memory than the pool's blocks: a one-off block.
            let strong = Passwords::new(
                PasswordHashing {
                    memory_kib: 64,
                    iterations: 2,
                    parallelism: 2,
                },
                1,
                1,
            )
            .unwrap();
            let other = strong.hash(pw("correct horse")).await.unwrap();
            assert!(other.starts_with("$argon2id$v=19$m=64,t=2,p=2$"), "{other}");
            assert_eq!(verify("correct horse", Some(other.clone())).await, Ok(true));
            assert_eq!(verify("correct horsE", Some(other)).await, Ok(false));
            assert_eq!(passwords.stats().ran, 8);
        });
    }

    #[test]
    fn hashes_match_the_argon2_crates_own() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let params = Params::new(64, 2, 1, None).unwrap();
        let mut hasher = Hasher::new(&params);
        let ours = hasher.hash(b"correct horse").unwrap();
        // The stock verifier accepts ours, and ours accepts the stock hasher's.
        let stock = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(stock.verify_password(b"correct horse", &parsed).is_ok());
        let theirs = stock
            .hash_password_with_salt(b"correct horse", b"sixteen byte sal")
            .unwrap()
            .to_string();
        assert!(hasher.verify(b"correct horse", &theirs));
        assert!(!hasher.verify(b"correct horsE", &theirs));
        // The same salt gives the same string.
        let salt = PasswordHash::new(&ours).unwrap().salt.unwrap();
        let again = stock
            .hash_password_with_salt(b"correct horse", salt.as_ref())
            .unwrap()
            .to_string();
        assert_eq!(again, ours);
    }

    #[test]
    fn bad_parameters_are_an_error() {
        let cost = PasswordHashing {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        };
        assert!(matches!(
            Passwords::new(cost, 1, 1),
            Err(Error::PasswordHashing(_))
        ));
    }

    #[test]
    fn tokens_are_random() {
        assert_ne!(new_token().unwrap(), new_token().unwrap());
    }
}
