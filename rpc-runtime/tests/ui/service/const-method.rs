use rpc_runtime::service;

#[service]
pub trait Ping {
    const async fn ping(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
