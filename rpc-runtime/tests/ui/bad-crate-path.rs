use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(crate = "rpc_runtime")]
struct Quoted {
    id: u32,
}

#[derive(Wire)]
#[wire(crate)]
struct Missing {
    id: u32,
}

fn main() {}
