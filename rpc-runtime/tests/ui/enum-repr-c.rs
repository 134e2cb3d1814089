use rpc_runtime::Wire;

#[derive(Wire)]
#[repr(C)]
enum Kind {
    Deposit = 1,
    Withdraw = 2,
}

fn main() {}
