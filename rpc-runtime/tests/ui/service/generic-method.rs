use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service]
pub trait Store {
    async fn get<T>(&self, key: Key) -> Result<T, ()>;
    async fn put(&self, key: Key) -> Result<(), ()>
    where
        Key: Send;
}

fn main() {}
