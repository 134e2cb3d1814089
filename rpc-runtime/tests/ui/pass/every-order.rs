use rpc_runtime::{ByteOrder, Wire};

#[derive(Wire)]
struct Network {
    a: u16,
}

#[derive(Wire)]
#[wire(order = "!")]
struct Explicit {
    a: u16,
}

#[derive(Wire)]
#[wire(order = ">")]
struct Big {
    a: u16,
    // `!` and `>` are the same byte order, so they nest.
    inner: Network,
}

#[derive(Wire)]
#[wire(order = "<")]
struct Little {
    a: u16,
}

#[derive(Wire)]
#[wire(order = "=")]
struct Host {
    a: u16,
}

#[derive(Wire)]
#[wire(order = "@")]
struct Aligned {
    a: i8,
    b: i32,
}

#[derive(Wire)]
#[wire(order = "@")]
struct Outer {
    tag: u8,
    inner: Aligned,
}

fn main() {
    assert_eq!(
        (Network::FORMAT, Network::ORDER),
        ("!H", ByteOrder::Network)
    );
    assert_eq!(
        (Explicit::FORMAT, Explicit::ORDER),
        ("!H", ByteOrder::Network)
    );
    assert_eq!((Big::FORMAT, Big::ORDER), (">HH", ByteOrder::Big));
    assert_eq!((Little::FORMAT, Little::ORDER), ("<H", ByteOrder::Little));
    assert_eq!(
        (Host::FORMAT, Host::ORDER),
        ("=H", ByteOrder::NativeStandard)
    );
    assert_eq!(
        (Aligned::FORMAT, Aligned::ORDER),
        ("@bi", ByteOrder::Native)
    );
    assert_eq!(Aligned::SIZE, 8);
    assert_eq!(Outer::FORMAT, "@Bbi");
    assert_eq!(Little { a: 1 }.pack(), [1, 0]);
    assert_eq!(
        Big {
            a: 1,
            inner: Network { a: 2 }
        }
        .pack(),
        [0, 1, 0, 2]
    );
}
