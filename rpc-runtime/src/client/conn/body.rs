//! A reply body as the reader hands it to its caller: kept inline when small, as nearly every
//! reply is, so completing a call allocates nothing.

use std::ops::Deref;

/// The largest body kept inline.
const INLINE: usize = 48;

/// The body of a reply, owned by the call it answers.
#[derive(Clone)]
pub(crate) enum Body {
    /// Up to `INLINE` bytes: `bytes[..len]`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A larger body.
    Heap(Vec<u8>),
}

impl Body {
    /// Copies `bytes`, inline when they fit.
    pub(crate) fn copy_of(bytes: &[u8]) -> Body {
        if bytes.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            // Fits: INLINE is below 256.
            Body::Inline {
                len: bytes.len() as u8,
                bytes: inline,
            }
        } else {
            Body::Heap(bytes.to_vec())
        }
    }

    /// The bytes as a vector.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        match self {
            Body::Inline { .. } => self.to_vec(),
            Body::Heap(v) => v,
        }
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Body::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Body::Heap(v) => v,
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").field("len", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_are_inline_and_large_ones_are_not() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 4096] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let body = Body::copy_of(&bytes);
            assert_eq!(&body[..], &bytes[..], "len {len}");
            assert_eq!(matches!(body, Body::Inline { .. }), len <= INLINE);
            assert_eq!(body.into_vec(), bytes);
        }
    }
}
