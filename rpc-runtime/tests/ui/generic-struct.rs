use rpc_runtime::Wire;

#[derive(Wire)]
struct Boxed<T> {
    value: T,
}

#[derive(Wire)]
struct Sized<const N: usize> {
    bytes: [u8; N],
}

fn size_of_boxed() -> usize {
    Boxed::<u32>::SIZE + Sized::<4>::SIZE
}

fn main() {}
