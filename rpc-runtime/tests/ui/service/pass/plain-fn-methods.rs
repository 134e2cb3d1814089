//! Plain `fn` methods beside `async fn` ones: the trait keeps them synchronous, so an
//! implementation writes them as plain functions and may use state that is not `Send` inside
//! one call; the clients' methods are async (and blocking) as for any method.

use rpc_runtime::{CallError, Wire, service};
use std::rc::Rc;

#[derive(Wire, Debug, PartialEq)]
pub struct Add {
    a: i64,
    b: i64,
}

#[derive(Wire, Debug, PartialEq)]
pub struct Sum {
    value: i64,
}

#[service]
pub trait Calc {
    /// Adds, inline.
    #[rpc(read_only)]
    fn add(&self, request: Add) -> Result<Sum, ()>;
    /// Adds, from a task.
    async fn add_later(&self, request: Add) -> Result<Sum, ()>;
    /// Nothing in, nothing out.
    fn nothing(&self, request: ()) -> ::core::result::Result<(), ()>;
}

struct Calculator;

impl Calc for Calculator {
    fn add(&self, r: Add) -> Result<Sum, ()> {
        // Not `Send`: fine in a handler that never awaits.
        let shared = Rc::new(r.a + r.b);
        Ok(Sum { value: *shared })
    }

    async fn add_later(&self, r: Add) -> Result<Sum, ()> {
        self.add(r)
    }

    fn nothing(&self, (): ()) -> Result<(), ()> {
        Ok(())
    }
}

fn main() {
    // The blocking client's method blocks and returns the result; the async one is async.
    let _: fn(&CalcBlockingClient, Add) -> Result<Sum, CallError<()>> = CalcBlockingClient::add;
    fn is_future<F: std::future::Future>(_: &F) {}
    fn async_call(client: &CalcClient) {
        is_future(&client.add(Add { a: 1, b: 2 }));
    }
    let _ = async_call;
    assert!(CalcClient::SCHEMA.methods[0].read_only);
    assert_eq!(Calculator.add(Add { a: 2, b: 3 }), Ok(Sum { value: 5 }));
    let _ = ServeCalc::new(Calculator);
}
