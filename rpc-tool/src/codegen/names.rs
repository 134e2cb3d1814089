//! Python names for schema names: sanitised, escaped when they clash, unique per scope.
//!
//! The rules (also in docs/RPC-TOOL.md), applied in this order:
//! 1. every character other than an ASCII letter, digit or `_` becomes `_uXXXX` (its code point);
//! 2. a name that is empty or starts with a digit gets the scope's lead (`_` for fields, params
//!    and methods, so a tuple field `0` is `_0`); one that starts with `_` gets the scope's
//!    letter (`f`, `T` or `V`), since Python treats leading underscores specially;
//! 3. a Python keyword or soft keyword, a name the scope reserves, or (for classes and enum
//!    members, which live where builtins do) a builtin gets a trailing `_`. Fields, parameters
//!    and methods may shadow builtins the generated code never names in their class (`open`,
//!    `id`, `list`), so a method stays `open`; the ones it does name ([`VALUE_RESERVED`]) are
//!    escaped;
//! 4. a name already taken in the scope gets more trailing `_` until it is free.

use std::collections::HashSet;

/// Python 3 keywords and soft keywords.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "case", "match", "type", "_",
];

/// The public names of Python's `builtins` module (3.9 to 3.13).
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Names a field, parameter or method must not take because the class bodies the generated
/// code writes name them (in annotations and decorators), and in a class body a member of that
/// name would shadow them, for mypy and at run time alike.
pub(crate) const VALUE_RESERVED: &[&str] = &[
    "int",
    "float",
    "bool",
    "str",
    "bytes",
    "object",
    "classmethod",
    "staticmethod",
    "property",
    "super",
    "Any",
    "Dict",
    "Iterator",
    "List",
    "Optional",
    "Tuple",
    "Type",
    "Union",
    "Pending",
    "Connection",
];

/// What kind of names a scope holds, which decides the prefix of names that need one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Fields, parameters and methods: lower-case names.
    Value,
    /// Classes.
    Class,
    /// Enum members.
    Member,
}

/// One Python namespace: the names given out so far and the names it reserves.
#[derive(Debug)]
pub(crate) struct Scope {
    kind: Kind,
    reserved: HashSet<String>,
    taken: HashSet<String>,
}

impl Scope {
    /// A scope of `kind` where `reserved` (besides keywords, and builtins or
    /// [`VALUE_RESERVED`] by kind) must be escaped.
    pub(crate) fn new(kind: Kind, reserved: &[&str]) -> Scope {
        let by_kind = match kind {
            Kind::Value => VALUE_RESERVED,
            Kind::Class | Kind::Member => BUILTINS,
        };
        Scope {
            kind,
            reserved: reserved
                .iter()
                .chain(by_kind)
                .map(|s| (*s).to_owned())
                .collect(),
            taken: HashSet::new(),
        }
    }

    /// Whether `name` is free (neither reserved nor given out).
    pub(crate) fn is_free(&self, name: &str) -> bool {
        !self.taken.contains(name) && !self.reserved.contains(name) && !KEYWORDS.contains(&name)
    }

    /// The Python name for `raw`, made unique in this scope and taken.
    pub(crate) fn claim(&mut self, raw: &str) -> String {
        let mut name = escape(&sanitize(raw, self.kind), &self.reserved);
        while self.taken.contains(&name) || self.reserved.contains(&name) {
            name.push('_');
        }
        self.taken.insert(name.clone());
        name
    }

    /// The first of `candidates` that is free as it is (after sanitising), else the last one
    /// claimed as [`Scope::claim`] does.
    pub(crate) fn claim_first(&mut self, candidates: &[String]) -> String {
        for raw in candidates {
            let name = sanitize(raw, self.kind);
            if self.is_free(&name) {
                self.taken.insert(name.clone());
                return name;
            }
        }
        self.claim(candidates.last().map_or("", String::as_str))
    }
}

/// Rules 1 and 2.
fn sanitize(raw: &str, kind: Kind) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push_str(&format!("_u{:04x}", u32::from(c)));
        }
    }
    let (lead, letter) = match kind {
        Kind::Value => ("_", "f"),
        Kind::Class => ("T", "T"),
        Kind::Member => ("V", "V"),
    };
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, lead);
    } else if out.starts_with('_') {
        out.insert_str(0, letter);
    }
    out
}

/// Rule 3.
fn escape(name: &str, reserved: &HashSet<String>) -> String {
    if KEYWORDS.contains(&name) || reserved.contains(name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// `change_password` → `ChangePassword`.
pub(crate) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// `changePassword` → `change_password`; snake_case stays as it is.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// A Python string literal for `s`, on one line, ASCII only.
pub(crate) fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push('\'');
    out
}

/// `s` made safe for a comment or docstring: printable ASCII other than `\\` and `"` is kept,
/// anything else becomes `<U+XXXX>`, so nothing can end, bend or break the line.
pub(crate) fn py_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '"' => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_escaped_and_unique() {
        let mut fields = Scope::new(Kind::Value, &["pack"]);
        assert_eq!(fields.claim("id"), "id");
        assert_eq!(fields.claim("id_"), "id_");
        assert_eq!(fields.claim("int"), "int_");
        assert_eq!(fields.claim("list"), "list");
        assert_eq!(fields.claim("from"), "from_");
        assert_eq!(fields.claim("0"), "_0");
        assert_eq!(fields.claim("_reserved"), "f_reserved");
        assert_eq!(fields.claim("pack"), "pack_");
        assert_eq!(fields.claim("naïve"), "na_u00efve");
        assert_eq!(fields.claim("a\nimport os"), "a_u000aimport_u0020os");
        assert_eq!(fields.claim(""), "__");
        assert_eq!(fields.claim("cents"), "cents");
        let mut members = Scope::new(Kind::Member, &["name", "value"]);
        assert_eq!(members.claim("None"), "None_");
        assert_eq!(members.claim("value"), "value_");
        assert_eq!(members.claim("_x_"), "V_x_");
        let mut classes = Scope::new(Kind::Class, &["Internal"]);
        assert_eq!(classes.claim("list"), "list_");
        assert_eq!(
            classes.claim_first(&["Internal".into(), "MathErrorInternal".into()]),
            "MathErrorInternal"
        );
        assert_eq!(classes.claim_first(&["Overflow".into()]), "Overflow");
        assert_eq!(classes.claim_first(&["Overflow".into()]), "Overflow_");
    }

    #[test]
    fn case_conversions() {
        assert_eq!(camel("change_password"), "ChangePassword");
        assert_eq!(camel("get"), "Get");
        assert_eq!(snake("changePassword"), "change_password");
        assert_eq!(snake("deposit"), "deposit");
        assert_eq!(snake("HTTPGet"), "httpget");
    }

    #[test]
    fn literals_cannot_escape() {
        assert_eq!(py_str("it's\\\n"), "'it\\'s\\\\\\n'");
        assert_eq!(py_str("É€😀"), "'\\xc9\\u20ac\\U0001f600'");
        assert_eq!(py_text("a\"b\\\n"), "a<U+0022>b<U+005C><U+000A>");
    }
}
