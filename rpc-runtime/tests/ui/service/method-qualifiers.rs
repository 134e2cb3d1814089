use rpc_runtime::service;

#[service]
pub trait Ping {
    async unsafe fn ping(&self, request: ()) -> Result<(), ()>;
    async extern "C" fn pong(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
