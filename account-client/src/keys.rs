//! Idempotency keys: 16 random bytes from the operating system, one per distinct mutation.

use crate::api::IdemKey;
use thiserror::Error;

/// The operating system's random number generator failed, so no key could be made.
///
/// This practically never happens on a running system (on Linux it means `getrandom(2)`
/// returned an unexpected error); nothing has been sent when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct KeyError(getrandom::Error);

/// A fresh idempotency key from the operating system's random number generator.
///
/// Use one key per distinct mutation and reuse it, with the identical request, only to retry
/// that mutation: the server then applies it once and answers every retry with the first
/// result. 128 random bits make an accidental collision with another request negligible.
///
/// # Errors
///
/// [`KeyError`] when the operating system cannot supply random bytes.
///
/// # Examples
///
/// ```
/// let a = account_client::new_idem_key()?;
/// let b = account_client::new_idem_key()?;
/// assert_ne!(a, b);
/// # Ok::<(), account_client::KeyError>(())
/// ```
pub fn new_idem_key() -> Result<IdemKey, KeyError> {
    let mut key = IdemKey::default();
    getrandom::fill(&mut key).map_err(KeyError)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ() {
        let keys: Vec<IdemKey> = (0..64).map(|_| new_idem_key().unwrap()).collect();
        for (i, a) in keys.iter().enumerate() {
            assert_ne!(a, &IdemKey::default());
            assert!(keys[i + 1..].iter().all(|b| a != b));
        }
    }
}
