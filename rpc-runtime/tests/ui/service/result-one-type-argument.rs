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
    async fn add(&self, request: Add) -> std::io::Result<Sum>;
    async fn sub(&self, request: Add) -> Result<Sum>;
}

fn main() {}
