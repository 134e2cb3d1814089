//! What an RPC method takes and returns: a Wire record, a list of records, or nothing.

use crate::wire::{self, ByteOrder, Item, Wire};
use crate::wire::{WireError, WireResult};

/// The shape of a message on the wire, for schemas and `describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// No bytes at all (`()`).
    Unit,
    /// One record of a fixed format.
    Record {
        /// The Python `struct` format.
        format: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The record's layout tree: field names, text, enums (what the JSON mapping reads).
        layout: &'static [Item],
        /// The record's byte order.
        order: ByteOrder,
    },
    /// A count-prefixed list of records (see [`docs::wire`](crate::docs::wire)).
    List {
        /// The records' Python `struct` format.
        format: &'static str,
        /// One record's size in bytes.
        size: usize,
        /// One record's layout tree.
        layout: &'static [Item],
        /// The records' byte order, which the count uses too.
        order: ByteOrder,
    },
}

impl Shape {
    /// A short text form: `""`, `"!Iq"`, or `"list !Iq"`.
    pub fn describe(&self) -> String {
        match self {
            Shape::Unit => String::new(),
            Shape::Record { format, .. } => (*format).to_owned(),
            Shape::List { format, .. } => format!("list {format}"),
        }
    }
}

/// A request, response or error body. Implemented for every [`Wire`] type, for `Vec<T>` of a
/// Wire type (a list of records) and for `()` (an empty body).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an rpc message",
    label = "not a request, response or error type an rpc can carry",
    note = "rpc messages are #[derive(Wire)] structs and enums, `Vec<T>` of one (a list of records), \
            or `()` (no body); wrap numbers and text in a #[derive(Wire)] struct, \
            e.g. `struct Name {{ text: FixedStr<32> }}`"
)]
pub trait Message: Sized + Send + 'static {
    /// What the body looks like on the wire.
    const SHAPE: Shape;

    /// Appends the encoded body to `out`.
    ///
    /// # Errors
    ///
    /// Only lists can fail, when they hold more than `u32::MAX` records.
    fn encode(&self, out: &mut Vec<u8>) -> WireResult<()>;

    /// Decodes a body that must be consumed exactly.
    ///
    /// # Errors
    ///
    /// Any [`WireError`]: the bytes are not a valid message of this type.
    fn decode(bytes: &[u8]) -> WireResult<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: Wire + Send + 'static> Message for T {
    const SHAPE: Shape = Shape::Record {
        format: T::FORMAT,
        size: T::SIZE,
        layout: T::LAYOUT,
        order: T::ORDER,
    };

    #[inline]
    fn encode(&self, out: &mut Vec<u8>) -> WireResult<()> {
        out.extend_from_slice(self.pack().as_ref());
        Ok(())
    }

    #[inline]
    fn decode(bytes: &[u8]) -> WireResult<Self> {
        T::unpack(bytes)
    }
}

impl<T: Wire + Send + 'static> Message for Vec<T> {
    const SHAPE: Shape = Shape::List {
        format: T::FORMAT,
        size: T::SIZE,
        layout: T::LAYOUT,
        order: T::ORDER,
    };

    fn encode(&self, out: &mut Vec<u8>) -> WireResult<()> {
        wire::pack_list_into(self, out)
    }

    fn decode(bytes: &[u8]) -> WireResult<Self> {
        wire::unpack_list(bytes)
    }
}

impl Message for () {
    const SHAPE: Shape = Shape::Unit;

    fn encode(&self, _out: &mut Vec<u8>) -> WireResult<()> {
        Ok(())
    }

    fn decode(bytes: &[u8]) -> WireResult<Self> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes {
                expected: 0,
                extra: bytes.len(),
            })
        }
    }
}
