use rpc_runtime::service;

#[service(crate = rpc_runtime, crate = ::rpc_runtime)]
pub trait Ping {
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

#[service(crate = "rpc_runtime")]
pub trait Quoted {
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

#[service(crate)]
pub trait Missing {
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

fn main() {}
