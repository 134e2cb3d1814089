use rpc_runtime::Wire;

struct Plain {
    id: u32,
}

#[derive(Wire)]
struct Holder {
    id: u32,
    plain: Plain,
}

fn main() {}
