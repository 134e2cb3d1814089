//! Support for generated code. Not a public API: names here change without notice.

pub use crate::service::{
    Call, ReplySlot, Started, bad_request, bad_request_framed, framed_result, ready_result,
    start_boxed,
};
pub use crate::wire::layout::{
    Item, Kind, Variant, format_bytes, format_len, format_str, order_compatible, size_of,
};
pub use crate::wire::prim::{pack_pad, unpack_pad};
pub use crate::wire::{ByteOrder, Order, Wire, WireError, WireField, WireResult, pack_array};
pub use core::option::Option::{self, None, Some};
pub use core::result::Result::{self, Err, Ok};

/// The reply for a handler's result.
#[inline]
pub fn reply<T: crate::Message, E: crate::Message>(result: Result<T, E>) -> crate::service::Reply {
    crate::service::Reply::from_result(result)
}
