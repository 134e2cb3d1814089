use rpc_runtime::service;

// `Echo.formatters` and `Echo.rewriting` have the same FNV-1a hash, 0xfa2c6691.
#[service]
pub trait Echo {
    async fn formatters(&self, request: ()) -> Result<(), ()>;
    async fn rewriting(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
