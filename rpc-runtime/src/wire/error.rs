//! The wire layer's error: why bytes are not a value, or a value cannot be packed.

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
