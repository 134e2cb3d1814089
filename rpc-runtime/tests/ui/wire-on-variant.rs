use rpc_runtime::Wire;

#[derive(Wire)]
#[repr(u8)]
enum Kind {
    #[wire(order = "<")]
    Deposit = 1,
    Withdraw = 2,
}

fn main() {}
