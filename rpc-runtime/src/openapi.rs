//! OpenAPI 3.1 documents for the HTTP face of served services (feature `json`).
//!
//! [`document`] describes, for every method, `POST /{Service}/{method}` with a JSON body (and
//! with the Wire bytes as `application/octet-stream`), `GET /{Service}/{method}` with one query
//! parameter per request field for methods marked `#[rpc(read_only)]`, and the built-in
//! `GET /health` and `GET /describe`. Message schemas are JSON Schema 2020-12 derived from the
//! same [type descriptions](crate::schema::TypeDesc) as the [JSON mapping](crate::json), so
//! the document and the transcoder cannot disagree: 64-bit integers are strings of decimal
//! digits, byte strings are hex, enums are their variant names.
//!
//! # Examples
//!
//! ```
//! use rpc_runtime::{Wire, openapi, service};
//!
//! #[derive(Wire)]
//! pub struct Key { id: u64 }
//! #[derive(Wire)]
//! pub struct Found { value: i32 }
//! #[derive(Wire)]
//! #[repr(u8)]
//! pub enum StoreError { Missing = 1 }
//!
//! #[service]
//! pub trait Store {
//!     /// Looks a key up.
//!     #[rpc(read_only)]
//!     async fn get(&self, key: Key) -> Result<Found, StoreError>;
//! }
//!
//! let doc = openapi::document("store", "1.0.0", &[&StoreClient::SCHEMA])?;
//! assert_eq!(doc["openapi"], "3.1.0");
//! let get = &doc["paths"]["/Store/get"]["get"];
//! assert_eq!(get["parameters"][0]["name"], "id");
//! assert_eq!(get["parameters"][0]["schema"]["pattern"], "^[0-9]+$");
//! # Ok::<(), rpc_runtime::schema::DescError>(())
//! ```

use crate::schema::{DescError, DescribeDoc, MessageDesc, MethodDesc, ServiceSchema, TypeDesc};
use crate::status::Status;
use serde_json::{Map, Value, json};

/// The OpenAPI document for these services, with `title` and `version` as its `info`.
///
/// # Errors
///
/// [`DescError`] for message layouts no derived type produces.
pub fn document(
    title: &str,
    version: &str,
    services: &[&ServiceSchema],
) -> Result<Value, DescError> {
    Ok(from_describe(
        title,
        version,
        &DescribeDoc::new(crate::frame::VERSION, services)?,
    ))
}

/// The OpenAPI document for the services of a `describe` reply.
pub fn from_describe(title: &str, version: &str, doc: &DescribeDoc) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Error".into(), error_schema());
    paths.insert("/health".into(), health());
    paths.insert("/describe".into(), describe());
    for service in &doc.services {
        for method in &service.methods {
            let name = format!("{}.{}", service.service, method.name);
            let path = format!("/{}/{}", service.service, method.name);
            paths.insert(path, Operations::new(&name, method, &mut schemas).item());
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every method of every service over HTTP: POST a JSON object (or the \
                Wire bytes as application/octet-stream) to /{Service}/{method}; read-only \
                methods also answer GET with one query parameter per request field. 64-bit \
                integers are strings of decimal digits, byte strings lowercase hex, enums their \
                variant names."
        },
        "paths": paths,
        "components": { "schemas": schemas },
    })
}

/// The operations of one method and the component schemas they refer to.
struct Operations<'a> {
    name: &'a str,
    method: &'a MethodDesc,
    request: Value,
    response: Value,
    error: Value,
}

impl<'a> Operations<'a> {
    fn new(name: &'a str, method: &'a MethodDesc, schemas: &mut Map<String, Value>) -> Self {
        let mut component = |role: &str, schema: Value| {
            let key = format!("{name}.{role}");
            schemas.insert(key.clone(), schema);
            json!({ "$ref": format!("#/components/schemas/{key}") })
        };
        let request = component("Request", message_schema(&method.request));
        let response = component("Response", message_schema(&method.response));
        let error = component(
            "Error",
            json!({
                "allOf": [ { "$ref": "#/components/schemas/Error" } ],
                "properties": {
                    "error": {
                        "description": "the method's typed error when `status` is `application`, else null",
                        "anyOf": [ message_schema(&method.error), { "type": "null" } ]
                    }
                }
            }),
        );
        Operations {
            name,
            method,
            request,
            response,
            error,
        }
    }

    fn responses(&self) -> Value {
        json!({
            "200": {
                "description": "the method's response",
                "content": {
                    "application/json": { "schema": self.response },
                    "application/octet-stream": {
                        "schema": { "type": "string", "contentMediaType": "application/octet-stream" }
                    }
                }
            },
            "default": {
                "description": "the call failed: `status` names the reason (the application \
                    error, a bad request, a limit, …)",
                "content": { "application/json": { "schema": self.error } }
            }
        })
    }

    fn item(&self) -> Value {
        let mut item = Map::new();
        item.insert(
            "post".into(),
            json!({
                "operationId": self.name,
                "summary": format!("call {}", self.name),
                "requestBody": {
                    "required": !matches!(self.method.request, MessageDesc::Unit),
                    "content": {
                        "application/json": { "schema": self.request },
                        "application/octet-stream": {
                            "schema": { "type": "string", "contentMediaType": "application/octet-stream" }
                        }
                    }
                },
                "responses": self.responses(),
            }),
        );
        if self.method.read_only
            && let Some(parameters) = query_parameters(&self.method.request)
        {
            item.insert(
                "get".into(),
                json!({
                    "operationId": format!("{}.get", self.name),
                    "summary": format!("call {} (read-only) with the request in the query", self.name),
                    "parameters": parameters,
                    "responses": self.responses(),
                }),
            );
        }
        Value::Object(item)
    }
}

/// One query parameter per top-level field, or `None` when the request cannot be a query.
fn query_parameters(request: &MessageDesc) -> Option<Vec<Value>> {
    let record = match request {
        MessageDesc::Unit => return Some(Vec::new()),
        MessageDesc::List(_) => return None,
        MessageDesc::Record(record) => record,
    };
    let TypeDesc::Record { fields } = &record.ty else {
        return Some(vec![json!({
            "name": "value", "in": "query", "required": true, "schema": type_schema(&record.ty)
        })]);
    };
    let mut out = Vec::new();
    for field in fields {
        match &field.ty {
            TypeDesc::Padding { .. } => continue,
            TypeDesc::Record { .. } => return None,
            TypeDesc::Array { element, .. }
                if matches!(**element, TypeDesc::Record { .. } | TypeDesc::Array { .. }) =>
            {
                return None;
            }
            ty => out.push(json!({
                "name": field.name,
                "in": "query",
                "required": true,
                "style": "form",
                "explode": true,
                "schema": type_schema(ty),
            })),
        }
    }
    Some(out)
}

fn health() -> Value {
    json!({
        "get": {
            "operationId": "health",
            "summary": "whether the server is up",
            "responses": {
                "200": {
                    "description": "the server is up",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                }
            }
        }
    })
}

fn describe() -> Value {
    json!({
        "get": {
            "operationId": "describe",
            "summary": "every served method with its message formats and type trees (docs/PROTOCOL.md)",
            "responses": {
                "200": {
                    "description": "the describe document",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["protocol", "services"],
                                "properties": {
                                    "protocol": { "type": "integer" },
                                    "services": { "type": "array", "items": { "type": "object" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The error object every failed call answers.
fn error_schema() -> Value {
    let statuses: Vec<&str> = Status::ALL
        .iter()
        .filter(|s| **s != Status::Ok)
        .map(|s| s.snake_name())
        .collect();
    json!({
        "type": "object",
        "required": ["status", "message", "error"],
        "properties": {
            "status": { "type": "string", "enum": statuses },
            "message": { "type": "string" },
            "error": { "description": "the method's typed error, or null" }
        }
    })
}

/// The JSON Schema of a whole message.
fn message_schema(message: &MessageDesc) -> Value {
    match message {
        MessageDesc::Unit => json!({
            "description": "no fields: null (an empty object or an empty body are accepted too)",
            "anyOf": [ { "type": "null" }, { "type": "object", "maxProperties": 0 } ]
        }),
        MessageDesc::Record(record) => type_schema(&record.ty),
        MessageDesc::List(record) => json!({ "type": "array", "items": type_schema(&record.ty) }),
    }
}

/// The JSON Schema of a value of `ty`, as the JSON mapping writes and reads it.
pub fn type_schema(ty: &TypeDesc) -> Value {
    match ty {
        TypeDesc::Record { fields } => {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in fields {
                if matches!(field.ty, TypeDesc::Padding { .. }) {
                    continue;
                }
                properties.insert(field.name.clone(), type_schema(&field.ty));
                required.push(field.name.clone());
            }
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        }
        TypeDesc::Int { size: 8, signed } => json!({
            "type": "string",
            "pattern": if *signed { "^-?[0-9]+$" } else { "^[0-9]+$" },
            "description": format!(
                "a 64-bit {} integer as a string of decimal digits (a JSON number is accepted up to 2^53-1)",
                if *signed { "signed" } else { "unsigned" }
            ),
        }),
        TypeDesc::Int { size, signed } => {
            let bits = (*size as u32).min(4) * 8;
            let (min, max): (i64, i64) = if *signed {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            } else {
                (0, (1i64 << bits) - 1)
            };
            json!({ "type": "integer", "minimum": min, "maximum": max })
        }
        TypeDesc::Float { size } => json!({
            "anyOf": [
                { "type": "number", "format": if *size == 8 { "double" } else { "float" } },
                { "enum": ["NaN", "Infinity", "-Infinity"] }
            ]
        }),
        TypeDesc::Bool => json!({ "type": "boolean" }),
        TypeDesc::Text { size } => json!({
            "type": "string",
            "maxLength": size,
            "description": format!("text of at most {size} bytes of UTF-8, without NUL"),
        }),
        TypeDesc::PascalText { size } => {
            let capacity = size.saturating_sub(1).min(255);
            json!({
                "type": "string",
                "maxLength": capacity,
                "description": format!("text of at most {capacity} bytes of UTF-8"),
            })
        }
        TypeDesc::Bytes { size } => json!({
            "type": "string",
            "pattern": format!("^[0-9a-fA-F]{{{}}}$", 2 * size),
            "description": format!("{size} bytes as {} hex digits", 2 * size),
        }),
        TypeDesc::Enum { name, variants, .. } => json!({
            "type": "string",
            "enum": variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            "description": format!("a variant of `{name}`"),
        }),
        TypeDesc::Array { count, element } => json!({
            "type": "array",
            "items": type_schema(element),
            "minItems": count,
            "maxItems": count,
        }),
        TypeDesc::Padding { .. } => json!({ "type": "null" }),
    }
}
