use rpc_runtime::Wire;

#[derive(Wire)]
#[wire]
struct Bare {
    id: u32,
}

#[derive(Wire)]
#[wire = "<"]
struct NameValue {
    id: u32,
}

#[derive(Wire)]
struct Path {
    #[wire(pad::more)]
    reserved: [u8; 2],
}

fn main() {}
