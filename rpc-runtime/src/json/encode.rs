//! JSON values to Wire bytes, over a [`TypeDesc`].

use super::error::{JsonError, Result};
use super::path::{Path, Step};
use crate::schema::{TypeDesc, VariantDesc};
use crate::wire::ByteOrder;
use serde_json::Value;

/// The largest integer a JSON number may carry for a 64-bit field: 2^53 - 1.
pub(crate) const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// Writes one record: `out` grows by the record's bytes, positions for `@` alignment count
/// from where the record starts.
pub(crate) struct Encoder<'p> {
    pub(crate) order: ByteOrder,
    pub(crate) path: Path<'p>,
    /// Where the record starts in `out`.
    pub(crate) base: usize,
}

impl<'p> Encoder<'p> {
    pub(crate) fn new(order: ByteOrder, base: usize) -> Self {
        Encoder {
            order,
            path: Path::default(),
            base,
        }
    }

    fn mismatch(&self, expected: impl Into<String>, found: &Value) -> JsonError {
        JsonError::Mismatch {
            path: self.path.render(),
            expected: expected.into(),
            found: describe(found),
        }
    }

    fn invalid(&self, problem: impl Into<String>) -> JsonError {
        JsonError::Invalid {
            path: self.path.render(),
            problem: problem.into(),
        }
    }

    /// Zero-fills up to the next multiple of `align` under `@`.
    fn align(&self, out: &mut Vec<u8>, align: usize) {
        if self.order.is_native_aligned() && align > 1 {
            let pos = out.len() - self.base;
            let at = crate::wire::layout::align_up(pos, align);
            out.resize(self.base + at, 0);
        }
    }

    fn put_int(&self, out: &mut Vec<u8>, value: i128, size: usize) {
        let bytes = value.to_le_bytes();
        let bytes = bytes.get(..size).unwrap_or_default();
        if self.order.is_little_endian() {
            out.extend_from_slice(bytes);
        } else {
            out.extend(bytes.iter().rev());
        }
    }

    pub(crate) fn value(&mut self, ty: &'p TypeDesc, v: &Value, out: &mut Vec<u8>) -> Result<()> {
        match ty {
            TypeDesc::Record { fields } => {
                let Value::Object(map) = v else {
                    return Err(self.mismatch("an object", v));
                };
                for key in map.keys() {
                    let known = fields
                        .iter()
                        .any(|f| f.name == *key && !matches!(f.ty, TypeDesc::Padding { .. }));
                    if !known {
                        let mut path = self.path.render();
                        path.push('.');
                        path.push_str(key);
                        return Err(JsonError::UnknownField { path });
                    }
                }
                for field in fields {
                    self.path.push(Step::Field(&field.name));
                    if let TypeDesc::Padding { size } = field.ty {
                        out.resize(out.len() + size, 0);
                    } else {
                        let Some(fv) = map.get(&field.name) else {
                            return Err(JsonError::MissingField {
                                path: self.path.render(),
                            });
                        };
                        self.value(&field.ty, fv, out)?;
                    }
                    self.path.pop();
                }
                Ok(())
            }
            TypeDesc::Int { size, signed } => {
                let n = self.int(v, *size, *signed)?;
                self.align(out, ty.scalar_size_align()?.1);
                self.put_int(out, n, *size);
                Ok(())
            }
            TypeDesc::Float { size } => {
                let x = self.float(v)?;
                self.align(out, ty.scalar_size_align()?.1);
                let little = self.order.is_little_endian();
                match size {
                    2 => {
                        let h = half::f16::from_f64(x);
                        out.extend(if little {
                            h.to_le_bytes()
                        } else {
                            h.to_be_bytes()
                        });
                    }
                    4 => {
                        let f = x as f32;
                        out.extend(if little {
                            f.to_le_bytes()
                        } else {
                            f.to_be_bytes()
                        });
                    }
                    _ => out.extend(if little {
                        x.to_le_bytes()
                    } else {
                        x.to_be_bytes()
                    }),
                }
                Ok(())
            }
            TypeDesc::Bool => match v {
                Value::Bool(b) => {
                    out.push(u8::from(*b));
                    Ok(())
                }
                _ => Err(self.mismatch("true or false", v)),
            },
            TypeDesc::Text { size } => {
                let Value::String(s) = v else {
                    return Err(self.mismatch("a string", v));
                };
                if s.len() > *size {
                    return Err(self.invalid(format!(
                        "the text is {} bytes of UTF-8, the field holds at most {size}",
                        s.len()
                    )));
                }
                if s.contains('\0') {
                    return Err(self.invalid("the text contains a NUL character"));
                }
                out.extend_from_slice(s.as_bytes());
                out.resize(out.len() + (size - s.len()), 0);
                Ok(())
            }
            TypeDesc::PascalText { size } => {
                let Value::String(s) = v else {
                    return Err(self.mismatch("a string", v));
                };
                let capacity = size.saturating_sub(1).min(255);
                if s.len() > capacity {
                    return Err(self.invalid(format!(
                        "the text is {} bytes of UTF-8, the field holds at most {capacity}",
                        s.len()
                    )));
                }
                // capacity <= 255, so the length fits in a byte.
                out.push(s.len() as u8);
                out.extend_from_slice(s.as_bytes());
                out.resize(out.len() + (size - 1 - s.len()), 0);
                Ok(())
            }
            TypeDesc::Bytes { size } => {
                let Value::String(s) = v else {
                    return Err(self.mismatch(format!("a string of {} hex digits", 2 * size), v));
                };
                if s.len() != 2 * size {
                    return Err(self.invalid(format!(
                        "expected {} hex digits ({size} bytes), found {}",
                        2 * size,
                        s.chars().count()
                    )));
                }
                for pair in s.as_bytes().chunks_exact(2) {
                    match (hex_digit(pair[0]), hex_digit(pair[1])) {
                        (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                        _ => return Err(self.invalid("expected only hex digits 0-9, a-f")),
                    }
                }
                Ok(())
            }
            TypeDesc::Enum {
                name,
                size,
                variants,
                ..
            } => {
                let Value::String(s) = v else {
                    return Err(self.mismatch(format!("a variant name of `{name}`"), v));
                };
                let Some(variant) = variants.iter().find(|var| var.name == *s) else {
                    return Err(self.invalid(format!(
                        "unknown variant {s:?} of `{name}`, expected one of {}",
                        names(variants)
                    )));
                };
                self.align(out, ty.scalar_size_align()?.1);
                self.put_int(out, variant.value, *size);
                Ok(())
            }
            TypeDesc::Array { count, element } => {
                let Value::Array(items) = v else {
                    return Err(self.mismatch(format!("an array of {count} elements"), v));
                };
                if items.len() != *count {
                    return Err(JsonError::Length {
                        path: self.path.render(),
                        expected: *count,
                        found: items.len(),
                    });
                }
                if *count == 0
                    && let Ok((_, align)) = element.scalar_size_align()
                {
                    // An empty run is still aligned under `@`, as Python does.
                    self.align(out, align);
                }
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Step::Index(i));
                    self.value(element, item, out)?;
                    self.path.pop();
                }
                Ok(())
            }
            TypeDesc::Padding { size } => {
                out.resize(out.len() + size, 0);
                Ok(())
            }
        }
    }

    /// An integer of `size` bytes from a JSON number, or for 64-bit fields a decimal string.
    fn int(&self, v: &Value, size: usize, signed: bool) -> Result<i128> {
        let wide = size == 8;
        let n: i128 = match v {
            Value::Number(n) => {
                let Some(n) = n
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
                else {
                    return Err(self.mismatch("an integer", v));
                };
                if wide && n.abs() > MAX_SAFE_INTEGER {
                    return Err(self.invalid(format!(
                        "{n} is beyond 2^53-1, where JSON numbers lose precision; send 64-bit integers as strings (\"{n}\")"
                    )));
                }
                n
            }
            Value::String(s) if wide => parse_decimal(s)
                .ok_or_else(|| self.mismatch("a string of decimal digits, such as \"-12\"", v))?,
            _ if wide => {
                return Err(self.mismatch("an integer, as a string of decimal digits", v));
            }
            _ => return Err(self.mismatch("an integer", v)),
        };
        let bits = (size * 8) as u32;
        let (min, max) = if signed {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        if n < min || n > max {
            return Err(self.invalid(format!("{n} is out of range {min}..={max}")));
        }
        Ok(n)
    }

    fn float(&self, v: &Value) -> Result<f64> {
        match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| self.mismatch("a number", v)),
            Value::String(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(self.mismatch("a number, or \"NaN\", \"Infinity\", \"-Infinity\"", v)),
            },
            _ => Err(self.mismatch("a number", v)),
        }
    }
}

/// `-?[0-9]+` as an integer; `None` for anything else (signs, spaces, exponents, overflow).
pub(crate) fn parse_decimal(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 30 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `"A", "B"`: the names of an enum's variants, for messages.
pub(crate) fn names(variants: &[VariantDesc]) -> String {
    variants
        .iter()
        .map(|v| format!("{:?}", v.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A short description of a JSON value for messages: its type, and short scalars in full.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        Value::String(_) => "a string".into(),
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::Object(_) => "an object".into(),
    }
}
