//! Python interop: every Wire type against CPython's own `struct` module, in both directions.
//!
//! Each test starts one `python3 -I` process and feeds it all of its cases on stdin, one line
//! per case, then asserts on the one line per case that Python prints back. A record case sends
//! the format, the hex of Rust's `pack()` and the values as a Python literal; Python checks that
//! `struct.unpack(FORMAT, rust_bytes)` gives those values and answers with
//! `struct.pack(FORMAT, *values)`, which Rust compares with its own bytes and unpacks again.
//! List cases do the same through `struct.unpack_from` + `struct.iter_unpack`.
//!
//! Values are flattened into Python's tuple here, by hand, exactly as docs/WIRE.md describes:
//! nested structs and arrays contribute their fields, `Ns` is `bytes` of length N, `Np` is the
//! text without its length byte, padding contributes nothing, enums are ints.
//!
//! Floats are compared by bit pattern. CPython cannot build every NaN: it quiets signalling
//! `f32` NaNs and (before 3.14) keeps no `f16` NaN payload. Cases holding such a NaN are
//! marked *loose*: Python still unpacks Rust's bytes and must find a NaN of the same sign, but
//! the bytes Python packs are not required to equal Rust's.

use crate::fixtures::{
    Arrays, Cell, Empty, Kind, Native, Numbers, Pair, Request, Response, Sign, Texts,
};
use half::f16;
use rpc_runtime::wire::{list_count_format, pack_list, unpack_list};
use rpc_runtime::{FixedStr, PascalStr, Wire};
use std::fmt::{Debug, Write as _};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::thread;

/// Random values generated per type, besides the hand-picked edge values.
const RANDOM_PER_TYPE: usize = 300;

/// Edge rounds per type: every edge list below is at most this long, so each value appears.
const EDGE_ROUNDS: usize = 24;

// ---------------------------------------------------------------------------------------------
// Extra Wire types: corners the shared fixtures do not reach.
// ---------------------------------------------------------------------------------------------

/// `@` records get no trailing padding (`@ib` is 5 bytes), so neither do their lists.
#[derive(Wire, Debug)]
#[wire(order = "@")]
struct Tail {
    b: i32,
    a: i8,
}

/// Zero-length runs (which still align under `@`), half floats and counted runs.
#[derive(Wire, Debug)]
#[wire(order = "@")]
struct Aligned {
    a: i8,
    none: [i32; 0],
    b: i8,
    halves: [f16; 3],
    c: u8,
    singles: [f32; 2],
    d: [u64; 1],
    e: bool,
    f: f64,
}

/// String fields at their limits, little-endian: one byte, no room at all, the 255-byte cap.
#[derive(Wire, Debug)]
#[wire(order = "<")]
struct Strings {
    one: FixedStr<1>,
    nothing: PascalStr<1>,
    long: PascalStr<300>,
    wide: FixedStr<64>,
    none: [u8; 0],
    byte: [u8; 1],
    #[wire(pad)]
    _gap: [u8; 1],
    max: PascalStr<256>,
}

/// An unsigned 64-bit enum with the largest discriminant.
#[derive(Wire, Debug, Clone, Copy)]
#[repr(u64)]
enum Wide {
    Zero = 0,
    Max = u64::MAX,
}

/// A signed 32-bit enum with its own little-endian order when it stands alone.
#[derive(Wire, Debug, Clone, Copy)]
#[wire(order = "<")]
#[repr(i32)]
enum Level {
    Min = i32::MIN,
    Zero = 0,
    Max = i32::MAX,
}

/// A byte-sized enum, so that an array of it is a counted run (`3B`).
#[derive(Wire, Debug, Clone, Copy)]
#[repr(u8)]
enum Tag {
    A = 0,
    B = 0x7f,
    C = 0xff,
}

/// A signed 64-bit enum with the smallest discriminant.
#[derive(Wire, Debug, Clone, Copy)]
#[repr(i64)]
enum Deep {
    Min = i64::MIN,
    Minus = -1,
}

/// Enums of every width in one aligned record; they follow the record's order, not their own.
#[derive(Wire, Debug)]
#[wire(order = "@")]
struct Tags {
    tag: Tag,
    wide: Wide,
    level: Level,
    tags: [Tag; 3],
    deep: Deep,
    sign: Sign,
}

/// `>` around `!` structs (the same bytes), as a tuple struct with an array of structs.
#[derive(Wire, Debug)]
#[wire(order = ">")]
struct Mixed(i16, Response, [Response; 2]);

/// Arrays whose elements are themselves one-field strings: WIRE.md says "T's format N times",
/// so `[[u8; 1]; 3]` must read in Python as three one-byte strings.
#[derive(Wire, Debug)]
struct ByteRuns {
    letters: [[u8; 1]; 3],
    codes: [FixedStr<1>; 2],
    empties: [PascalStr<1>; 2],
    pairs: [[u8; 2]; 2],
}

/// Floats of every width in network order.
#[derive(Wire, Debug)]
struct NetFloats {
    h: f16,
    f: [f32; 2],
    d: f64,
}

/// Floats in host order with standard sizes, including an array of float arrays.
#[derive(Wire, Debug)]
#[wire(order = "=")]
struct HostFloats {
    h: [f16; 2],
    flags: [bool; 2],
    grid: [[f32; 2]; 2],
    d: f64,
}

// ---------------------------------------------------------------------------------------------
// Python's view of a value.
// ---------------------------------------------------------------------------------------------

/// A float format code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// `e`
    Half,
    /// `f`
    Single,
    /// `d`
    Double,
}

/// One element of the tuple `struct.unpack` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Py {
    Int(i128),
    Bool(bool),
    /// A float field: its width and its own bit pattern (not widened).
    Float(Width, u64),
    Bytes(Vec<u8>),
}

impl Py {
    fn is_nan(&self) -> bool {
        match *self {
            Py::Float(Width::Half, b) => f16::from_bits(b as u16).is_nan(),
            Py::Float(Width::Single, b) => f32::from_bits(b as u32).is_nan(),
            Py::Float(Width::Double, b) => f64::from_bits(b).is_nan(),
            _ => false,
        }
    }

    /// Whether CPython can produce this value's exact bytes with `struct.pack`.
    fn python_exact(&self) -> bool {
        match *self {
            // A signalling f32 NaN is quieted by the C double-to-float conversion.
            Py::Float(Width::Single, b) if self.is_nan() => b & 0x0040_0000 != 0,
            // CPython < 3.14 packs every f16 NaN as the bare quiet NaN of its sign.
            Py::Float(Width::Half, b) if self.is_nan() => b & 0x7fff == 0x7e00,
            _ => true,
        }
    }

    /// The f64 Python holds for a float field: IEEE widening, a NaN's payload shifted up.
    fn widened(width: Width, bits: u64) -> u64 {
        let nan = Py::Float(width, bits).is_nan();
        match width {
            Width::Double => bits,
            Width::Single if nan => {
                ((bits >> 31) << 63) | (0x7ff << 52) | ((bits & 0x007f_ffff) << 29)
            }
            Width::Half if nan => ((bits >> 15) << 63) | (0x7ff << 52) | ((bits & 0x03ff) << 42),
            Width::Single => f64::from(f32::from_bits(bits as u32)).to_bits(),
            Width::Half => f16::from_bits(bits as u16).to_f64().to_bits(),
        }
    }

    /// Equality as these tests define it: floats by bits, or for loose cases any NaN of the
    /// same sign matches.
    fn same(&self, other: &Py, strict: bool) -> bool {
        match (self, other) {
            (Py::Float(wa, a), Py::Float(wb, b)) if wa == wb && !strict && self.is_nan() => {
                other.is_nan() && Py::widened(*wa, *a) >> 63 == Py::widened(*wb, *b) >> 63
            }
            _ => self == other,
        }
    }

    /// The value as failure messages show it: the Python literal, and a float's own bits.
    fn shown(&self) -> String {
        let mut text = String::new();
        self.render(&mut text);
        if let Py::Float(width, bits) = self {
            write!(text, " ({width:?} bits {bits:#x})").unwrap();
        }
        text
    }

    /// A Python expression for the value, exact to the bit.
    fn render(&self, out: &mut String) {
        match self {
            Py::Int(v) => write!(out, "{v}").unwrap(),
            Py::Bool(v) => out.push_str(if *v { "True" } else { "False" }),
            Py::Float(width, bits) => render_float(Py::widened(*width, *bits), out),
            Py::Bytes(bytes) => {
                out.push_str("b'");
                for &b in bytes {
                    match b {
                        b'\\' | b'\'' => write!(out, "\\x{b:02x}").unwrap(),
                        0x20..0x7f => out.push(char::from(b)),
                        _ => write!(out, "\\x{b:02x}").unwrap(),
                    }
                }
                out.push('\'');
            }
        }
    }
}

/// `float.fromhex('-0x1.8p+0')` for finite values, `_nan('<64-bit hex>')` for NaNs.
fn render_float(bits: u64, out: &mut String) {
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exponent = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1 << 52) - 1);
    let digits = format!("{mantissa:013x}");
    let digits = digits.trim_end_matches('0');
    let fraction = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    match (exponent, mantissa) {
        (0x7ff, 0) => write!(out, "float('{sign}inf')"),
        (0x7ff, _) => write!(out, "_nan('{bits:016x}')"),
        (0, 0) => write!(out, "float.fromhex('{sign}0x0p+0')"),
        (0, _) => write!(out, "float.fromhex('{sign}0x0{fraction}p-1022')"),
        _ => write!(
            out,
            "float.fromhex('{sign}0x1{fraction}p{:+}')",
            exponent - 1023
        ),
    }
    .unwrap();
}

/// Renders a flattened record as a Python tuple literal.
fn render_tuple(values: &[Py], out: &mut String) {
    out.push('(');
    for v in values {
        v.render(out);
        out.push_str(", ");
    }
    out.push(')');
}

fn same_values(want: &[Py], got: &[Py], strict: bool) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!("{} values, expected {}", got.len(), want.len()));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if !w.same(g, strict) {
            return Err(format!(
                "value {i} is {}, expected {}",
                g.shown(),
                w.shown()
            ));
        }
    }
    Ok(())
}

/// Appends the values a type contributes to Python's tuple.
trait Flat {
    fn flat(&self, out: &mut Vec<Py>);

    /// The values of an array of `Self`; one `bytes` value for `[u8; N]` (`Ns`).
    fn flat_array(items: &[Self], out: &mut Vec<Py>)
    where
        Self: Sized,
    {
        for item in items {
            item.flat(out);
        }
    }
}

fn flatten<T: Flat>(value: &T) -> Vec<Py> {
    let mut out = Vec::new();
    value.flat(&mut out);
    out
}

macro_rules! flat_int {
    ($($ty:ty),*) => {$(
        impl Flat for $ty {
            fn flat(&self, out: &mut Vec<Py>) {
                out.push(Py::Int(i128::from(*self)));
            }
        }
    )*};
}

flat_int!(i8, u16, i16, u32, i32, u64, i64);

impl Flat for u8 {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Int(i128::from(*self)));
    }

    fn flat_array(items: &[u8], out: &mut Vec<Py>) {
        out.push(Py::Bytes(items.to_vec()));
    }
}

impl Flat for bool {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Bool(*self));
    }
}

impl Flat for f16 {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Float(Width::Half, u64::from(self.to_bits())));
    }
}

impl Flat for f32 {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Float(Width::Single, u64::from(self.to_bits())));
    }
}

impl Flat for f64 {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Float(Width::Double, self.to_bits()));
    }
}

impl<T: Flat, const N: usize> Flat for [T; N] {
    fn flat(&self, out: &mut Vec<Py>) {
        T::flat_array(self, out);
    }
}

impl<const N: usize> Flat for FixedStr<N> {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Bytes(self.as_bytes_padded().to_vec()));
    }
}

impl<const N: usize> Flat for PascalStr<N> {
    fn flat(&self, out: &mut Vec<Py>) {
        out.push(Py::Bytes(self.as_bytes().to_vec()));
    }
}

macro_rules! flat_enum {
    ($($ty:ty as $repr:ty),* $(,)?) => {$(
        impl Flat for $ty {
            fn flat(&self, out: &mut Vec<Py>) {
                out.push(Py::Int(i128::from(*self as $repr)));
            }
        }
    )*};
}

flat_enum!(
    Kind as u16,
    Sign as i8,
    Wide as u64,
    Level as i32,
    Tag as u8,
    Deep as i64
);

/// A struct's tuple: its fields in order, padding left out.
macro_rules! flat_struct {
    ($($ty:ident { $($field:tt),* })*) => {$(
        impl Flat for $ty {
            #[allow(unused_variables)]
            fn flat(&self, out: &mut Vec<Py>) {
                $(self.$field.flat(out);)*
            }
        }
    )*};
}

flat_struct! {
    Request { id, amount, name }
    Response { id, balance, ok }
    Numbers { a, b, c, d, e, f, g, h, x, y, z, flag }
    Texts { kind, name, note, raw, sign }
    Cell { tag, value }
    Native { a, b, c, cell, cells, d, e }
    Arrays { ints, grid, flags, blobs }
    Pair { 0, 1 }
    Empty {}
    Tail { b, a }
    Aligned { a, none, b, halves, c, singles, d, e, f }
    Strings { one, nothing, long, wide, none, byte, max }
    Tags { tag, wide, level, tags, deep, sign }
    Mixed { 0, 1, 2 }
    ByteRuns { letters, codes, empties, pairs }
    NetFloats { h, f, d }
    HostFloats { h, flags, grid, d }
}

// ---------------------------------------------------------------------------------------------
// Values: hand-picked edges and a deterministic pseudo-random generator.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: tiny, deterministic, so a failing case is the same on every run.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Values of a field type: the `k`-th edge value (cycling) and random ones.
trait Gen: Sized {
    fn edge(k: usize) -> Self;
    fn random(rng: &mut Rng) -> Self;
}

macro_rules! gen_int {
    ($($ty:ty),*) => {$(
        impl Gen for $ty {
            fn edge(k: usize) -> Self {
                let edges: [$ty; 8] = [
                    0,
                    1,
                    <$ty>::MAX,
                    <$ty>::MIN,
                    (0 as $ty).wrapping_sub(1),
                    <$ty>::MAX - 1,
                    <$ty>::MIN.wrapping_add(1),
                    <$ty>::MAX / 2 + 1,
                ];
                edges[k % edges.len()]
            }

            fn random(rng: &mut Rng) -> Self {
                match rng.below(8) {
                    0 => Self::edge(rng.below(8)),
                    // Every magnitude, not only huge ones; the cast keeps the low bits.
                    _ => (rng.next_u64() >> rng.below(64)) as $ty,
                }
            }
        }
    )*};
}

gen_int!(u8, i8, u16, i16, u32, i32, u64, i64);

impl Gen for bool {
    fn edge(k: usize) -> Self {
        k % 2 == 1
    }

    fn random(rng: &mut Rng) -> Self {
        rng.below(2) == 1
    }
}

/// `f64` edges as bit patterns: signed zeros, subnormals, extremes, infinities and NaNs.
const F64_EDGES: [u64; 18] = [
    0x0000_0000_0000_0000, // 0.0
    0x8000_0000_0000_0000, // -0.0
    0x3ff0_0000_0000_0000, // 1.0
    0xbff8_0000_0000_0000, // -1.5
    0x3fb9_9999_9999_999a, // 0.1
    0xc009_21fb_5444_2d18, // -pi
    0x0010_0000_0000_0000, // MIN_POSITIVE
    0x0000_0000_0000_0001, // smallest subnormal
    0x800f_ffff_ffff_ffff, // largest negative subnormal
    0x7fef_ffff_ffff_ffff, // MAX
    0xffef_ffff_ffff_ffff, // MIN
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // NaN
    0xfff8_0000_0000_0000, // -NaN
    0x7ff8_dead_beef_0001, // quiet NaN with a payload
    0x7ff0_0000_0000_0001, // signalling NaN
    0xfff4_0000_0000_0000, // negative signalling NaN
];

/// `f32` edges; the last one is a signalling NaN Python cannot pack (a loose case).
const F32_EDGES: [u32; 18] = [
    0x0000_0000, // 0.0
    0x8000_0000, // -0.0
    0x3f80_0000, // 1.0
    0xbfc0_0000, // -1.5
    0x3dcc_cccd, // 0.1
    0xc049_0fdb, // -pi
    0x0080_0000, // MIN_POSITIVE
    0x0000_0001, // smallest subnormal
    0x807f_ffff, // largest negative subnormal
    0x7f7f_ffff, // MAX
    0xff7f_ffff, // MIN
    0x7f80_0000, // inf
    0xff80_0000, // -inf
    0x7fc0_0000, // NaN
    0xffc0_0000, // -NaN
    0x7fc0_1234, // quiet NaN with a payload
    0xffff_ffff, // negative quiet NaN, all payload bits set
    0x7f80_0001, // signalling NaN
];

/// `f16` edges; the last two are NaNs Python cannot pack (loose cases).
const F16_EDGES: [u16; 18] = [
    0x0000, // 0.0
    0x8000, // -0.0
    0x3c00, // 1.0
    0xbe00, // -1.5
    0x2e66, // 0.1
    0xc248, // -pi
    0x0400, // MIN_POSITIVE
    0x0001, // smallest subnormal
    0x83ff, // largest negative subnormal
    0x7bff, // MAX, 65504
    0xfbff, // MIN
    0x7c00, // inf
    0xfc00, // -inf
    0x7e00, // NaN
    0xfe00, // -NaN
    0x3555, // 1/3, rounded
    0x7e01, // quiet NaN with a payload
    0x7c01, // signalling NaN
];

impl Gen for f64 {
    fn edge(k: usize) -> Self {
        f64::from_bits(F64_EDGES[k % F64_EDGES.len()])
    }

    fn random(rng: &mut Rng) -> Self {
        match rng.below(8) {
            0 => Self::edge(rng.below(F64_EDGES.len())),
            1 => (rng.below(20_001) as f64 - 10_000.0) / 64.0,
            _ => f64::from_bits(rng.next_u64()),
        }
    }
}

impl Gen for f32 {
    fn edge(k: usize) -> Self {
        f32::from_bits(F32_EDGES[k % F32_EDGES.len()])
    }

    fn random(rng: &mut Rng) -> Self {
        match rng.below(8) {
            0 => Self::edge(rng.below(F32_EDGES.len())),
            1 => (rng.below(20_001) as f32 - 10_000.0) / 64.0,
            _ => f32::from_bits(rng.next_u64() as u32),
        }
    }
}

impl Gen for f16 {
    fn edge(k: usize) -> Self {
        f16::from_bits(F16_EDGES[k % F16_EDGES.len()])
    }

    fn random(rng: &mut Rng) -> Self {
        match rng.below(8) {
            0 => Self::edge(rng.below(F16_EDGES.len())),
            1 => f16::from_f64((rng.below(2_001) as f64 - 1_000.0) / 16.0),
            _ => f16::from_bits(rng.next_u64() as u16),
        }
    }
}

impl<T: Gen, const N: usize> Gen for [T; N] {
    fn edge(k: usize) -> Self {
        core::array::from_fn(|j| T::edge(k + j))
    }

    fn random(rng: &mut Rng) -> Self {
        core::array::from_fn(|_| T::random(rng))
    }
}

/// Repeats `unit` while it fits in `cap` bytes, then tops up with ASCII: exactly `cap` bytes.
fn fill(cap: usize, unit: &str) -> String {
    let mut s = String::new();
    while s.len() + unit.len() <= cap {
        s.push_str(unit);
    }
    while s.len() < cap {
        s.push('z');
    }
    s
}

/// The longest prefix of `text` that fits in `cap` bytes without splitting a character.
fn fit(cap: usize, text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if s.len() + c.len_utf8() > cap {
            break;
        }
        s.push(c);
    }
    s
}

/// Edge strings: empty, full-length ASCII and multi-byte, short non-ASCII, quoting hazards.
fn text_edge(k: usize, cap: usize) -> String {
    match k % 7 {
        0 => String::new(),
        1 => fill(cap, "a"),
        2 => fill(cap, "é"),
        3 => fill(cap, "日"),
        4 => fill(cap, "𝄞"),
        5 => fit(cap, "héllo wörld ✓"),
        _ => fit(cap, "'\\\"\t\n\u{7f}~"),
    }
}

/// A random string of random length up to `cap` bytes, from a pool of 1- to 4-byte characters.
fn random_text(rng: &mut Rng, cap: usize, nul: bool) -> String {
    const POOL: [char; 16] = [
        'a',
        'Q',
        '7',
        ' ',
        '\'',
        '\\',
        '\n',
        '\u{7f}',
        'é',
        'ß',
        '€',
        '日',
        '✓',
        '𝄞',
        '\u{10ffff}',
        '\0',
    ];
    let pool = if nul {
        &POOL[..]
    } else {
        &POOL[..POOL.len() - 1]
    };
    if rng.below(4) == 0 {
        return text_edge(rng.below(7), cap);
    }
    let target = rng.below(cap + 1);
    let mut s = String::new();
    while s.len() < target {
        let c = pool[rng.below(pool.len())];
        s.push(if s.len() + c.len_utf8() <= target {
            c
        } else {
            'a'
        });
    }
    s
}

impl<const N: usize> Gen for FixedStr<N> {
    fn edge(k: usize) -> Self {
        FixedStr::new(&text_edge(k, N)).expect("edge text fits")
    }

    fn random(rng: &mut Rng) -> Self {
        FixedStr::new(&random_text(rng, N, false)).expect("random text fits")
    }
}

impl<const N: usize> Gen for PascalStr<N> {
    fn edge(k: usize) -> Self {
        PascalStr::new(&text_edge(k, Self::CAPACITY)).expect("edge text fits")
    }

    fn random(rng: &mut Rng) -> Self {
        PascalStr::new(&random_text(rng, Self::CAPACITY, true)).expect("random text fits")
    }
}

macro_rules! gen_enum {
    ($($ty:ident [$($variant:ident),*])*) => {$(
        impl Gen for $ty {
            fn edge(k: usize) -> Self {
                let all = [$($ty::$variant),*];
                all[k % all.len()]
            }

            fn random(rng: &mut Rng) -> Self {
                Self::edge(rng.below(64))
            }
        }
    )*};
}

gen_enum! {
    Kind [Deposit, Withdraw, Transfer]
    Sign [Minus, Zero, Plus]
    Wide [Zero, Max]
    Level [Min, Zero, Max]
    Tag [A, B, C]
    Deep [Min, Minus]
}

/// Builds a struct field by field; padding fields get edge and random bytes too, which `pack`
/// must replace with zeros.
macro_rules! gen_struct {
    ($($ty:ident { $($field:ident),* })*) => {$(
        impl Gen for $ty {
            fn edge(k: usize) -> Self {
                $ty { $($field: Gen::edge(k)),* }
            }

            #[allow(unused_variables)]
            fn random(rng: &mut Rng) -> Self {
                $ty { $($field: Gen::random(rng)),* }
            }
        }
    )*};
}

gen_struct! {
    Request { id, amount, name }
    Response { id, balance, ok }
    Numbers { a, b, c, d, e, f, g, h, x, y, z, flag }
    Texts { kind, name, _pad, note, raw, sign }
    Cell { tag, value }
    Native { a, b, c, cell, cells, d, e }
    Arrays { ints, grid, flags, blobs }
    Tail { b, a }
    Aligned { a, none, b, halves, c, singles, d, e, f }
    Strings { one, nothing, long, wide, none, byte, _gap, max }
    Tags { tag, wide, level, tags, deep, sign }
    ByteRuns { letters, codes, empties, pairs }
    NetFloats { h, f, d }
    HostFloats { h, flags, grid, d }
}

impl Gen for Pair {
    fn edge(k: usize) -> Self {
        Pair(Gen::edge(k), Gen::edge(k))
    }

    fn random(rng: &mut Rng) -> Self {
        Pair(Gen::random(rng), Gen::random(rng))
    }
}

impl Gen for Mixed {
    fn edge(k: usize) -> Self {
        Mixed(Gen::edge(k), Gen::edge(k), Gen::edge(k))
    }

    fn random(rng: &mut Rng) -> Self {
        Mixed(Gen::random(rng), Gen::random(rng), Gen::random(rng))
    }
}

impl Gen for Empty {
    fn edge(_: usize) -> Self {
        Empty
    }

    fn random(_: &mut Rng) -> Self {
        Empty
    }
}

/// A Wire type the interop tests can generate, flatten and check.
trait Sample: Wire + Flat + Gen + Debug + 'static {}

impl<T: Wire + Flat + Gen + Debug + 'static> Sample for T {}

/// Edge values first, then `RANDOM_PER_TYPE` random ones, each with its label.
fn samples<T: Sample>(rng: &mut Rng) -> Vec<(String, T)> {
    let name = type_name::<T>();
    let edges = (0..EDGE_ROUNDS).map(|k| (format!("{name} edge #{k}"), T::edge(k)));
    let random = (0..RANDOM_PER_TYPE).map(|i| (format!("{name} random #{i}"), T::random(rng)));
    edges.chain(random).collect()
}

fn type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

// ---------------------------------------------------------------------------------------------
// The Python side and the session that talks to it.
// ---------------------------------------------------------------------------------------------

/// Reads one case per line and prints `index<TAB>python-hex-or-dash<TAB>ok-or-reason` for each.
///
/// - `size FMT N`: `struct.calcsize(FMT) == N`.
/// - `rec FMT STRICT RUST_HEX VALUES`: `struct.unpack(FMT, rust) == VALUES`; answers with
///   `struct.pack(FMT, *VALUES)`.
/// - `list FMT COUNT_FMT STRICT RUST_HEX [VALUES, ...]`: the list recipe of docs/WIRE.md, both
///   ways.
const PYTHON: &str = r#"
import math, struct, sys

def _nan(h):
    return struct.unpack('>d', bytes.fromhex(h))[0]

ENV = {'__builtins__': {}, 'float': float, '_nan': _nan}

def same(a, b, strict):
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return (math.isnan(a) and math.isnan(b)
                    and math.copysign(1.0, a) == math.copysign(1.0, b)
                    and (not strict or struct.pack('>d', a) == struct.pack('>d', b)))
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b

def show(v):
    return '%r (bits %s)' % (v, struct.pack('>d', v).hex()) if type(v) is float else repr(v)

def compare(got, want, strict):
    if len(got) != len(want):
        return 'struct.unpack gave %d values, expected %d: %r' % (len(got), len(want), got)
    for i, (g, w) in enumerate(zip(got, want)):
        if not same(g, w, strict):
            return 'struct.unpack value %d is %s, expected %s' % (i, show(g), show(w))
    return None

def attempt(errors, what, step):
    try:
        return step()
    except Exception as e:
        errors.append('%s raised %s: %s' % (what, type(e).__name__, e))

def read_list(fmt, count_fmt, data, want, strict):
    (n,) = struct.unpack_from(count_fmt, data)
    records = list(struct.iter_unpack(fmt, data[4:]))
    if n != len(want) or len(records) != len(want):
        return 'count %d and %d records, expected %d' % (n, len(records), len(want))
    for i, (g, w) in enumerate(zip(records, want)):
        err = compare(g, w, strict)
        if err:
            return 'record %d: %s' % (i, err)
    return None

def check(kind, f, errors):
    if kind == 'size':
        got = struct.calcsize(f[0])
        if got != int(f[1]):
            errors.append('struct.calcsize is %d, Rust says %s' % (got, f[1]))
        return None
    if kind == 'rec':
        fmt, strict, data, want = f[0], f[1] == '1', bytes.fromhex(f[2]), eval(f[3], ENV)
        got = attempt(errors, 'struct.unpack', lambda: struct.unpack(fmt, data))
        if got is not None:
            errors.append(compare(got, want, strict))
        return attempt(errors, 'struct.pack', lambda: struct.pack(fmt, *want))
    if kind == 'list':
        fmt, count_fmt, strict, data, want = f[0], f[1], f[2] == '1', bytes.fromhex(f[3]), eval(f[4], ENV)
        errors.append(attempt(errors, 'reading the list', lambda: read_list(fmt, count_fmt, data, want, strict)))
        return attempt(errors, 'building the list', lambda: struct.pack(count_fmt, len(want))
                       + b''.join(struct.pack(fmt, *w) for w in want))
    raise ValueError('unknown case kind %r' % kind)

for i, line in enumerate(sys.stdin):
    kind, *fields = line.rstrip('\n').split('\t')
    errors = []
    out = attempt(errors, 'python', lambda: check(kind, fields, errors))
    errors = [e for e in errors if e]
    print('%d\t%s\t%s' % (i, '-' if out is None else out.hex(), '; '.join(errors) or 'ok'))
"#;

/// What Rust checks once Python has answered with its own bytes.
type Verify = Box<dyn Fn(&[u8]) -> Result<(), String>>;

struct Case {
    label: String,
    /// The line sent to Python, quoted in failure messages.
    line: String,
    /// Rust's bytes, which Python's must equal when `strict`.
    rust: Option<Vec<u8>>,
    strict: bool,
    debug: String,
    verify: Option<Verify>,
}

/// The cases of one test, run through one `python3` process.
#[derive(Default)]
struct Session {
    cases: Vec<Case>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Session {
    /// `struct.calcsize(T::FORMAT) == T::SIZE`, and the list count format is 4 bytes.
    fn size<T: Wire>(&mut self) {
        for (label, format, size) in [
            (format!("{} SIZE", type_name::<T>()), T::FORMAT, T::SIZE),
            (
                format!("{} list count", type_name::<T>()),
                list_count_format::<T>(),
                4,
            ),
        ] {
            self.cases.push(Case {
                label,
                line: format!("size\t{format}\t{size}"),
                rust: None,
                strict: true,
                debug: String::new(),
                verify: None,
            });
        }
    }

    /// One record: Python unpacks Rust's bytes, Rust unpacks Python's.
    fn record<T: Sample>(&mut self, label: String, value: &T) {
        let want = flatten(value);
        let strict = want.iter().all(Py::python_exact);
        let rust = value.to_vec();
        let mut line = format!("rec\t{}\t{}\t{}\t", T::FORMAT, u8::from(strict), hex(&rust));
        render_tuple(&want, &mut line);
        let verify = move |py: &[u8]| {
            let back = T::unpack(py).map_err(|e| format!("Rust unpack of Python's bytes: {e}"))?;
            same_values(&want, &flatten(&back), strict)
                .map_err(|e| format!("Rust unpack of Python's bytes: {e}"))
        };
        self.cases.push(Case {
            label,
            line,
            rust: Some(rust),
            strict,
            debug: format!("{value:?}"),
            verify: Some(Box::new(verify)),
        });
    }

    /// A list: Python reads `pack_list` with `unpack_from` + `iter_unpack`, Rust reads
    /// Python's list with `unpack_list`.
    fn list<T: Sample>(&mut self, label: String, items: &[T]) {
        let wants: Vec<Vec<Py>> = items.iter().map(flatten).collect();
        let strict = wants.iter().flatten().all(Py::python_exact);
        let rust = pack_list(items).expect("pack_list");
        let mut line = format!(
            "list\t{}\t{}\t{}\t{}\t[",
            T::FORMAT,
            list_count_format::<T>(),
            u8::from(strict),
            hex(&rust)
        );
        for want in &wants {
            render_tuple(want, &mut line);
            line.push_str(", ");
        }
        line.push(']');
        let verify = move |py: &[u8]| {
            let back: Vec<T> =
                unpack_list(py).map_err(|e| format!("Rust unpack_list of Python's bytes: {e}"))?;
            if back.len() != wants.len() {
                return Err(format!(
                    "Rust unpack_list gave {} records, expected {}",
                    back.len(),
                    wants.len()
                ));
            }
            for (i, (want, got)) in wants.iter().zip(&back).enumerate() {
                same_values(want, &flatten(got), strict)
                    .map_err(|e| format!("Rust unpack_list record {i}: {e}"))?;
            }
            Ok(())
        };
        self.cases.push(Case {
            label,
            line,
            rust: Some(rust),
            strict,
            debug: format!("{items:?}"),
            verify: Some(Box::new(verify)),
        });
    }

    /// Runs every case through one `python3` process; panics listing the failed cases.
    fn run(self) {
        let mut input = String::new();
        for case in &self.cases {
            input.push_str(&case.line);
            input.push('\n');
        }
        let mut child = Command::new("python3")
            .args(["-I", "-c", PYTHON])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}): the Python interop tests need CPython 3 on PATH")
            });
        let mut stdin = child.stdin.take().expect("python3 stdin is piped");
        let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = child.wait_with_output().expect("waiting for python3");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "python3 failed ({}):\n{stderr}",
            output.status
        );
        writer
            .join()
            .expect("stdin writer thread")
            .expect("writing the cases to python3");
        let stdout = String::from_utf8(output.stdout).expect("python3 prints ASCII");
        let answers: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            answers.len(),
            self.cases.len(),
            "python3 answered {} of {} cases; stderr:\n{stderr}",
            answers.len(),
            self.cases.len()
        );

        let mut failures = Vec::new();
        let loose = self.cases.iter().filter(|c| !c.strict).count();
        for (i, (case, answer)) in self.cases.iter().zip(&answers).enumerate() {
            let mut parts = answer.splitn(3, '\t');
            let (index, py_hex, status) = (parts.next(), parts.next(), parts.next());
            assert_eq!(
                index,
                Some(i.to_string().as_str()),
                "python3 answer out of order: {answer}"
            );
            let mut problems = Vec::new();
            if status != Some("ok") {
                problems.push(format!("Python: {}", status.unwrap_or("no answer")));
            }
            let python = py_hex.filter(|h| *h != "-").and_then(unhex);
            if python.is_none() && case.rust.is_some() && status == Some("ok") {
                problems.push(format!("Python sent no bytes back: {answer}"));
            }
            if let (Some(python), Some(rust)) = (&python, &case.rust) {
                if case.strict && python != rust {
                    let at = python
                        .iter()
                        .zip(rust)
                        .position(|(p, r)| p != r)
                        .unwrap_or(python.len().min(rust.len()));
                    problems.push(format!(
                        "struct.pack bytes differ from Rust's pack() (lengths {} and {}, first difference at byte {at})",
                        python.len(),
                        rust.len()
                    ));
                }
                if let Some(verify) = &case.verify
                    && let Err(e) = verify(python)
                {
                    problems.push(e);
                }
            }
            if !problems.is_empty() {
                let group = case.label.split(' ').next().unwrap_or_default();
                failures.push((
                    group,
                    format!(
                        "{}{}:\n  - {}\n  sent:   {}\n  python: {}\n  rust:   {}",
                        case.label,
                        if case.strict {
                            ""
                        } else {
                            " (loose: holds a NaN Python cannot pack)"
                        },
                        problems.join("\n  - "),
                        case.line.replace('\t', "  "),
                        py_hex.unwrap_or("-"),
                        case.debug,
                    ),
                ));
            }
        }
        if !failures.is_empty() {
            panic!("{}", failure_report(&failures, self.cases.len()));
        }
        eprintln!(
            "python interop: {} cases passed ({loose} loose)",
            self.cases.len()
        );
    }
}

/// How many failures per type, then the first failure of each type (a broken type must not
/// hide the others).
fn failure_report(failures: &[(&str, String)], total: usize) -> String {
    let mut groups: Vec<(&str, usize, &str)> = Vec::new();
    for (group, message) in failures {
        match groups.iter_mut().find(|(g, ..)| g == group) {
            Some((_, count, _)) => *count += 1,
            None => groups.push((group, 1, message)),
        }
    }
    let mut report = format!("{} of {total} Python interop cases failed:", failures.len());
    for (group, count, _) in &groups {
        write!(report, " {group} {count},").unwrap();
    }
    report.pop();
    report.push_str("\n\nThe first failure of each type:");
    for (_, _, message) in &groups {
        write!(report, "\n\n{message}").unwrap();
    }
    report
}

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------

/// Calls `$run::<T>(...)` for every Wire type in this file and in fixtures.rs, except `Empty`
/// (no list of it) and `ByteRuns` (its own test).
macro_rules! for_each_type {
    ($run:ident($($arg:expr),*)) => {
        $run::<Request>($($arg),*);
        $run::<Response>($($arg),*);
        $run::<Numbers>($($arg),*);
        $run::<Texts>($($arg),*);
        $run::<Cell>($($arg),*);
        $run::<Native>($($arg),*);
        $run::<Arrays>($($arg),*);
        $run::<Pair>($($arg),*);
        $run::<Kind>($($arg),*);
        $run::<Sign>($($arg),*);
        $run::<Tail>($($arg),*);
        $run::<Aligned>($($arg),*);
        $run::<Strings>($($arg),*);
        $run::<Wide>($($arg),*);
        $run::<Level>($($arg),*);
        $run::<Tag>($($arg),*);
        $run::<Deep>($($arg),*);
        $run::<Tags>($($arg),*);
        $run::<Mixed>($($arg),*);
        $run::<NetFloats>($($arg),*);
        $run::<HostFloats>($($arg),*);
    };
}

/// The record cases of `T`: its edge values, then random ones.
fn add_records<T: Sample>(session: &mut Session, rng: &mut Rng) {
    for (label, value) in samples::<T>(rng) {
        session.record(label, &value);
    }
}

/// The list cases of `T`: empty, one record, the edge values, then random lists.
fn add_lists<T: Sample>(session: &mut Session, rng: &mut Rng) {
    let name = type_name::<T>();
    session.list::<T>(format!("{name} empty list"), &[]);
    session.list(format!("{name} list of one"), &[T::random(rng)]);
    let edges: Vec<T> = (0..EDGE_ROUNDS).map(T::edge).collect();
    session.list(format!("{name} list of edges"), &edges);
    for i in 0..10 {
        let len = 2 + rng.below(40);
        let items: Vec<T> = (0..len).map(|_| T::random(rng)).collect();
        session.list(format!("{name} random list #{i}"), &items);
    }
}

#[test]
fn python_calcsize_equals_size() {
    fn add<T: Sample>(session: &mut Session) {
        session.size::<T>();
    }
    let mut session = Session::default();
    for_each_type!(add(&mut session));
    add::<ByteRuns>(&mut session);
    add::<Empty>(&mut session);
    session.run();
}

#[test]
fn python_struct_reads_and_writes_rust_records() {
    let mut session = Session::default();
    let mut rng = Rng::new(0x5eed_0001);
    for_each_type!(add_records(&mut session, &mut rng));
    session.record("Empty".into(), &Empty);
    session.run();
}

#[test]
fn python_iter_unpack_reads_and_writes_rust_lists() {
    let mut session = Session::default();
    let mut rng = Rng::new(0x5eed_0002);
    // `Empty` is left out: Python's iter_unpack refuses a zero-size format.
    for_each_type!(add_lists(&mut session, &mut rng));
    session.run();
}

/// docs/WIRE.md: an array of any field type other than a number or `bool` repeats the
/// element's format, so `[[u8; 1]; 3]` must be `sss` (three one-byte strings in Python's tuple)
/// and `[FixedStr<1>; 2]` must be `ss`. Kept apart from the tests above so that they stay
/// meaningful while this fails.
#[test]
fn python_struct_sees_each_one_byte_string_of_an_array() {
    let mut session = Session::default();
    let mut rng = Rng::new(0x5eed_0003);
    add_records::<ByteRuns>(&mut session, &mut rng);
    add_lists::<ByteRuns>(&mut session, &mut rng);
    session.run();
}
