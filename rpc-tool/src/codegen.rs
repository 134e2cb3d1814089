//! `rpc gen python`: a single-file, standard-library-only Python client from a schema.
//!
//! The module has a fixed part (frames, the connection with pipelining and deadlines, the
//! exceptions, field codecs; `codegen/runtime.py`) and a part generated from the schema: an
//! `enum.IntEnum` per enum, a dataclass per record, an exception per application error
//! variant, and per service a client class and a pipeline class with one method per RPC.
//! Output depends only on the schema, so a live server and its `describe --json` file give the
//! same module. docs/RPC-TOOL.md has the mapping.

mod codec;
mod emit;
mod fields;
mod model;
mod names;

use crate::error::Result;
use crate::schema::Schema;
use rpc_runtime::schema::{DescribeDoc, fnv1a};

/// The Python module for `schema`.
///
/// # Errors
///
/// [`ToolError::Schema`](crate::ToolError::Schema) when a message's format does not match its
/// type tree, or the schema holds something no Wire type produces.
///
/// # Examples
///
/// ```
/// use rpc_tool::schema::Schema;
///
/// let schema = Schema::parse(br#"{"protocol":1,"services":[{"service":"Calc","methods":[{
///   "name":"neg","id":1,"fingerprint":2,"read_only":false,
///   "request":{"kind":"record","format":"!q","size":8,"order":"!","type":{"kind":"record",
///     "fields":[{"name":"value","type":{"kind":"int","size":8,"signed":true}}]}},
///   "response":{"kind":"unit"},"error":{"kind":"unit"}}]}]}"#)?;
/// let module = rpc_tool::codegen::python(&schema)?;
/// assert!(module.contains("class CalcClient(_Client):"));
/// assert!(module.contains("def neg(self, value: int, *, timeout: Optional[float] = None) -> None:"));
/// # Ok::<(), rpc_tool::ToolError>(())
/// ```
pub fn python(schema: &Schema) -> Result<String> {
    let model = model::Model::new(schema)?;
    Ok(emit::module(schema, &model, digest(schema)))
}

/// FNV-1a of the compact describe document: the same whatever the input's formatting.
fn digest(schema: &Schema) -> u32 {
    let doc = DescribeDoc {
        protocol: schema.protocol,
        services: schema.services.clone(),
    };
    fnv1a(0x811c_9dc5, doc.to_json().as_bytes())
}
