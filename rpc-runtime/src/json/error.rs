//! The JSON layer's error: why a JSON document is not a message, or bytes cannot be shown as one.

use crate::schema::DescError;
use thiserror::Error;

/// Result of transcoding between JSON and Wire bytes.
pub type Result<T> = core::result::Result<T, JsonError>;

/// Why JSON could not become Wire bytes, or bytes could not become JSON.
///
/// `path` names the value in JSONPath style: `$` is the message, `$.amount` a field,
/// `$.cells[2].x` a field of an array element. Messages are meant for the caller who sent the
/// JSON, so they say what was expected.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The body is not JSON at all.
    #[error("the body is not valid json (line {line}, column {column})")]
    Syntax {
        /// Line of the problem, from 1.
        line: usize,
        /// Column of the problem, from 1.
        column: usize,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// A value has the wrong JSON type or form.
    #[error("`{path}`: expected {expected}, found {found}")]
    Mismatch {
        /// Where.
        path: String,
        /// What the field's type needs.
        expected: String,
        /// A short description of what was there.
        found: String,
    },
    /// A value has the right form but is not allowed: out of range, too long, unknown name.
    #[error("`{path}`: {problem}")]
    Invalid {
        /// Where.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A record lacks one of its fields.
    #[error("`{path}`: missing field")]
    MissingField {
        /// The missing field's path.
        path: String,
    },
    /// A record has a field its type does not have.
    #[error("`{path}`: unknown field")]
    UnknownField {
        /// The unknown field's path.
        path: String,
    },
    /// An array has the wrong number of elements (or a byte string the wrong number of digits).
    #[error("`{path}`: expected {expected} elements, found {found}")]
    Length {
        /// Where.
        path: String,
        /// The array's fixed length.
        expected: usize,
        /// How many there were.
        found: usize,
    },
    /// Wire bytes that no value of the message's type packs to.
    #[error("`{path}` at byte {offset}: {problem}")]
    Bytes {
        /// The value being read.
        path: String,
        /// Offset into the body.
        offset: usize,
        /// What is wrong.
        problem: String,
    },
    /// A query string cannot carry this request (nested records, lists), or is malformed.
    #[error("query: {problem}")]
    Query {
        /// What is wrong.
        problem: String,
    },
    /// The message description cannot be used.
    #[error("unusable message description")]
    Schema(#[from] DescError),
}

impl JsonError {
    /// The path of the value the error is about, when it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            JsonError::Mismatch { path, .. }
            | JsonError::Invalid { path, .. }
            | JsonError::MissingField { path }
            | JsonError::UnknownField { path }
            | JsonError::Length { path, .. }
            | JsonError::Bytes { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(crate) fn syntax(source: serde_json::Error) -> JsonError {
        JsonError::Syntax {
            line: source.line(),
            column: source.column(),
            source,
        }
    }
}
