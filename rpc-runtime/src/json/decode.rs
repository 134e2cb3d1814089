//! Wire bytes to JSON values, over a [`TypeDesc`], with the same checks as `Wire::unpack`.

use super::error::{JsonError, Result};
use super::path::{Path, Step};
use crate::schema::TypeDesc;
use crate::wire::ByteOrder;
use serde_json::{Map, Number, Value};

/// Reads one record from `buf`; positions for `@` alignment count from `base`.
pub(crate) struct Decoder<'b, 'p> {
    pub(crate) buf: &'b [u8],
    pub(crate) pos: usize,
    pub(crate) base: usize,
    pub(crate) order: ByteOrder,
    pub(crate) path: Path<'p>,
}

impl<'b, 'p> Decoder<'b, 'p> {
    pub(crate) fn new(buf: &'b [u8], base: usize, order: ByteOrder) -> Self {
        Decoder {
            buf,
            pos: base,
            base,
            order,
            path: Path::default(),
        }
    }

    fn bad(&self, offset: usize, problem: impl Into<String>) -> JsonError {
        JsonError::Bytes {
            path: self.path.render(),
            offset,
            problem: problem.into(),
        }
    }

    fn align(&mut self, align: usize) {
        if self.order.is_native_aligned() && align > 1 {
            let rel = crate::wire::layout::align_up(self.pos - self.base, align);
            self.pos = self.base + rel;
        }
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8]> {
        let at = self.pos;
        match at.checked_add(n).and_then(|end| self.buf.get(at..end)) {
            Some(bytes) => {
                self.pos = at + n;
                Ok(bytes)
            }
            None => Err(self.bad(
                at,
                format!(
                    "input too short: need {n} bytes, only {} available",
                    self.buf.len().saturating_sub(at)
                ),
            )),
        }
    }

    fn int(&mut self, size: usize, signed: bool) -> Result<i128> {
        let little = self.order.is_little_endian();
        let bytes = self.take(size)?;
        let mut wide = [0u8; 16];
        for (i, b) in bytes.iter().enumerate() {
            let at = if little { i } else { size - 1 - i };
            if let Some(slot) = wide.get_mut(at) {
                *slot = *b;
            }
        }
        let unsigned = u128::from_le_bytes(wide);
        let bits = (size * 8) as u32;
        Ok(if signed && bits < 128 && unsigned >> (bits - 1) & 1 == 1 {
            (unsigned as i128) - (1i128 << bits)
        } else {
            unsigned as i128
        })
    }

    pub(crate) fn value(&mut self, ty: &'p TypeDesc) -> Result<Value> {
        match ty {
            TypeDesc::Record { fields } => {
                let mut map = Map::new();
                for field in fields {
                    self.path.push(Step::Field(&field.name));
                    let v = self.value(&field.ty)?;
                    self.path.pop();
                    if !matches!(field.ty, TypeDesc::Padding { .. }) {
                        map.insert(field.name.clone(), v);
                    }
                }
                Ok(Value::Object(map))
            }
            TypeDesc::Int { size, signed } => {
                self.align(ty.scalar_size_align()?.1);
                let n = self.int(*size, *signed)?;
                Ok(int_value(n, *size))
            }
            TypeDesc::Float { size } => {
                self.align(ty.scalar_size_align()?.1);
                let bits = self.int(*size, false)?;
                let x = match size {
                    2 => half::f16::from_bits(bits as u16).to_f64(),
                    4 => f64::from(f32::from_bits(bits as u32)),
                    _ => f64::from_bits(bits as u64),
                };
                Ok(float_value(x))
            }
            TypeDesc::Bool => {
                let at = self.pos;
                match self.take(1)? {
                    [0] => Ok(Value::Bool(false)),
                    [1] => Ok(Value::Bool(true)),
                    [b, ..] => {
                        Err(self.bad(at, format!("invalid bool byte {b:#04x} (expected 0 or 1)")))
                    }
                    [] => Err(self.bad(at, "input too short")),
                }
            }
            TypeDesc::Text { size } => {
                let at = self.pos;
                let bytes = self.take(*size)?;
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                let (text, padding) = bytes.split_at(len);
                if let Some(i) = padding.iter().position(|&b| b != 0) {
                    return Err(self.bad(at + len + i, "non-NUL byte after the end of the text"));
                }
                match core::str::from_utf8(text) {
                    Ok(s) => Ok(Value::String(s.to_owned())),
                    Err(_) => Err(self.bad(at, "invalid UTF-8")),
                }
            }
            TypeDesc::PascalText { size } => {
                let at = self.pos;
                let bytes = self.take(*size)?;
                let capacity = size.saturating_sub(1).min(255);
                let len = usize::from(bytes.first().copied().unwrap_or(0));
                if len > capacity {
                    return Err(self.bad(
                        at,
                        format!("pascal string claims {len} bytes, capacity is {capacity}"),
                    ));
                }
                let text = bytes.get(1..1 + len).unwrap_or_default();
                let padding = bytes.get(1 + len..).unwrap_or_default();
                if let Some(i) = padding.iter().position(|&b| b != 0) {
                    return Err(
                        self.bad(at + 1 + len + i, "non-NUL byte after the end of the text")
                    );
                }
                match core::str::from_utf8(text) {
                    Ok(s) => Ok(Value::String(s.to_owned())),
                    Err(_) => Err(self.bad(at + 1, "invalid UTF-8")),
                }
            }
            TypeDesc::Bytes { size } => {
                let bytes = self.take(*size)?;
                Ok(Value::String(hex(bytes)))
            }
            TypeDesc::Enum {
                name,
                size,
                signed,
                variants,
            } => {
                self.align(ty.scalar_size_align()?.1);
                let at = self.pos;
                let n = self.int(*size, *signed)?;
                match variants.iter().find(|v| v.value == n) {
                    Some(v) => Ok(Value::String(v.name.clone())),
                    None => {
                        Err(self.bad(at, format!("unknown discriminant {n} for enum `{name}`")))
                    }
                }
            }
            TypeDesc::Array { count, element } => {
                if let Ok((size, align)) = element.scalar_size_align() {
                    self.align(align);
                    // Check the whole run is there before allocating for it.
                    let need = size.saturating_mul(*count);
                    if self.buf.len().saturating_sub(self.pos) < need {
                        let at = self.pos;
                        return Err(self.bad(at, format!("input too short: need {need} bytes")));
                    }
                }
                let mut items = Vec::with_capacity((*count).min(self.buf.len()));
                for i in 0..*count {
                    self.path.push(Step::Index(i));
                    let start = self.pos;
                    items.push(self.value(element)?);
                    self.path.pop();
                    if self.pos == start && i > 0 {
                        // Zero-size elements: the rest are the same value.
                        let first = items.first().cloned().unwrap_or(Value::Null);
                        items.resize(*count, first);
                        break;
                    }
                }
                Ok(Value::Array(items))
            }
            TypeDesc::Padding { size } => {
                self.take(*size)?;
                Ok(Value::Null)
            }
        }
    }
}

/// An integer as JSON: a number up to 32 bits, a decimal string for 64-bit fields.
pub(crate) fn int_value(n: i128, size: usize) -> Value {
    if size == 8 {
        return Value::String(n.to_string());
    }
    match i64::try_from(n) {
        Ok(n) => Value::Number(Number::from(n)),
        Err(_) => Value::String(n.to_string()),
    }
}

/// A float as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn float_value(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}
