use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Name {
    text: rpc_runtime::FixedStr<32>,
}

pub struct Greeting {
    text: String,
}

#[service]
pub trait Greeter {
    async fn greet(&self, name: Name) -> Result<Greeting, ()>;
    async fn greet_all(&self, name: Name) -> Result<Vec<Greeting>, ()>;
    async fn count(&self, name: Name) -> Result<u64, ()>;
}

fn main() {}
