use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(endian = "little")]
struct OnType {
    id: u32,
}

#[derive(Wire)]
struct OnField {
    #[wire(skip)]
    id: u32,
}

#[derive(Wire)]
#[repr(u8)]
#[wire(big)]
enum OnEnum {
    A = 1,
}

fn main() {}
