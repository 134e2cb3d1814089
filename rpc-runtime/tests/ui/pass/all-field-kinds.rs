use rpc_runtime::{FixedStr, PascalStr, Wire};

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u16)]
enum Kind {
    Deposit = 1,
    Withdraw = 2,
}

#[derive(Wire, Debug, PartialEq)]
struct Point {
    x: i16,
    y: i16,
}

#[derive(Wire, Debug, PartialEq)]
struct Everything {
    a: i8,
    b: u8,
    c: bool,
    d: i16,
    e: u16,
    f: i32,
    g: u32,
    h: i64,
    i: u64,
    j: half::f16,
    k: f32,
    l: f64,
    bytes: [u8; 3],
    text: FixedStr<5>,
    pascal: PascalStr<4>,
    #[wire(pad)]
    _gap: [u8; 2],
    counts: [i32; 2],
    flags: [bool; 2],
    kind: Kind,
    kinds: [Kind; 2],
    point: Point,
    path: [Point; 2],
    grid: [[u8; 2]; 2],
    empty: [u8; 0],
    #[cfg(any())]
    configured_out: String,
}

fn main() {
    assert_eq!(
        Everything::FORMAT,
        "!bB?hHiIqQefd3s5s4p2x2i2?H2Hhhhhhh2s2s0s"
    );
    let value = Everything {
        a: -1,
        b: 2,
        c: true,
        d: -3,
        e: 4,
        f: -5,
        g: 6,
        h: -7,
        i: 8,
        j: half::f16::from_f32(1.5),
        k: 2.5,
        l: -3.5,
        bytes: *b"abc",
        text: FixedStr::new("hi").unwrap(),
        pascal: PascalStr::new("yo").unwrap(),
        _gap: [0; 2],
        counts: [9, -9],
        flags: [false, true],
        kind: Kind::Withdraw,
        kinds: [Kind::Deposit, Kind::Withdraw],
        point: Point { x: 1, y: -1 },
        path: [Point { x: 2, y: 3 }, Point { x: -4, y: -5 }],
        grid: [[1, 2], [3, 4]],
        empty: [],
    };
    let bytes = value.pack();
    assert_eq!(bytes.len(), Everything::SIZE);
    assert_eq!(Everything::unpack(&bytes).unwrap(), value);
}
