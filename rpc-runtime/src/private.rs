//! Support for generated code. Not a public API: names here change without notice.

pub use crate::service::{Call, bad_request};
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

/// Parses an HTTP/1.1 request head as the server does, for the fuzz targets: `Ok(None)` while
/// it is incomplete, `Ok(Some((head_len, body_len)))` once it is, or `Err` with the status code
/// of the reply that refuses it.
pub fn http_parse_head(bytes: &[u8], max_body: u32) -> Result<Option<(usize, usize)>, u16> {
    crate::server::http::parse_head_lengths(bytes, max_body)
}
