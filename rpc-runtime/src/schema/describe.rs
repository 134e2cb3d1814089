//! The document the built-in `describe` call returns: every served service, its methods, and
//! each message's format and type tree.
//!
//! With the `json` feature the document is written (and parsed) by serde_json; without it a
//! small writer in this file produces the same bytes, so a server never needs serde_json just
//! to describe itself. A test under the feature checks that both agree.

use super::desc::{DescError, FieldDesc, MessageDesc, RecordDesc, TypeDesc};
use super::{MethodSchema, ServiceSchema};

/// The whole `describe` reply.
///
/// Serialised (feature `json`) as
/// `{"protocol":1,"services":[{"service":"Calc","methods":[…]}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct DescribeDoc {
    /// The protocol version the server speaks.
    pub protocol: u8,
    /// The served services, in the order they were added.
    pub services: Vec<ServiceDesc>,
}

/// One service in a [`DescribeDoc`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct ServiceDesc {
    /// The service's name.
    pub service: String,
    /// Its methods, in declaration order.
    pub methods: Vec<MethodDesc>,
}

/// One method in a [`ServiceDesc`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct MethodDesc {
    /// The method's name.
    pub name: String,
    /// Its id.
    pub id: u32,
    /// Its fingerprint.
    pub fingerprint: u32,
    /// Whether it is read-only (`#[rpc(read_only)]`).
    pub read_only: bool,
    /// The request.
    pub request: MessageDesc,
    /// The response.
    pub response: MessageDesc,
    /// The application error.
    pub error: MessageDesc,
}

impl DescribeDoc {
    /// The document for these services, served over protocol version `protocol`
    /// ([`frame::VERSION`](crate::frame::VERSION)).
    ///
    /// # Errors
    ///
    /// [`DescError`] for layouts no derived type produces.
    pub fn new(protocol: u8, services: &[&ServiceSchema]) -> Result<DescribeDoc, DescError> {
        Ok(DescribeDoc {
            protocol,
            services: services
                .iter()
                .map(|s| ServiceDesc::from_schema(s))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The document as compact JSON, as the `describe` reply carries it.
    pub fn to_json(&self) -> String {
        #[cfg(feature = "json")]
        {
            // Every part of the document serialises; serde_json fails only on map keys that
            // are not strings, and there are none.
            serde_json::to_string(self).unwrap_or_default()
        }
        #[cfg(not(feature = "json"))]
        {
            write::doc(self)
        }
    }
}

impl ServiceDesc {
    /// Describes a service.
    ///
    /// # Errors
    ///
    /// [`DescError`] for layouts no derived type produces.
    pub fn from_schema(schema: &ServiceSchema) -> Result<ServiceDesc, DescError> {
        Ok(ServiceDesc {
            service: schema.name.to_owned(),
            methods: schema
                .methods
                .iter()
                .map(MethodDesc::from_schema)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl MethodDesc {
    /// Describes a method.
    ///
    /// # Errors
    ///
    /// [`DescError`] for layouts no derived type produces.
    pub fn from_schema(method: &MethodSchema) -> Result<MethodDesc, DescError> {
        Ok(MethodDesc {
            name: method.name.to_owned(),
            id: method.id,
            fingerprint: method.fingerprint,
            read_only: method.read_only,
            request: MessageDesc::from_shape(&method.request)?,
            response: MessageDesc::from_shape(&method.response)?,
            error: MessageDesc::from_shape(&method.error)?,
        })
    }
}

/// The JSON writer for builds without serde_json. It writes exactly what serde_json writes
/// for the derived `Serialize` impls: compact, keys in declaration order.
#[cfg_attr(feature = "json", allow(dead_code))]
mod write {
    use super::*;
    use core::fmt::Write as _;

    pub(super) fn doc(doc: &DescribeDoc) -> String {
        let mut out = String::new();
        let _ = write!(out, "{{\"protocol\":{},\"services\":[", doc.protocol);
        for (i, service) in doc.services.iter().enumerate() {
            comma(&mut out, i);
            out.push_str("{\"service\":");
            string(&mut out, &service.service);
            out.push_str(",\"methods\":[");
            for (j, m) in service.methods.iter().enumerate() {
                comma(&mut out, j);
                out.push_str("{\"name\":");
                string(&mut out, &m.name);
                let _ = write!(
                    out,
                    ",\"id\":{},\"fingerprint\":{},\"read_only\":{},\"request\":",
                    m.id, m.fingerprint, m.read_only
                );
                message(&mut out, &m.request);
                out.push_str(",\"response\":");
                message(&mut out, &m.response);
                out.push_str(",\"error\":");
                message(&mut out, &m.error);
                out.push('}');
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        out
    }

    fn comma(out: &mut String, index: usize) {
        if index > 0 {
            out.push(',');
        }
    }

    fn message(out: &mut String, m: &MessageDesc) {
        let (kind, record) = match m {
            MessageDesc::Unit => {
                out.push_str("{\"kind\":\"unit\"}");
                return;
            }
            MessageDesc::Record(r) => ("record", r),
            MessageDesc::List(r) => ("list", r),
        };
        let RecordDesc {
            format,
            size,
            order,
            ty: t,
        } = record;
        let _ = write!(out, "{{\"kind\":\"{kind}\",\"format\":");
        string(out, format);
        let _ = write!(
            out,
            ",\"size\":{size},\"order\":\"{}\",\"type\":",
            order.prefix()
        );
        ty(out, t);
        out.push('}');
    }

    fn ty(out: &mut String, t: &TypeDesc) {
        let _ = match t {
            TypeDesc::Record { fields } => {
                out.push_str("{\"kind\":\"record\",\"fields\":[");
                for (i, FieldDesc { name, ty: field }) in fields.iter().enumerate() {
                    comma(out, i);
                    out.push_str("{\"name\":");
                    string(out, name);
                    out.push_str(",\"type\":");
                    ty(out, field);
                    out.push('}');
                }
                out.push_str("]}");
                Ok(())
            }
            TypeDesc::Int { size, signed } => write!(
                out,
                "{{\"kind\":\"int\",\"size\":{size},\"signed\":{signed}}}"
            ),
            TypeDesc::Float { size } => write!(out, "{{\"kind\":\"float\",\"size\":{size}}}"),
            TypeDesc::Bool => write!(out, "{{\"kind\":\"bool\"}}"),
            TypeDesc::Text { size } => write!(out, "{{\"kind\":\"text\",\"size\":{size}}}"),
            TypeDesc::PascalText { size } => {
                write!(out, "{{\"kind\":\"pascal_text\",\"size\":{size}}}")
            }
            TypeDesc::Bytes { size } => write!(out, "{{\"kind\":\"bytes\",\"size\":{size}}}"),
            TypeDesc::Enum {
                name,
                size,
                signed,
                variants,
            } => {
                out.push_str("{\"kind\":\"enum\",\"name\":");
                string(out, name);
                let _ = write!(out, ",\"size\":{size},\"signed\":{signed},\"variants\":[");
                for (i, v) in variants.iter().enumerate() {
                    comma(out, i);
                    out.push_str("{\"name\":");
                    string(out, &v.name);
                    let _ = write!(out, ",\"value\":{}}}", v.value);
                }
                out.push_str("]}");
                Ok(())
            }
            TypeDesc::Array { count, element } => {
                let _ = write!(out, "{{\"kind\":\"array\",\"count\":{count},\"element\":");
                ty(out, element);
                out.push('}');
                Ok(())
            }
            TypeDesc::Padding { size } => {
                write!(out, "{{\"kind\":\"padding\",\"size\":{size}}}")
            }
        };
    }

    /// A JSON string literal, escaped as serde_json escapes.
    pub(super) fn string(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;
    use crate::schema::VariantDesc;
    use crate::wire::ByteOrder;

    /// The writer for builds without serde_json writes what serde_json writes.
    #[test]
    fn the_plain_writer_matches_serde_json() {
        let record = RecordDesc {
            format: "@b\"\\\n".into(),
            size: 3,
            order: ByteOrder::Native,
            ty: TypeDesc::Record {
                fields: vec![
                    FieldDesc {
                        name: "tab\there\u{1}\u{8}\u{c}\r".into(),
                        ty: TypeDesc::Enum {
                            name: "É".into(),
                            size: 8,
                            signed: false,
                            variants: vec![
                                VariantDesc {
                                    name: "Max".into(),
                                    value: u64::MAX.into(),
                                },
                                VariantDesc {
                                    name: "Min".into(),
                                    value: i64::MIN.into(),
                                },
                            ],
                        },
                    },
                    FieldDesc {
                        name: "a".into(),
                        ty: TypeDesc::Array {
                            count: 2,
                            element: Box::new(TypeDesc::Float { size: 2 }),
                        },
                    },
                    FieldDesc {
                        name: "b".into(),
                        ty: TypeDesc::Record { fields: vec![] },
                    },
                ]
                .into_iter()
                .chain(
                    [
                        TypeDesc::Int {
                            size: 4,
                            signed: true,
                        },
                        TypeDesc::Bool,
                        TypeDesc::Text { size: 3 },
                        TypeDesc::PascalText { size: 3 },
                        TypeDesc::Bytes { size: 3 },
                        TypeDesc::Padding { size: 3 },
                    ]
                    .into_iter()
                    .map(|ty| FieldDesc {
                        name: "x".into(),
                        ty,
                    }),
                )
                .collect(),
            },
        };
        let doc = DescribeDoc {
            protocol: 1,
            services: vec![ServiceDesc {
                service: "S".into(),
                methods: vec![MethodDesc {
                    name: "m".into(),
                    id: 7,
                    fingerprint: u32::MAX,
                    read_only: true,
                    request: MessageDesc::Unit,
                    response: MessageDesc::Record(record.clone()),
                    error: MessageDesc::List(record),
                }],
            }],
        };
        let expected = serde_json::to_string(&doc).unwrap();
        assert_eq!(write::doc(&doc), expected);
        let back: DescribeDoc = serde_json::from_str(&expected).unwrap();
        assert_eq!(back, doc);
    }
}
