use rpc_runtime::Wire;

#[derive(Wire)]
#[repr(C)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
