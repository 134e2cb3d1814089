use rpc_runtime::service;
use std::future::Future;

#[service]
pub trait Ping {
    fn ping(&self, request: ()) -> impl Future<Output = Result<(), ()>> + Send;
}

fn main() {}
