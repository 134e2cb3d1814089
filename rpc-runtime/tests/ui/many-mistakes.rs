use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(order = "?", pad)]
struct Everything<T> {
    name: String,
    #[wire(order = "<")]
    id: u32,
    #[wire(pad)]
    reserved: u16,
    #[wire(bogus)]
    flags: u8,
    parent: Option<u32>,
    value: T,
}

fn main() {}
