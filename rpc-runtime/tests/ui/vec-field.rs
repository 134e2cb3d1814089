use rpc_runtime::Wire;

#[derive(Wire)]
struct Batch {
    ids: Vec<u32>,
    raw: std::vec::Vec<u8>,
}

fn main() {}
