use rpc_runtime::Wire;

#[derive(Wire)]
struct Wide {
    id: u128,
    delta: i128,
}

fn main() {}
