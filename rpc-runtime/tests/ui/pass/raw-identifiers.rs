use rpc_runtime::Wire;

#[derive(Wire, Debug, PartialEq)]
struct r#Message {
    r#type: u8,
    r#match: u16,
    r#fn: [u8; 2],
}

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum r#Kind {
    r#Move = 1,
    r#Static = 2,
}

fn main() {
    let message = Message {
        r#type: 1,
        r#match: 2,
        r#fn: *b"ok",
    };
    assert_eq!(Message::FORMAT, "!BH2s");
    assert_eq!(Message::unpack(&message.pack()).unwrap(), message);
    // Layouts and errors name the field as the user reads it, without `r#`.
    let names: Vec<_> = <Message as rpc_runtime::WireField>::LAYOUT
        .iter()
        .map(|item| match item {
            rpc_runtime::wire::Item::Field { name, .. } => *name,
            _ => "?",
        })
        .collect();
    assert_eq!(names, ["type", "match", "fn"]);
    assert_eq!(Kind::unpack(&[2]).unwrap(), Kind::r#Static);
}
