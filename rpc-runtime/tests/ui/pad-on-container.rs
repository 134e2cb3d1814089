use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(pad)]
struct Header {
    id: u32,
}

fn main() {}
