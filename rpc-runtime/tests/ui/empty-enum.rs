use rpc_runtime::Wire;

#[derive(Wire)]
enum Never {}

fn main() {}
