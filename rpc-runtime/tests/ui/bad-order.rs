use rpc_runtime::Wire;

#[derive(Wire)]
#[wire(order = "x")]
struct Unknown {
    id: u32,
}

#[derive(Wire)]
#[wire(order = "<>")]
struct TwoPrefixes {
    id: u32,
}

#[derive(Wire)]
#[wire(order = little)]
struct NotAString {
    id: u32,
}

#[derive(Wire)]
#[wire(order)]
struct NoValue {
    id: u32,
}

fn main() {}
