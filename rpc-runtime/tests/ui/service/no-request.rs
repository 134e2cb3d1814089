use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Count {
    value: u64,
}

#[service]
pub trait Counter {
    async fn get(&self) -> Result<Count, ()>;
}

fn main() {}
