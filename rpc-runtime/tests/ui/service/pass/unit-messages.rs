//! `()` as request, response and error: an empty body.

use rpc_runtime::message::Shape;
use rpc_runtime::service;

#[service]
pub trait Health {
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

struct Always;

impl Health for Always {
    async fn ping(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }
}

fn main() {
    let ping = &HealthClient::SCHEMA.methods[0];
    assert_eq!(
        (ping.request, ping.response, ping.error),
        (Shape::Unit, Shape::Unit, Shape::Unit)
    );
    let _ = ServeHealth::new(Always);
}
