//! The JSON mapping (`rpc_runtime::json`) against the derived Wire code: for every fixture type
//! and every byte order, `pack → to_json → from_json` gives the same bytes, the transcoder
//! accepts exactly the bytes `unpack` accepts, and no input makes it panic.

use crate::fixtures::{Arrays, Cell, Empty, Kind, Native, Numbers, Pair, Request, Response, Texts};
use crate::roundtrip::{
    RoundTrip, arrays, bytes, candidate_bytes, candidate_list_bytes, cell, f16s, f32s, f64s,
    fixed_str, kind, pair, pascal_str, request, response, sign, texts,
};
use half::f16;
use proptest::collection::vec;
use proptest::prelude::*;
use rpc_runtime::json::{JsonError, MessageCodec, MethodCodec};
use rpc_runtime::schema::MessageDesc;
use rpc_runtime::{FixedStr, Message, PascalStr, Reply, Status, Wire, service};
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Types beyond the shared fixtures: wide and signed enums, arrays of enums, of text and of
/// records, arrays of one and of none, under `@` and `<`.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Wide {
    Small = 1,
    Huge = u64::MAX,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
#[wire(order = "@")]
pub enum Deep {
    Low = i64::MIN,
    High = 9_007_199_254_740_993,
}

#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "@")]
pub struct Mixed {
    pub flag: bool,
    pub deep: Deep,
    pub kinds: [Kind; 3],
    pub one: [i32; 1],
    pub none: [u64; 0],
    pub tag: u8,
    pub names: [FixedStr<3>; 2],
    pub notes: [PascalStr<4>; 2],
    pub cells: [Cell; 2],
    pub grid: [[i16; 2]; 2],
    pub half: f16,
    #[wire(pad)]
    pub _gap: [u8; 1],
    pub wide: [u8; 3],
}

#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "<")]
pub struct Little(pub Wide, pub [Wide; 2], pub f32, pub i64);

impl RoundTrip for Mixed {
    fn packed_form(&self) -> Self {
        Mixed {
            _gap: [0],
            ..self.clone()
        }
    }
    fn same(&self, other: &Self) -> bool {
        self.packed_form() == other.packed_form()
    }
}

impl RoundTrip for Little {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

/// Floats as the JSON mapping can carry them exactly: any value, but NaN only as the canonical
/// positive quiet NaN (JSON's `"NaN"` has no payload or sign).
fn canon32(x: f32) -> f32 {
    if x.is_nan() { f32::NAN } else { x }
}
fn canon64(x: f64) -> f64 {
    if x.is_nan() { f64::NAN } else { x }
}
fn canon16(x: f16) -> f16 {
    if x.is_nan() { f16::NAN } else { x }
}

prop_compose! {
    fn numbers()(
        a in any::<u8>(), b in any::<i8>(), c in any::<u16>(), d in any::<i16>(),
        e in any::<u32>(), f in any::<i32>(), g in any::<u64>(), h in any::<i64>(),
        x in f32s(), y in f64s(), z in f16s(), flag in any::<bool>(),
    ) -> Numbers {
        Numbers { a, b, c, d, e, f, g, h, x: canon32(x), y: canon64(y), z: canon16(z), flag }
    }
}

prop_compose! {
    fn native()(
        a in any::<u8>(), b in any::<u64>(), c in any::<u16>(), cell in cell(),
        cells in [cell(), cell()], d in f64s(), e in any::<u8>(),
    ) -> Native {
        Native { a, b, c, cell, cells, d: canon64(d), e }
    }
}

fn deep() -> impl Strategy<Value = Deep> {
    prop_oneof![Just(Deep::Low), Just(Deep::High)]
}

fn wide() -> impl Strategy<Value = Wide> {
    prop_oneof![Just(Wide::Small), Just(Wide::Huge)]
}

prop_compose! {
    fn mixed()(
        flag in any::<bool>(), deep in deep(), kinds in [kind(), kind(), kind()],
        one in any::<[i32; 1]>(), tag in any::<u8>(),
        names in [fixed_str::<3>(), fixed_str::<3>()],
        notes in [pascal_str::<4>(), pascal_str::<4>()],
        cells in [cell(), cell()], grid in any::<[[i16; 2]; 2]>(), half in f16s(),
        _gap in any::<[u8; 1]>(), wide in any::<[u8; 3]>(),
    ) -> Mixed {
        Mixed { flag, deep, kinds, one, none: [], tag, names, notes, cells, grid, half: canon16(half), _gap, wide }
    }
}

prop_compose! {
    fn little()(a in wide(), b in [wide(), wide()], x in f32s(), n in any::<i64>()) -> Little {
        Little(a, b, canon32(x), n)
    }
}

/// A value packed, shown as JSON and encoded back gives the same bytes, for the record and for
/// a list of them.
fn json_round_trip<T: RoundTrip + Message>(value: &T) -> Result<(), TestCaseError> {
    let codec = MessageCodec::from_shape(&T::SHAPE).expect("codec");
    let packed = value.to_vec();
    let json = codec.to_json(&packed).expect("packed bytes show as json");
    let back = codec.from_json(&json).expect("shown json encodes");
    prop_assert_eq!(&back, &packed, "json: {}", String::from_utf8_lossy(&json));

    let list = MessageCodec::from_shape(&Vec::<T>::SHAPE).expect("list codec");
    if T::SIZE > 0 {
        let items = vec![value.clone(), value.clone()];
        let packed = rpc_runtime::wire::pack_list(&items).expect("packs");
        let json = list.to_json(&packed).expect("list shows as json");
        prop_assert_eq!(list.from_json(&json).expect("list encodes"), packed);
    }
    Ok(())
}

/// The transcoder accepts exactly the bytes `unpack` accepts, and what it shows encodes back
/// to bytes that show the same (padding and NaN payloads are not kept, as in `unpack`).
fn same_verdict<T: RoundTrip + Message>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let codec = MessageCodec::from_shape(&T::SHAPE).expect("codec");
    let shown = codec.to_value(bytes);
    prop_assert_eq!(
        shown.is_ok(),
        T::unpack(bytes).is_ok(),
        "{:?}",
        shown.as_ref().err()
    );
    if let Ok(value) = shown {
        let again = codec.from_value(&value).expect("shown value encodes");
        prop_assert_eq!(codec.to_value(&again).expect("re-encoded shows"), value);
    }
    Ok(())
}

fn same_list_verdict<T: RoundTrip + Message>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let codec = MessageCodec::from_shape(&Vec::<T>::SHAPE).expect("codec");
    let unpacked = rpc_runtime::wire::unpack_list::<T>(bytes);
    prop_assert_eq!(codec.to_value(bytes).is_ok(), unpacked.is_ok());
    Ok(())
}

macro_rules! json_properties {
    ($($module:ident: $ty:ty = $values:expr;)*) => {$(
        mod $module {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn json_round_trips(value in $values) {
                    json_round_trip::<$ty>(&value)?;
                }

                #[test]
                fn accepts_what_unpack_accepts(bytes in candidate_bytes($values)) {
                    same_verdict::<$ty>(&bytes)?;
                }

                #[test]
                fn lists_accept_what_unpack_list_accepts(bytes in candidate_list_bytes($values)) {
                    same_list_verdict::<$ty>(&bytes)?;
                }
            }
        }
    )*};
}

json_properties! {
    request_json: Request = request();
    response_json: Response = response();
    numbers_json: Numbers = numbers();
    texts_json: Texts = texts();
    native_json: Native = native();
    arrays_json: Arrays = arrays();
    pair_json: Pair = pair();
    mixed_json: Mixed = mixed();
    little_json: Little = little();
    sign_json: crate::fixtures::Sign = sign();
}

#[test]
fn empty_records_are_empty_objects() {
    let codec = MessageCodec::from_shape(&Empty::SHAPE).unwrap();
    assert_eq!(codec.to_value(&[]).unwrap(), json!({}));
    assert_eq!(codec.from_json(b"{}").unwrap(), b"");
    let unit = MessageCodec::from_shape(&<()>::SHAPE).unwrap();
    assert_eq!(unit.to_value(&[]).unwrap(), Value::Null);
    for body in [&b""[..], b"null", b"{}", b" \n"] {
        assert_eq!(unit.from_json(body).unwrap(), b"");
    }
    assert!(matches!(
        unit.from_json(b"{\"x\":1}"),
        Err(JsonError::UnknownField { .. })
    ));
}

#[test]
fn the_mapping_follows_the_conventions() {
    let codec = MessageCodec::from_shape(&Mixed::SHAPE).unwrap();
    let value = Mixed {
        flag: true,
        deep: Deep::High,
        kinds: [Kind::Deposit, Kind::Transfer, Kind::Withdraw],
        one: [-7],
        none: [],
        tag: 255,
        names: [FixedStr::new("ab").unwrap(), FixedStr::new("é").unwrap()],
        notes: [PascalStr::new("xyz").unwrap(), PascalStr::new("").unwrap()],
        cells: [Cell { tag: -1, value: 2 }, Cell { tag: 3, value: -4 }],
        grid: [[1, -2], [3, -4]],
        half: f16::INFINITY,
        _gap: [0],
        wide: [0xab, 0x00, 0x1f],
    };
    let shown = codec.to_value(&value.to_vec()).unwrap();
    assert_eq!(
        shown,
        json!({
            "flag": true,
            "deep": "High",
            "kinds": ["Deposit", "Transfer", "Withdraw"],
            "one": [-7],
            "none": [],
            "tag": 255,
            "names": ["ab", "é"],
            "notes": ["xyz", ""],
            "cells": [{"tag": -1, "value": 2}, {"tag": 3, "value": -4}],
            "grid": [[1, -2], [3, -4]],
            "half": "Infinity",
            "wide": "ab001f"
        })
    );
    // Keys come out in field order.
    let text = String::from_utf8(codec.to_json(&value.to_vec()).unwrap()).unwrap();
    assert!(
        text.starts_with(r#"{"flag":true,"deep":"High","kinds""#),
        "{text}"
    );
    // Upper-case hex is accepted.
    let mut upper = shown.clone();
    upper["wide"] = json!("AB001F");
    assert_eq!(codec.from_value(&upper).unwrap(), value.to_vec());

    let numbers = MessageCodec::from_shape(&Numbers::SHAPE).unwrap();
    let n = Numbers {
        a: 1,
        b: -1,
        c: 2,
        d: -2,
        e: 3,
        f: -3,
        g: u64::MAX,
        h: i64::MIN,
        x: f32::NAN,
        y: f64::NEG_INFINITY,
        z: f16::from_f32(0.5),
        flag: false,
    };
    let shown = numbers.to_value(&n.to_vec()).unwrap();
    assert_eq!(shown["g"], json!("18446744073709551615"));
    assert_eq!(shown["h"], json!("-9223372036854775808"));
    assert_eq!(shown["x"], json!("NaN"));
    assert_eq!(shown["y"], json!("-Infinity"));
    assert_eq!(shown["z"], json!(0.5));
    assert_eq!(numbers.from_value(&shown).unwrap(), n.to_vec());
}

/// Encodes `value` with `field` replaced by `bad` and returns the error message.
fn error_for(codec: &MessageCodec, value: &Value, field: &str, bad: Value) -> String {
    let mut value = value.clone();
    value[field] = bad;
    codec.from_value(&value).unwrap_err().to_string()
}

#[test]
fn bad_json_is_refused_with_the_path_and_what_was_expected() {
    let codec = MessageCodec::from_shape(&Numbers::SHAPE).unwrap();
    let good = codec.to_value(&[0; Numbers::SIZE]).unwrap();
    let cases = [
        ("a", json!(256), "`$.a`: 256 is out of range 0..=255"),
        ("b", json!(1.5), "`$.b`: expected an integer, found 1.5"),
        (
            "e",
            json!("3"),
            "`$.e`: expected an integer, found the string \"3\"",
        ),
        (
            "g",
            json!(9_007_199_254_740_992u64),
            "`$.g`: 9007199254740992 is beyond 2^53-1, where JSON numbers lose precision; send 64-bit integers as strings (\"9007199254740992\")",
        ),
        (
            "g",
            json!("-1"),
            "`$.g`: -1 is out of range 0..=18446744073709551615",
        ),
        (
            "h",
            json!("+1"),
            "`$.h`: expected a string of decimal digits, such as \"-12\", found the string \"+1\"",
        ),
        (
            "x",
            json!("nan"),
            "`$.x`: expected a number, or \"NaN\", \"Infinity\", \"-Infinity\", found the string \"nan\"",
        ),
        (
            "flag",
            json!(1),
            "`$.flag`: expected true or false, found 1",
        ),
    ];
    for (field, bad, message) in cases {
        assert_eq!(error_for(&codec, &good, field, bad), message);
    }
    // 64-bit numbers are accepted up to 2^53-1 in either sign.
    let mut ok = good.clone();
    ok["h"] = json!(-9_007_199_254_740_991i64);
    ok["g"] = json!(9_007_199_254_740_991u64);
    assert!(codec.from_value(&ok).is_ok());

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("c");
    assert_eq!(
        codec.from_value(&missing).unwrap_err().to_string(),
        "`$.c`: missing field"
    );
    let mut extra = good.clone();
    extra["zz"] = json!(1);
    assert_eq!(
        codec.from_value(&extra).unwrap_err().to_string(),
        "`$.zz`: unknown field"
    );
    assert_eq!(
        codec.from_json(b"{\"a\":").unwrap_err().to_string(),
        "the body is not valid json (line 1, column 5)"
    );

    let texts = MessageCodec::from_shape(&Texts::SHAPE).unwrap();
    let good = texts.to_value(&Texts::zeroed_bytes()).unwrap();
    let cases = [
        (
            "kind",
            json!("deposit"),
            "`$.kind`: unknown variant \"deposit\" of `Kind`, expected one of \"Deposit\", \"Withdraw\", \"Transfer\"",
        ),
        (
            "kind",
            json!(1),
            "`$.kind`: expected a variant name of `Kind`, found 1",
        ),
        (
            "name",
            json!("thirteen byte"),
            "`$.name`: the text is 13 bytes of UTF-8, the field holds at most 12",
        ),
        (
            "name",
            json!("a\u{0}b"),
            "`$.name`: the text contains a NUL character",
        ),
        (
            "note",
            json!("eight by"),
            "`$.note`: the text is 8 bytes of UTF-8, the field holds at most 7",
        ),
        (
            "raw",
            json!("0011223"),
            "`$.raw`: expected 8 hex digits (4 bytes), found 7",
        ),
        (
            "raw",
            json!("0011223g"),
            "`$.raw`: expected only hex digits 0-9, a-f",
        ),
        ("_pad", json!("000000"), "`$._pad`: unknown field"),
    ];
    for (field, bad, message) in cases {
        assert_eq!(error_for(&texts, &good, field, bad), message);
    }

    let mixed = MessageCodec::from_shape(&Mixed::SHAPE).unwrap();
    let good = mixed.to_value(&Mixed::zeroed_bytes()).unwrap();
    assert_eq!(
        error_for(&mixed, &good, "one", json!([1, 2])),
        "`$.one`: expected 1 elements, found 2"
    );
    let mut nested = good.clone();
    nested["cells"][1]["value"] = json!("x");
    assert_eq!(
        mixed.from_value(&nested).unwrap_err().to_string(),
        "`$.cells[1].value`: expected an integer, found the string \"x\""
    );
}

/// What bytes of all zeros look like where they are a valid value, for building JSON to break.
trait Zeroed: Wire {
    fn zeroed_bytes() -> Vec<u8> {
        Self::zeroed().to_vec()
    }
}
impl Zeroed for Texts {}
impl Zeroed for Mixed {}

#[test]
fn bad_bytes_are_refused_with_the_offset() {
    let texts = MessageCodec::from_shape(&Texts::SHAPE).unwrap();
    let mut bytes = Texts::zeroed_bytes();
    bytes[1] = 9; // kind = 0x0009
    assert_eq!(
        texts.to_value(&bytes).unwrap_err().to_string(),
        "`$.kind` at byte 0: unknown discriminant 9 for enum `Kind`"
    );
    assert_eq!(
        texts.to_value(&bytes[1..]).unwrap_err().to_string(),
        "`$` at byte 0: expected a 30-byte record, found 29 bytes"
    );
    let list = MessageCodec::from_shape(&Vec::<Texts>::SHAPE).unwrap();
    assert_eq!(
        list.to_value(&[0, 0, 0, 200]).unwrap_err().to_string(),
        "`$` at byte 0: the list claims 200 records, but only 0 fit in the input"
    );
}

#[test]
fn byte_orders_are_named_by_prefix_in_descriptions() {
    let desc = MessageDesc::from_shape(&Native::SHAPE).unwrap();
    let text = serde_json::to_string(&desc).unwrap();
    assert!(
        text.starts_with(r#"{"kind":"record","format":"@BQH"#),
        "{text}"
    );
    assert!(text.contains(r#""order":"@""#), "{text}");
    let back: MessageDesc = serde_json::from_str(&text).unwrap();
    assert_eq!(back, desc);
    // A codec built from the parsed description transcodes as the static one.
    let parsed = MessageCodec::new(back).unwrap();
    let value = Native {
        a: 1,
        b: 2,
        c: 3,
        cell: Cell { tag: 4, value: 5 },
        cells: [Cell { tag: 6, value: 7 }, Cell { tag: 8, value: 9 }],
        d: 0.25,
        e: 10,
    };
    let shown = parsed.to_value(&value.to_vec()).unwrap();
    assert_eq!(parsed.from_value(&shown).unwrap(), value.to_vec());
    // Descriptions that do not add up are refused.
    let size = format!("\"size\":{}", Native::SIZE);
    let lying = text.replace(&size, &format!("\"size\":{}", Native::SIZE - 1));
    assert_ne!(lying, text, "{text}");
    let lying: MessageDesc = serde_json::from_str(&lying).unwrap();
    assert!(matches!(
        MessageCodec::new(lying),
        Err(JsonError::Schema(_))
    ));
    // Wide enums keep their discriminants.
    let desc = MessageDesc::from_shape(&Little::SHAPE).unwrap();
    let text = serde_json::to_string(&desc).unwrap();
    assert!(text.contains(r#""value":18446744073709551615"#), "{text}");
    let back: MessageDesc = serde_json::from_str(&text).unwrap();
    assert_eq!(back, desc);
}

/// A service with read-only and other methods, for the method codec.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Query {
    pub id: u64,
    pub limit: u16,
    pub kinds: [Kind; 2],
    pub name: FixedStr<8>,
    pub key: [u8; 2],
    pub ratio: f32,
    pub exact: bool,
}

#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Nested {
    pub inner: Response,
}

#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LookupError {
    NotFound = 1,
}

#[service]
pub trait Lookup {
    /// Finds things.
    #[rpc(read_only)]
    async fn find(&self, request: Query) -> Result<Vec<Cell>, LookupError>;
    /// Takes a nested record.
    async fn nested(&self, request: Nested) -> Result<(), ()>;
    /// Takes nothing.
    #[rpc(read_only)]
    async fn ping(&self, request: ()) -> Result<(), ()>;
}

#[test]
fn read_only_methods_are_marked_in_the_schema() {
    let methods = LookupClient::SCHEMA.methods;
    let read_only: Vec<bool> = methods.iter().map(|m| m.read_only).collect();
    assert_eq!(read_only, [true, false, true]);
}

#[test]
fn queries_carry_top_level_fields() {
    let find = MethodCodec::new(&LookupClient::SCHEMA.methods[0]).unwrap();
    assert!(find.read_only());
    let expected = Query {
        id: 18_446_744_073_709_551_615,
        limit: 10,
        kinds: [Kind::Transfer, Kind::Deposit],
        name: FixedStr::new("a b+é").unwrap(),
        key: [0xab, 0xcd],
        ratio: -0.5,
        exact: true,
    };
    let query = "id=18446744073709551615&limit=10&kinds=Transfer&kinds=Deposit\
                 &name=a+b%2B%C3%A9&key=ABcd&ratio=-0.5&exact=true";
    assert_eq!(find.request_from_query(query).unwrap(), expected.to_vec());
    let cases = [
        (
            "limit=1&limit=2",
            "query: parameter `limit` is given 2 times; the field holds one value",
        ),
        ("bogus=1", "`$.bogus`: unknown field"),
        ("limit=x", "`$.limit`: expected an integer, found \"x\""),
        ("exact=1", "`$.exact`: expected true or false, found \"1\""),
        ("name=%e9", "query: \"%e9\" is not UTF-8 once decoded"),
        ("limit=1", "`$.id`: missing field"),
    ];
    for (query, message) in cases {
        assert_eq!(
            find.request_from_query(query).unwrap_err().to_string(),
            message,
            "{query}"
        );
    }
    let nested = MethodCodec::new(&LookupClient::SCHEMA.methods[1]).unwrap();
    assert_eq!(
        nested
            .request_from_query("inner=1")
            .unwrap_err()
            .to_string(),
        "query: field `inner` is a nested record, which a query string cannot carry; POST a JSON body instead"
    );
    let ping = MethodCodec::new(&LookupClient::SCHEMA.methods[2]).unwrap();
    assert_eq!(ping.request_from_query("").unwrap(), b"");
    assert!(ping.request_from_query("x=1").is_err());
}

#[test]
fn replies_become_json_or_error_objects() {
    let find = MethodCodec::new(&LookupClient::SCHEMA.methods[0]).unwrap();
    let ok = Reply::from_result::<Vec<Cell>, LookupError>(Ok(vec![Cell { tag: 1, value: 2 }]));
    assert_eq!(
        find.reply_to_json(&ok).unwrap(),
        br#"[{"tag":1,"value":2}]"#
    );
    let app = Reply::from_result::<Vec<Cell>, LookupError>(Err(LookupError::NotFound));
    assert_eq!(
        find.reply_to_value(&app).unwrap(),
        json!({"status": "application", "message": "application error", "error": "NotFound"})
    );
    let busy = Reply::error(Status::ResourceExhausted, "too many calls");
    assert_eq!(
        find.reply_to_json(&busy).unwrap(),
        br#"{"status":"resource_exhausted","message":"too many calls","error":null}"#
    );
    let garbled = Reply {
        status: Status::Application,
        body: vec![7],
    };
    assert!(matches!(
        find.reply_to_value(&garbled),
        Err(JsonError::Bytes { .. })
    ));
    for status in Status::ALL {
        assert_eq!(Status::from_snake_name(status.snake_name()), Some(status));
    }
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|x| json!(x)),
        "[a-zA-Z0-9 \\-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Deposit"),
            Just("NaN"),
            Just("-Infinity"),
            Just("00ff"),
            Just("-12")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(
                (
                    prop_oneof![
                        Just("a".to_owned()),
                        Just("kind".to_owned()),
                        Just("cells".to_owned()),
                        Just("tag".to_owned()),
                        "[a-z]{1,4}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn every_codec() -> Vec<MessageCodec> {
    let shapes = [
        Request::SHAPE,
        Numbers::SHAPE,
        Texts::SHAPE,
        Native::SHAPE,
        Arrays::SHAPE,
        Mixed::SHAPE,
        Little::SHAPE,
        Empty::SHAPE,
        <()>::SHAPE,
        Vec::<Texts>::SHAPE,
        Vec::<Native>::SHAPE,
        Query::SHAPE,
        Nested::SHAPE,
    ];
    shapes
        .iter()
        .map(|s| MessageCodec::from_shape(s).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// No JSON value, body or query makes any codec panic, and what encodes is a valid message.
    #[test]
    fn arbitrary_json_never_panics(value in any_json(), text in "\\PC{0,40}", raw in bytes(0..64)) {
        for codec in every_codec() {
            if let Ok(bytes) = codec.from_value(&value) {
                prop_assert!(codec.to_value(&bytes).is_ok());
            }
            let _ = codec.from_json(text.as_bytes());
            let _ = codec.from_json(&raw);
            let _ = codec.from_query(&text);
            let _ = codec.to_value(&raw);
        }
    }
}
