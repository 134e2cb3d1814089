use rpc_runtime::Wire;

#[derive(Wire, Debug, PartialEq)]
struct Pair(u8, #[wire(pad)] [u8; 1], i16);

#[derive(Wire, Debug, PartialEq)]
struct Unit;

#[derive(Wire, Debug, PartialEq)]
struct Empty {}

#[derive(Wire, Debug, PartialEq)]
struct EmptyTuple();

#[derive(Wire, Debug, PartialEq)]
struct Wrapper(Pair, Unit);

fn main() {
    assert_eq!((Pair::FORMAT, Pair::SIZE), ("!Bxh", 4));
    assert_eq!((Unit::FORMAT, Unit::SIZE), ("!", 0));
    assert_eq!((Empty::FORMAT, Empty::SIZE), ("!", 0));
    assert_eq!((EmptyTuple::FORMAT, EmptyTuple::SIZE), ("!", 0));
    assert_eq!(Wrapper::FORMAT, "!Bxh");
    let pair = Pair(7, [0], -2);
    assert_eq!(pair.pack(), [7, 0, 0xff, 0xfe]);
    assert_eq!(Pair::unpack(&pair.pack()).unwrap(), pair);
    assert_eq!(Unit::unpack(&[]).unwrap(), Unit);
}
