//! Owned descriptions of message types: the layout tree with names, in a form a program can
//! also read back from a server's `describe` output.
//!
//! [`TypeDesc`] is built from a static layout ([`TypeDesc::from_layout`]) or, with the `json`
//! feature, parsed from `describe` JSON. The JSON transcoder ([`crate::json`]) works on this
//! description only, so a program that knows a service only from `describe` transcodes exactly
//! as the server does.

use crate::message::Shape;
use crate::wire::ByteOrder;
use crate::wire::layout::{Item, Kind};
use thiserror::Error;

/// The largest message a description may declare: larger ones are refused as malformed.
pub const MAX_DESCRIBED_SIZE: usize = 64 << 20;

/// Why a layout or a parsed description cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DescError {
    /// A primitive format code that no Wire type produces.
    #[error("unknown format code {code:?}")]
    UnknownCode {
        /// The code.
        code: char,
    },
    /// A number of bytes no integer or float type has.
    #[error("no {kind} type is {size} bytes wide")]
    BadWidth {
        /// `"integer"` or `"float"`.
        kind: &'static str,
        /// The width given.
        size: usize,
    },
    /// A record mixes named fields with unnamed items, which no derived type does.
    #[error("a record mixes named fields with unnamed items")]
    MixedRecord,
    /// The message would be larger than [`MAX_DESCRIBED_SIZE`].
    #[error("the message would be larger than {MAX_DESCRIBED_SIZE} bytes")]
    TooLarge,
    /// The declared size does not match the size the description adds up to.
    #[error("the description adds up to {computed} bytes, but declares {declared}")]
    SizeMismatch {
        /// The `size` given.
        declared: usize,
        /// What the type tree adds up to.
        computed: usize,
    },
    /// A list of records of zero bytes, which the wire format refuses.
    #[error("a list needs records of at least one byte")]
    EmptyListRecord,
    /// A Pascal string of zero bytes (it needs its length byte).
    #[error("a pascal string needs at least one byte")]
    EmptyPascal,
    /// An enum with no variants, or a variant that does not fit its integer.
    #[error("enum `{name}` is malformed: {problem}")]
    BadEnum {
        /// The enum's name.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The type of a value in a Wire message.
///
/// Serialised (feature `json`) as an object whose `"kind"` names the variant in snake_case, with
/// the variant's fields beside it: `{"kind":"int","size":4,"signed":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "json",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum TypeDesc {
    /// A struct: its fields in order (padding fields included, as [`TypeDesc::Padding`]).
    Record {
        /// The fields.
        fields: Vec<FieldDesc>,
    },
    /// An integer of `size` bytes (1, 2, 4 or 8).
    Int {
        /// Width in bytes.
        size: usize,
        /// Whether it is signed.
        signed: bool,
    },
    /// An IEEE 754 float of `size` bytes (2, 4 or 8).
    Float {
        /// Width in bytes.
        size: usize,
    },
    /// A bool: one byte, 0 or 1.
    Bool,
    /// A [`FixedStr`](crate::FixedStr): UTF-8 NUL-padded to `size` bytes (`Ns`).
    Text {
        /// The field's length in bytes.
        size: usize,
    },
    /// A [`PascalStr`](crate::PascalStr): a length byte, then UTF-8, in `size` bytes (`Np`).
    PascalText {
        /// The field's length in bytes, length byte included.
        size: usize,
    },
    /// A byte string `[u8; size]` (`Ns`).
    Bytes {
        /// Its length.
        size: usize,
    },
    /// A C-like enum over an integer.
    Enum {
        /// The enum's name.
        name: String,
        /// Width of the integer in bytes.
        size: usize,
        /// Whether the integer is signed.
        signed: bool,
        /// The variants.
        variants: Vec<VariantDesc>,
    },
    /// An array `[element; count]` (not of `u8`).
    Array {
        /// Number of elements.
        count: usize,
        /// The element type.
        element: Box<TypeDesc>,
    },
    /// `size` padding bytes (`#[wire(pad)]`, `Nx`): zeros on the wire, absent from JSON.
    Padding {
        /// Number of bytes.
        size: usize,
    },
}

/// A named field of a [`TypeDesc::Record`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "json",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct FieldDesc {
    /// The field's name (`"0"`, `"1"`, … in tuple structs).
    pub name: String,
    /// Its type.
    #[cfg_attr(feature = "json", serde(rename = "type"))]
    pub ty: TypeDesc,
}

/// A variant of a [`TypeDesc::Enum`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "json",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct VariantDesc {
    /// The variant's name.
    pub name: String,
    /// Its discriminant.
    #[cfg_attr(feature = "json", serde(with = "wide_int"))]
    pub value: i128,
}

/// What a method takes or returns, with what is needed to transcode it.
///
/// Serialised (feature `json`) as `{"kind":"unit"}`, or `{"kind":"record", "format", "size",
/// "order", "type"}` (`"list"` alike), where `order` is the Python prefix and `size` the size of
/// one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "json",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "kind", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum MessageDesc {
    /// No body.
    Unit,
    /// One record.
    Record(RecordDesc),
    /// A `u32` count in the record's byte order, then that many records.
    List(RecordDesc),
}

/// One record type: its Python format, size, byte order and type tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "json",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct RecordDesc {
    /// The Python `struct` format, prefix included.
    pub format: String,
    /// The packed size in bytes.
    pub size: usize,
    /// The byte order.
    #[cfg_attr(feature = "json", serde(with = "prefix"))]
    pub order: ByteOrder,
    /// The type tree.
    #[cfg_attr(feature = "json", serde(rename = "type"))]
    pub ty: TypeDesc,
}

impl TypeDesc {
    /// Describes a static layout (what [`WireField::LAYOUT`](crate::WireField::LAYOUT) holds).
    ///
    /// A layout of named fields (or none) is a record; a layout of one unnamed item is that
    /// item's type (an enum, or a single value).
    ///
    /// # Errors
    ///
    /// [`DescError`] for layouts no derived type produces.
    ///
    /// # Examples
    ///
    /// ```
    /// use rpc_runtime::schema::TypeDesc;
    /// use rpc_runtime::{FixedStr, Wire, WireField};
    ///
    /// #[derive(Wire)]
    /// struct Greeting { id: u16, text: FixedStr<8> }
    ///
    /// let TypeDesc::Record { fields } = TypeDesc::from_layout(Greeting::LAYOUT)? else {
    ///     unreachable!()
    /// };
    /// assert_eq!(fields[0].name, "id");
    /// assert!(matches!(fields[0].ty, TypeDesc::Int { size: 2, signed: false }));
    /// assert!(matches!(fields[1].ty, TypeDesc::Text { size: 8 }));
    /// # Ok::<(), rpc_runtime::schema::DescError>(())
    /// ```
    pub fn from_layout(layout: &[Item]) -> Result<TypeDesc, DescError> {
        let named = layout
            .iter()
            .filter(|i| matches!(i, Item::Field { .. }))
            .count();
        if named == layout.len() {
            let fields = layout
                .iter()
                .filter_map(|item| match item {
                    Item::Field { name, layout } => Some((*name, *layout)),
                    _ => None,
                })
                .map(|(name, layout)| {
                    Ok(FieldDesc {
                        name: name.to_owned(),
                        ty: TypeDesc::from_layout(layout)?,
                    })
                })
                .collect::<Result<_, DescError>>()?;
            return Ok(TypeDesc::Record { fields });
        }
        match layout {
            [item] => TypeDesc::from_item(item),
            _ => Err(DescError::MixedRecord),
        }
    }

    fn from_item(item: &Item) -> Result<TypeDesc, DescError> {
        Ok(match *item {
            Item::Prim { code, count, .. } => match code {
                b'x' => TypeDesc::Padding { size: count },
                b's' => TypeDesc::Bytes { size: count },
                b'p' => TypeDesc::PascalText { size: count },
                _ if count == 1 => scalar(code)?,
                _ => TypeDesc::Array {
                    count,
                    element: Box::new(scalar(code)?),
                },
            },
            Item::Field { .. } => TypeDesc::from_layout(core::slice::from_ref(item))?,
            Item::Repeat { count, layout } => TypeDesc::Array {
                count,
                element: Box::new(TypeDesc::from_layout(layout)?),
            },
            Item::Typed { kind, layout } => match (kind, layout) {
                (
                    Kind::Text,
                    [
                        Item::Prim {
                            code: b's', count, ..
                        },
                    ],
                ) => TypeDesc::Text { size: *count },
                (Kind::Enum { name, variants }, [inner]) => match TypeDesc::from_item(inner)? {
                    TypeDesc::Int { size, signed } => TypeDesc::Enum {
                        name: name.to_owned(),
                        size,
                        signed,
                        variants: variants
                            .iter()
                            .map(|v| VariantDesc {
                                name: v.name.to_owned(),
                                value: v.value,
                            })
                            .collect(),
                    },
                    _ => TypeDesc::from_layout(layout)?,
                },
                // A meaning this version does not know: the bytes still have their format.
                _ => TypeDesc::from_layout(layout)?,
            },
        })
    }

    /// The packed size when the value starts at `start`, under `@` alignment if `native`.
    ///
    /// # Errors
    ///
    /// [`DescError`] when the description is malformed or larger than [`MAX_DESCRIBED_SIZE`].
    pub fn end_offset(&self, start: usize, native: bool) -> Result<usize, DescError> {
        let add = |a: usize, b: usize| {
            a.checked_add(b)
                .filter(|&n| n <= MAX_DESCRIBED_SIZE)
                .ok_or(DescError::TooLarge)
        };
        Ok(match self {
            TypeDesc::Record { fields } => {
                let mut pos = start;
                for field in fields {
                    pos = field.ty.end_offset(pos, native)?;
                }
                pos
            }
            TypeDesc::Int { .. } | TypeDesc::Float { .. } | TypeDesc::Bool => {
                let (size, align) = self.scalar_size_align()?;
                add(aligned(start, align, native), size)?
            }
            TypeDesc::Enum {
                name,
                size,
                signed,
                variants,
            } => {
                check_enum(name, *size, *signed, variants)?;
                let (size, align) = self.scalar_size_align()?;
                add(aligned(start, align, native), size)?
            }
            TypeDesc::Text { size } | TypeDesc::Bytes { size } | TypeDesc::Padding { size } => {
                add(start, *size)?
            }
            TypeDesc::PascalText { size } => {
                if *size == 0 {
                    return Err(DescError::EmptyPascal);
                }
                add(start, *size)?
            }
            TypeDesc::Array { count, element } => {
                if *count > MAX_DESCRIBED_SIZE {
                    return Err(DescError::TooLarge);
                }
                if element.scalar_size_align().is_ok() {
                    // One counted run, aligned once (even when empty), as Python does.
                    let (size, align) = element.scalar_size_align()?;
                    element.end_offset(0, false)?;
                    let bytes = size.checked_mul(*count).ok_or(DescError::TooLarge)?;
                    add(aligned(start, align, native), bytes)?
                } else if !native {
                    // Without alignment every element takes the same bytes.
                    let size = element.end_offset(0, false)?;
                    let bytes = size.checked_mul(*count).ok_or(DescError::TooLarge)?;
                    add(start, bytes)?
                } else {
                    let mut pos = start;
                    for _ in 0..*count {
                        let next = element.end_offset(pos, native)?;
                        if next == pos {
                            // Zero-size elements: the rest add nothing either.
                            break;
                        }
                        pos = next;
                    }
                    pos
                }
            }
        })
    }

    /// Size and `@` alignment of a number, bool or enum; `Err` for every other type.
    pub(crate) fn scalar_size_align(&self) -> Result<(usize, usize), DescError> {
        match *self {
            TypeDesc::Bool => Ok((1, 1)),
            TypeDesc::Int { size, .. } | TypeDesc::Enum { size, .. } => Ok((
                size,
                int_align(size).ok_or(DescError::BadWidth {
                    kind: "integer",
                    size,
                })?,
            )),
            TypeDesc::Float { size } => Ok((
                size,
                float_align(size).ok_or(DescError::BadWidth {
                    kind: "float",
                    size,
                })?,
            )),
            _ => Err(DescError::MixedRecord),
        }
    }
}

impl MessageDesc {
    /// Describes a static message shape.
    ///
    /// # Errors
    ///
    /// [`DescError`] for layouts no derived type produces.
    pub fn from_shape(shape: &Shape) -> Result<MessageDesc, DescError> {
        Ok(match *shape {
            Shape::Unit => MessageDesc::Unit,
            Shape::Record {
                format,
                size,
                layout,
                order,
            } => MessageDesc::Record(RecordDesc {
                format: format.to_owned(),
                size,
                order,
                ty: TypeDesc::from_layout(layout)?,
            }),
            Shape::List {
                format,
                size,
                layout,
                order,
            } => MessageDesc::List(RecordDesc {
                format: format.to_owned(),
                size,
                order,
                ty: TypeDesc::from_layout(layout)?,
            }),
        })
    }

    /// Checks a description (typically parsed from `describe`) before it is used: every width
    /// exists, the size adds up, lists have records of at least one byte.
    ///
    /// # Errors
    ///
    /// The first [`DescError`] found.
    pub fn validate(&self) -> Result<(), DescError> {
        match self {
            MessageDesc::Unit => Ok(()),
            MessageDesc::Record(record) => record.validate(),
            MessageDesc::List(record) => {
                record.validate()?;
                if record.size == 0 {
                    return Err(DescError::EmptyListRecord);
                }
                Ok(())
            }
        }
    }
}

impl MessageDesc {
    /// The description as `describe` writes it: compact JSON, the same document the `json`
    /// feature's serde implementations read and write, without needing that feature.
    ///
    /// ```
    /// use rpc_runtime::schema::MessageDesc;
    /// use rpc_runtime::{Message, Wire};
    ///
    /// #[derive(Wire)]
    /// struct Sum { value: i64, ok: bool }
    ///
    /// let desc = MessageDesc::from_shape(&Sum::SHAPE)?;
    /// assert_eq!(
    ///     desc.to_json(),
    ///     r#"{"kind":"record","format":"!q?","size":9,"order":"!","type":{"kind":"record","fields":[{"name":"value","type":{"kind":"int","size":8,"signed":true}},{"name":"ok","type":{"kind":"bool"}}]}}"#
    /// );
    /// # Ok::<(), rpc_runtime::schema::DescError>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        match self {
            MessageDesc::Unit => out.push_str("{\"kind\":\"unit\",\"format\":\"\",\"size\":0}"),
            MessageDesc::Record(record) | MessageDesc::List(record) => {
                let kind = if matches!(self, MessageDesc::List(_)) {
                    "list"
                } else {
                    "record"
                };
                out.push_str(&format!(
                    "{{\"kind\":\"{kind}\",\"format\":{},\"size\":{},\"order\":\"{}\",\"type\":",
                    super::json_str(&record.format),
                    record.size,
                    record.order.prefix(),
                ));
                record.ty.write_json(&mut out);
                out.push('}');
            }
        }
        out
    }
}

impl TypeDesc {
    /// Appends the type as compact JSON, in the form the serde implementations use.
    fn write_json(&self, out: &mut String) {
        use core::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = match self {
            TypeDesc::Record { fields } => {
                out.push_str("{\"kind\":\"record\",\"fields\":[");
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"name\":");
                    out.push_str(&super::json_str(&field.name));
                    out.push_str(",\"type\":");
                    field.ty.write_json(out);
                    out.push('}');
                }
                out.push_str("]}");
                Ok(())
            }
            TypeDesc::Int { size, signed } => {
                write!(
                    out,
                    "{{\"kind\":\"int\",\"size\":{size},\"signed\":{signed}}}"
                )
            }
            TypeDesc::Float { size } => write!(out, "{{\"kind\":\"float\",\"size\":{size}}}"),
            TypeDesc::Bool => write!(out, "{{\"kind\":\"bool\"}}"),
            TypeDesc::Text { size } => write!(out, "{{\"kind\":\"text\",\"size\":{size}}}"),
            TypeDesc::PascalText { size } => {
                write!(out, "{{\"kind\":\"pascal_text\",\"size\":{size}}}")
            }
            TypeDesc::Bytes { size } => write!(out, "{{\"kind\":\"bytes\",\"size\":{size}}}"),
            TypeDesc::Padding { size } => {
                write!(out, "{{\"kind\":\"padding\",\"size\":{size}}}")
            }
            TypeDesc::Enum {
                name,
                size,
                signed,
                variants,
            } => {
                let _ = write!(
                    out,
                    "{{\"kind\":\"enum\",\"name\":{},\"size\":{size},\"signed\":{signed},\"variants\":[",
                    super::json_str(name)
                );
                for (i, v) in variants.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(
                        out,
                        "{{\"name\":{},\"value\":{}}}",
                        super::json_str(&v.name),
                        v.value
                    );
                }
                out.push_str("]}");
                Ok(())
            }
            TypeDesc::Array { count, element } => {
                let _ = write!(out, "{{\"kind\":\"array\",\"count\":{count},\"element\":");
                element.write_json(out);
                out.push('}');
                Ok(())
            }
        };
    }
}

impl RecordDesc {
    fn validate(&self) -> Result<(), DescError> {
        let computed = self.ty.end_offset(0, self.order.is_native_aligned())?;
        if computed != self.size {
            return Err(DescError::SizeMismatch {
                declared: self.size,
                computed,
            });
        }
        Ok(())
    }
}

fn check_enum(
    name: &str,
    size: usize,
    signed: bool,
    variants: &[VariantDesc],
) -> Result<(), DescError> {
    let bad = |problem| DescError::BadEnum {
        name: name.to_owned(),
        problem,
    };
    if variants.is_empty() {
        return Err(bad("it has no variants"));
    }
    let bits = u32::try_from(size * 8).unwrap_or(128).min(127);
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if variants.iter().any(|v| v.value < min || v.value > max) {
        return Err(bad("a discriminant does not fit its integer"));
    }
    Ok(())
}

fn aligned(pos: usize, align: usize, native: bool) -> usize {
    if native {
        crate::wire::layout::align_up(pos, align)
    } else {
        pos
    }
}

/// This host's C alignment of an integer of `size` bytes.
pub(crate) fn int_align(size: usize) -> Option<usize> {
    Some(match size {
        1 => 1,
        2 => align_of::<u16>(),
        4 => align_of::<u32>(),
        8 => align_of::<u64>(),
        _ => return None,
    })
}

/// This host's C alignment of a float of `size` bytes.
pub(crate) fn float_align(size: usize) -> Option<usize> {
    Some(match size {
        2 => align_of::<half::f16>(),
        4 => align_of::<f32>(),
        8 => align_of::<f64>(),
        _ => return None,
    })
}

fn scalar(code: u8) -> Result<TypeDesc, DescError> {
    Ok(match code {
        b'b' => TypeDesc::Int {
            size: 1,
            signed: true,
        },
        b'B' => TypeDesc::Int {
            size: 1,
            signed: false,
        },
        b'h' => TypeDesc::Int {
            size: 2,
            signed: true,
        },
        b'H' => TypeDesc::Int {
            size: 2,
            signed: false,
        },
        b'i' | b'l' => TypeDesc::Int {
            size: 4,
            signed: true,
        },
        b'I' | b'L' => TypeDesc::Int {
            size: 4,
            signed: false,
        },
        b'q' => TypeDesc::Int {
            size: 8,
            signed: true,
        },
        b'Q' => TypeDesc::Int {
            size: 8,
            signed: false,
        },
        b'e' => TypeDesc::Float { size: 2 },
        b'f' => TypeDesc::Float { size: 4 },
        b'd' => TypeDesc::Float { size: 8 },
        b'?' => TypeDesc::Bool,
        other => {
            return Err(DescError::UnknownCode {
                code: char::from(other),
            });
        }
    })
}

/// A byte order as its Python prefix (`"!"`).
#[cfg(feature = "json")]
mod prefix {
    use crate::wire::ByteOrder;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(order: &ByteOrder, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 4];
        s.serialize_str(order.prefix().encode_utf8(&mut buf))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ByteOrder, D::Error> {
        let text = String::deserialize(d)?;
        let mut chars = text.chars();
        match (chars.next().and_then(ByteOrder::from_prefix), chars.next()) {
            (Some(order), None) => Ok(order),
            _ => Err(D::Error::custom(format!(
                "unknown byte order {text:?}, expected one of ! > < = @"
            ))),
        }
    }
}

/// An enum discriminant as a JSON number (as `i64` or `u64`, whichever holds it).
#[cfg(feature = "json")]
mod wide_int {
    use serde::{Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(value: &i128, s: S) -> Result<S::Ok, S::Error> {
        match (i64::try_from(*value), u64::try_from(*value)) {
            (Ok(v), _) => s.serialize_i64(v),
            (_, Ok(v)) => s.serialize_u64(v),
            _ => Err(serde::ser::Error::custom("discriminant wider than 64 bits")),
        }
    }

    struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = i128;
        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("an integer discriminant")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
            Ok(i128::from(v))
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::layout::Variant;

    #[test]
    fn layouts_become_type_trees() {
        const E: &[Item] = &[Item::typed(
            Kind::Enum {
                name: "E",
                variants: &[Variant {
                    name: "A",
                    value: 1,
                }],
            },
            &[Item::prim(b'H', 2, 2)],
        )];
        const TEXT: &[Item] = &[Item::typed(Kind::Text, &[Item::array(&[], 5, true)])];
        const I: &[Item] = &[Item::prim(b'i', 4, 4)];
        const ONE: &[Item] = &[Item::array(I, 1, false)];
        const PAD: &[Item] = &[Item::pad(3)];
        let layout = [
            Item::field("e", E),
            Item::field("t", TEXT),
            Item::field("one", ONE),
            Item::field("pad", PAD),
        ];
        let ty = TypeDesc::from_layout(&layout).unwrap();
        let TypeDesc::Record { fields } = &ty else {
            panic!("{ty:?}")
        };
        assert_eq!(
            fields[0].ty,
            TypeDesc::Enum {
                name: "E".into(),
                size: 2,
                signed: false,
                variants: vec![VariantDesc {
                    name: "A".into(),
                    value: 1
                }],
            }
        );
        assert_eq!(fields[1].ty, TypeDesc::Text { size: 5 });
        assert_eq!(
            fields[2].ty,
            TypeDesc::Array {
                count: 1,
                element: Box::new(TypeDesc::Int {
                    size: 4,
                    signed: true
                })
            }
        );
        assert_eq!(fields[3].ty, TypeDesc::Padding { size: 3 });
        // '@H5sip' → 2 + 5, align 4 → 8 + 4 + 3x
        assert_eq!(ty.end_offset(0, true), Ok(15));
        assert_eq!(ty.end_offset(0, false), Ok(14));
    }

    #[test]
    fn malformed_descriptions_are_refused() {
        let huge = TypeDesc::Array {
            count: usize::MAX,
            element: Box::new(TypeDesc::Int {
                size: 8,
                signed: true,
            }),
        };
        assert_eq!(huge.end_offset(0, false), Err(DescError::TooLarge));
        let nested = TypeDesc::Array {
            count: usize::MAX,
            element: Box::new(TypeDesc::Array {
                count: usize::MAX,
                element: Box::new(TypeDesc::Bytes { size: 1 << 20 }),
            }),
        };
        assert_eq!(nested.end_offset(0, false), Err(DescError::TooLarge));
        let odd = TypeDesc::Int {
            size: 3,
            signed: true,
        };
        assert!(matches!(
            odd.end_offset(0, false),
            Err(DescError::BadWidth { size: 3, .. })
        ));
        let bad_enum = TypeDesc::Enum {
            name: "E".into(),
            size: 1,
            signed: false,
            variants: vec![VariantDesc {
                name: "A".into(),
                value: 256,
            }],
        };
        assert!(matches!(
            bad_enum.end_offset(0, false),
            Err(DescError::BadEnum { .. })
        ));
    }
}
