use rpc_runtime::Wire;

#[derive(Wire)]
struct Header {
    #[wire(pad)]
    reserved: u32,
    #[wire(pad)]
    words: [u16; 2],
    #[wire(pad)]
    signed: [i8; 3],
}

fn main() {}
