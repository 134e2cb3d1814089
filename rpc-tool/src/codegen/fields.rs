//! The code that moves one value between a Python object and the flat tuple of `struct`
//! values: expressions that build it, statements that flatten it.

use super::codec::leaves;
use super::model::Model;
use super::names::py_str;
use rpc_runtime::schema::TypeDesc;
use std::fmt::Write as _;

/// The index of a value `at` places after the record's first.
pub(super) fn offset(at: usize) -> String {
    if at == 0 {
        "at".to_owned()
    } else {
        format!("at + {at}")
    }
}

/// The expression building a value of `ty` from the values `v` at `off`.
pub(super) fn build(
    model: &Model<'_>,
    ty: &TypeDesc,
    off: &str,
    path: &str,
    depth: usize,
) -> String {
    match ty {
        TypeDesc::Int { .. } => format!("int(v[{off}])"),
        TypeDesc::Float { .. } => format!("float(v[{off}])"),
        TypeDesc::Bytes { .. } => format!("bytes(v[{off}])"),
        TypeDesc::Bool => format!("_bool(v[{off}], {path})"),
        TypeDesc::Text { .. } => format!("_text(v[{off}], {path})"),
        TypeDesc::PascalText { .. } => format!("_pascal(v[{off}], {path})"),
        TypeDesc::Enum { .. } => format!("_enum({}, v[{off}], {path})", model.enum_name(ty)),
        TypeDesc::Record { .. } => format!("{}._from(v, {off})", model.py_type(ty)),
        TypeDesc::Array { count, element } => match **element {
            TypeDesc::Int { .. } | TypeDesc::Float { .. } => {
                format!("list(v[{off}:{off} + {count}])")
            }
            _ => {
                let var = format!("_i{depth}");
                let inner = format!("{off} + {} * {var}", leaves(element));
                format!(
                    "[{} for {var} in range({count})]",
                    build(model, element, &inner, path, depth + 1)
                )
            }
        },
        _ => "None".to_owned(),
    }
}

/// Statements appending the values of `value` (of type `ty`) to `out`.
pub(super) fn flat(
    out: &mut String,
    model: &Model<'_>,
    ty: &TypeDesc,
    value: &str,
    path: &str,
    depth: usize,
    indent: usize,
) {
    let pad = " ".repeat(indent);
    let line = match ty {
        TypeDesc::Int { size, signed } => {
            let bits = (size * 8).min(64) as u32;
            let (lo, hi): (i128, i128) = if *signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            format!("out.append(_int({value}, {lo}, {hi}, {path}))")
        }
        TypeDesc::Float { .. } => format!("out.append({value})"),
        TypeDesc::Bool => format!("out.append(1 if {value} else 0)"),
        TypeDesc::Text { size } => format!("out.append(_put_text({value}, {size}, {path}))"),
        TypeDesc::PascalText { size } => {
            format!("out.append(_put_pascal({value}, {size}, {path}))")
        }
        TypeDesc::Bytes { size } => format!("out.append(_put_bytes({value}, {size}, {path}))"),
        TypeDesc::Enum { .. } => format!(
            "out.append(_put_enum({}, {value}, {path}))",
            model.enum_name(ty)
        ),
        TypeDesc::Record { .. } => format!("{value}._flat(out)"),
        TypeDesc::Array { count, element } => {
            let var = format!("_x{depth}");
            let _ = writeln!(out, "{pad}for {var} in _items({value}, {count}, {path}):");
            flat(out, model, element, &var, path, depth + 1, indent + 4);
            return;
        }
        _ => "pass".to_owned(),
    };
    let _ = writeln!(out, "{pad}{line}");
}

/// `_from{index}` and `_flat{index}`: the codec of a message that is one value, not a record.
pub(super) fn value_codec(out: &mut String, model: &Model<'_>, index: usize, ty: &TypeDesc) {
    let py = model.py_type(ty);
    let path = py_str(&py);
    let _ = writeln!(
        out,
        "\n\ndef _from{index}(v: Tuple[Any, ...], at: int) -> {py}:\n    return {}\n\n\
         \ndef _flat{index}(value: {py}, out: List[Any]) -> None:",
        build(model, ty, "at", &path, 0)
    );
    flat(out, model, ty, "value", &path, 0, 4);
}
