use rpc_runtime::Wire;

#[derive(Wire)]
struct Borrowed {
    count: &'static u32,
    bytes: &'static [u8],
    ptr: *const u8,
}

fn main() {}
