use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(order = "<", order = ">")]
struct SameAttribute {
    id: u32,
}

#[derive(Wire)]
#[wire(order = "<")]
#[wire(order = "<")]
struct TwoAttributes {
    id: u32,
}

fn main() {}
