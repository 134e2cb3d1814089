use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service]
pub trait Store {
    async fn get(&self, key: Key) -> Result<Key, ()> {
        Ok(key)
    }
}

fn main() {}
