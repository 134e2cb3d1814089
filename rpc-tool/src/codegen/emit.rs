//! Writes the Python module from the [`Model`].

use super::fields::{build, flat, offset, value_codec};
use super::model::{ErrorKind, Model, RecordClass, ServiceModel};
use super::names::{py_str, py_text};
use crate::schema::Schema;
use rpc_runtime::schema::TypeDesc;
use std::fmt::Write as _;

/// The module's static part: frames, connection, pipelining, exceptions, field codecs.
const RUNTIME: &str = include_str!("runtime.py");

/// The tool's name and version, as the header names it.
const TOOL: &str = concat!("rpc-tool ", env!("CARGO_PKG_VERSION"));

pub(crate) fn module(schema: &Schema, model: &Model<'_>, digest: u32) -> String {
    let mut out = String::new();
    header(&mut out, schema, digest);
    out.push_str(RUNTIME);
    let _ = writeln!(
        out,
        "\nSCHEMA_DIGEST = {digest:#010x}\n\"\"\"FNV-1a of the compact describe document this module was generated from.\"\"\""
    );
    section(&mut out, "Message formats");
    for (i, format) in model.structs.iter().enumerate() {
        let _ = writeln!(out, "_S{i} = struct.Struct({})", py_str(format));
    }
    for (i, prefix) in model.counts.iter().enumerate() {
        let _ = writeln!(
            out,
            "_C{i} = struct.Struct({})",
            py_str(&format!("{prefix}I"))
        );
    }
    if !model.enums.is_empty() {
        section(&mut out, "Enums");
    }
    for e in &model.enums {
        enum_class(&mut out, e);
    }
    if !model.records.is_empty() {
        section(&mut out, "Messages");
    }
    for record in &model.records {
        record_class(&mut out, model, record);
    }
    if !model.aliases.is_empty() {
        out.push_str("\n\n# Methods whose messages have the same shape share one class.\n");
    }
    for (alias, class) in &model.aliases {
        let _ = writeln!(out, "{alias} = {class}");
    }
    if !model.records.is_empty() {
        out.push_str("\n\n# Private names of the classes, for method bodies whose parameters may shadow them.\n");
    }
    for (i, record) in model.records.iter().enumerate() {
        let _ = writeln!(out, "_R{i} = {}", record.name);
    }
    for (i, ty) in model.values.iter().enumerate() {
        value_codec(&mut out, model, i, ty);
    }
    if !model.errors.is_empty() {
        section(&mut out, "Application errors");
    }
    for (i, _) in model.errors.iter().enumerate() {
        error_classes(&mut out, model, i);
    }
    for service in &model.services {
        section(&mut out, &format!("Service {}", py_text(service.name)));
        service_code(&mut out, model, service);
    }
    let mut all: Vec<&str> = vec![
        "PROTOCOL_VERSION",
        "DEFAULT_MAX_BODY",
        "SCHEMA_DIGEST",
        "WireError",
        "RpcError",
        "ApplicationError",
        "Cancelled",
        "DeadlineExceeded",
        "UnknownMethod",
        "BadRequest",
        "ResourceExhausted",
        "Unavailable",
        "Internal",
        "SchemaMismatch",
        "Pending",
        "Connection",
    ];
    all.extend(model.enums.iter().map(|e| e.name.as_str()));
    all.extend(model.records.iter().map(|r| r.name.as_str()));
    all.extend(model.aliases.iter().map(|(a, _)| a.as_str()));
    for error in &model.errors {
        match &error.kind {
            ErrorKind::Variants { classes, .. } => {
                all.extend(classes.iter().map(|(c, _)| c.as_str()))
            }
            ErrorKind::Value(class) => all.push(class),
        }
    }
    for service in &model.services {
        all.push(&service.client);
        all.push(&service.pipeline);
    }
    out.push_str("\n__all__ = [\n");
    for name in all {
        let _ = writeln!(out, "    {},", py_str(name));
    }
    out.push_str("]\n");
    tidy(&out)
}

/// At most two blank lines in a row, and one after a line that opens a block or a section
/// comment, whatever the pieces above wrote.
fn tidy(module: &str) -> String {
    let mut out = String::with_capacity(module.len());
    let mut blanks = 0;
    let mut previous = "";
    for line in module.lines() {
        if line.trim().is_empty() {
            blanks += 1;
            continue;
        }
        let limit = if previous.ends_with(':') || previous.starts_with("# ") {
            if line.starts_with("    ") || previous.ends_with(':') {
                0
            } else {
                1
            }
        } else if line.starts_with(' ') {
            1
        } else {
            2
        };
        if !out.is_empty() {
            for _ in 0..blanks.min(limit) {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        blanks = 0;
        previous = line;
    }
    out
}

fn header(out: &mut String, schema: &Schema, digest: u32) {
    let names: Vec<String> = schema
        .services
        .iter()
        .map(|s| py_text(&s.service))
        .collect();
    let methods: usize = schema.services.iter().map(|s| s.methods.len()).sum();
    let _ = writeln!(
        out,
        "# Generated by `rpc gen python` ({TOOL}). Do not edit: generate it again instead."
    );
    let _ = writeln!(
        out,
        "# Service{} {}: {methods} method{}. Protocol version {}, schema digest {digest:#010x}.",
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        if methods == 1 { "" } else { "s" },
        schema.protocol,
    );
    let _ = writeln!(
        out,
        "# Standard library only; Python 3.9 or later. See docs/RPC-TOOL.md of rpc-runtime."
    );
    let _ = writeln!(
        out,
        "\"\"\"Client of the {} service{}, over the rpc-runtime binary protocol (TCP or Unix sockets).\n\n\
         Every call sends its method's fingerprint, so a server whose messages changed answers\n\
         `SchemaMismatch` instead of misread data. `timeout=` (seconds) travels as the call's deadline.\n\"\"\"\n\
         from __future__ import annotations\n",
        names.join(", "),
        if names.len() == 1 { "" } else { "s" },
    );
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n\n# {title}\n");
}

fn enum_class(out: &mut String, e: &super::model::EnumClass<'_>) {
    let TypeDesc::Enum {
        name, size, signed, ..
    } = e.ty
    else {
        return;
    };
    let _ = writeln!(
        out,
        "\nclass {}(enum.IntEnum):\n    \"\"\"Enum `{}` ({}{} on the wire).\"\"\"\n",
        e.name,
        py_text(name),
        if *signed { "i" } else { "u" },
        size * 8
    );
    for (member, _, value) in &e.members {
        let _ = writeln!(out, "    {member} = {value}");
    }
    out.push('\n');
}

fn record_class(out: &mut String, model: &Model<'_>, r: &RecordClass<'_>) {
    let _ = writeln!(out, "\n\n@dataclass\nclass {}:", r.name);
    match r.message {
        Some((m, _)) => {
            let _ = writeln!(
                out,
                "    \"\"\"Record `{}` ({} bytes), first used by {}.\"\"\"\n",
                py_text(&m.format),
                m.size,
                py_text(&r.origin)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    \"\"\"A record nested in {}.\"\"\"\n",
                py_text(&r.origin)
            );
        }
    }
    for (name, field, _) in &r.fields {
        let _ = writeln!(out, "    {name}: {}", model.py_type(&field.ty));
    }
    if !r.fields.is_empty() {
        out.push('\n');
    }
    if let Some((m, st)) = r.message {
        let label = py_str(&r.name);
        let _ = writeln!(
            out,
            "    FORMAT = {}\n    SIZE = {}\n\n\
             \x20   def pack(self) -> bytes:\n\
             \x20       \"\"\"The record's bytes, in FORMAT; WireError when a field does not fit.\"\"\"\n\
             \x20       return _pack_one(_S{st}, {name}._flat, self, {label})\n\n\
             \x20   @classmethod\n\
             \x20   def unpack(cls, data: bytes) -> {name}:\n\
             \x20       \"\"\"The record in `data` (exactly SIZE bytes); WireError when they are not one.\"\"\"\n\
             \x20       return _unpack_one(_S{st}, {name}._from, data, {label})\n",
            py_str(&m.format),
            m.size,
            name = r.name,
        );
    }
    let _ = writeln!(
        out,
        "    @staticmethod\n    def _from(v: Tuple[Any, ...], at: int) -> {}:\n        return {}(",
        r.name, r.name
    );
    for (name, field, at) in &r.fields {
        let path = py_str(&format!("{}.{name}", r.name));
        let _ = writeln!(
            out,
            "            {},",
            build(model, &field.ty, &offset(*at), &path, 0)
        );
    }
    out.push_str("        )\n\n    def _flat(self, out: List[Any]) -> None:\n");
    if r.fields.is_empty() {
        out.push_str("        pass\n");
    }
    for (name, field, _) in &r.fields {
        let path = py_str(&format!("{}.{name}", r.name));
        flat(out, model, &field.ty, &format!("self.{name}"), &path, 0, 8);
    }
}

fn error_classes(out: &mut String, model: &Model<'_>, index: usize) {
    let error = &model.errors[index];
    match &error.kind {
        ErrorKind::Variants {
            enum_index,
            classes,
        } => {
            let e = &model.enums[*enum_index];
            for (class, member) in classes {
                let _ = writeln!(
                    out,
                    "\n\nclass {class}(ApplicationError):\n    \"\"\"The service's error `{}.{member}`.\"\"\"\n\n    error: {}",
                    e.name, e.name
                );
            }
            let _ = writeln!(
                out,
                "\n\n_ERRORS{index}: Dict[{}, Type[ApplicationError]] = {{",
                e.name
            );
            for (class, member) in classes {
                let _ = writeln!(out, "    {}.{member}: {class},", e.name);
            }
            let _ = writeln!(
                out,
                "}}\n\n\ndef _fail{index}(method: str, body: bytes) -> ApplicationError:\n\
                 \x20   error = {}\n\
                 \x20   return _ERRORS{index}[error](f'{{method}} failed: {}.{{error.name}}', error)\n",
                error.decode, e.name
            );
        }
        ErrorKind::Value(class) => {
            let _ = writeln!(
                out,
                "\n\nclass {class}(ApplicationError):\n    \"\"\"The service's error; `error` holds its value.\"\"\"\n\n    error: {}\n\n\
                 \ndef _fail{index}(method: str, body: bytes) -> ApplicationError:\n\
                 \x20   error = {}\n\
                 \x20   return {class}(f'{{method}} failed: {{error!r}}', error)\n",
                error.py_type, error.decode
            );
        }
    }
}

fn service_code(out: &mut String, model: &Model<'_>, service: &ServiceModel<'_>) {
    let mut constants = Vec::new();
    for (i, m) in service.methods.iter().enumerate() {
        let constant = format!("_M_{}_{i}", service.client);
        let _ = writeln!(
            out,
            "{constant}: _Method[{}] = _Method(\n    {}, {:#010x}, {:#010x},\n    lambda body: {},\n    {})",
            m.response_type,
            py_str(&format!("{}.{}", service.name, m.desc.name)),
            m.desc.id,
            m.desc.fingerprint,
            m.decode,
            m.fail,
        );
        constants.push(constant);
    }
    let name = py_text(service.name);
    let _ = writeln!(
        out,
        "\n\nclass {client}(_Client):\n\
         \x20   \"\"\"Client of service `{name}`: one method per RPC, each waiting for its reply.\n\n\
         \x20   `{client}('tcp://127.0.0.1:7878')` or `unix:///path/to.sock`; `timeout` (seconds, default\n\
         \x20   10, `None` for none) is each call's deadline unless the call passes its own. The socket\n\
         \x20   opens on the first call. Use it in a `with` block, or call `connection.close()`.\n\
         \x20   \"\"\"\n\n\
         \x20   def __init__(self, endpoint: Union[str, Connection], *, timeout: Optional[float] = 10.0,\n\
         \x20                connect_timeout: Optional[float] = 10.0, max_body: int = DEFAULT_MAX_BODY) -> None:\n\
         \x20       super().__init__(endpoint, timeout, connect_timeout, max_body)\n\n\
         \x20   def pipeline(self) -> {pipeline}:\n\
         \x20       \"\"\"Several calls on this connection, sent together; see `{pipeline}`.\"\"\"\n\
         \x20       return {pipeline}(self)",
        client = service.client,
        pipeline = service.pipeline,
    );
    for (m, constant) in service.methods.iter().zip(&constants) {
        method(out, model, service.name, m, constant, false);
    }
    let _ = writeln!(
        out,
        "\n\nclass {pipeline}(_Pipeline):\n\
         \x20   \"\"\"Calls of service `{name}` sent together on one connection, answered in any order.\n\n\
         \x20   Each method queues its request and returns a `Pending`; the requests go out in one write at\n\
         \x20   `flush()`, `replies()`, `wait()`, the first `Pending.result()` or the end of the `with`\n\
         \x20   block, which waits for every reply. `replies()` yields the calls as their replies come.\n\
         \x20   \"\"\"\n\n\
         \x20   def __enter__(self) -> {pipeline}:\n\
         \x20       return self",
        pipeline = service.pipeline,
    );
    for (m, constant) in service.methods.iter().zip(&constants) {
        method(out, model, service.name, m, constant, true);
    }
}

fn method(
    out: &mut String,
    model: &Model<'_>,
    service: &str,
    m: &super::model::MethodModel<'_>,
    constant: &str,
    pipelined: bool,
) {
    let mut params: Vec<String> = vec!["self".into()];
    params.extend(m.params.iter().map(|(name, ty)| format!("{name}: {ty}")));
    params.push("*".into());
    params.push("timeout: Optional[float] = None".into());
    let returns = if pipelined {
        format!("Pending[{}]", m.response_type)
    } else {
        m.response_type.clone()
    };
    let one_line = format!("    def {}({}) -> {returns}:", m.py_name, params.join(", "));
    if one_line.len() <= 100 {
        let _ = writeln!(out, "\n{one_line}");
    } else {
        let _ = writeln!(out, "\n    def {}(", m.py_name);
        for param in &params {
            let _ = writeln!(out, "        {param},");
        }
        let _ = writeln!(out, "    ) -> {returns}:");
    }
    let d = m.desc;
    let _ = writeln!(
        out,
        "        \"\"\"{} `{}.{}` (id {:#010x}, fingerprint {:#010x}).\n\n        {}\n        \"\"\"",
        if pipelined { "Queues" } else { "Calls" },
        py_text(service),
        py_text(&d.name),
        d.id,
        d.fingerprint,
        raises(model, m, pipelined),
    );
    let call = if pipelined { "_start" } else { "_call" };
    let _ = writeln!(
        out,
        "        return self.{call}({constant}, {}, timeout)",
        m.request
    );
}

/// The docstring line on what a method raises.
fn raises(model: &Model<'_>, m: &super::model::MethodModel<'_>, pipelined: bool) -> String {
    let app = match m.error.map(|i| &model.errors[i].kind) {
        None => "ApplicationError".to_owned(),
        Some(ErrorKind::Value(class)) => class.clone(),
        Some(ErrorKind::Variants { classes, .. }) => {
            let names: Vec<&str> = classes.iter().map(|(c, _)| c.as_str()).collect();
            format!("ApplicationError ({})", names.join(", "))
        }
    };
    wrap(
        &format!(
            "{} {app}; other failures the RpcError of their status.",
            if pipelined {
                "Its result() raises the service's errors as"
            } else {
                "Raises the service's errors as"
            }
        ),
        8,
    )
}

/// `text` broken into lines of at most about 96 columns, continued at `indent`.
fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut width = indent;
    for word in text.split(' ') {
        if width + word.len() > 96 && width > indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            width = indent;
        } else if !out.is_empty() {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}
