extern crate rpc_runtime as rt;

use rt::Wire;

#[derive(Wire, Debug, PartialEq)]
#[wire(crate = rt)]
struct Relative {
    id: u32,
}

#[derive(Wire, Debug, PartialEq)]
#[wire(crate = ::rt, order = "<")]
struct Absolute {
    id: u32,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[wire(crate = rt)]
#[repr(u8)]
enum Kind {
    A = 1,
}

mod reexport {
    pub use ::rpc_runtime as runtime;
}

#[derive(Wire, Debug, PartialEq)]
#[wire(order = ">")]
#[wire(crate = crate::reexport::runtime)]
struct ThroughModule {
    id: u32,
    kind: Kind,
}

fn main() {
    assert_eq!(Relative::FORMAT, "!I");
    assert_eq!(Absolute { id: 1 }.pack(), [1, 0, 0, 0]);
    let value = ThroughModule {
        id: 2,
        kind: Kind::A,
    };
    assert_eq!(ThroughModule::unpack(&value.pack()).unwrap(), value);
}
