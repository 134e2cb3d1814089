//! Per-message and per-method codecs: built once from a schema, then used for every call.

use super::decode::Decoder;
use super::encode::Encoder;
use super::error::{JsonError, Result};
use super::query;
use crate::schema::{DescError, MessageDesc, MethodSchema, RecordDesc};
use crate::service::Reply;
use crate::status::Status;
use serde_json::Value;

/// Bytes of a list's record count.
const COUNT_SIZE: usize = 4;

/// Transcodes one message type (a request, response or error) between JSON and Wire bytes.
///
/// # Examples
///
/// ```
/// use rpc_runtime::json::MessageCodec;
/// use rpc_runtime::{Message, Wire};
///
/// #[derive(Wire, Debug, PartialEq)]
/// struct Deposit { account: u64, cents: i32, urgent: bool }
///
/// let codec = MessageCodec::from_shape(&Deposit::SHAPE)?;
/// let bytes = codec.from_json(br#"{"account": "42", "cents": 1250, "urgent": false}"#)?;
/// assert_eq!(bytes, Deposit { account: 42, cents: 1250, urgent: false }.to_vec());
/// assert_eq!(codec.to_value(&bytes)?, serde_json::json!({
///     "account": "42", "cents": 1250, "urgent": false
/// }));
/// # Ok::<(), rpc_runtime::json::JsonError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageCodec {
    desc: MessageDesc,
}

impl MessageCodec {
    /// A codec for a message description, typically parsed from a server's `describe`.
    ///
    /// # Errors
    ///
    /// [`JsonError::Schema`] when the description is malformed (see
    /// [`MessageDesc::validate`]).
    pub fn new(desc: MessageDesc) -> Result<Self> {
        desc.validate()?;
        Ok(MessageCodec { desc })
    }

    /// A codec for a static message shape (`<T as Message>::SHAPE`).
    ///
    /// # Errors
    ///
    /// [`JsonError::Schema`] for layouts no derived type produces.
    pub fn from_shape(shape: &crate::message::Shape) -> Result<Self> {
        MessageCodec::new(MessageDesc::from_shape(shape)?)
    }

    /// The description the codec works from.
    pub fn desc(&self) -> &MessageDesc {
        &self.desc
    }

    /// Encodes a parsed JSON value as the message's Wire bytes.
    ///
    /// `()` messages take `null` or `{}`; records take an object; lists take an array.
    ///
    /// # Errors
    ///
    /// A [`JsonError`] naming the first value that does not fit, and what was expected.
    pub fn from_value(&self, value: &Value) -> Result<Vec<u8>> {
        match &self.desc {
            MessageDesc::Unit => match value {
                Value::Null => Ok(Vec::new()),
                Value::Object(map) if map.is_empty() => Ok(Vec::new()),
                Value::Object(map) => Err(JsonError::UnknownField {
                    path: format!("$.{}", map.keys().next().map_or("", |k| k.as_str())),
                }),
                other => Err(JsonError::Mismatch {
                    path: "$".into(),
                    expected: "null or {} (the message has no fields)".into(),
                    found: super::encode::describe(other),
                }),
            },
            MessageDesc::Record(record) => {
                let mut out = Vec::with_capacity(record.size);
                encode_record(record, value, &mut out, None)?;
                Ok(out)
            }
            MessageDesc::List(record) => {
                let Value::Array(items) = value else {
                    return Err(JsonError::Mismatch {
                        path: "$".into(),
                        expected: "an array of records".into(),
                        found: super::encode::describe(value),
                    });
                };
                let count = u32::try_from(items.len()).map_err(|_| JsonError::Invalid {
                    path: "$".into(),
                    problem: "more than 4294967295 records".into(),
                })?;
                let mut out = Vec::with_capacity(COUNT_SIZE + items.len() * record.size);
                out.extend(if record.order.is_little_endian() {
                    count.to_le_bytes()
                } else {
                    count.to_be_bytes()
                });
                for (i, item) in items.iter().enumerate() {
                    encode_record(record, item, &mut out, Some(i))?;
                }
                Ok(out)
            }
        }
    }

    /// Encodes a JSON body; an empty body stands for `null` (for `()` messages).
    ///
    /// # Errors
    ///
    /// [`JsonError::Syntax`] when the body is not JSON, else as [`MessageCodec::from_value`].
    pub fn from_json(&self, json: &[u8]) -> Result<Vec<u8>> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return self.from_value(&Value::Null);
        }
        let value: Value = serde_json::from_slice(json).map_err(JsonError::syntax)?;
        self.from_value(&value)
    }

    /// Encodes a URL query string (`a=1&b=x`): one parameter per top-level field, written as in
    /// JSON but without quotes; an array field repeats its parameter once per element.
    ///
    /// # Errors
    ///
    /// [`JsonError::Query`] for messages a query cannot carry (lists, nested records), for
    /// malformed, repeated or unknown parameters; else as [`MessageCodec::from_value`].
    pub fn from_query(&self, query: &str) -> Result<Vec<u8>> {
        let value = query::to_value(&self.desc, query)?;
        self.from_value(&value)
    }

    /// Decodes Wire bytes of the message to a JSON value.
    ///
    /// # Errors
    ///
    /// [`JsonError::Bytes`] for bytes no value of the type packs to (wrong length, bad bool,
    /// invalid UTF-8, unknown enum value, …), with the offset.
    pub fn to_value(&self, bytes: &[u8]) -> Result<Value> {
        match &self.desc {
            MessageDesc::Unit => {
                if bytes.is_empty() {
                    Ok(Value::Null)
                } else {
                    Err(trailing("$", 0, bytes.len()))
                }
            }
            MessageDesc::Record(record) => {
                if bytes.len() != record.size {
                    return Err(JsonError::Bytes {
                        path: "$".into(),
                        offset: 0,
                        problem: format!(
                            "expected a {}-byte record, found {} bytes",
                            record.size,
                            bytes.len()
                        ),
                    });
                }
                let mut decoder = Decoder::new(bytes, 0, record.order);
                decoder.value(&record.ty)
            }
            MessageDesc::List(record) => {
                let Some((head, body)) = bytes.split_first_chunk::<COUNT_SIZE>() else {
                    return Err(JsonError::Bytes {
                        path: "$".into(),
                        offset: 0,
                        problem: "input too short for the list's 4-byte count".into(),
                    });
                };
                let count = if record.order.is_little_endian() {
                    u32::from_le_bytes(*head)
                } else {
                    u32::from_be_bytes(*head)
                } as usize;
                let fits = body.len() / record.size.max(1);
                if count > fits {
                    return Err(JsonError::Bytes {
                        path: "$".into(),
                        offset: 0,
                        problem: format!(
                            "the list claims {count} records, but only {fits} fit in the input"
                        ),
                    });
                }
                if body.len() != count * record.size {
                    return Err(trailing(
                        "$",
                        COUNT_SIZE + count * record.size,
                        body.len() - count * record.size,
                    ));
                }
                let mut items = Vec::with_capacity(count);
                for i in 0..count {
                    let base = COUNT_SIZE + i * record.size;
                    let mut decoder = Decoder::new(bytes, base, record.order);
                    decoder.path.push(super::path::Step::Index(i));
                    items.push(decoder.value(&record.ty)?);
                }
                Ok(Value::Array(items))
            }
        }
    }

    /// Decodes Wire bytes of the message to a JSON document.
    ///
    /// # Errors
    ///
    /// As [`MessageCodec::to_value`].
    pub fn to_json(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let value = self.to_value(bytes)?;
        serde_json::to_vec(&value).map_err(JsonError::syntax)
    }
}

fn trailing(path: &str, offset: usize, extra: usize) -> JsonError {
    JsonError::Bytes {
        path: path.into(),
        offset,
        problem: format!("{extra} trailing bytes"),
    }
}

/// Encodes one record at the end of `out`; `index` is its place in a list.
fn encode_record(
    record: &RecordDesc,
    value: &Value,
    out: &mut Vec<u8>,
    index: Option<usize>,
) -> Result<()> {
    let base = out.len();
    let mut encoder = Encoder::new(record.order, base);
    if let Some(i) = index {
        encoder.path.push(super::path::Step::Index(i));
    }
    encoder.value(&record.ty, value, out)?;
    // Only a description that lies about its size could leave another length.
    if out.len() - base != record.size {
        return Err(JsonError::Schema(DescError::SizeMismatch {
            declared: record.size,
            computed: out.len() - base,
        }));
    }
    Ok(())
}

/// Transcodes one method's request, response and error, built once per method.
///
/// This is what an HTTP face calls for `POST /{Service}/{method}` with a JSON body, and for
/// `GET` on read-only methods.
///
/// # Examples
///
/// ```
/// use rpc_runtime::json::MethodCodec;
/// use rpc_runtime::{Reply, Status, Wire, service};
///
/// #[derive(Wire, Debug, PartialEq)]
/// pub struct Add { a: i64, b: i64 }
/// #[derive(Wire, Debug, PartialEq)]
/// pub struct Sum { value: i64 }
/// #[derive(Wire, Debug, PartialEq)]
/// #[repr(u8)]
/// pub enum CalcError { Overflow = 1 }
///
/// #[service]
/// pub trait Calc {
///     /// Adds two numbers.
///     #[rpc(read_only)]
///     async fn add(&self, request: Add) -> Result<Sum, CalcError>;
/// }
///
/// let codec = MethodCodec::new(&CalcClient::SCHEMA.methods[0])?;
/// let request = codec.request_from_json(br#"{"a": "2", "b": 3}"#)?;
/// assert_eq!(request, Add { a: 2, b: 3 }.to_vec());
/// assert_eq!(codec.request_from_query("a=2&b=3")?, request);
///
/// let ok = Reply::from_result::<Sum, CalcError>(Ok(Sum { value: 5 }));
/// assert_eq!(codec.reply_to_json(&ok)?, br#"{"value":"5"}"#);
/// let overflow = Reply::from_result::<Sum, CalcError>(Err(CalcError::Overflow));
/// assert_eq!(
///     String::from_utf8(codec.reply_to_json(&overflow)?).unwrap(),
///     r#"{"status":"application","message":"application error","error":"Overflow"}"#
/// );
/// # Ok::<(), rpc_runtime::json::JsonError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodCodec {
    name: String,
    read_only: bool,
    request: MessageCodec,
    response: MessageCodec,
    error: MessageCodec,
}

impl MethodCodec {
    /// The codec of a method of a `#[service]` (`FooClient::SCHEMA.methods[i]`).
    ///
    /// # Errors
    ///
    /// [`JsonError::Schema`] for layouts no derived type produces.
    pub fn new(method: &MethodSchema) -> Result<Self> {
        Ok(MethodCodec {
            name: method.name.to_owned(),
            read_only: method.read_only,
            request: MessageCodec::from_shape(&method.request)?,
            response: MessageCodec::from_shape(&method.response)?,
            error: MessageCodec::from_shape(&method.error)?,
        })
    }

    /// The codec of a method known from a description, such as a server's `describe` output.
    ///
    /// # Errors
    ///
    /// [`JsonError::Schema`] when a message description is malformed.
    pub fn from_desc(
        name: impl Into<String>,
        read_only: bool,
        request: MessageDesc,
        response: MessageDesc,
        error: MessageDesc,
    ) -> Result<Self> {
        Ok(MethodCodec {
            name: name.into(),
            read_only,
            request: MessageCodec::new(request)?,
            response: MessageCodec::new(response)?,
            error: MessageCodec::new(error)?,
        })
    }

    /// The method's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the method is read-only (may be called with `GET`).
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The request's codec.
    pub fn request(&self) -> &MessageCodec {
        &self.request
    }

    /// The response's codec.
    pub fn response(&self) -> &MessageCodec {
        &self.response
    }

    /// The application error's codec.
    pub fn error(&self) -> &MessageCodec {
        &self.error
    }

    /// The request's Wire bytes from a JSON body (empty for `()` requests).
    ///
    /// # Errors
    ///
    /// As [`MessageCodec::from_json`].
    pub fn request_from_json(&self, json: &[u8]) -> Result<Vec<u8>> {
        self.request.from_json(json)
    }

    /// The request's Wire bytes from a URL query string, for `GET`.
    ///
    /// # Errors
    ///
    /// As [`MessageCodec::from_query`].
    pub fn request_from_query(&self, query: &str) -> Result<Vec<u8>> {
        self.request.from_query(query)
    }

    /// The response's Wire bytes as a JSON document.
    ///
    /// # Errors
    ///
    /// As [`MessageCodec::to_json`].
    pub fn response_to_json(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        self.response.to_json(bytes)
    }

    /// A reply as JSON: the response for [`Status::Ok`], otherwise the error object
    /// `{"status": "<snake_case name>", "message": "...", "error": <application error or null>}`.
    ///
    /// # Errors
    ///
    /// As [`MessageCodec::to_value`], when the body does not decode.
    pub fn reply_to_value(&self, reply: &Reply) -> Result<Value> {
        match reply.status {
            Status::Ok => self.response.to_value(&reply.body),
            Status::Application => Ok(error_object(
                reply.status,
                reply.status.name().to_owned(),
                self.error.to_value(&reply.body)?,
            )),
            status => Ok(error_object(
                status,
                String::from_utf8_lossy(&reply.body).into_owned(),
                Value::Null,
            )),
        }
    }

    /// [`MethodCodec::reply_to_value`] as a JSON document.
    ///
    /// # Errors
    ///
    /// As [`MethodCodec::reply_to_value`].
    pub fn reply_to_json(&self, reply: &Reply) -> Result<Vec<u8>> {
        let value = self.reply_to_value(reply)?;
        serde_json::to_vec(&value).map_err(JsonError::syntax)
    }
}

/// The JSON error object for a non-ok status.
///
/// ```
/// use rpc_runtime::Status;
/// let body = rpc_runtime::json::error_object(Status::BadRequest, "no".into(), serde_json::Value::Null);
/// assert_eq!(body.to_string(), r#"{"status":"bad_request","message":"no","error":null}"#);
/// ```
pub fn error_object(status: Status, message: String, error: Value) -> Value {
    let mut map = serde_json::Map::new();
    map.insert("status".into(), Value::String(status.snake_name().into()));
    map.insert("message".into(), Value::String(message));
    map.insert("error".into(), error);
    Value::Object(map)
}
