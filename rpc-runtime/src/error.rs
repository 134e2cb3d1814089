//! Every error type, one per layer, in one place.
//!
//! Each layer defines its own error next to its code; this module gathers them:
//!
//! | layer | error | defined in |
//! |---|---|---|
//! | wire format (`pack` / `unpack`) | [`WireError`] | [`wire`](crate::wire) |
//! | frames | [`FrameError`] | [`frame`](crate::frame) |
//! | endpoints | [`EndpointError`] | [`endpoint`](crate::endpoint) |
//! | calls (client) | [`RpcError`], [`CallError`] | [`client`](crate::client) |
//! | server | [`ServeError`] | [`server`](crate::server) |

pub use crate::client::{BalanceError, CallError, RpcError};
pub use crate::endpoint::EndpointError;
pub use crate::frame::FrameError;
pub use crate::server::ServeError;
pub use crate::wire::{WireError, WireResult};

/// Shows an error followed by each of its causes, `error: cause: cause`.
///
/// The errors of this crate name only their own failure in their message and leave the cause
/// to [`Error::source`](std::error::Error::source); wrap one in `Chain` to print the whole
/// story in one line, as a log or a command-line tool wants it.
///
/// # Examples
///
/// ```
/// use rpc_runtime::error::{Chain, ServeError};
///
/// let error = ServeError::Threads(std::io::Error::other("no more threads"));
/// assert_eq!(error.to_string(), "cannot start worker threads");
/// assert_eq!(Chain(&error).to_string(), "cannot start worker threads: no more threads");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl core::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error with a cause says only what failed; the cause stays in `source()`.
    #[test]
    fn messages_do_not_repeat_their_cause() {
        let wire = WireError::BufferTooSmall { needed: 4, got: 2 };
        let errors: [&dyn std::error::Error; 3] = [
            &ServeError::Listen {
                endpoint: "tcp://127.0.0.1:1".into(),
                source: std::io::Error::other("port taken"),
            },
            &ServeError::Threads(std::io::Error::other("no threads")),
            &FrameError::Header(wire),
        ];
        for error in errors {
            let cause = error.source().expect("a cause").to_string();
            assert!(!error.to_string().contains(&cause), "{error}");
            assert_eq!(Chain(error).to_string(), format!("{error}: {cause}"));
        }
    }

    #[test]
    fn application_errors_are_not_printed_with_debug() {
        #[derive(Debug)]
        struct Secret;
        let error = CallError::<Secret>::Application(Secret);
        assert_eq!(error.to_string(), "the service returned its own error");
    }
}
