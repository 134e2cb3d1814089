use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Greeting {
    text: rpc_runtime::FixedStr<32>,
}

#[service]
pub trait Greeter {
    async fn greet(&self, name: String) -> Result<Greeting, ()>;
    async fn repeat(&self, times: u32) -> Result<Greeting, ()>;
}

fn main() {}
