//! The Python classes a schema needs, named once: enums, dataclasses, message codecs and the
//! exceptions of application errors. Everything is collected in schema order, so the output is
//! the same for the same schema.

use super::codec::{Codec, leaves, raw_format, schema_error};
use super::names::{Kind, Scope, camel};
use crate::error::Result;
use crate::schema::{MethodDesc, Schema};
use rpc_runtime::schema::{FieldDesc, MAX_DESCRIBED_SIZE, MessageDesc, RecordDesc, TypeDesc};
use std::collections::HashMap;

/// Names the runtime part of the module defines or imports at the top level.
pub(crate) const RUNTIME_NAMES: &[&str] = &[
    "PROTOCOL_VERSION",
    "DEFAULT_MAX_BODY",
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
    "annotations",
    "enum",
    "math",
    "socket",
    "struct",
    "time",
    "dataclass",
    "Any",
    "Callable",
    "Dict",
    "Generic",
    "Iterator",
    "List",
    "Optional",
    "Tuple",
    "Type",
    "TypeVar",
    "Union",
];

/// Names a dataclass defines besides its fields.
const RECORD_RESERVED: &[&str] = &["FORMAT", "SIZE", "pack", "unpack"];
/// Names an enum class cannot give a member.
const MEMBER_RESERVED: &[&str] = &["name", "value", "mro"];

/// A C-like enum, as an `enum.IntEnum`.
#[derive(Debug)]
pub(crate) struct EnumClass<'s> {
    pub(crate) name: String,
    pub(crate) ty: &'s TypeDesc,
    /// (Python member name, schema name, value).
    pub(crate) members: Vec<(String, &'s str, i128)>,
}

/// A record, as a dataclass.
#[derive(Debug)]
pub(crate) struct RecordClass<'s> {
    pub(crate) name: String,
    /// (Python field name, the field, index of its first value in the flattened tuple);
    /// padding fields are left out.
    pub(crate) fields: Vec<(String, &'s FieldDesc, usize)>,
    /// The first message this record is, if any: its format and size, for `pack`/`unpack`.
    pub(crate) message: Option<(&'s RecordDesc, usize)>,
    /// Where it was first met, for its docstring.
    pub(crate) origin: String,
}

/// The exceptions of one application error type.
#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// An enum: one class per variant, (class name, variant member name).
    Variants {
        /// Index into [`Model::enums`].
        enum_index: usize,
        /// One class per variant.
        classes: Vec<(String, String)>,
    },
    /// Any other type: one class carrying the value.
    Value(String),
}

/// Everything generated for one method.
#[derive(Debug)]
pub(crate) struct MethodModel<'s> {
    pub(crate) desc: &'s MethodDesc,
    /// The Python method name.
    pub(crate) py_name: String,
    /// Request parameters: (name, Python type); the request expression built from them.
    pub(crate) params: Vec<(String, String)>,
    pub(crate) request: String,
    /// The response's Python type and the expression that decodes `body`.
    pub(crate) response_type: String,
    pub(crate) decode: String,
    /// The `_fail*` function for application errors.
    pub(crate) fail: String,
    /// Index into [`Model::errors`], when the method has an application error.
    pub(crate) error: Option<usize>,
}

/// Everything generated for one service.
#[derive(Debug)]
pub(crate) struct ServiceModel<'s> {
    pub(crate) name: &'s str,
    pub(crate) client: String,
    pub(crate) pipeline: String,
    pub(crate) methods: Vec<MethodModel<'s>>,
}

/// One application error type and its exceptions.
#[derive(Debug)]
pub(crate) struct ErrorModel {
    pub(crate) kind: ErrorKind,
    /// The Python type of `error`, and the expression decoding it from `body`.
    pub(crate) py_type: String,
    pub(crate) decode: String,
}

/// The whole module's model.
#[derive(Debug)]
pub(crate) struct Model<'s> {
    pub(crate) enums: Vec<EnumClass<'s>>,
    pub(crate) records: Vec<RecordClass<'s>>,
    /// Codecs of messages that are not records: (index, type).
    pub(crate) values: Vec<&'s TypeDesc>,
    /// `struct.Struct` constants: the format read and written.
    pub(crate) structs: Vec<String>,
    /// Count prefixes of lists, by byte order prefix.
    pub(crate) counts: Vec<char>,
    pub(crate) errors: Vec<ErrorModel>,
    pub(crate) services: Vec<ServiceModel<'s>>,
    /// Role names of records that are another record's class: (alias, class).
    pub(crate) aliases: Vec<(String, String)>,
    top: Scope,
    enum_index: HashMap<&'s TypeDesc, usize>,
    record_index: HashMap<&'s TypeDesc, usize>,
    value_index: HashMap<&'s TypeDesc, usize>,
    error_index: HashMap<&'s MessageDesc, usize>,
}

impl<'s> Model<'s> {
    /// Names every class the schema needs.
    pub(crate) fn new(schema: &'s Schema) -> Result<Model<'s>> {
        let mut model = Model {
            enums: Vec::new(),
            records: Vec::new(),
            values: Vec::new(),
            structs: Vec::new(),
            counts: Vec::new(),
            errors: Vec::new(),
            services: Vec::new(),
            aliases: Vec::new(),
            top: Scope::new(Kind::Class, RUNTIME_NAMES),
            enum_index: HashMap::new(),
            record_index: HashMap::new(),
            value_index: HashMap::new(),
            error_index: HashMap::new(),
        };
        for service in &schema.services {
            let client = model
                .top
                .claim_first(&[format!("{}Client", service.service)]);
            let pipeline = model
                .top
                .claim_first(&[format!("{}Pipeline", service.service)]);
            // What `_Client` and `_Pipeline` define themselves.
            let mut members = Scope::new(
                Kind::Value,
                &[
                    "connection",
                    "pipeline",
                    "calls",
                    "flush",
                    "replies",
                    "wait",
                ],
            );
            let mut methods = Vec::new();
            for method in &service.methods {
                let py_name = members.claim(&super::names::snake(&method.name));
                methods.push(model.method(&service.service, method, py_name)?);
            }
            model.services.push(ServiceModel {
                name: &service.service,
                client,
                pipeline,
                methods,
            });
        }
        Ok(model)
    }

    fn method(
        &mut self,
        service: &str,
        method: &'s MethodDesc,
        py_name: String,
    ) -> Result<MethodModel<'s>> {
        let what = format!("{service}.{}", method.name);
        let stem = camel(&method.name);
        let qualified = format!("{service}{stem}");
        let roles = |role: &str| vec![format!("{stem}{role}"), format!("{qualified}{role}")];
        // The request: parameters, and the expression packing them.
        let mut scope = Scope::new(Kind::Value, &["self", "timeout"]);
        let (params, request) = match &method.request {
            MessageDesc::Unit => (Vec::new(), "b''".to_owned()),
            MessageDesc::Record(record) => {
                let codec = self.codec(record, roles("Request"), &format!("{what} request"))?;
                let params: Vec<(String, String)> = match &record.ty {
                    TypeDesc::Record { fields } => fields
                        .iter()
                        .filter(|f| !matches!(f.ty, TypeDesc::Padding { .. }))
                        .map(|f| (scope.claim(&f.name), self.py_type(&f.ty)))
                        .collect(),
                    other => vec![(scope.claim("value"), self.py_type(other))],
                };
                let value = match &record.ty {
                    TypeDesc::Record { .. } => format!(
                        "{}({})",
                        codec.constructor,
                        params
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => params[0].0.clone(),
                };
                let request = codec.pack(&value);
                (params, request)
            }
            MessageDesc::List(record) => {
                let codec = self.codec(record, roles("RequestItem"), &format!("{what} request"))?;
                let name = scope.claim("items");
                let request = codec.pack_list(&name);
                (vec![(name, format!("List[{}]", codec.py_type))], request)
            }
            _ => {
                return Err(schema_error(
                    &what,
                    "a request kind this tool does not know",
                ));
            }
        };
        let (response_type, decode) = self.message(
            &method.response,
            roles("Response"),
            roles("Item"),
            &what,
            "response",
        )?;
        let (fail, error) = match &method.error {
            MessageDesc::Unit => ("_fail_unit".to_owned(), None),
            message => {
                let index = self.error(message, &what, &stem, &qualified)?;
                (format!("_fail{index}"), Some(index))
            }
        };
        Ok(MethodModel {
            desc: method,
            py_name,
            params,
            request,
            response_type,
            decode,
            fail,
            error,
        })
    }

    /// The Python type of a reply message and the expression decoding it from `body`.
    fn message(
        &mut self,
        message: &'s MessageDesc,
        record_names: Vec<String>,
        item_names: Vec<String>,
        what: &str,
        role: &str,
    ) -> Result<(String, String)> {
        let label = format!("{what} {role}");
        // Errors are decoded by a function shared by every method with that error type: it
        // names the method it is called for.
        let label_py = if role == "error" {
            "method + ' error'".to_owned()
        } else {
            super::names::py_str(&label)
        };
        Ok(match message {
            MessageDesc::Unit => ("None".to_owned(), format!("_unit(body, {label_py})")),
            MessageDesc::Record(record) => {
                let mut codec = self.codec(record, record_names, &label)?;
                codec.label = label_py;
                (codec.py_type.clone(), codec.unpack("body"))
            }
            MessageDesc::List(record) => {
                let mut codec = self.codec(record, item_names, &label)?;
                codec.label = label_py;
                (
                    format!("List[{}]", codec.py_type),
                    codec.unpack_list("body"),
                )
            }
            _ => {
                return Err(schema_error(
                    &label,
                    "a message kind this tool does not know",
                ));
            }
        })
    }

    fn error(
        &mut self,
        message: &'s MessageDesc,
        what: &str,
        stem: &str,
        qualified: &str,
    ) -> Result<usize> {
        if let Some(&index) = self.error_index.get(message) {
            return Ok(index);
        }
        let info = vec![format!("{stem}ErrorInfo"), format!("{qualified}ErrorInfo")];
        let (py_type, decode) = self.message(message, info.clone(), info, what, "error")?;
        let kind = match message {
            MessageDesc::Record(RecordDesc {
                ty: ty @ TypeDesc::Enum { name, .. },
                ..
            }) => {
                let enum_index = self.enum_index[ty];
                let members: Vec<(String, String)> = self.enums[enum_index]
                    .members
                    .iter()
                    .map(|(member, variant, _)| (member.clone(), (*variant).to_owned()))
                    .collect();
                let classes = members
                    .into_iter()
                    .map(|(member, variant)| {
                        let class = self
                            .top
                            .claim_first(&[variant.clone(), format!("{name}{variant}")]);
                        (class, member)
                    })
                    .collect();
                ErrorKind::Variants {
                    enum_index,
                    classes,
                }
            }
            _ => ErrorKind::Value(
                self.top
                    .claim_first(&[format!("{stem}Failed"), format!("{qualified}Failed")]),
            ),
        };
        self.errors.push(ErrorModel {
            kind,
            py_type,
            decode,
        });
        self.error_index.insert(message, self.errors.len() - 1);
        Ok(self.errors.len() - 1)
    }

    /// The codec of one message record: its `struct` constant and the callables building and
    /// flattening its Python value.
    fn codec(&mut self, record: &'s RecordDesc, names: Vec<String>, what: &str) -> Result<Codec> {
        let raw = raw_format(record, what)?;
        let st = index_of(&mut self.structs, raw);
        let count = index_of(&mut self.counts, record.order.prefix());
        let label = super::names::py_str(what);
        let (build, flat, py_type) = match &record.ty {
            TypeDesc::Record { .. } => {
                let class = self.record(&record.ty, names, what)?;
                let index = self.record_index[&record.ty];
                let records = &mut self.records[index];
                if records.message.is_none() {
                    records.message = Some((record, st));
                }
                // Method bodies name the class through a private alias: a parameter (a field
                // of the request) could have the class's name and shadow it.
                (
                    format!("_R{index}._from"),
                    format!("_R{index}._flat"),
                    class,
                )
            }
            ty => {
                self.register(ty, &names[0], what)?;
                let index = match self.value_index.get(ty) {
                    Some(&i) => i,
                    None => {
                        self.values.push(ty);
                        self.value_index.insert(ty, self.values.len() - 1);
                        self.values.len() - 1
                    }
                };
                (
                    format!("_from{index}"),
                    format!("_flat{index}"),
                    self.py_type(ty),
                )
            }
        };
        let constructor = match self.record_index.get(&record.ty) {
            Some(index) => format!("_R{index}"),
            None => py_type.clone(),
        };
        Ok(Codec {
            st,
            count,
            build,
            flat,
            py_type,
            constructor,
            label,
        })
    }

    /// Names the dataclass of `ty` (a record), or returns the name it already has.
    fn record(&mut self, ty: &'s TypeDesc, names: Vec<String>, what: &str) -> Result<String> {
        if let Some(&index) = self.record_index.get(ty) {
            let class = self.records[index].name.clone();
            // A role name of its own, when free, as an alias of the shared class.
            if let Some(alias) = names.first()
                && *alias != class
                && self.top.is_free(alias)
            {
                let alias = self.top.claim(alias);
                self.aliases.push((alias, class.clone()));
            }
            return Ok(class);
        }
        let TypeDesc::Record { fields } = ty else {
            return Err(schema_error(what, "not a record"));
        };
        let name = self.top.claim_first(&names);
        self.records.push(RecordClass {
            name: name.clone(),
            fields: Vec::new(),
            message: None,
            origin: what.to_owned(),
        });
        let index = self.records.len() - 1;
        self.record_index.insert(ty, index);
        for field in fields {
            let nested = format!("{name}{}", camel(&field.name));
            self.register(&field.ty, &nested, what)?;
        }
        // A field must not shadow a class the class body's annotations name.
        let mut reserved: Vec<String> = RECORD_RESERVED.iter().map(|r| (*r).to_owned()).collect();
        reserved.push(name.clone());
        for field in fields {
            let mut ty = &field.ty;
            while let TypeDesc::Array { element, .. } = ty {
                ty = element;
            }
            reserved.push(self.py_type(ty));
        }
        let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
        let mut scope = Scope::new(Kind::Value, &reserved);
        let mut at = 0usize;
        let mut py_fields = Vec::new();
        for field in fields {
            if !matches!(field.ty, TypeDesc::Padding { .. }) {
                py_fields.push((scope.claim(&field.name), field, at));
            }
            at = at.saturating_add(leaves(&field.ty));
        }
        self.records[index].fields = py_fields;
        Ok(name)
    }

    /// Names the classes `ty` uses (enums, nested records).
    fn register(&mut self, ty: &'s TypeDesc, record_name: &str, what: &str) -> Result<()> {
        match ty {
            TypeDesc::Record { .. } => {
                self.record(ty, vec![record_name.to_owned()], what)?;
            }
            TypeDesc::Array { count, element } => {
                if *count > MAX_DESCRIBED_SIZE {
                    return Err(schema_error(what, format!("an array of {count} items")));
                }
                self.register(element, record_name, what)?;
            }
            TypeDesc::Enum { name, variants, .. } if !self.enum_index.contains_key(ty) => {
                let class = self.top.claim_first(std::slice::from_ref(name));
                let mut scope = Scope::new(Kind::Member, MEMBER_RESERVED);
                let members = variants
                    .iter()
                    .map(|v| (scope.claim(&v.name), v.name.as_str(), v.value))
                    .collect();
                self.enums.push(EnumClass {
                    name: class,
                    ty,
                    members,
                });
                self.enum_index.insert(ty, self.enums.len() - 1);
            }
            _ => {}
        }
        Ok(())
    }

    /// The Python annotation of `ty`.
    pub(crate) fn py_type(&self, ty: &TypeDesc) -> String {
        match ty {
            TypeDesc::Int { .. } => "int".into(),
            TypeDesc::Float { .. } => "float".into(),
            TypeDesc::Bool => "bool".into(),
            TypeDesc::Text { .. } | TypeDesc::PascalText { .. } => "str".into(),
            TypeDesc::Bytes { .. } => "bytes".into(),
            TypeDesc::Enum { .. } => self
                .enum_index
                .get(ty)
                .map_or_else(|| "int".into(), |&i| self.enums[i].name.clone()),
            TypeDesc::Array { element, .. } => format!("List[{}]", self.py_type(element)),
            TypeDesc::Record { .. } => self
                .record_index
                .get(ty)
                .map_or_else(|| "object".into(), |&i| self.records[i].name.clone()),
            _ => "None".into(),
        }
    }

    /// The name of the enum class of `ty`.
    pub(crate) fn enum_name(&self, ty: &TypeDesc) -> String {
        self.py_type(ty)
    }
}

fn index_of<T: PartialEq>(items: &mut Vec<T>, item: T) -> usize {
    match items.iter().position(|i| *i == item) {
        Some(i) => i,
        None => {
            items.push(item);
            items.len() - 1
        }
    }
}
