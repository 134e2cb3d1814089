//! `WireField` for arrays `[T; N]`: counted runs (`4i`), byte strings (`32s`) and repeated groups.

use super::layout::{Item, end_offset};
use super::prim::put;
use super::{ByteOrder, Order, WireField};
use crate::wire::WireResult;

impl<T: WireField, const N: usize> WireField for [T; N] {
    const LAYOUT: &'static [Item] = &[Item::array(T::LAYOUT, N, T::IS_BYTE)];
    const NESTED_ORDER: Option<ByteOrder> = T::NESTED_ORDER;

    #[inline]
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
        if N == 0 {
            // Python still aligns a zero-count primitive run under `@` (`'@b0i'` is 4 bytes).
            let end = end_offset(Self::LAYOUT, pos, O::ALIGNED);
            return put(buf, pos, [0u8; 8].get(..end - pos).unwrap_or_default());
        }
        T::pack_run::<O>(self, buf, pos)
    }

    #[inline]
    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
        if N == 0 {
            *pos = end_offset(Self::LAYOUT, *pos, O::ALIGNED);
        }
        T::unpack_run::<O, N>(buf, pos)
    }

    #[inline]
    fn zeroed() -> Self {
        core::array::from_fn(|_| T::zeroed())
    }
}
