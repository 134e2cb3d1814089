//! The runtime under another name, given to the macro with `crate = ...`.

extern crate rpc_runtime as renamed;

use renamed::{Wire, service};

#[derive(Wire)]
#[wire(crate = renamed)]
pub struct Number {
    value: i64,
}

#[service(crate = renamed)]
pub trait Negate {
    async fn negate(&self, number: Number) -> Result<Number, ()>;
}

#[service(crate = ::renamed)]
pub trait Identity {
    async fn same(&self, number: Number) -> Result<Number, ()>;
}

struct Math;

impl Negate for Math {
    async fn negate(&self, n: Number) -> Result<Number, ()> {
        n.value
            .checked_neg()
            .map(|value| Number { value })
            .ok_or(())
    }
}

impl Identity for Math {
    async fn same(&self, n: Number) -> Result<Number, ()> {
        Ok(n)
    }
}

fn main() {
    let _ = renamed::Server::builder()
        .serve(ServeNegate::new(Math))
        .serve(ServeIdentity::new(Math));
}
