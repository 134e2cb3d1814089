//! Fixed-size text fields: NUL-padded [`FixedStr`] (`Ns`) and length-prefixed [`PascalStr`] (`Np`).

use super::layout::{Item, Kind};
use super::prim::{put, take};
use super::{Order, WireField};
use crate::wire::{WireError, WireResult};
use core::fmt;
use core::ops::Deref;
use core::str::FromStr;

/// A UTF-8 string stored in exactly `N` bytes, padded with NUL bytes (Python `Ns`).
///
/// Python sees a `bytes` value of length `N`; `value.rstrip(b'\0').decode()` gives the string.
/// Building one from a longer string is an error, never a silent truncation, and a string with
/// a NUL byte is refused because the padding could not tell it apart from the end.
///
/// # Examples
///
/// ```
/// use rpc_runtime::FixedStr;
///
/// let name = FixedStr::<8>::new("alice")?;
/// assert_eq!(name, "alice");
/// assert_eq!(name.as_bytes_padded(), b"alice\0\0\0");
/// assert!(FixedStr::<4>::new("alice").is_err());
/// # Ok::<(), rpc_runtime::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FixedStr<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedStr<N> {
    /// The empty string: `N` NUL bytes.
    pub const EMPTY: Self = FixedStr {
        bytes: [0; N],
        len: 0,
    };

    /// Copies `s` into a fixed field.
    ///
    /// # Errors
    ///
    /// [`WireError::StrTooLong`] when `s` has more than `N` bytes, and
    /// [`WireError::StrContainsNul`] when it contains a NUL byte.
    pub fn new(s: &str) -> WireResult<Self> {
        if s.len() > N {
            return Err(WireError::StrTooLong {
                len: s.len(),
                capacity: N,
            });
        }
        if let Some(index) = s.bytes().position(|b| b == 0) {
            return Err(WireError::StrContainsNul { index });
        }
        let mut bytes = [0; N];
        put(&mut bytes, 0, s.as_bytes());
        Ok(FixedStr {
            bytes,
            len: s.len(),
        })
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // Every constructor validated these bytes as UTF-8.
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }

    /// All `N` bytes as they go on the wire, padding included.
    pub fn as_bytes_padded(&self) -> &[u8; N] {
        &self.bytes
    }

    /// The most bytes the field holds.
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for FixedStr<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> Deref for FixedStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for FixedStr<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Debug for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for FixedStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl<const N: usize> TryFrom<&str> for FixedStr<N> {
    type Error = WireError;
    fn try_from(s: &str) -> WireResult<Self> {
        Self::new(s)
    }
}

impl<const N: usize> FromStr for FixedStr<N> {
    type Err = WireError;
    fn from_str(s: &str) -> WireResult<Self> {
        Self::new(s)
    }
}

impl<const N: usize> PartialEq<str> for FixedStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for FixedStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> WireField for FixedStr<N> {
    const LAYOUT: &'static [Item] = &[Item::typed(Kind::Text, &[Item::array(&[], N, true)])];

    #[inline]
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
        put(buf, pos, &self.bytes)
    }

    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
        let at = *pos;
        let bytes = take::<N>(buf, at)?;
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(N);
        let (text, padding) = bytes.split_at(len);
        if let Some(i) = padding.iter().position(|&b| b != 0) {
            return Err(WireError::NonZeroPadding {
                field: "",
                offset: at + len + i,
            });
        }
        if core::str::from_utf8(text).is_err() {
            return Err(WireError::InvalidUtf8 {
                field: "",
                offset: at,
            });
        }
        *pos = at + N;
        Ok(FixedStr { bytes, len })
    }

    fn zeroed() -> Self {
        Self::EMPTY
    }
}

/// A UTF-8 string stored in `N` bytes as a length byte followed by the text (Python `Np`).
///
/// It holds at most `min(N - 1, 255)` bytes; the rest of the field is NUL padding. Python's
/// `struct.unpack('Np', data)` returns the text as `bytes`. Building one from a longer string is
/// an error (Python would truncate silently). `N` must be at least 1.
///
/// # Examples
///
/// ```
/// use rpc_runtime::PascalStr;
///
/// let s = PascalStr::<6>::new("hi")?;
/// assert_eq!(s.as_str(), "hi");
/// assert_eq!(PascalStr::<6>::CAPACITY, 5);
/// # Ok::<(), rpc_runtime::WireError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PascalStr<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> PascalStr<N> {
    /// The most text bytes the field holds: `min(N - 1, 255)`.
    pub const CAPACITY: usize = {
        assert!(N >= 1, "PascalStr<N> needs N >= 1 for its length byte");
        if N - 1 < 255 { N - 1 } else { 255 }
    };

    /// Copies `s` into a Pascal string field.
    ///
    /// # Errors
    ///
    /// [`WireError::StrTooLong`] when `s` has more than [`Self::CAPACITY`] bytes.
    pub fn new(s: &str) -> WireResult<Self> {
        if s.len() > Self::CAPACITY {
            return Err(WireError::StrTooLong {
                len: s.len(),
                capacity: Self::CAPACITY,
            });
        }
        let mut bytes = [0; N];
        // CAPACITY <= 255, so the length fits in the first byte.
        put(&mut bytes, 0, &[s.len() as u8]);
        put(&mut bytes, 1, s.as_bytes());
        Ok(PascalStr { bytes })
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.bytes.first().copied().unwrap_or(0));
        core::str::from_utf8(self.bytes.get(1..1 + len).unwrap_or_default()).unwrap_or_default()
    }
}

impl<const N: usize> Default for PascalStr<N> {
    fn default() -> Self {
        PascalStr { bytes: [0; N] }
    }
}

impl<const N: usize> Deref for PascalStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> fmt::Debug for PascalStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for PascalStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl<const N: usize> TryFrom<&str> for PascalStr<N> {
    type Error = WireError;
    fn try_from(s: &str) -> WireResult<Self> {
        Self::new(s)
    }
}

impl<const N: usize> PartialEq<&str> for PascalStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> WireField for PascalStr<N> {
    const LAYOUT: &'static [Item] = {
        assert!(N >= 1, "PascalStr<N> needs N >= 1 for its length byte");
        &[Item::Prim {
            code: b'p',
            count: N,
            size: 1,
            align: 1,
        }]
    };

    #[inline]
    fn pack_field<O: Order>(&self, buf: &mut [u8], pos: usize) -> usize {
        put(buf, pos, &self.bytes)
    }

    fn unpack_field<O: Order>(buf: &[u8], pos: &mut usize) -> WireResult<Self> {
        let at = *pos;
        let bytes = take::<N>(buf, at)?;
        let len = usize::from(bytes.first().copied().unwrap_or(0));
        if len > Self::CAPACITY {
            return Err(WireError::PascalLength {
                field: "",
                offset: at,
                len,
                capacity: Self::CAPACITY,
            });
        }
        let text = bytes.get(1..1 + len).unwrap_or_default();
        if core::str::from_utf8(text).is_err() {
            return Err(WireError::InvalidUtf8 {
                field: "",
                offset: at + 1,
            });
        }
        let padding = bytes.get(1 + len..).unwrap_or_default();
        if let Some(i) = padding.iter().position(|&b| b != 0) {
            return Err(WireError::NonZeroPadding {
                field: "",
                offset: at + 1 + len + i,
            });
        }
        *pos = at + N;
        Ok(PascalStr { bytes })
    }

    fn zeroed() -> Self {
        Self::default()
    }
}
