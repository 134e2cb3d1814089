//! `rpc describe`'s table: one block per service, one row per method, one line per message.

use crate::schema::Schema;
use rpc_runtime::schema::{MessageDesc, TypeDesc};
use std::fmt::Write as _;

/// Renders the schema as text for people.
///
/// Each method shows its id, fingerprint and whether it is read-only, then its request,
/// response and error with their Python `struct` format, size and a type summary.
pub fn render(schema: &Schema) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "protocol {}", schema.protocol);
    for service in &schema.services {
        let _ = writeln!(
            out,
            "\nservice {} ({} method{})",
            service.service,
            service.methods.len(),
            if service.methods.len() == 1 { "" } else { "s" }
        );
        let width = service
            .methods
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(0)
            .max("method".len());
        let _ = writeln!(
            out,
            "  {:width$}  {:>10}  {:>10}  read-only",
            "method", "id", "fingerprint"
        );
        for method in &service.methods {
            let _ = writeln!(
                out,
                "  {:width$}  {:>10}  0x{:08x}  {}",
                method.name,
                method.id,
                method.fingerprint,
                if method.read_only { "yes" } else { "no" }
            );
            for (label, message) in [
                ("request", &method.request),
                ("response", &method.response),
                ("error", &method.error),
            ] {
                let _ = writeln!(out, "      {label:<8}  {}", message_line(message));
            }
        }
    }
    out
}

/// `!qq  16 bytes  { a: i64, b: i64 }`, `list of !I12s ...`, or `()`.
pub fn message_line(message: &MessageDesc) -> String {
    match message {
        MessageDesc::Unit => "()  0 bytes".to_owned(),
        MessageDesc::Record(r) => format!(
            "{}  {} byte{}  {}",
            r.format,
            r.size,
            if r.size == 1 { "" } else { "s" },
            type_name(&r.ty)
        ),
        MessageDesc::List(r) => format!(
            "list of {}  {} bytes each  [{}]",
            r.format,
            r.size,
            type_name(&r.ty)
        ),
        _ => "(a message kind this tool does not know)".to_owned(),
    }
}

/// A Rust-like summary of a type: `i64`, `str[16]`, `[u32; 4]`, `{ a: i64, b: bool }`.
pub fn type_name(ty: &TypeDesc) -> String {
    match ty {
        TypeDesc::Record { fields } => {
            let fields: Vec<String> = fields
                .iter()
                .filter(|f| !matches!(f.ty, TypeDesc::Padding { .. }))
                .map(|f| format!("{}: {}", f.name, type_name(&f.ty)))
                .collect();
            if fields.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        TypeDesc::Int { size, signed } => {
            format!("{}{}", if *signed { 'i' } else { 'u' }, size * 8)
        }
        TypeDesc::Float { size } => format!("f{}", size * 8),
        TypeDesc::Bool => "bool".to_owned(),
        TypeDesc::Text { size } => format!("str[{size}]"),
        TypeDesc::PascalText { size } => format!("pstr[{size}]"),
        TypeDesc::Bytes { size } => format!("bytes[{size}]"),
        TypeDesc::Enum { name, variants, .. } => format!(
            "{name}({})",
            variants
                .iter()
                .map(|v| format!("{}={}", v.name, v.value))
                .collect::<Vec<_>>()
                .join("|")
        ),
        TypeDesc::Array { count, element } => format!("[{}; {count}]", type_name(element)),
        TypeDesc::Padding { size } => format!("pad[{size}]"),
        _ => "?".to_owned(),
    }
}
