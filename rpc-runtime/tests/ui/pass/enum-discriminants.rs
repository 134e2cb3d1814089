use rpc_runtime::{Wire, WireError};

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum Implicit {
    Zero,
    One,
    Ten = 10,
    Eleven,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(i8)]
enum Signed {
    Min = -128,
    MinusOne = -1,
    Zero,
    Max = 127,
}

const BASE: u16 = 0x100;

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u16)]
enum Computed {
    First = BASE,
    Second = BASE + 1,
    Shifted = 1 << 12,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(i64)]
#[wire(order = "<")]
enum Wide {
    Low = i64::MIN,
    High = i64::MAX,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq)]
#[repr(u32)]
enum Single {
    Only = 7,
}

fn main() {
    assert_eq!(Implicit::FORMAT, "!B");
    assert_eq!(Implicit::Eleven.pack(), [11]);
    assert_eq!(Implicit::unpack(&[1]).unwrap(), Implicit::One);
    assert_eq!(Signed::FORMAT, "!b");
    assert_eq!(Signed::Min.pack(), [0x80]);
    assert_eq!(Signed::unpack(&[0]).unwrap(), Signed::Zero);
    assert_eq!(Signed::unpack(&[0xff]).unwrap(), Signed::MinusOne);
    assert_eq!(Computed::Second.pack(), [1, 1]);
    assert_eq!(Computed::unpack(&[0x10, 0]).unwrap(), Computed::Shifted);
    assert_eq!((Wide::FORMAT, Wide::SIZE), ("<q", 8));
    assert_eq!(Wide::unpack(&Wide::Low.pack()).unwrap(), Wide::Low);
    assert!(matches!(
        Single::unpack(&[0, 0, 0, 8]),
        Err(WireError::UnknownDiscriminant { value: 8, .. })
    ));
}
