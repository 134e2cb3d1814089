//! JSON for every method: one transcoder between JSON and Wire bytes (feature `json`).
//!
//! The mapping follows the message's [type description](crate::schema::TypeDesc), so a
//! program that knows a service only from its `describe` output transcodes exactly as the
//! server does. In short (the full table is in [`docs::json`](crate::docs::json)):
//!
//! | Wire type | JSON |
//! |---|---|
//! | struct | object keyed by field name (`"0"`, `"1"` for tuple structs); padding left out |
//! | `u8`..`u32`, `i8`..`i32` | number |
//! | `u64`, `i64` | string of decimal digits (`"-12"`); a number is accepted up to 2^53-1 |
//! | `f16`, `f32`, `f64` | number; `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `bool` | `true` / `false` |
//! | `FixedStr<N>`, `PascalStr<N>` | string (too long is an error) |
//! | `[u8; N]` | lowercase hex string of 2N digits (upper case accepted) |
//! | C-like enum | the variant's name |
//! | `[T; N]` | array of exactly N |
//! | `Vec<T>` message | array |
//! | `()` message | `null` (`{}`, `null` or an empty body accepted) |
//!
//! # Examples
//!
//! ```
//! use rpc_runtime::json::MessageCodec;
//! use rpc_runtime::{FixedStr, Message, Wire};
//!
//! #[derive(Wire, Debug, PartialEq)]
//! #[repr(u8)]
//! enum Kind { Deposit = 1, Withdrawal = 2 }
//!
//! #[derive(Wire, Debug, PartialEq)]
//! struct Entry { id: u64, kind: Kind, memo: FixedStr<8>, key: [u8; 2] }
//!
//! let codec = MessageCodec::from_shape(&Vec::<Entry>::SHAPE)?;
//! let json = br#"[{"id": "7", "kind": "Deposit", "memo": "rent", "key": "00ff"}]"#;
//! let bytes = codec.from_json(json)?;
//! let entry = Entry { id: 7, kind: Kind::Deposit, memo: FixedStr::new("rent")?, key: [0, 255] };
//! assert_eq!(bytes, rpc_runtime::wire::pack_list(&[entry])?);
//! assert_eq!(
//!     String::from_utf8(codec.to_json(&bytes)?).unwrap(),
//!     r#"[{"id":"7","kind":"Deposit","memo":"rent","key":"00ff"}]"#
//! );
//!
//! let wrong = codec.from_json(br#"[{"id": 7.5, "kind": "Deposit", "memo": "", "key": "0000"}]"#);
//! assert_eq!(wrong.unwrap_err().to_string(), "`$[0].id`: expected an integer, found 7.5");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod decode;
mod encode;
mod error;
mod path;
mod query;

pub use codec::{MessageCodec, MethodCodec, error_object};
pub use error::{JsonError, Result};
