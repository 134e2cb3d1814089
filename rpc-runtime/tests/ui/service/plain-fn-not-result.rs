//! A plain `fn` method must return its `Result` like an `async fn` does.

use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Add {
    a: i64,
    b: i64,
}

#[derive(Wire)]
pub struct Sum {
    value: i64,
}

#[service]
pub trait Calc {
    fn add(&self, request: Add) -> Sum;
    fn sub(&self, request: Add);
}

fn main() {}
