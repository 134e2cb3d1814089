use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service(name = "store")]
pub trait Store {
    async fn get(&self, key: Key) -> Result<Key, ()>;
}

fn main() {}
