use rpc_runtime::Wire;

#[derive(Wire)]
struct Header {
    id: u32,
    #[wire(pad, pad)]
    reserved: [u8; 2],
    #[wire(pad)]
    #[wire(pad)]
    spare: [u8; 4],
}

fn main() {}
