//! Representative Wire types shared by the snapshot, property and Python interop tests: every
//! field kind and every byte order appears at least once.

use rpc_runtime::{FixedStr, PascalStr, Wire};

/// The benchmark workload's request (see shared/bench/WORKLOAD.md), in network order.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Request {
    pub id: u32,
    pub amount: i64,
    pub name: [u8; 32],
}

/// The benchmark workload's response.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Response {
    pub id: u32,
    pub balance: i64,
    pub ok: bool,
}

/// Every integer width and both float widths, little-endian.
#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "<")]
pub struct Numbers {
    pub a: u8,
    pub b: i8,
    pub c: u16,
    pub d: i16,
    pub e: u32,
    pub f: i32,
    pub g: u64,
    pub h: i64,
    pub x: f32,
    pub y: f64,
    pub z: half::f16,
    pub flag: bool,
}

/// A C-like enum with a 16-bit repr.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    Deposit = 1,
    Withdraw = 2,
    Transfer = 300,
}

/// A C-like enum with a signed repr.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum Sign {
    Minus = -1,
    Zero = 0,
    Plus = 1,
}

/// Strings, byte strings, padding and enums, big-endian.
#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = ">")]
pub struct Texts {
    pub kind: Kind,
    pub name: FixedStr<12>,
    #[wire(pad)]
    pub _pad: [u8; 3],
    pub note: PascalStr<8>,
    pub raw: [u8; 4],
    pub sign: Sign,
}

/// A nested struct for the native-order tests.
#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "@")]
pub struct Cell {
    pub tag: i8,
    pub value: i32,
}

/// Native alignment: padding before fields, never after, nested structs flattened.
#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "@")]
pub struct Native {
    pub a: u8,
    pub b: u64,
    pub c: u16,
    pub cell: Cell,
    pub cells: [Cell; 2],
    pub d: f64,
    pub e: u8,
}

/// Host order with standard sizes, arrays of numbers and nested arrays.
#[derive(Wire, Debug, Clone, PartialEq)]
#[wire(order = "=")]
pub struct Arrays {
    pub ints: [i32; 4],
    pub grid: [[u16; 2]; 3],
    pub flags: [bool; 3],
    pub blobs: [[u8; 2]; 2],
}

/// A tuple struct with a nested network-order struct.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Pair(pub u16, pub Response);

/// A struct with no fields: zero bytes.
#[derive(Wire, Debug, Clone, PartialEq)]
pub struct Empty;
