use rpc_runtime::Wire;

#[derive(Wire)]
enum Kind {
    Deposit = 1,
    Withdraw = 2,
}

fn main() {}
