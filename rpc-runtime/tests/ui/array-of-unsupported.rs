use rpc_runtime::Wire;

#[derive(Wire)]
struct Names {
    pair: [String; 2],
    grid: [[usize; 2]; 3],
}

fn main() {}
