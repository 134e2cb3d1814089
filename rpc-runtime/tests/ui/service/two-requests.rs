use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Operand {
    value: i64,
}

#[service]
pub trait Calc {
    async fn add(&self, a: Operand, b: Operand) -> Result<Operand, ()>;
    async fn fma(&self, a: Operand, b: Operand, c: Operand) -> Result<Operand, ()>;
}

fn main() {}
