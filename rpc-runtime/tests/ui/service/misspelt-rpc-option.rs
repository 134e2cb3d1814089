use rpc_runtime::service;

#[service]
pub trait Store {
    /// Reads a value.
    #[rpc(readonly)]
    async fn get(&self, request: ()) -> Result<(), ()>;
    /// Marked twice.
    #[rpc(read_only, read_only)]
    async fn list(&self, request: ()) -> Result<(), ()>;
    /// Given a value it does not take.
    #[rpc(read_only = true)]
    async fn peek(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
