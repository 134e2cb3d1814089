//! Doc comments and other attributes on the trait and its methods are kept.

#![deny(missing_docs)]

use rpc_runtime::{Wire, service};

/// A number.
#[derive(Wire)]
pub struct Number {
    /// The value.
    pub value: i64,
}

/// Doubles numbers.
#[service]
pub trait Doubler {
    /// Returns twice the number.
    ///
    /// Fails on overflow.
    #[must_use = "the doubled number is the point of the call"]
    async fn double(&self, number: Number) -> Result<Number, ()>;

    /// Returns the number as it is.
    #[deprecated = "use `double`"]
    async fn same(&self, number: Number) -> Result<Number, ()>;
}

struct Twice;

#[allow(deprecated)]
impl Doubler for Twice {
    async fn double(&self, n: Number) -> Result<Number, ()> {
        n.value
            .checked_mul(2)
            .map(|value| Number { value })
            .ok_or(())
    }

    async fn same(&self, n: Number) -> Result<Number, ()> {
        Ok(n)
    }
}

fn main() {
    let _ = ServeDoubler::new(Twice);
}
