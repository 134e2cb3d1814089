use rpc_runtime::{Wire, service};

#[derive(Wire)]
pub struct Name {
    text: rpc_runtime::FixedStr<32>,
}

#[service]
pub trait Greeter {
    async fn greet(&self, name: Name) -> Result<Name, std::io::Error>;
}

fn main() {}
