use rpc_runtime::Wire;

#[derive(Wire)]
struct Initial {
    letter: char,
}

fn main() {}
