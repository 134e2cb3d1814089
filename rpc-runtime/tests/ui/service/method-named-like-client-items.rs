use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service]
pub trait Store {
    async fn new(&self, key: Key) -> Result<Key, ()>;
    async fn with_timeout(&self, key: Key) -> Result<Key, ()>;
    async fn inner(&self, key: Key) -> Result<Key, ()>;
}

fn main() {}
