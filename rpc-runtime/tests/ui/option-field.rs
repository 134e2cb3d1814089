use rpc_runtime::Wire;

#[derive(Wire)]
struct Lookup {
    id: u32,
    parent: Option<u32>,
}

fn main() {}
