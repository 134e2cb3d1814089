//! A `pub(crate)` service: the generated items take the trait's visibility.

mod inner {
    use rpc_runtime::service;

    #[service]
    pub(crate) trait Hidden {
        async fn ping(&self, request: ()) -> Result<(), ()>;
    }

    pub(crate) struct Quiet;

    impl Hidden for Quiet {
        async fn ping(&self, (): ()) -> Result<(), ()> {
            Ok(())
        }
    }
}

use inner::{HiddenBlockingClient, HiddenClient, ServeHidden};

fn main() {
    let _ = ServeHidden::new(inner::Quiet);
    let _: fn(rpc_runtime::Client) -> HiddenClient = HiddenClient::new;
    let _: fn(rpc_runtime::BlockingClient) -> HiddenBlockingClient = HiddenBlockingClient::new;
    assert_eq!(HiddenClient::SCHEMA.name, "Hidden");
}
