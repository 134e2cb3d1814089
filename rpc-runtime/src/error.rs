//! Error types, one per layer.

use thiserror::Error;

/// Result of packing or unpacking Wire values.
pub type WireResult<T> = core::result::Result<T, WireError>;

/// Why bytes could not be unpacked into a Wire value, or a value could not be built or packed.
///
/// Offsets are byte offsets into the buffer handed to `unpack` / `unpack_from`. Field names are
/// those of the innermost struct field the error happened in (`"0"`, `"1"`, … in tuple structs),
/// or empty when the failing value was not inside a struct.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input ends before the value does.
    #[error("input too short: need {needed} bytes at offset {offset}, only {got} available")]
    ShortInput {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes that were available from `offset` on.
        got: usize,
        /// Where the value starts.
        offset: usize,
    },
    /// `unpack` was given more bytes than the value occupies.
    #[error("{extra} trailing bytes after a {expected}-byte value")]
    TrailingBytes {
        /// The value's size.
        expected: usize,
        /// Bytes left over after it.
        extra: usize,
    },
    /// A destination buffer is smaller than the packed value.
    #[error("buffer too small: need {needed} bytes, got {got}")]
    BufferTooSmall {
        /// The packed size.
        needed: usize,
        /// The buffer's length.
        got: usize,
    },
    /// A string field does not hold valid UTF-8.
    #[error("invalid UTF-8 in string field `{field}` at offset {offset}")]
    InvalidUtf8 {
        /// The field's name.
        field: &'static str,
        /// Offset of the string's first byte.
        offset: usize,
    },
    /// A fixed string has a non-NUL byte after its terminating NUL.
    #[error("non-NUL byte after the end of string field `{field}` at offset {offset}")]
    NonZeroPadding {
        /// The field's name.
        field: &'static str,
        /// Offset of the offending byte.
        offset: usize,
    },
    /// A Pascal string's length byte exceeds its capacity.
    #[error(
        "pascal string field `{field}` at offset {offset} claims {len} bytes, capacity is {capacity}"
    )]
    PascalLength {
        /// The field's name.
        field: &'static str,
        /// Offset of the length byte.
        offset: usize,
        /// The declared length.
        len: usize,
        /// The most the field can hold.
        capacity: usize,
    },
    /// A `bool` byte is neither 0 nor 1.
    #[error(
        "invalid bool byte {value:#04x} in field `{field}` at offset {offset} (expected 0 or 1)"
    )]
    InvalidBool {
        /// The field's name.
        field: &'static str,
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// An enum's wire value matches none of its variants.
    #[error("unknown discriminant {value} for enum `{type_name}` at offset {offset}")]
    UnknownDiscriminant {
        /// The enum's name.
        type_name: &'static str,
        /// The value found.
        value: i128,
        /// Offset of the value.
        offset: usize,
    },
    /// A list's record count needs more bytes than the input holds.
    #[error(
        "list at offset {offset} claims {count} records, but only {available} fit in the input"
    )]
    CountTooLarge {
        /// The count read from the input.
        count: u64,
        /// How many records the remaining bytes could hold.
        available: usize,
        /// Offset of the count.
        offset: usize,
    },
    /// A string is longer than the fixed field it is meant for.
    #[error("string of {len} bytes does not fit in a field of {capacity} bytes")]
    StrTooLong {
        /// The string's length in bytes.
        len: usize,
        /// The field's capacity in bytes.
        capacity: usize,
    },
    /// A string for a NUL-padded field contains a NUL byte, which would be lost on unpack.
    #[error("string contains a NUL byte at {index}; NUL-padded fields cannot hold one")]
    StrContainsNul {
        /// Byte index of the first NUL.
        index: usize,
    },
}

impl WireError {
    /// Names the field an error happened in, unless an inner field already did.
    #[doc(hidden)]
    #[must_use]
    pub fn in_field(mut self, name: &'static str) -> Self {
        match &mut self {
            WireError::InvalidUtf8 { field, .. }
            | WireError::NonZeroPadding { field, .. }
            | WireError::PascalLength { field, .. }
            | WireError::InvalidBool { field, .. }
                if field.is_empty() =>
            {
                *field = name;
            }
            _ => {}
        }
        self
    }

    /// Moves every offset in the error by `base` bytes.
    #[must_use]
    pub(crate) fn shifted(mut self, base: usize) -> Self {
        match &mut self {
            WireError::ShortInput { offset, .. }
            | WireError::InvalidUtf8 { offset, .. }
            | WireError::NonZeroPadding { offset, .. }
            | WireError::PascalLength { offset, .. }
            | WireError::InvalidBool { offset, .. }
            | WireError::UnknownDiscriminant { offset, .. }
            | WireError::CountTooLarge { offset, .. } => *offset += base,
            _ => {}
        }
        self
    }
}

use crate::frame::Status;

/// A failed call, as the runtime sees it: a status and a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status}: {message}")]
pub struct RpcError {
    /// What kind of failure.
    pub status: Status,
    /// Details for people.
    pub message: String,
}

impl RpcError {
    /// An error with `status` and `message`.
    pub fn new(status: Status, message: impl Into<String>) -> RpcError {
        RpcError {
            status,
            message: message.into(),
        }
    }
}

/// Why a call returned no response: the service's own error, or a runtime failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The service answered with its typed error.
    #[error("the service returned an error: {0:?}")]
    Application(E),
    /// The call failed in the runtime: unreachable server, deadline, unknown method, …
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

impl<E> CallError<E> {
    /// The status: `Application` for service errors, else the runtime's.
    pub fn status(&self) -> Status {
        match self {
            CallError::Application(_) => Status::Application,
            CallError::Rpc(e) => e.status,
        }
    }

    /// The service's error, if that is what this is.
    pub fn application(&self) -> Option<&E> {
        match self {
            CallError::Application(e) => Some(e),
            CallError::Rpc(_) => None,
        }
    }
}

/// Why a server could not start or stopped with an error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding or accepting on an endpoint failed.
    #[error("cannot listen on {endpoint}: {source}")]
    Listen {
        /// The endpoint.
        endpoint: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Unix socket path is held by a live server.
    #[error("address in use: a server is already listening on {path}")]
    AddressInUse {
        /// The socket path.
        path: String,
    },
    /// A path to bind exists and is not a socket; it is left alone.
    #[error("{path} exists and is not a socket; refusing to replace it")]
    NotASocket {
        /// The path.
        path: String,
    },
    /// Two served methods have the same id.
    #[error("method id {id:#010x} is served twice: {first} and {second}")]
    DuplicateMethod {
        /// The id.
        id: u32,
        /// The first `Service.method`.
        first: String,
        /// The second `Service.method`.
        second: String,
    },
    /// The server was built with nothing to listen on.
    #[error("no endpoint to listen on")]
    NoEndpoints,
    /// Starting worker threads failed.
    #[error("cannot start worker threads: {0}")]
    Threads(#[source] std::io::Error),
}
