//! The `struct` side of messages: how many values a type yields, the format read and
//! written, and the expressions that pack and unpack one message in the generated code.

use crate::error::{Result, ToolError};
use rpc_runtime::schema::{RecordDesc, TypeDesc};

/// A [`ToolError::Schema`] about `what`.
pub(crate) fn schema_error(what: &str, problem: impl std::fmt::Display) -> ToolError {
    ToolError::Schema(format!("{what}: {problem}"))
}

/// How many values `struct` yields for `ty`.
pub(crate) fn leaves(ty: &TypeDesc) -> usize {
    match ty {
        TypeDesc::Record { fields } => fields.iter().map(|f| leaves(&f.ty)).sum(),
        TypeDesc::Array { count, element } => count.saturating_mul(leaves(element)),
        TypeDesc::Padding { .. } => 0,
        _ => 1,
    }
}

/// The format `struct` reads and writes: `?` as `B` and `p` as `s`, so that bools and Pascal
/// lengths are checked as strictly as Rust checks them. Also checks that the format is one
/// the describe document could hold and yields as many values as the type tree has.
pub(crate) fn raw_format(record: &RecordDesc, what: &str) -> Result<String> {
    let mut chars = record.format.chars();
    let prefix = chars.next().filter(|c| "!<>=@".contains(*c));
    let Some(prefix) = prefix else {
        return Err(schema_error(what, "the format has no byte order prefix"));
    };
    let mut out = String::from(prefix);
    let (mut values, mut count) = (0usize, String::new());
    for c in chars {
        if c.is_ascii_digit() {
            count.push(c);
            continue;
        }
        let n: usize = if count.is_empty() {
            1
        } else {
            count
                .parse()
                .map_err(|_| schema_error(what, "a count in the format is too large"))?
        };
        values = values.saturating_add(match c {
            's' | 'p' => 1,
            'x' => 0,
            'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'e' | 'f' | 'd' | '?' => n,
            other => return Err(schema_error(what, format!("format code {other:?}"))),
        });
        out.push_str(&count);
        out.push(match c {
            '?' => 'B',
            'p' => 's',
            c => c,
        });
        count.clear();
    }
    if !count.is_empty() {
        return Err(schema_error(what, "the format ends with a count"));
    }
    if values != leaves(&record.ty) {
        return Err(schema_error(
            what,
            format!(
                "the format {:?} has {values} values but the type tree {}",
                record.format,
                leaves(&record.ty)
            ),
        ));
    }
    Ok(out)
}

/// How one message record is packed and unpacked in the generated code.
#[derive(Debug)]
pub(crate) struct Codec {
    pub(crate) st: usize,
    pub(crate) count: usize,
    pub(crate) build: String,
    pub(crate) flat: String,
    pub(crate) py_type: String,
    /// What builds the value in a method body: the record class's private alias.
    pub(crate) constructor: String,
    pub(crate) label: String,
}

impl Codec {
    pub(crate) fn pack(&self, value: &str) -> String {
        format!(
            "_pack_one(_S{}, {}, {value}, {})",
            self.st, self.flat, self.label
        )
    }

    pub(crate) fn pack_list(&self, values: &str) -> String {
        format!(
            "_pack_list(_S{}, _C{}, {}, {values}, {})",
            self.st, self.count, self.flat, self.label
        )
    }

    pub(crate) fn unpack(&self, data: &str) -> String {
        format!(
            "_unpack_one(_S{}, {}, {data}, {})",
            self.st, self.build, self.label
        )
    }

    pub(crate) fn unpack_list(&self, data: &str) -> String {
        format!(
            "_unpack_list(_S{}, _C{}, {}, {data}, {})",
            self.st, self.count, self.build, self.label
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpc_runtime::schema::FieldDesc;
    use rpc_runtime::wire::ByteOrder;

    fn record(format: &str, ty: TypeDesc) -> RecordDesc {
        RecordDesc {
            format: format.into(),
            size: 0,
            order: ByteOrder::Network,
            ty,
        }
    }

    fn fields(types: Vec<TypeDesc>) -> TypeDesc {
        TypeDesc::Record {
            fields: types
                .into_iter()
                .enumerate()
                .map(|(i, ty)| FieldDesc {
                    name: i.to_string(),
                    ty,
                })
                .collect(),
        }
    }

    #[test]
    fn raw_formats_read_bools_and_pascal_strings_as_bytes() {
        let ty = fields(vec![
            TypeDesc::Bool,
            TypeDesc::PascalText { size: 10 },
            TypeDesc::Array {
                count: 3,
                element: Box::new(TypeDesc::Bool),
            },
            TypeDesc::Padding { size: 2 },
            TypeDesc::Text { size: 12 },
        ]);
        assert_eq!(leaves(&ty), 6);
        assert_eq!(
            raw_format(&record("!?10p3?2x12s", ty), "m").unwrap(),
            "!B10s3B2x12s"
        );
    }

    #[test]
    fn formats_that_do_not_fit_their_type_tree_are_refused() {
        let int = TypeDesc::Int {
            size: 4,
            signed: true,
        };
        for (format, problem) in [
            ("!ii", "has 2 values but the type tree 1"),
            ("i", "no byte order prefix"),
            ("!4", "ends with a count"),
            ("!z", "format code 'z'"),
            ("!99999999999999999999999i", "too large"),
        ] {
            let err = raw_format(&record(format, fields(vec![int.clone()])), "S.m").unwrap_err();
            assert!(err.to_string().contains(problem), "{format}: {err}");
        }
    }
}
