//! Lists of fixed records: a `u32` count in the record's byte order, then the packed records.
//!
//! Python reads a list with the standard library alone:
//!
//! ```python
//! (n,) = struct.unpack_from('!I', data)
//! records = list(struct.iter_unpack(FORMAT, data[4:4 + n * struct.calcsize(FORMAT)]))
//! ```
//!
//! Each record is packed as if it started at offset zero, which is how `iter_unpack` reads
//! `@`-aligned records too.

use super::{ByteOrder, Wire};
use crate::wire::{WireError, WireResult};
use core::marker::PhantomData;

/// Bytes of the count that precedes the records.
const COUNT_SIZE: usize = 4;

/// The Python format of a list's count for records of type `T`, such as `"!I"`.
///
/// ```
/// # use rpc_runtime::Wire;
/// #[derive(Wire)]
/// #[wire(order = "<")]
/// struct Point { x: i32, y: i32 }
/// assert_eq!(rpc_runtime::wire::list_count_format::<Point>(), "<I");
/// ```
pub fn list_count_format<T: Wire>() -> &'static str {
    match T::ORDER {
        ByteOrder::Network => "!I",
        ByteOrder::Big => ">I",
        ByteOrder::Little => "<I",
        ByteOrder::NativeStandard => "=I",
        ByteOrder::Native => "@I",
    }
}

/// Lists of zero-size records are refused at compile time: Python's `iter_unpack` cannot read
/// them, and a count with no bytes behind it would let a peer make the decoder loop billions
/// of times for free.
const fn assert_records_have_size<T: Wire>() {
    assert!(T::SIZE > 0, "a list needs records of at least one byte");
}

fn count_bytes(order: ByteOrder, count: u32) -> [u8; COUNT_SIZE] {
    if order.is_little_endian() {
        count.to_le_bytes()
    } else {
        count.to_be_bytes()
    }
}

/// Appends the list encoding of `items` to `out`.
///
/// # Errors
///
/// [`WireError::CountTooLarge`] when there are more than `u32::MAX` items; `out` is untouched.
pub fn pack_list_into<T: Wire>(items: &[T], out: &mut Vec<u8>) -> WireResult<()> {
    const { assert_records_have_size::<T>() };
    let count = u32::try_from(items.len()).map_err(|_| WireError::CountTooLarge {
        count: items.len() as u64,
        available: u32::MAX as usize,
        offset: 0,
    })?;
    let start = out.len();
    out.resize(start + COUNT_SIZE + items.len() * T::SIZE, 0);
    let (head, body) = out[start..].split_at_mut(COUNT_SIZE);
    head.copy_from_slice(&count_bytes(T::ORDER, count));
    if T::SIZE > 0 {
        for (item, chunk) in items.iter().zip(body.chunks_exact_mut(T::SIZE)) {
            item.pack_into(chunk)?;
        }
    }
    Ok(())
}

/// Packs `items` as a list.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{Wire, wire};
///
/// #[derive(Wire, Debug, PartialEq)]
/// struct Entry { id: u32, delta: i64 }
///
/// let bytes = wire::pack_list(&[Entry { id: 1, delta: -5 }, Entry { id: 2, delta: 7 }])?;
/// assert_eq!(bytes.len(), 4 + 2 * Entry::SIZE);
/// // Python: n, = struct.unpack_from('!I', b); list(struct.iter_unpack('!Iq', b[4:]))
/// let back: Vec<Entry> = wire::unpack_list(&bytes)?;
/// assert_eq!(back[1], Entry { id: 2, delta: 7 });
/// # Ok::<(), rpc_runtime::WireError>(())
/// ```
///
/// # Errors
///
/// [`WireError::CountTooLarge`] when there are more than `u32::MAX` items.
pub fn pack_list<T: Wire>(items: &[T]) -> WireResult<Vec<u8>> {
    let mut out = Vec::new();
    pack_list_into(items, &mut out)?;
    Ok(out)
}

/// Unpacks a list that fills `buf` exactly.
///
/// # Errors
///
/// [`WireError::CountTooLarge`] when the count claims more records than the bytes hold (checked
/// before anything is allocated), [`WireError::TrailingBytes`] when bytes are left after the
/// records, and any error of the records themselves, with offsets into `buf`.
pub fn unpack_list<T: Wire>(buf: &[u8]) -> WireResult<Vec<T>> {
    let (items, rest) = unpack_list_from(buf, 0)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes {
            expected: buf.len() - rest.len(),
            extra: rest.len(),
        });
    }
    Ok(items)
}

/// Unpacks a list starting at `offset` and returns it with the bytes that follow it.
///
/// # Errors
///
/// As [`unpack_list`], except that bytes after the list are returned, not rejected.
pub fn unpack_list_from<T: Wire>(buf: &[u8], offset: usize) -> WireResult<(Vec<T>, &[u8])> {
    let iter = ListIter::<T>::new(buf, offset)?;
    let rest = iter.rest();
    let items = iter.collect::<WireResult<Vec<T>>>()?;
    Ok((items, rest))
}

/// Iterates over the records of a packed list without allocating.
///
/// ```
/// use rpc_runtime::{Wire, wire::{self, ListIter}};
///
/// #[derive(Wire, Debug, PartialEq)]
/// struct Entry { id: u32 }
///
/// let bytes = wire::pack_list(&[Entry { id: 1 }, Entry { id: 2 }])?;
/// let ids: Vec<u32> = ListIter::<Entry>::new(&bytes, 0)?.map(|e| e.map(|e| e.id)).collect::<Result<_, _>>()?;
/// assert_eq!(ids, [1, 2]);
/// # Ok::<(), rpc_runtime::WireError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ListIter<'a, T> {
    records: &'a [u8],
    rest: &'a [u8],
    offset: usize,
    remaining: usize,
    _type: PhantomData<fn() -> T>,
}

impl<'a, T: Wire> ListIter<'a, T> {
    /// Reads the count at `offset` and checks that the records it claims are all present.
    ///
    /// # Errors
    ///
    /// [`WireError::ShortInput`] when the count itself is cut off, and
    /// [`WireError::CountTooLarge`] when the records do not fit in the bytes that follow it.
    pub fn new(buf: &'a [u8], offset: usize) -> WireResult<Self> {
        const { assert_records_have_size::<T>() };
        let tail = buf.get(offset..).unwrap_or_default();
        let Some((head, body)) = tail.split_first_chunk::<COUNT_SIZE>() else {
            return Err(WireError::ShortInput {
                needed: COUNT_SIZE,
                got: tail.len(),
                offset,
            });
        };
        let count = if T::ORDER.is_little_endian() {
            u32::from_le_bytes(*head)
        } else {
            u32::from_be_bytes(*head)
        };
        let available = body.len() / T::SIZE.max(1);
        let count_usize = count as usize;
        if count_usize > available {
            return Err(WireError::CountTooLarge {
                count: u64::from(count),
                available,
                offset,
            });
        }
        let (records, rest) = body.split_at(count_usize * T::SIZE);
        Ok(ListIter {
            records,
            rest,
            offset: offset + COUNT_SIZE,
            remaining: count_usize,
            _type: PhantomData,
        })
    }

    /// The bytes after the last record.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

impl<T: Wire> Iterator for ListIter<'_, T> {
    type Item = WireResult<T>;

    fn next(&mut self) -> Option<WireResult<T>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let (record, rest) = self.records.split_at_checked(T::SIZE)?;
        self.records = rest;
        let at = self.offset;
        self.offset += T::SIZE;
        Some(T::unpack(record).map_err(|e| e.shifted(at)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T: Wire> ExactSizeIterator for ListIter<'_, T> {}
