use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Amount {
    cents: i64,
}

#[service]
pub trait Counter {
    async fn add(&mut self, request: Amount) -> Result<Amount, ()>;
}

fn main() {}
