//! Just enough JSON writing for `--json`: objects with string, integer, boolean and null
//! members, arrays of those objects, and correct string escaping.

use std::fmt::Write as _;

/// A JSON object being written, members in the order they are added.
#[derive(Debug)]
pub struct Object {
    text: String,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object {
            text: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        escape_into(&mut self.text, key);
        self.text.push(':');
    }

    /// Adds a string member.
    pub fn str(mut self, key: &str, value: &str) -> Object {
        self.key(key);
        escape_into(&mut self.text, value);
        self
    }

    /// Adds a string member, or `null` for `None`.
    pub fn opt_str(self, key: &str, value: Option<&str>) -> Object {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    /// Adds an integer member.
    pub fn int(mut self, key: &str, value: impl Into<i128>) -> Object {
        self.key(key);
        let _ = write!(self.text, "{}", value.into());
        self
    }

    /// Adds a boolean member.
    pub fn bool(mut self, key: &str, value: bool) -> Object {
        self.key(key);
        self.text.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a `null` member.
    pub fn null(mut self, key: &str) -> Object {
        self.key(key);
        self.text.push_str("null");
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// A JSON array of already-written values.
pub fn array(values: impl IntoIterator<Item = String>) -> String {
    let mut text = String::from("[");
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&value);
    }
    text.push(']');
    text
}

/// Appends `value` as a quoted JSON string: `"` and `\` are escaped, and so is every control
/// character (U+0000 to U+001F, and U+007F for the benefit of terminals). Other characters,
/// including non-ASCII ones, are written as UTF-8.
pub fn escape_into(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(value: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, value);
        out
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(quoted("alice"), r#""alice""#);
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("a\nb\tc\r"), r#""a\nb\tc\r""#);
        assert_eq!(
            quoted("\u{0}\u{1f}\u{7f}\u{8}\u{c}"),
            r#""\u0000\u001f\u007f\b\f""#
        );
        assert_eq!(quoted("é 名前 🦀"), "\"é 名前 🦀\"");
        assert_eq!(quoted("</script>"), r#""</script>""#);
    }

    #[test]
    fn builds_objects_and_arrays() {
        let object = Object::new()
            .int("id", 7u64)
            .int("cents", -5i64)
            .str("name", "bob \"the\" builder")
            .opt_str("counterparty", None)
            .bool("ok", true)
            .finish();
        assert_eq!(
            object,
            r#"{"id":7,"cents":-5,"name":"bob \"the\" builder","counterparty":null,"ok":true}"#
        );
        assert_eq!(Object::new().finish(), "{}");
        assert_eq!(array(Vec::new()), "[]");
        assert_eq!(array(["{}".to_owned(), "{}".to_owned()]), "[{},{}]");
    }

    #[test]
    fn output_is_valid_json() {
        let tricky: String = (0u8..=127).map(char::from).collect::<String>() + "é\u{2028}";
        let object = Object::new()
            .str(&tricky, &tricky)
            .int("max", u64::MAX)
            .int("min", i64::MIN)
            .finish();
        let parsed: serde_json::Value = serde_json::from_str(&object).unwrap();
        assert_eq!(
            parsed[tricky.as_str()],
            serde_json::Value::String(tricky.clone())
        );
        assert_eq!(parsed["max"], serde_json::json!(u64::MAX));
        assert_eq!(parsed["min"], serde_json::json!(i64::MIN));
    }
}
