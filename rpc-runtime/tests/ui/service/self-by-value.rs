use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Amount {
    cents: i64,
}

#[service]
pub trait Counter {
    async fn add(self, request: Amount) -> Result<Amount, ()>;
    async fn sub(self: Box<Self>, request: Amount) -> Result<Amount, ()>;
}

fn main() {}
