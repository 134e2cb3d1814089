//! `WireField` for numbers and `bool`, plus the byte-level helpers all field types share.

use super::layout::{Item, align_up};
use super::{Order, WireField};
use crate::wire::{WireError, WireResult};
use core::mem::{align_of, size_of};

/// Writes `bytes` at `pos` and returns the offset after them.
///
/// Callers have checked that the record is long enough; an out-of-range write is skipped
/// rather than panicking, and the caller's size check makes it unreachable.
#[inline(always)]
pub(crate) fn put(buf: &mut [u8], pos: usize, bytes: &[u8]) -> usize {
    if let Some(dst) = buf.get_mut(pos..pos + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    pos + bytes.len()
}

/// Reads `N` bytes at `pos`.
#[inline(always)]
pub(crate) fn take<const N: usize>(buf: &[u8], pos: usize) -> WireResult<[u8; N]> {
    match buf.get(pos..pos + N) {
        Some(src) => {
            let mut out = [0u8; N];
            out.copy_from_slice(src);
            Ok(out)
        }
        None => Err(WireError::ShortInput {
            needed: N,
            got: buf.len().saturating_sub(pos),
            offset: pos,
        }),
    }
}

/// Under `@`, zero-fills up to the next multiple of `align` and returns that offset.
#[inline(always)]
pub(crate) fn align_pack<O: Order>(buf: &mut [u8], pos: usize, align: usize) -> usize {
    if !O::ALIGNED {
        return pos;
    }
    let at = align_up(pos, align);
    if let Some(gap) = buf.get_mut(pos..at) {
        gap.fill(0);
    }
    at
}

/// Under `@`, the next multiple of `align`; otherwise `pos`.
#[inline(always)]
pub(crate) fn align_unpack<O: Order>(pos: usize, align: usize) -> usize {
    if O::ALIGNED {
        align_up(pos, align)
    } else {
        pos
    }
}

/// Writes `count` zero bytes of `#[wire(pad)]` padding at `pos`.
#[doc(hidden)]
#[inline(always)]
pub fn pack_pad(buf: &mut [u8], pos: usize, count: usize) -> usize {
    if let Some(dst) = buf.get_mut(pos..pos + count) {
        dst.fill(0);
    }
    pos + count
}

/// Skips `count` bytes of `#[wire(pad)]` padding at `*pos`; their contents are ignored.
#[doc(hidden)]
#[inline(always)]
pub fn unpack_pad(buf: &[u8], pos: &mut usize, count: usize) -> WireResult<()> {
    if buf.len().saturating_sub(*pos) < count {
        return Err(WireError::ShortInput {
            needed: count,
            got: buf.len().saturating_sub(*pos),
            offset: *pos,
        });
    }
    *pos += count;
    Ok(())
}

macro_rules! numbers {
    ($($ty:ty => $code:literal),* $(,)?) => {$(
        impl WireField for $ty {
            const LAYOUT: &'static [Item] = &[Item::prim($code, size_of::<$ty>(), align_of::<$ty>())];

            #[inline(always)]
            fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
                let at = align_pack::<O>(buf, pos, align_of::<$ty>());
                let bytes = if O::LITTLE { self.to_le_bytes() } else { self.to_be_bytes() };
                put(buf, at, &bytes)
            }

            #[inline(always)]
            fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
                let at = align_unpack::<O>(*pos, align_of::<$ty>());
                let bytes = take::<{ size_of::<$ty>() }>(buf, at)?;
                *pos = at + size_of::<$ty>();
                Ok(if O::LITTLE { <$ty>::from_le_bytes(bytes) } else { <$ty>::from_be_bytes(bytes) })
            }

            #[inline(always)]
            fn zeroed() -> Self {
                <$ty>::default()
            }
        }
    )*};
}

numbers! {
    i8 => b'b',
    u16 => b'H',
    i16 => b'h',
    u32 => b'I',
    i32 => b'i',
    u64 => b'Q',
    i64 => b'q',
    f32 => b'f',
    f64 => b'd',
    half::f16 => b'e',
}

impl WireField for u8 {
    const LAYOUT: &'static [Item] = &[Item::prim(b'B', 1, 1)];
    const IS_BYTE: bool = true;

    #[inline(always)]
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
        put(buf, pos, &[*self])
    }

    #[inline(always)]
    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
        let [b] = take::<1>(buf, *pos)?;
        *pos += 1;
        Ok(b)
    }

    #[inline(always)]
    fn zeroed() -> Self {
        0
    }

    #[inline(always)]
    fn pack_run<O: Order>(items: &[Self], buf: &mut [u8], pos: usize) -> usize {
        put(buf, pos, items)
    }

    #[inline(always)]
    fn unpack_run<O: Order, const N: usize>(buf: &[u8], pos: &mut usize) -> WireResult<[Self; N]> {
        let bytes = take::<N>(buf, *pos)?;
        *pos += N;
        Ok(bytes)
    }
}

impl WireField for bool {
    const LAYOUT: &'static [Item] = &[Item::prim(b'?', 1, 1)];

    #[inline(always)]
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
        put(buf, pos, &[u8::from(*self)])
    }

    #[inline(always)]
    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
        let [b] = take::<1>(buf, *pos)?;
        let value = match b {
            0 => false,
            1 => true,
            value => {
                return Err(WireError::InvalidBool {
                    field: "",
                    offset: *pos,
                    value,
                });
            }
        };
        *pos += 1;
        Ok(value)
    }

    #[inline(always)]
    fn zeroed() -> Self {
        false
    }
}
