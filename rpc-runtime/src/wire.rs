//! Fixed binary layouts in the manner of Python's `struct` module.
//!
//! [`Wire`] is the trait `#[derive(Wire)]` implements for a struct or C-like enum: the value
//! packs to exactly [`Wire::SIZE`] bytes, and [`Wire::FORMAT`] is the Python `struct` format
//! that reads and writes the same bytes. [`WireField`] is the building block every field type
//! implements: primitives, byte arrays, [`FixedStr`], [`PascalStr`], arrays and other derived
//! types.
//!
//! The attribute reference and the type table live in [`docs::wire`](crate::docs::wire)
//! (`docs/WIRE.md`).

mod array;
mod dump;
mod error;
pub mod layout;
mod list;
mod order;
pub(crate) mod prim;
mod text;

use core::fmt::Debug;

pub use dump::hexdump;
pub use error::{WireError, WireResult};
pub use layout::{Item, Kind, Variant};
pub use list::{
    ListIter, list_count_format, pack_list, pack_list_into, unpack_list, unpack_list_from,
};
pub use order::{BigEndian, ByteOrder, HostAligned, HostEndian, LittleEndian, Order};
pub use text::{FixedStr, PascalStr};

/// A type that can be a field of a Wire struct.
///
/// Implemented for `u8 i8 u16 i16 u32 i32 u64 i64 bool f32 f64`, [`half::f16`], arrays
/// `[T; N]` of any field type (`[u8; N]` is a byte string, `Ns`), [`FixedStr`], [`PascalStr`]
/// and every `#[derive(Wire)]` type. The methods take the byte order as a type parameter and
/// positions relative to the start of the outermost record, which is what `@` alignment is
/// measured from; call them through [`Wire`] rather than directly.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a Wire struct",
    label = "not a Wire field type",
    note = "Wire fields are u8..u64, i8..i64, bool, f32, f64, half::f16, [u8; N], FixedStr<N>, \
            PascalStr<N>, arrays [T; N] of those, and other #[derive(Wire)] types"
)]
pub trait WireField: Sized {
    /// The layout this type occupies inside a record.
    const LAYOUT: &'static [Item];

    /// The byte order the type insists on when nested, if any (derived structs do).
    const NESTED_ORDER: Option<ByteOrder> = None;

    /// Whether the type is `u8`, so that `[u8; N]` becomes a byte string (`Ns`).
    #[doc(hidden)]
    const IS_BYTE: bool = false;

    /// Writes the value at `pos` (aligning first under `@`) and returns the offset after it.
    ///
    /// `buf` must hold the whole record; [`Wire`] checks its length before calling.
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize;

    /// Reads a value at `*pos` (aligning first under `@`) and advances `*pos` past it.
    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self>;

    /// The all-zero value: what a freshly zeroed buffer would unpack to, where it can.
    fn zeroed() -> Self;

    /// Packs a run of values; `u8` overrides this with a plain copy.
    #[doc(hidden)]
    #[inline]
    fn pack_run<O: Order>(items: &[Self], buf: &mut [u8], mut pos: usize) -> usize {
        for item in items {
            pos = item.pack_field::<O>(buf, pos);
        }
        pos
    }

    /// Unpacks a run of `N` values; `u8` overrides this with a plain copy.
    #[doc(hidden)]
    #[inline]
    fn unpack_run<O: Order, const N: usize>(buf: &[u8], pos: &mut usize) -> WireResult<[Self; N]> {
        let mut failure = None;
        let items = core::array::from_fn(|_| {
            if failure.is_none() {
                match Self::unpack_field::<O>(buf, pos) {
                    Ok(v) => return v,
                    Err(e) => failure = Some(e),
                }
            }
            Self::zeroed()
        });
        match failure {
            None => Ok(items),
            Some(e) => Err(e),
        }
    }
}

/// A fixed-size record with a Python `struct` format: what `#[derive(Wire)]` implements.
///
/// # Examples
///
/// ```
/// use rpc_runtime::Wire;
///
/// #[derive(Wire, Debug, PartialEq)]
/// struct Request {
///     id: u32,
///     amount: i64,
///     name: [u8; 32],
/// }
///
/// assert_eq!(Request::FORMAT, "!Iq32s");
/// assert_eq!(Request::SIZE, 44);
///
/// let req = Request { id: 7, amount: 22, name: *b"alice-account-0000000000000000!!" };
/// let bytes = req.pack();
/// // Python reads the same bytes with:  struct.unpack('!Iq32s', data)
/// assert_eq!(&bytes[..4], &[0, 0, 0, 7]);
/// assert_eq!(Request::unpack(&bytes)?, req);
/// # Ok::<(), rpc_runtime::WireError>(())
/// ```
pub trait Wire: WireField {
    /// Packed size in bytes; `struct.calcsize(FORMAT) == SIZE`.
    const SIZE: usize;

    /// The Python `struct` format string, starting with the byte-order prefix.
    const FORMAT: &'static str;

    /// The byte order the type packs with.
    const ORDER: ByteOrder;

    /// The packed bytes: `[u8; SIZE]` for derived types.
    type Bytes: AsRef<[u8]> + AsMut<[u8]> + Copy + Debug + Send + Sync + 'static;

    /// Packs the value into a fresh byte array. Never allocates.
    fn pack(&self) -> Self::Bytes;

    /// Packs the value into the first `SIZE` bytes of `buf` and returns `SIZE`.
    ///
    /// # Errors
    ///
    /// [`WireError::BufferTooSmall`] when `buf` is shorter than `SIZE`; `buf` is untouched then.
    #[inline]
    fn pack_into(&self, buf: &mut [u8]) -> WireResult<usize> {
        let Some(record) = buf.get_mut(..Self::SIZE) else {
            return Err(WireError::BufferTooSmall {
                needed: Self::SIZE,
                got: buf.len(),
            });
        };
        pack_record(self, Self::ORDER, record);
        Ok(Self::SIZE)
    }

    /// Packs the value into a new `Vec`.
    fn to_vec(&self) -> Vec<u8> {
        self.pack().as_ref().to_vec()
    }

    /// Unpacks a value from exactly `SIZE` bytes.
    ///
    /// # Errors
    ///
    /// [`WireError::ShortInput`] or [`WireError::TrailingBytes`] when `buf` is not `SIZE` bytes
    /// long, and the field errors of [`WireError`] for contents no value packs to.
    #[inline]
    fn unpack(buf: &[u8]) -> WireResult<Self> {
        if buf.len() != Self::SIZE {
            return Err(if buf.len() < Self::SIZE {
                WireError::ShortInput {
                    needed: Self::SIZE,
                    got: buf.len(),
                    offset: 0,
                }
            } else {
                WireError::TrailingBytes {
                    expected: Self::SIZE,
                    extra: buf.len() - Self::SIZE,
                }
            });
        }
        unpack_record(Self::ORDER, buf)
    }

    /// Unpacks a value starting at `offset` and returns it with the bytes that follow it.
    ///
    /// Error offsets count from the start of `buf`.
    ///
    /// # Errors
    ///
    /// As [`Wire::unpack`], except that bytes after the value are returned, not rejected.
    #[inline]
    fn unpack_from(buf: &[u8], offset: usize) -> WireResult<(Self, &[u8])> {
        let Some(rest) = buf.get(offset..) else {
            return Err(WireError::ShortInput {
                needed: Self::SIZE,
                got: 0,
                offset,
            });
        };
        match (rest.get(..Self::SIZE), rest.get(Self::SIZE..)) {
            (Some(record), Some(tail)) => {
                let value = unpack_record(Self::ORDER, record).map_err(|e| e.shifted(offset))?;
                Ok((value, tail))
            }
            _ => Err(WireError::ShortInput {
                needed: Self::SIZE,
                got: rest.len(),
                offset,
            }),
        }
    }
}

/// Packs `value` at the start of `record` under `order`, choosing the specialised code path.
#[inline(always)]
fn pack_record<T: WireField>(value: &T, order: ByteOrder, record: &mut [u8]) -> usize {
    match order {
        ByteOrder::Network | ByteOrder::Big => value.pack_field::<BigEndian>(record, 0),
        ByteOrder::Little => value.pack_field::<LittleEndian>(record, 0),
        ByteOrder::NativeStandard => value.pack_field::<HostEndian>(record, 0),
        ByteOrder::Native => value.pack_field::<HostAligned>(record, 0),
    }
}

/// Unpacks one record that starts at the start of `record` under `order`.
#[inline(always)]
fn unpack_record<T: WireField>(order: ByteOrder, record: &[u8]) -> WireResult<T> {
    let mut pos = 0;
    match order {
        ByteOrder::Network | ByteOrder::Big => T::unpack_field::<BigEndian>(record, &mut pos),
        ByteOrder::Little => T::unpack_field::<LittleEndian>(record, &mut pos),
        ByteOrder::NativeStandard => T::unpack_field::<HostEndian>(record, &mut pos),
        ByteOrder::Native => T::unpack_field::<HostAligned>(record, &mut pos),
    }
}

/// Packs a derived type into its byte array; the body of every generated `Wire::pack`.
#[doc(hidden)]
#[inline(always)]
pub fn pack_array<T: Wire, const N: usize>(value: &T) -> [u8; N] {
    let mut bytes = [0u8; N];
    pack_record(value, T::ORDER, &mut bytes);
    bytes
}
