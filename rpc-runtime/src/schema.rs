//! Machine-readable descriptions of services: method names, ids, message formats, fingerprints.

mod desc;

pub use desc::{
    DescError, FieldDesc, MAX_DESCRIBED_SIZE, MessageDesc, RecordDesc, TypeDesc, VariantDesc,
};

use crate::message::Shape;

/// One method of a service, as `#[service]` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodSchema {
    /// The method's name, as in the trait.
    pub name: &'static str,
    /// Its stable id: a hash of `Service.method`, unchanged when methods are reordered.
    pub id: u32,
    /// The request message.
    pub request: Shape,
    /// The response message.
    pub response: Shape,
    /// The service's typed error for this method.
    pub error: Shape,
    /// Whether the method only reads: `#[rpc(read_only)]` on the trait method. HTTP serves
    /// such methods on `GET` (and `HEAD`) too. Not part of the fingerprint.
    pub read_only: bool,
    /// A hash of the id and the three message formats. The client sends it with every call
    /// and the server compares it with its own, so a client built against another version of
    /// the service gets "schema mismatch" naming the method instead of garbled data.
    pub fingerprint: u32,
}

impl MethodSchema {
    /// Describes a method, computing its fingerprint.
    pub const fn new(
        name: &'static str,
        id: u32,
        request: Shape,
        response: Shape,
        error: Shape,
    ) -> Self {
        let mut h = fnv1a(FNV_OFFSET, &id.to_be_bytes());
        h = hash_shape(h, request);
        h = hash_shape(h, response);
        h = hash_shape(h, error);
        MethodSchema {
            name,
            id,
            request,
            response,
            error,
            read_only: false,
            // Zero means "do not check" on the wire; never produce it.
            fingerprint: if h == 0 { 1 } else { h },
        }
    }
}

impl MethodSchema {
    /// The same method, marked read-only (or not); what `#[rpc(read_only)]` generates.
    pub const fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

/// A whole service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSchema {
    /// The service's name (the trait's name).
    pub name: &'static str,
    /// Its methods, in declaration order.
    pub methods: &'static [MethodSchema],
}

impl ServiceSchema {
    /// The method with id `id`.
    pub fn method(&self, id: u32) -> Option<&MethodSchema> {
        self.methods.iter().find(|m| m.id == id)
    }

    /// The schema as a JSON object (what the built-in `describe` call returns per service).
    pub fn to_json(&self) -> String {
        let methods: Vec<String> = self
            .methods
            .iter()
            .map(|m| {
                format!(
                    "{{\"name\":{},\"id\":{},\"fingerprint\":{},\"read_only\":{},\"request\":{},\"response\":{},\"error\":{}}}",
                    json_str(m.name),
                    m.id,
                    m.fingerprint,
                    m.read_only,
                    shape_json(&m.request),
                    shape_json(&m.response),
                    shape_json(&m.error)
                )
            })
            .collect();
        format!(
            "{{\"service\":{},\"methods\":[{}]}}",
            json_str(self.name),
            methods.join(",")
        )
    }
}

/// A message as `describe` writes it: kind, format and size, then (for records and lists) the
/// byte order and the type tree a program needs to transcode the message.
fn shape_json(shape: &Shape) -> String {
    if let Ok(desc) = MessageDesc::from_shape(shape) {
        return desc.to_json();
    }
    // Only a hand-written layout no derive produces gets here: describe its format alone.
    match shape {
        Shape::Unit => "{\"kind\":\"unit\",\"format\":\"\",\"size\":0}".to_owned(),
        Shape::Record { format, size, .. } => {
            format!(
                "{{\"kind\":\"record\",\"format\":{},\"size\":{size}}}",
                json_str(format)
            )
        }
        Shape::List { format, size, .. } => {
            format!(
                "{{\"kind\":\"list\",\"format\":{},\"size\":{size}}}",
                json_str(format)
            )
        }
    }
}

/// A JSON string literal for `s`.
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a over `bytes`, continuing from `h`.
pub const fn fnv1a(mut h: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

const fn hash_shape(h: u32, shape: Shape) -> u32 {
    match shape {
        Shape::Unit => fnv1a(h, b"u;"),
        Shape::Record { format, .. } => fnv1a(fnv1a(h, b"r:"), format.as_bytes()),
        Shape::List { format, .. } => fnv1a(fnv1a(h, b"l:"), format.as_bytes()),
    }
}

/// The method id of `service.method`: FNV-1a of `"Service.method"`. `#[service]` computes the
/// same value at compile time and rejects collisions.
pub const fn method_id(service: &str, method: &str) -> u32 {
    let h = fnv1a(
        fnv1a(fnv1a(FNV_OFFSET, service.as_bytes()), b"."),
        method.as_bytes(),
    );
    if h == 0 { 1 } else { h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_values() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn json_escapes() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
