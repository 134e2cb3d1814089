use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service]
pub trait Store<T> {
    async fn get(&self, key: Key) -> Result<T, ()>;
}

fn main() {}
