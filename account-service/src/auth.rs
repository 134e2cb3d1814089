//! Passwords and session tokens: argon2id hashing and verification (always on a blocking
//! thread, never on the executor or the writer), random tokens, and failed-login throttling.

mod throttle;

pub(crate) use throttle::Throttle;

use crate::config::PasswordHashing;
use crate::error::Error;
use account_client::api::{AccountError, Password, Token};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::Arc;

/// Hashes and verifies passwords with argon2id.
///
/// The synchronous methods are private: callers go through [`Passwords::hash`] and
/// [`Passwords::verify`], which run the work in `smol::unblock`.
pub(crate) struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when a login names no account, so that
    /// both failures cost the same.
    dummy: String,
}

impl core::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon2.params())
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// Checks the parameters and makes the dummy hash (one argon2 run: call it off the
    /// executor).
    pub(crate) fn new(cost: PasswordHashing) -> Result<Arc<Self>, Error> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(Error::PasswordHashing)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(Error::Random)?;
        let mut passwords = Passwords {
            argon2,
            dummy: String::new(),
        };
        passwords.dummy = passwords
            .hash_now(&random)
            .map_err(|_| Error::PasswordHashing(argon2::Error::OutputTooShort))?;
        Ok(Arc::new(passwords))
    }

    /// Hashes `password` with a fresh random salt into a PHC string, on a blocking thread.
    pub(crate) async fn hash(self: &Arc<Self>, password: Password) -> Result<String, AccountError> {
        let this = Arc::clone(self);
        smol::unblock(move || {
            off_thread::record();
            this.hash_now(password.as_bytes())
        })
        .await
    }

    /// Whether `password` matches the PHC string `hash` (or, when `hash` is `None`, runs the
    /// same work against the dummy hash and returns `false`), on a blocking thread.
    pub(crate) async fn verify(self: &Arc<Self>, password: Password, hash: Option<String>) -> bool {
        let this = Arc::clone(self);
        smol::unblock(move || {
            off_thread::record();
            match hash {
                Some(hash) => this.verify_now(password.as_bytes(), &hash),
                None => {
                    this.verify_now(password.as_bytes(), &this.dummy);
                    false
                }
            }
        })
        .await
    }

    fn hash_now(&self, password: &[u8]) -> Result<String, AccountError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| {
            tracing::error!(error = %e, "the random number generator failed");
            AccountError::StorageFailure
        })?;
        self.argon2
            .hash_password_with_salt(password, &salt)
            .map(|phc| phc.to_string())
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                AccountError::StorageFailure
            })
    }

    fn verify_now(&self, password: &[u8], hash: &str) -> bool {
        // The parameters come from the PHC string; the comparison is constant-time.
        self.argon2.verify_password(password, hash).is_ok()
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

/// In tests, which threads ran argon2 for a request: the proof that it never runs on the
/// executor or on the writer. (The dummy hash made at start-up is not a request's.)
#[cfg(test)]
pub(crate) mod off_thread {
    use std::sync::Mutex;

    static THREADS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub(crate) fn record() {
        let name = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_owned();
        THREADS.lock().unwrap().push(name);
    }

    /// The names of the threads argon2 ran on since the last call.
    pub(crate) fn take() -> Vec<String> {
        std::mem::take(&mut *THREADS.lock().unwrap())
    }
}

#[cfg(not(test))]
mod off_thread {
    #[inline(always)]
    pub(crate) fn record() {}
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
            let passwords = Passwords::new(PasswordHashing::INSECURE_FAST).unwrap();
            let hash = passwords.hash(pw("correct horse")).await.unwrap();
            assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
            assert!(
                passwords
                    .verify(pw("correct horse"), Some(hash.clone()))
                    .await
            );
            assert!(
                !passwords
                    .verify(pw("correct horsE"), Some(hash.clone()))
                    .await
            );
            assert!(!passwords.verify(pw("correct horse"), None).await);
            // A second hash of the same password has its own salt.
            assert_ne!(passwords.hash(pw("correct horse")).await.unwrap(), hash);
            // A hash made with other parameters still verifies: they travel in the string.
            let strong = Passwords::new(PasswordHashing {
                memory_kib: 64,
                iterations: 2,
                parallelism: 1,
            })
            .unwrap();
            let other = strong.hash(pw("correct horse")).await.unwrap();
            assert!(passwords.verify(pw("correct horse"), Some(other)).await);
        });
    }

    #[test]
    fn bad_parameters_are_an_error() {
        let cost = PasswordHashing {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        };
        assert!(matches!(
            Passwords::new(cost),
            Err(Error::PasswordHashing(_))
        ));
    }

    #[test]
    fn tokens_are_random() {
        assert_ne!(new_token().unwrap(), new_token().unwrap());
    }
}
