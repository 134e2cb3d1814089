//! Collects every independent mistake in the input, so users see them all in one build.

use std::fmt::Display;
use syn::Error;

/// An accumulator of errors. Callers must drain it with [`Errors::finish`].
#[derive(Default)]
pub struct Errors {
    first: Option<Error>,
}

impl Errors {
    /// Records an error spanned on `tokens`.
    pub fn spanned(&mut self, tokens: impl quote::ToTokens, message: impl Display) {
        self.push(Error::new_spanned(tokens, message));
    }

    /// Records an error.
    pub fn push(&mut self, error: Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// Returns the combined errors, if any.
    pub fn finish(self) -> syn::Result<()> {
        match self.first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The messages recorded so far, in order, for tests.
    #[cfg(test)]
    pub fn into_messages(self) -> Vec<String> {
        match self.first {
            Some(e) => e.into_iter().map(|e| e.to_string()).collect(),
            None => Vec::new(),
        }
    }
}
