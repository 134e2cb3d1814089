use rpc_runtime::Wire;

#[derive(Wire)]
struct Header {
    id: u32,
    #[wire(pad = 3)]
    reserved: [u8; 3],
    #[wire(pad(3))]
    spare: [u8; 3],
}

fn main() {}
