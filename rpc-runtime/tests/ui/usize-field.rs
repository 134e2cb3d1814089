use rpc_runtime::Wire;

#[derive(Wire)]
struct Offsets {
    start: usize,
    delta: isize,
}

fn main() {}
