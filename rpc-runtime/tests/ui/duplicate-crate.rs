use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(crate = rpc_runtime, crate = ::rpc_runtime)]
struct Twice {
    id: u32,
}

fn main() {}
