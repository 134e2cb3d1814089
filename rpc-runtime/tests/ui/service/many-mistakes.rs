use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Key {
    id: u64,
}

#[service(timeout = 5)]
pub trait Store<T> {
    const CAPACITY: usize;
    fn get(&self, key: Key) -> Result<Key, ()>;
    async fn put(&mut self, key: Key) -> Result<(), ()>;
    async fn new(&self, key: Key) -> Result<Key, ()>;
    async fn list<K>(&self, key: Key) -> Result<Vec<Key>, ()>;
    async fn take(&self, a: Key, b: Key) -> Key;
    async fn drop(&self, key: Key) -> Result<(), ()> {
        Ok(())
    }
}

fn main() {}
