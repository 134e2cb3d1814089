//! The layout tree every Wire type describes itself with, and the `const fn`s that turn it into
//! a size and a Python `struct` format string at compile time.
//!
//! A layout is a slice of [`Item`]s. Sizes and format strings are *derived* from it, so the
//! format a Python peer sees and the bytes the packer writes cannot drift apart.

use super::ByteOrder;

/// One element of a type's layout.
///
/// Python's `struct` has no nesting: a nested struct or an array of structs is flattened into
/// its parent's format. [`Item::Field`], [`Item::Repeat`] and [`Item::Typed`] keep the tree for
/// diagnostics (field names in hex dumps) and for transcoders such as the JSON mapping, while
/// the format string is written flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Item {
    /// A run of `count` primitives written with one Python format code, such as `32s` or `4x`.
    ///
    /// Numbers and bools always have a count of one here: arrays of them are
    /// [`Item::Repeat`]s, which the format writes as a counted run (`4i`).
    Prim {
        /// The Python format character (`b B ? h H i I q Q e f d s p x`).
        code: u8,
        /// The repeat count written before the code (`1` is written as nothing).
        count: usize,
        /// Size in bytes of one element (`1` for `s`, `p` and `x`).
        size: usize,
        /// Alignment of the run under the native `@` byte order.
        align: usize,
    },
    /// A named field of a struct: the name and the layout of its type.
    Field {
        /// The field's name (`"0"`, `"1"`, … for tuple structs).
        name: &'static str,
        /// The field type's layout.
        layout: &'static [Item],
    },
    /// An array `[T; count]` (other than a byte string): the element layout written `count`
    /// times.
    ///
    /// When the element is a single number, bool or enum, the format writes it as one counted
    /// run (`[i32; 4]` is `4i`), aligned once under `@` as Python aligns it.
    Repeat {
        /// Number of elements.
        count: usize,
        /// The element's layout.
        layout: &'static [Item],
    },
    /// What the bytes of `layout` mean, where the format alone cannot say: text in an `Ns`
    /// field, or a C-like enum over its integer. Transparent for sizes, formats and dumps.
    Typed {
        /// The meaning.
        kind: Kind,
        /// The layout it applies to.
        layout: &'static [Item],
    },
}

/// The meaning [`Item::Typed`] gives to its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A [`FixedStr`](crate::FixedStr): UTF-8 text padded with NUL bytes to the `Ns` field's
    /// length.
    Text,
    /// A C-like enum over the single integer of the layout.
    Enum {
        /// The enum's name.
        name: &'static str,
        /// Its variants, in declaration order.
        variants: &'static [Variant],
    },
}

/// A variant of a C-like enum: its name and discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    /// The variant's name.
    pub name: &'static str,
    /// Its discriminant (wide enough for every integer repr).
    pub value: i128,
}

impl Item {
    /// A primitive item with a count of one.
    pub const fn prim(code: u8, size: usize, align: usize) -> Item {
        Item::Prim {
            code,
            count: 1,
            size,
            align,
        }
    }

    /// `count` padding bytes (`Nx`).
    pub const fn pad(count: usize) -> Item {
        Item::Prim {
            code: b'x',
            count,
            size: 1,
            align: 1,
        }
    }

    /// A named field.
    pub const fn field(name: &'static str, layout: &'static [Item]) -> Item {
        Item::Field { name, layout }
    }

    /// Marks `layout` with a meaning the format cannot carry.
    pub const fn typed(kind: Kind, layout: &'static [Item]) -> Item {
        Item::Typed { kind, layout }
    }

    /// The item for an array of `count` elements of `element`.
    ///
    /// Arrays of bytes become a byte string (`[u8; 32]` is `32s`); every other array is a
    /// [`Item::Repeat`], written as a counted run when the element is a single number, bool or
    /// enum (`[i32; 4]` is `4i`), and element by element otherwise (`[[u8; 1]; 3]` is `sss`, as
    /// Python needs three items for it).
    pub const fn array(element: &'static [Item], count: usize, bytes: bool) -> Item {
        if bytes {
            return Item::Prim {
                code: b's',
                count,
                size: 1,
                align: 1,
            };
        }
        Item::Repeat {
            count,
            layout: element,
        }
    }
}

/// The primitive an array element boils down to when the format writes the array as one
/// counted run: a single number, bool or enum (seen through [`Item::Typed`]).
///
/// For `s`, `p` and `x` the count is a length, so their arrays repeat instead. Returns the
/// primitive's `(code, size, align)`.
pub const fn counted_run(element: &[Item]) -> Option<(u8, usize, usize)> {
    match element {
        [
            Item::Prim {
                code,
                count: 1,
                size,
                align,
            },
        ] if !matches!(*code, b's' | b'p' | b'x') => Some((*code, *size, *align)),
        [Item::Typed { layout, .. }] => counted_run(layout),
        _ => None,
    }
}

/// Rounds `pos` up to a multiple of `align` (a power of two, or 1).
pub const fn align_up(pos: usize, align: usize) -> usize {
    if align <= 1 {
        pos
    } else {
        pos.div_ceil(align) * align
    }
}

/// The offset just past `layout` when it starts at `start`.
///
/// With `native` set, every primitive run is first aligned as C (and Python's `@`) would align
/// it; otherwise the layout is packed with no padding. As in Python, nothing is added at the end.
pub const fn end_offset(layout: &[Item], start: usize, native: bool) -> usize {
    let mut pos = start;
    let mut i = 0;
    while i < layout.len() {
        pos = match layout[i] {
            Item::Prim {
                count, size, align, ..
            } => {
                let at = if native { align_up(pos, align) } else { pos };
                at + count * size
            }
            Item::Field { layout, .. } | Item::Typed { layout, .. } => {
                end_offset(layout, pos, native)
            }
            Item::Repeat { count, layout } => match counted_run(layout) {
                // One run, aligned once: Python aligns `'@b0i'` to 4 bytes too.
                Some((_, size, align)) => {
                    let at = if native { align_up(pos, align) } else { pos };
                    at + count * size
                }
                None => {
                    let mut n = 0;
                    while n < count {
                        pos = end_offset(layout, pos, native);
                        n += 1;
                    }
                    pos
                }
            },
        };
        i += 1;
    }
    pos
}

/// The packed size of `layout` under `order`, starting at offset zero.
pub const fn size_of(layout: &[Item], order: ByteOrder) -> usize {
    end_offset(layout, 0, order.is_native_aligned())
}

const fn digits(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Length of a counted run's format: the count (none for 1) and the code.
const fn run_len(count: usize) -> usize {
    if count == 1 { 1 } else { digits(count) + 1 }
}

/// Length in bytes of the format string of `layout`, without the byte-order prefix.
pub const fn format_len(layout: &[Item]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < layout.len() {
        len += match layout[i] {
            Item::Prim { count, .. } => run_len(count),
            Item::Field { layout, .. } | Item::Typed { layout, .. } => format_len(layout),
            Item::Repeat { count, layout } => match counted_run(layout) {
                Some(_) => run_len(count),
                None => count * format_len(layout),
            },
        };
        i += 1;
    }
    len
}

/// Writes a counted run (`4i`, or `i` for a count of one) at `pos`; returns the end.
const fn write_run(code: u8, count: usize, out: &mut [u8], mut pos: usize) -> usize {
    if count != 1 {
        let d = digits(count);
        let mut n = count;
        let mut k = d;
        while k > 0 {
            out[pos + k - 1] = b'0' + (n % 10) as u8;
            n /= 10;
            k -= 1;
        }
        pos += d;
    }
    out[pos] = code;
    pos + 1
}

const fn write_format(layout: &[Item], out: &mut [u8], mut pos: usize) -> usize {
    let mut i = 0;
    while i < layout.len() {
        match layout[i] {
            Item::Prim { code, count, .. } => pos = write_run(code, count, out, pos),
            Item::Field { layout, .. } | Item::Typed { layout, .. } => {
                pos = write_format(layout, out, pos)
            }
            Item::Repeat { count, layout } => match counted_run(layout) {
                Some((code, _, _)) => pos = write_run(code, count, out, pos),
                None => {
                    let mut n = 0;
                    while n < count {
                        pos = write_format(layout, out, pos);
                        n += 1;
                    }
                }
            },
        }
        i += 1;
    }
    pos
}

/// The Python `struct` format of `layout` with `order`'s prefix, as `N` bytes.
///
/// `N` must be `format_len(layout) + 1`; the derive computes it that way.
pub const fn format_bytes<const N: usize>(order: ByteOrder, layout: &[Item]) -> [u8; N] {
    let mut out = [0u8; N];
    out[0] = order.prefix() as u8;
    let end = write_format(layout, &mut out, 1);
    assert!(end == N, "format length mismatch");
    out
}

/// Views format bytes produced by [`format_bytes`] as a string.
pub const fn format_str(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("format strings are ASCII"),
    }
}

/// Whether a field whose type declares `field` may sit inside a struct of byte order `parent`.
///
/// Types without an order of their own (primitives, enums, strings) fit anywhere. Nested
/// structs must produce the same bytes under the parent's order, as Python's single prefix
/// allows nothing else: `!` and `>` are interchangeable, every other pair is a mismatch.
pub const fn order_compatible(field: Option<ByteOrder>, parent: ByteOrder) -> bool {
    match field {
        None => true,
        Some(f) => f.canonical() as u8 == parent.canonical() as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Item = Item::prim(b'i', 4, 4);
    const B: Item = Item::prim(b'b', 1, 1);
    const Q: Item = Item::prim(b'q', 8, 8);

    #[test]
    fn native_alignment_matches_python() {
        // struct.calcsize('@bi') == 8, '@ib' == 5, '@bq' == 16, '=bi' == 5
        assert_eq!(size_of(&[B, I], ByteOrder::Native), 8);
        assert_eq!(size_of(&[I, B], ByteOrder::Native), 5);
        assert_eq!(size_of(&[B, Q], ByteOrder::Native), 16);
        assert_eq!(size_of(&[B, I], ByteOrder::NativeStandard), 5);
    }

    #[test]
    fn nested_layouts_flatten_by_position() {
        // '@b' + inner 'bi' flattens to '@bbi' == 8, not 1 + calcsize('@bi')
        const INNER: &[Item] = &[B, I];
        let outer = [B, Item::field("inner", INNER)];
        assert_eq!(size_of(&outer, ByteOrder::Native), 8);
    }

    #[test]
    fn format_writes_counts_and_repeats() {
        const PAIR: &[Item] = &[I, B];
        let layout = [
            Item::array(&[I], 4, false),
            Item::array(&[B], 32, true),
            Item::array(PAIR, 2, false),
        ];
        assert_eq!(format_len(&layout), "4i32sibib".len());
        const ONE_BYTE: &[Item] = &[Item::array(&[B], 1, true)];
        let one_byte_strings = [Item::array(ONE_BYTE, 3, false)];
        let bytes: [u8; 4] = format_bytes(ByteOrder::Network, &one_byte_strings);
        assert_eq!(format_str(&bytes), "!sss");
        let bytes: [u8; 10] = format_bytes(ByteOrder::Little, &layout);
        assert_eq!(format_str(&bytes), "<4i32sibib");
    }

    #[test]
    fn typed_items_and_arrays_keep_their_formats() {
        const ENUM: &[Item] = &[Item::typed(
            Kind::Enum {
                name: "E",
                variants: &[Variant {
                    name: "A",
                    value: 1,
                }],
            },
            &[B],
        )];
        const TEXT: &[Item] = &[Item::typed(Kind::Text, &[Item::array(&[], 3, true)])];
        const ONE: &[Item] = &[I];
        // An array of enums is still one counted run, and an array of one is still `i`.
        let layout = [
            B,
            Item::array(ENUM, 4, false),
            Item::array(TEXT, 2, false),
            Item::array(ONE, 1, false),
            Item::array(ONE, 0, false),
        ];
        let bytes: [u8; 11] = format_bytes(ByteOrder::Native, &layout);
        assert_eq!(format_str(&bytes), "@b4b3s3si0i");
        // struct.calcsize('@b4b3s3si0i') == 16
        assert_eq!(size_of(&layout, ByteOrder::Native), 16);
        assert_eq!(counted_run(ENUM), Some((b'b', 1, 1)));
        assert_eq!(counted_run(TEXT), None);
    }

    #[test]
    fn digit_counts() {
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(1000), 4);
    }
}
