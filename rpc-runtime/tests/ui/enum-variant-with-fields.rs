use rpc_runtime::Wire;

#[derive(Wire)]
#[repr(u8)]
enum Event {
    Opened = 1,
    Moved { from: u32, to: u32 } = 2,
    Closed(u32) = 3,
}

fn main() {}
