//! Annotated hex dumps of whole frames: the header field by field, then the body along the
//! method's type description.

use rpc_runtime::Wire as _;
use rpc_runtime::frame::Header;
use rpc_runtime::schema::{MessageDesc, TypeDesc};
use rpc_runtime::wire::hexdump;
use std::fmt::Write as _;

/// Bytes shown per line.
const WIDTH: usize = 16;

/// One labelled span of the body.
struct Row {
    start: usize,
    end: usize,
    label: String,
}

/// Dumps a frame: its header with field names, then its body labelled by `message` (or as
/// plain bytes, and text when it is UTF-8, when `message` is `None`).
pub fn frame(title: &str, raw: &[u8], message: Option<&MessageDesc>) -> String {
    let mut out = format!("{title}\n");
    let head = raw.get(..Header::SIZE).unwrap_or(raw);
    out.push_str(&hexdump::<Header>(head));
    let body = raw.get(Header::SIZE..).unwrap_or_default();
    let mut rows = Vec::new();
    let mut label = "body";
    match message {
        Some(MessageDesc::Record(r)) => {
            label = "body (record)";
            walk(&r.ty, "", 0, r.order.is_native_aligned(), &mut rows);
        }
        Some(MessageDesc::List(r)) if body.len() >= 4 => {
            label = "body (list)";
            rows.push(Row {
                start: 0,
                end: 4,
                label: "count".into(),
            });
            let size = r.size.max(1);
            for i in 0..(body.len() - 4) / size {
                walk(
                    &r.ty,
                    &format!("[{i}]"),
                    4 + i * size,
                    r.order.is_native_aligned(),
                    &mut rows,
                );
            }
        }
        _ => {}
    }
    let end = rows.last().map_or(0, |r| r.end);
    if end < body.len() {
        rows.push(Row {
            start: end,
            end: body.len(),
            label: if rows.is_empty() {
                String::new()
            } else {
                "(trailing)".into()
            },
        });
    }
    let _ = writeln!(out, "{label} ({} bytes)", body.len());
    let label_width = rows.iter().map(|r| r.label.len()).max().unwrap_or(0);
    for row in rows {
        let mut at = row.start;
        let mut first = true;
        while first || at < row.end {
            let stop = (at + WIDTH).min(row.end);
            let hex = body
                .get(at..stop.min(body.len()))
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ");
            let label = if first { row.label.as_str() } else { "" };
            let line = format!(
                "{:04x}  {hex:<w$}  {label:<label_width$}",
                Header::SIZE + at,
                w = WIDTH * 3 - 1
            );
            let _ = writeln!(out, "{}", line.trim_end());
            first = false;
            at = stop;
        }
    }
    if let (None, false, Ok(text)) = (message, body.is_empty(), std::str::from_utf8(body)) {
        let _ = writeln!(out, "text  {text:?}");
    }
    out
}

/// Appends the rows of a value of type `ty` at `start`; returns where it ends.
fn walk(ty: &TypeDesc, path: &str, start: usize, native: bool, rows: &mut Vec<Row>) -> usize {
    let end = ty.end_offset(start, native).unwrap_or(start);
    match ty {
        TypeDesc::Record { fields } => {
            let mut pos = start;
            for field in fields {
                let name = if path.is_empty() {
                    field.name.clone()
                } else {
                    format!("{path}.{}", field.name)
                };
                pos = walk(&field.ty, &name, pos, native, rows);
            }
            pos
        }
        TypeDesc::Array { count, element }
            if !matches!(
                **element,
                TypeDesc::Int { .. }
                    | TypeDesc::Float { .. }
                    | TypeDesc::Bool
                    | TypeDesc::Enum { .. }
            ) =>
        {
            let mut pos = start;
            for i in 0..*count {
                pos = walk(element, &format!("{path}[{i}]"), pos, native, rows);
            }
            pos
        }
        TypeDesc::Padding { .. } => {
            rows.push(Row {
                start,
                end,
                label: "(pad)".into(),
            });
            end
        }
        _ => {
            // Scalars and counted runs sit at the end of their span; anything before is
            // alignment.
            let size = match ty {
                TypeDesc::Array { count, element } => element
                    .end_offset(0, false)
                    .unwrap_or(0)
                    .saturating_mul(*count),
                other => other.end_offset(0, false).unwrap_or(0),
            };
            let at = end.saturating_sub(size).max(start);
            if at > start {
                rows.push(Row {
                    start,
                    end: at,
                    label: "(pad)".into(),
                });
            }
            rows.push(Row {
                start: at,
                end,
                label: path.to_owned(),
            });
            end
        }
    }
}
