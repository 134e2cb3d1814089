use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service]
pub trait Store {
    const CAPACITY: usize;
    type Value;
    async fn get(&self, key: Key) -> Result<Key, ()>;
}

fn main() {}
