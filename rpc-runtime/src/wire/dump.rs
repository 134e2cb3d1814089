//! An offset-annotated hex dump of a packed record, labelled with field names and format codes.

use super::Wire;
use super::layout::{Item, align_up, counted_run};
use core::fmt::Write;

/// Bytes shown per line.
const WIDTH: usize = 16;

/// Renders `bytes` as a hex dump of a `T`, one line per field (long fields wrap).
///
/// Each line shows the offset, the bytes, the field's path and its Python format code; `@`
/// alignment gaps show as `(pad)`. Bytes beyond `T::SIZE` are listed as `(trailing)`.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{Wire, wire::hexdump};
///
/// #[derive(Wire)]
/// struct Pong { id: u32, ok: bool }
///
/// let dump = hexdump::<Pong>(&Pong { id: 258, ok: true }.pack());
/// assert_eq!(dump, "\
/// Pong !I? (5 bytes)
/// 0000  00 00 01 02  id  I
/// 0004  01           ok  ?
/// ");
/// ```
pub fn hexdump<T: Wire>(bytes: &[u8]) -> String {
    let name = core::any::type_name::<T>();
    let name = name.rsplit("::").next().unwrap_or(name);
    let mut out = format!("{name} {} ({} bytes)\n", T::FORMAT, T::SIZE);
    let mut rows = Vec::new();
    let end = walk(T::LAYOUT, "", 0, T::ORDER.is_native_aligned(), &mut rows);
    if end < bytes.len() {
        rows.push(Row {
            start: end,
            end: bytes.len(),
            label: "(trailing)".into(),
            code: String::new(),
        });
    }
    let label_width = rows.iter().map(|r| r.label.len()).max().unwrap_or(0);
    let hex_width = rows
        .iter()
        .map(|r| (r.end - r.start).min(WIDTH) * 3)
        .max()
        .unwrap_or(1)
        .saturating_sub(1);
    for row in rows {
        let mut first = true;
        let mut at = row.start;
        while first || at < row.end {
            let stop = (at + WIDTH).min(row.end);
            let hex = bytes
                .get(at..stop.min(bytes.len()))
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ");
            let missing = if stop > bytes.len() { " (missing)" } else { "" };
            let (label, code) = if first {
                (row.label.as_str(), row.code.as_str())
            } else {
                ("", "")
            };
            let line = format!(
                "{at:04x}  {hex:<w$}  {label:<lw$}  {code}{missing}",
                w = hex_width,
                lw = label_width
            );
            let _ = writeln!(out, "{}", line.trim_end());
            first = false;
            at = stop;
        }
    }
    out
}

struct Row {
    start: usize,
    end: usize,
    label: String,
    code: String,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else if name.starts_with('[') {
        format!("{path}{name}")
    } else {
        format!("{path}.{name}")
    }
}

fn walk(layout: &[Item], path: &str, mut pos: usize, native: bool, rows: &mut Vec<Row>) -> usize {
    for item in layout {
        match *item {
            Item::Prim {
                code,
                count,
                size,
                align,
            } => pos = run((code, count, size, align), path, pos, native, rows),
            Item::Field { name, layout } => {
                pos = walk(layout, &join(path, name), pos, native, rows)
            }
            Item::Typed { layout, .. } => pos = walk(layout, path, pos, native, rows),
            Item::Repeat { count, layout } => match counted_run(layout) {
                Some((code, size, align)) => {
                    pos = run((code, count, size, align), path, pos, native, rows)
                }
                None => {
                    for i in 0..count {
                        pos = walk(layout, &join(path, &format!("[{i}]")), pos, native, rows);
                    }
                }
            },
        }
    }
    pos
}

/// One row for a primitive run at `pos` (after an alignment gap row under `@`); returns the end.
fn run(
    (code, count, size, align): (u8, usize, usize, usize),
    path: &str,
    pos: usize,
    native: bool,
    rows: &mut Vec<Row>,
) -> usize {
    let at = if native { align_up(pos, align) } else { pos };
    if at > pos {
        rows.push(Row {
            start: pos,
            end: at,
            label: "(pad)".into(),
            code: String::new(),
        });
    }
    let code = if count == 1 {
        char::from(code).to_string()
    } else {
        format!("{count}{}", char::from(code))
    };
    let label = if path.is_empty() { "(value)" } else { path };
    rows.push(Row {
        start: at,
        end: at + count * size,
        label: label.to_owned(),
        code,
    });
    at + count * size
}
