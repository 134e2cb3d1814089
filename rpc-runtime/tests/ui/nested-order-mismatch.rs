use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(order = "<")]
struct Little {
    id: u32,
}

#[derive(Wire)]
struct Network {
    tag: u8,
    inner: Little,
    many: [Little; 2],
}

fn main() {}
