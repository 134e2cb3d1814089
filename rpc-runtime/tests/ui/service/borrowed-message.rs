use rpc_runtime::{FixedStr, Wire, service};

#[derive(Wire)]
pub struct Name {
    text: FixedStr<32>,
}

#[service]
pub trait Greeter {
    async fn greet(&self, name: &Name) -> Result<Name, ()>;
    async fn list(&self, name: Name) -> Result<Vec<&'static Name>, ()>;
    async fn echo(&self, name: impl Into<Name>) -> Result<Name, ()>;
}

fn main() {}
