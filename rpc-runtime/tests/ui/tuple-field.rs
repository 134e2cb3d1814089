use rpc_runtime::Wire;

#[derive(Wire)]
struct Point {
    xy: (i32, i32),
    nothing: (),
}

fn main() {}
