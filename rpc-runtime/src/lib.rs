//! Typed, inspectable RPC without an IDL compiler, with wire formats any `struct` module can read.
//!
//! `#[derive(Wire)]` gives a Rust struct a fixed binary layout in the manner of Python's
//! `struct` module: the value packs to [`Wire::SIZE`] bytes, and [`Wire::FORMAT`] is the format
//! string a Python program passes to `struct.unpack` to read the same bytes.
//!
//! # Examples
//!
//! ```
//! use rpc_runtime::{FixedStr, Wire};
//!
//! #[derive(Wire, Debug, PartialEq)]
//! #[wire(order = "<")]
//! struct Deposit {
//!     account: u64,
//!     cents: i64,
//!     memo: FixedStr<16>,
//!     urgent: bool,
//! }
//!
//! assert_eq!(Deposit::FORMAT, "<Qq16s?");
//! assert_eq!(Deposit::SIZE, 33);
//!
//! let d = Deposit { account: 42, cents: 1250, memo: FixedStr::new("rent")?, urgent: false };
//! let bytes = d.pack();
//! // In Python: struct.unpack('<Qq16s?', bytes) == (42, 1250, b'rent' + b'\0' * 12, False)
//! assert_eq!(&bytes[..8], &42u64.to_le_bytes());
//! assert_eq!(Deposit::unpack(&bytes)?, d);
//! # Ok::<(), rpc_runtime::WireError>(())
//! ```

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod error;
pub mod wire;

pub use error::{WireError, WireResult};
pub use wire::{ByteOrder, FixedStr, PascalStr, Wire, WireField};

/// Derives [`Wire`] and [`WireField`] for a struct or a C-like enum.
///
/// See `docs/WIRE.md` for the attribute reference; in short:
///
/// - `#[wire(order = "<")]` on the type picks the byte order by its Python prefix
///   (`!` by default; `<`, `>`, `=`, `@`).
/// - `#[wire(pad)]` on a `[u8; N]` field makes it `N` padding bytes (`Nx`): written as zeros,
///   skipped when reading.
/// - Enums need `#[repr(u8)]` (or another integer repr) and unit variants only; unknown values
///   are an error when unpacking.
/// - `#[wire(crate = path)]` names the runtime when it is not reachable as `::rpc_runtime`.
pub use rpc_macros::Wire;

#[doc = include_str!("../../docs/WIRE.md")]
#[cfg(doctest)]
pub struct WireDocTests;

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDocTests;
