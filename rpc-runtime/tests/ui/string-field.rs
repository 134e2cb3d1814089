use rpc_runtime::Wire;

#[derive(Wire)]
struct Login {
    user: String,
    password: &'static str,
}

fn main() {}
