use rpc_runtime::Wire;

#[derive(Wire, Clone, Copy)]
#[repr(u8)]
enum Tagged<const N: u8> {
    A = 1,
    B = 2,
}

fn size() -> usize {
    Tagged::<1>::SIZE
}

fn main() {}
