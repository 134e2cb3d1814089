//! Snapshots of packed bytes, packed lists and error messages.
//!
//! Every snapshot is a readable rendering: [`hexdump`] gives one line per field with its offset,
//! bytes, name and Python format code, and its first line holds `FORMAT` and `SIZE`. The files
//! live in `tests/tests/snapshots/`; each was checked by hand against Python's `struct.pack`.
//!
//! Host-order types (`=` and `@`) pack differently on big-endian hosts, so their snapshots are
//! compiled only where `target_endian = "little"`.

use crate::fixtures::{Empty, Kind, Numbers, Pair, Request, Response, Sign, Texts};
use core::fmt::Write;
use half::f16;
use rpc_runtime::wire::{hexdump, list_count_format, pack_list, unpack_list};
use rpc_runtime::{FixedStr, PascalStr, Wire, WireError};

/// Hex dumps of several labelled values of one type, separated by blank lines.
fn dumps<T: Wire>(values: &[(&str, T)]) -> String {
    let mut out = String::new();
    for (i, (label, value)) in values.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let bytes = value.pack();
        let bytes = bytes.as_ref();
        assert_eq!(bytes.len(), T::SIZE, "{label}: packed length");
        assert_eq!(value.to_vec(), bytes, "{label}: to_vec disagrees with pack");
        let _ = writeln!(out, "# {label}");
        out.push_str(&hexdump::<T>(bytes));
    }
    out
}

/// A packed list: the count line, then the hex dump of each record with its offset.
fn list_dump<T: Wire>(bytes: &[u8]) -> String {
    let Some((head, body)) = bytes.split_first_chunk::<4>() else {
        panic!("a packed list starts with a 4-byte count");
    };
    let count = if T::ORDER.is_little_endian() {
        u32::from_le_bytes(*head)
    } else {
        u32::from_be_bytes(*head)
    };
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = format!(
        "0000  {}  count  {} = {count}\n",
        hex.join(" "),
        list_count_format::<T>()
    );
    assert_eq!(
        body.len(),
        count as usize * T::SIZE,
        "records fill the rest"
    );
    for (i, record) in body.chunks_exact(T::SIZE.max(1)).enumerate() {
        let _ = write!(out, "\n# record {i} at offset {}\n", 4 + i * T::SIZE);
        out.push_str(&hexdump::<T>(record));
    }
    out
}

fn fixed<const N: usize>(s: &str) -> FixedStr<N> {
    FixedStr::new(s).expect("test string fits")
}

fn pascal<const N: usize>(s: &str) -> PascalStr<N> {
    PascalStr::new(s).expect("test string fits")
}

fn name32(s: &[u8]) -> [u8; 32] {
    let mut name = [0; 32];
    name[..s.len()].copy_from_slice(s);
    name
}

fn response() -> Response {
    Response {
        id: 0x0102_0304,
        balance: -250,
        ok: true,
    }
}

fn texts() -> Texts {
    Texts {
        kind: Kind::Transfer,
        name: fixed("héllo"),
        _pad: [0; 3],
        note: pascal("hi"),
        raw: [0xde, 0xad, 0xbe, 0xef],
        sign: Sign::Minus,
    }
}

#[test]
fn request_bytes() {
    insta::assert_snapshot!(dumps(&[
        (
            "typical",
            Request {
                id: 7,
                amount: 22,
                name: *b"alice-account-0000000000000000!!",
            },
        ),
        (
            "short name, zero padded",
            Request {
                id: 0x0102_0304,
                amount: -2,
                name: name32(b"bob"),
            },
        ),
        (
            "extremes",
            Request {
                id: u32::MAX,
                amount: i64::MIN,
                name: [0xff; 32],
            },
        ),
    ]));
}

#[test]
fn response_bytes() {
    insta::assert_snapshot!(dumps(&[
        ("typical", response()),
        (
            "zero",
            Response {
                id: 0,
                balance: 0,
                ok: false,
            },
        ),
        (
            "extremes",
            Response {
                id: u32::MAX,
                balance: i64::MAX,
                ok: true,
            },
        ),
    ]));
}

#[test]
fn numbers_bytes() {
    insta::assert_snapshot!(dumps(&[
        (
            "ascending",
            Numbers {
                a: 0x01,
                b: -2,
                c: 0x0304,
                d: -0x0506,
                e: 0x0708_090a,
                f: -0x0b0c_0d0e,
                g: 0x0f10_1112_1314_1516,
                h: -0x1718_191a_1b1c_1d1e,
                x: 1.5,
                y: -0.1,
                z: f16::from_f32(1.0),
                flag: true,
            },
        ),
        (
            "maxima",
            Numbers {
                a: u8::MAX,
                b: i8::MAX,
                c: u16::MAX,
                d: i16::MAX,
                e: u32::MAX,
                f: i32::MAX,
                g: u64::MAX,
                h: i64::MAX,
                x: f32::MAX,
                y: f64::MAX,
                z: f16::MAX,
                flag: false,
            },
        ),
        (
            "minima and special floats",
            Numbers {
                a: 0,
                b: i8::MIN,
                c: 0,
                d: i16::MIN,
                e: 0,
                f: i32::MIN,
                g: 0,
                h: i64::MIN,
                x: f32::NAN,
                y: f64::NEG_INFINITY,
                z: f16::from_f32(-0.0),
                flag: false,
            },
        ),
        (
            "subnormals",
            Numbers {
                a: 0,
                b: 0,
                c: 0,
                d: 0,
                e: 0,
                f: 0,
                g: 0,
                h: 0,
                x: f32::from_bits(1),
                y: f64::from_bits(1),
                z: f16::from_bits(1),
                flag: false,
            },
        ),
    ]));
}

#[test]
fn kind_bytes() {
    insta::assert_snapshot!(dumps(&[
        ("Kind::Deposit", Kind::Deposit),
        ("Kind::Withdraw", Kind::Withdraw),
        ("Kind::Transfer", Kind::Transfer),
    ]));
}

#[test]
fn sign_bytes() {
    insta::assert_snapshot!(dumps(&[
        ("Sign::Minus", Sign::Minus),
        ("Sign::Zero", Sign::Zero),
        ("Sign::Plus", Sign::Plus),
    ]));
}

#[test]
fn texts_bytes() {
    insta::assert_snapshot!(dumps(&[
        ("multibyte name", texts()),
        (
            "strings at capacity",
            Texts {
                kind: Kind::Deposit,
                name: fixed("twelve-bytes"),
                _pad: [0; 3],
                note: pascal("seven!!"),
                raw: [0; 4],
                sign: Sign::Plus,
            },
        ),
        (
            "empty strings, padding always packs as zeros",
            Texts {
                kind: Kind::Withdraw,
                name: FixedStr::EMPTY,
                _pad: [0xaa; 3],
                note: PascalStr::default(),
                raw: *b"\x00\x01\x7f\x80",
                sign: Sign::Zero,
            },
        ),
    ]));
}

#[test]
fn pair_bytes() {
    insta::assert_snapshot!(dumps(&[(
        "tuple struct with nested struct",
        Pair(0xbeef, response())
    )]));
}

#[test]
fn empty_bytes() {
    insta::assert_snapshot!(dumps(&[("no fields", Empty)]));
}

/// `=` and `@` pack in the host's byte order; these snapshots hold little-endian bytes.
#[cfg(target_endian = "little")]
mod host_order {
    use super::dumps;
    use crate::fixtures::{Arrays, Cell, Native};

    fn cell(tag: i8, value: i32) -> Cell {
        Cell { tag, value }
    }

    #[test]
    fn cell_bytes() {
        insta::assert_snapshot!(dumps(&[
            ("alignment gap before value", cell(-1, 0x0102_0304)),
            ("extremes", cell(i8::MAX, i32::MIN)),
        ]));
    }

    #[test]
    fn native_bytes() {
        insta::assert_snapshot!(dumps(&[(
            "alignment gaps, no trailing padding",
            Native {
                a: 0xa1,
                b: 0x0102_0304_0506_0708,
                c: 0xc1c2,
                cell: cell(0x11, 0x1213_1415),
                cells: [cell(0x21, 0x2223_2425), cell(0x31, 0x3233_3435)],
                d: 1.0,
                e: 0xee,
            },
        )]));
    }

    #[test]
    fn arrays_bytes() {
        insta::assert_snapshot!(dumps(&[(
            "counted runs and repeated groups",
            Arrays {
                ints: [1, -1, 0x0102_0304, i32::MIN],
                grid: [[0x0a0b, 0x0c0d], [1, 2], [u16::MAX, 0]],
                flags: [true, false, true],
                blobs: [*b"ab", [0, 0xff]],
            },
        )]));
    }
}

#[test]
fn list_bytes() {
    let records = [
        response(),
        Response {
            id: 2,
            balance: 1_000_000,
            ok: false,
        },
    ];
    let bytes = pack_list(&records).expect("two records fit");
    assert_eq!(unpack_list::<Response>(&bytes), Ok(records.to_vec()));
    insta::assert_snapshot!(list_dump::<Response>(&bytes));
}

#[test]
fn little_endian_list_bytes() {
    let records = [Numbers {
        a: 1,
        b: 2,
        c: 3,
        d: 4,
        e: 5,
        f: 6,
        g: 7,
        h: 8,
        x: 9.0,
        y: 10.0,
        z: f16::from_f32(11.0),
        flag: true,
    }];
    let bytes = pack_list(&records).expect("one record fits");
    assert_eq!(unpack_list::<Numbers>(&bytes), Ok(records.to_vec()));
    insta::assert_snapshot!(list_dump::<Numbers>(&bytes));
}

#[test]
fn empty_list_bytes() {
    let bytes = pack_list::<Texts>(&[]).expect("no records fit");
    assert_eq!(unpack_list::<Texts>(&bytes), Ok(Vec::new()));
    insta::assert_snapshot!(list_dump::<Texts>(&bytes));
}

/// The bytes of [`texts`] with `patch` applied at `offset`.
fn texts_with(offset: usize, patch: &[u8]) -> Vec<u8> {
    let mut bytes = texts().to_vec();
    bytes[offset..offset + patch.len()].copy_from_slice(patch);
    bytes
}

/// One error of every `WireError` variant, each from a real failing call, with its message.
#[test]
fn error_messages() {
    let mut out = String::new();
    let mut show = |label: &str, error: WireError| {
        let _ = writeln!(out, "{label}\n  {error}");
    };

    let e = Request::unpack(&[0; 10]).unwrap_err();
    assert!(matches!(e, WireError::ShortInput { .. }), "{e:?}");
    show("short input: Request::unpack of 10 bytes", e);

    let buf = response().to_vec();
    let e = Response::unpack_from(&buf, 3).unwrap_err();
    assert!(matches!(e, WireError::ShortInput { .. }), "{e:?}");
    show(
        "short input: Response::unpack_from at offset 3 of 13 bytes",
        e,
    );

    let e = Response::unpack(&[0; 15]).unwrap_err();
    assert!(matches!(e, WireError::TrailingBytes { .. }), "{e:?}");
    show("trailing bytes: Response::unpack of 15 bytes", e);

    // `héllo` with its `é` (c3 a9) cut to a lone c3 byte followed by `l`.
    let e = Texts::unpack(&texts_with(3, &[0xc3, b'l'])).unwrap_err();
    assert!(matches!(e, WireError::InvalidUtf8 { .. }), "{e:?}");
    show("invalid UTF-8: Texts.name = 68 c3 6c ...", e);

    // note = "hi" (02 68 69) with its first text byte replaced by ff.
    let e = Texts::unpack(&texts_with(18, &[0xff])).unwrap_err();
    assert!(matches!(e, WireError::InvalidUtf8 { .. }), "{e:?}");
    show("invalid UTF-8: Texts.note = 02 ff 69 ...", e);

    let e = Texts::unpack(&texts_with(9, b"x")).unwrap_err();
    assert!(matches!(e, WireError::NonZeroPadding { .. }), "{e:?}");
    show("non-zero padding: Texts.name = \"héllo\\0x...\"", e);

    let e = Texts::unpack(&texts_with(21, &[1])).unwrap_err();
    assert!(matches!(e, WireError::NonZeroPadding { .. }), "{e:?}");
    show("non-zero padding: Texts.note = 02 68 69 00 01 ...", e);

    let e = Texts::unpack(&texts_with(17, &[8])).unwrap_err();
    assert!(matches!(e, WireError::PascalLength { .. }), "{e:?}");
    show("pascal length: Texts.note (8p) length byte 8", e);

    let mut buf = response().to_vec();
    buf[12] = 2;
    let e = Response::unpack(&buf).unwrap_err();
    assert!(matches!(e, WireError::InvalidBool { .. }), "{e:?}");
    show("invalid bool: Response.ok = 02", e);

    let mut buf = Pair(1, response()).to_vec();
    buf[14] = 0x80;
    let e = Pair::unpack_from(&[[0xaa; 5].as_slice(), &buf].concat(), 5).unwrap_err();
    assert!(matches!(e, WireError::InvalidBool { .. }), "{e:?}");
    show("invalid bool: Pair.1.ok = 80, unpack_from at offset 5", e);

    let e = Texts::unpack(&texts_with(0, &[0, 3])).unwrap_err();
    assert!(matches!(e, WireError::UnknownDiscriminant { .. }), "{e:?}");
    show("unknown discriminant: Texts.kind = 00 03", e);

    let e = Texts::unpack(&texts_with(29, &[0xfe])).unwrap_err();
    assert!(matches!(e, WireError::UnknownDiscriminant { .. }), "{e:?}");
    show("unknown discriminant: Texts.sign = fe", e);

    let mut buf = pack_list(&[response()]).expect("one record fits");
    buf[3] = 2;
    let e = unpack_list::<Response>(&buf).unwrap_err();
    assert!(matches!(e, WireError::CountTooLarge { .. }), "{e:?}");
    show("count too large: list of Response claims 2, holds 1", e);

    let e = unpack_list::<Response>(&[0xff; 4]).unwrap_err();
    assert!(matches!(e, WireError::CountTooLarge { .. }), "{e:?}");
    show(
        "count too large: list of Response claims u32::MAX, holds 0",
        e,
    );

    let mut buf = pack_list(&[response(), response()]).expect("two records fit");
    buf[4 + 13 + 12] = 7;
    let e = unpack_list::<Response>(&buf).unwrap_err();
    assert!(matches!(e, WireError::InvalidBool { .. }), "{e:?}");
    show("invalid bool: second record of a list of Response", e);

    let mut buf = pack_list(&[response(), response()]).expect("two records fit");
    buf.push(0);
    let e = unpack_list::<Response>(&buf).unwrap_err();
    assert!(matches!(e, WireError::TrailingBytes { .. }), "{e:?}");
    show("trailing bytes: list of two Response and one extra byte", e);

    let e = response().pack_into(&mut [0; 12]).unwrap_err();
    assert!(matches!(e, WireError::BufferTooSmall { .. }), "{e:?}");
    show("buffer too small: Response::pack_into 12 bytes", e);

    let e = FixedStr::<4>::new("alice").unwrap_err();
    assert!(matches!(e, WireError::StrTooLong { .. }), "{e:?}");
    show("string too long: FixedStr::<4>::new(\"alice\")", e);

    let e = PascalStr::<8>::new("too long!").unwrap_err();
    assert!(matches!(e, WireError::StrTooLong { .. }), "{e:?}");
    show("string too long: PascalStr::<8>::new(\"too long!\")", e);

    let e = FixedStr::<8>::new("a\0b").unwrap_err();
    assert!(matches!(e, WireError::StrContainsNul { .. }), "{e:?}");
    show("string contains NUL: FixedStr::<8>::new(\"a\\0b\")", e);

    insta::assert_snapshot!(out);
}
