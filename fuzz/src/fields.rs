//! Target `fields`: the derived `unpack` of every field type under every byte order, for the
//! records of services other than the account service.
//!
//! [`Kitchen`] holds one field of each kind: every number, `bool`, `f16`, byte strings,
//! `FixedStr`, `PascalStr` (with capacities 0 and 255), `#[wire(pad)]` bytes, counted runs,
//! an empty array, a nested struct, an array of nested structs and two enums. It is derived
//! once per byte order (`!`, `<`, `=` and `@`, whose alignment gaps are padding).
//!
//! Input: a selector byte (which order, modulo [`RECORDS`]), then the record's bytes.

use crate::{Check, Seed, props};
use rpc_runtime::{FixedStr, PascalStr, Wire};

macro_rules! kitchen {
    ($module:ident, $order:literal) => {
        #[doc = concat!("Every field kind under `", $order, "`.")]
        pub mod $module {
            use rpc_runtime::{FixedStr, PascalStr, Wire};

            /// An enum with negative and wide discriminants.
            #[derive(Wire, Debug, Clone, Copy, PartialEq)]
            #[wire(order = $order)]
            #[repr(i16)]
            pub enum Signed {
                /// The smallest value.
                Min = i16::MIN,
                /// Minus one.
                MinusOne = -1,
                /// Zero.
                Zero = 0,
                /// The largest value.
                Max = i16::MAX,
            }

            /// A one-byte enum.
            #[derive(Wire, Debug, Clone, Copy, PartialEq)]
            #[wire(order = $order)]
            #[repr(u8)]
            pub enum Small {
                /// One.
                One = 1,
                /// Two hundred.
                TwoHundred = 200,
            }

            /// A nested record.
            #[derive(Wire, Debug, Clone, Copy, PartialEq)]
            #[wire(order = $order)]
            pub struct Inner {
                /// A flag before a wider field, so `@` aligns after it.
                pub on: bool,
                /// A number.
                pub id: u32,
                /// Three bytes of text.
                pub tag: FixedStr<3>,
            }

            /// One field of every kind.
            #[derive(Wire, Debug, Clone, Copy, PartialEq)]
            #[wire(order = $order)]
            pub struct Kitchen {
                /// `?`
                pub flag: bool,
                /// `b`
                pub i8: i8,
                /// `h`, after one byte.
                pub i16: i16,
                /// `B`
                pub u8: u8,
                /// `i`
                pub i32: i32,
                /// `H`
                pub u16: u16,
                /// `q`
                pub i64: i64,
                /// `I`
                pub u32: u32,
                /// `Q`
                pub u64: u64,
                /// `e`
                pub f16: half::f16,
                /// `f`
                pub f32: f32,
                /// `d`
                pub f64: f64,
                /// `3s`
                pub raw: [u8; 3],
                /// `2x`
                #[wire(pad)]
                pub _gap: [u8; 2],
                /// `7s`, NUL-padded UTF-8.
                pub text: FixedStr<7>,
                /// `6p`
                pub pascal: PascalStr<6>,
                /// `1p`: capacity 0.
                pub empty: PascalStr<1>,
                /// `260p`: capacity 255.
                pub long: PascalStr<260>,
                /// `3i`
                pub ints: [i32; 3],
                /// `2?`
                pub flags: [bool; 2],
                /// `0I`: nothing, but aligned under `@`.
                pub none: [u32; 0],
                /// A nested record.
                pub inner: Inner,
                /// Two more.
                pub inners: [Inner; 2],
                /// `h`
                pub signed: Signed,
                /// `B`
                pub small: Small,
            }
        }
    };
}

kitchen!(network, "!");
kitchen!(little, "<");
kitchen!(host, "=");
kitchen!(native, "@");

/// The record types, by name; the selector byte picks one.
pub const RECORDS: &[(&str, Check)] = &[
    ("network", check_kitchen::<network::Kitchen>),
    ("little", check_kitchen::<little::Kitchen>),
    ("host", check_kitchen::<host::Kitchen>),
    ("native", check_kitchen::<native::Kitchen>),
    ("native-inner", check_kitchen::<native::Inner>),
];

/// Checks one input; see the module docs for its layout.
pub fn check(data: &[u8]) {
    let Some((&selector, record)) = data.split_first() else {
        return;
    };
    let (_, check) = RECORDS[usize::from(selector) % RECORDS.len()];
    check(record);
}

fn check_kitchen<T: Wire + core::fmt::Debug>(record: &[u8]) {
    props::check_record::<T>(record);
}

macro_rules! sample {
    ($module:ident) => {{
        use $module::{Inner, Kitchen, Signed, Small};
        let inner = |on, id, tag| Inner {
            on,
            id,
            tag: FixedStr::new(tag).expect("short tag"),
        };
        Kitchen {
            flag: true,
            i8: -2,
            i16: -300,
            u8: 0xab,
            i32: -70_000,
            u16: 0xfffe,
            i64: i64::MIN,
            u32: 0xdead_beef,
            u64: u64::MAX - 1,
            f16: half::f16::from_f32(1.5),
            f32: -0.0,
            f64: f64::NAN,
            raw: *b"\x00\xffz",
            _gap: [0; 2],
            text: FixedStr::new("héllo").expect("short text"),
            pascal: PascalStr::new("pâs").expect("short text"),
            empty: PascalStr::new("").expect("empty text"),
            long: PascalStr::new(&"ü".repeat(127)).expect("254 bytes of text"),
            ints: [1, -1, i32::MAX],
            flags: [false, true],
            none: [],
            inner: inner(true, 7, "abc"),
            inners: [inner(false, 0, ""), inner(true, u32::MAX, "xy")],
            signed: Signed::Min,
            small: Small::TwoHundred,
        }
        .to_vec()
    }};
}

/// A full record of every order, and a nested record alone.
pub fn seeds() -> Vec<Seed> {
    let records = [
        ("network", sample!(network)),
        ("little", sample!(little)),
        ("host", sample!(host)),
        ("native", sample!(native)),
        (
            "native-inner",
            native::Inner {
                on: true,
                id: 0x0102_0304,
                tag: FixedStr::new("é").expect("short tag"),
            }
            .to_vec(),
        ),
    ];
    records
        .into_iter()
        .map(|(name, body)| {
            let selector = RECORDS
                .iter()
                .position(|(n, _)| *n == name)
                .expect("a record type for every seed") as u8;
            let mut bytes = vec![selector];
            bytes.extend_from_slice(&body);
            Seed::new(name, bytes)
        })
        .collect()
}
