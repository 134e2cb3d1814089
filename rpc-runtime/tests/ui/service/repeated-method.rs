use rpc_runtime::service;

#[service]
pub trait Ping {
    async fn ping(&self, request: ()) -> Result<(), ()>;
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
