//! The `rpc` command's library: call any rpc-runtime server from the shell, knowing nothing but
//! its endpoint, and generate a standard-library-only Python client from its schema.
//!
//! Every server answers the built-in `describe` call with its services, methods and message
//! type trees; the tool fetches that, encodes JSON requests with
//! [`rpc_runtime::json`], and sends ordinary binary frames. [`codegen::python`] turns the same
//! schema into a Python module that needs nothing but the standard library. See
//! `docs/RPC-TOOL.md`.
//!
//! # Examples
//!
//! ```
//! use rpc_tool::schema::Schema;
//!
//! let describe = br#"{"protocol":1,"services":[{"service":"Calc","methods":[{"name":"add",
//!   "id":3182399757,"fingerprint":1698963193,"read_only":false,
//!   "request":{"kind":"record","format":"!qq","size":16,"order":"!","type":{"kind":"record",
//!     "fields":[{"name":"a","type":{"kind":"int","size":8,"signed":true}},
//!               {"name":"b","type":{"kind":"int","size":8,"signed":true}}]}},
//!   "response":{"kind":"unit","format":"","size":0},
//!   "error":{"kind":"unit","format":"","size":0}}]}]}"#;
//! let schema = Schema::parse(describe)?;
//! let (_, add) = schema.find("Calc.add")?;
//! assert_eq!(rpc_tool::schema::codec(add)?.request_from_json(br#"{"a": "2", "b": 40}"#)?.len(), 16);
//! assert_eq!(
//!     schema.find("Calc.ad").unwrap_err().to_string(),
//!     "no method `Calc.ad` is served; did you mean `Calc.add`?"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod call;
pub mod codegen;
pub mod conn;
pub mod dump;
pub mod error;
pub mod ping;
pub mod schema;
pub mod table;

pub use error::{Result, ToolError};
