use rpc_runtime::Wire;

#[derive(Wire)]
struct Mixed {
    #[wire(order = "<")]
    id: u32,
    #[wire(crate = rpc_runtime)]
    count: u16,
}

fn main() {}
