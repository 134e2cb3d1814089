//! A server's `describe` document, parsed: services, methods and their message descriptions.

use crate::conn::Connection;
use crate::error::{Result, ToolError};
use rpc_runtime::frame::{DESCRIBE, FrameKind, Header};
use rpc_runtime::json::MethodCodec;
pub use rpc_runtime::schema::{MethodDesc, ServiceDesc};
use rpc_runtime::{Status, Wire};
use serde::Deserialize;

/// Everything a server serves, as its `describe` call reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Schema {
    /// The protocol version the server speaks.
    pub protocol: u8,
    /// The services, in the order the server serves them.
    pub services: Vec<ServiceDesc>,
}

/// The method's JSON codec, built from its description.
///
/// # Errors
///
/// [`ToolError::Schema`] when a message description is malformed.
pub fn codec(method: &MethodDesc) -> Result<MethodCodec> {
    MethodCodec::from_desc(method)
        .map_err(|e| ToolError::Schema(format!("method `{}`: {e}", method.name)))
}

impl Schema {
    /// Parses a `describe` document and checks every message description.
    ///
    /// # Errors
    ///
    /// [`ToolError::Schema`] when it is not a describe document or a description is malformed.
    pub fn parse(json: &[u8]) -> Result<Schema> {
        let schema: Schema =
            serde_json::from_slice(json).map_err(|e| ToolError::Schema(e.to_string()))?;
        for service in &schema.services {
            for method in &service.methods {
                for message in [&method.request, &method.response, &method.error] {
                    message.validate().map_err(|e| {
                        ToolError::Schema(format!("{}.{}: {e}", service.service, method.name))
                    })?;
                }
            }
        }
        Ok(schema)
    }

    /// Asks the server on `conn` for its schema; returns it with the raw document.
    ///
    /// # Errors
    ///
    /// A connection failure, [`ToolError::Refused`] or [`ToolError::Schema`].
    pub fn fetch(conn: &mut Connection) -> Result<(Schema, Vec<u8>)> {
        let mut header = Header::new(FrameKind::Request, 0);
        header.method = DESCRIBE;
        let (_, reply) = conn.round_trip(header, &[])?;
        if reply.header.status != Status::Ok {
            return Err(ToolError::Refused {
                status: reply.header.status,
                message: String::from_utf8_lossy(&reply.body).into_owned(),
            });
        }
        let schema = Schema::parse(&reply.body)?;
        Ok((schema, reply.body))
    }

    /// Finds `Service.method` (or a bare `method` when only one service has it).
    ///
    /// # Errors
    ///
    /// [`ToolError::UnknownMethod`] with the closest served names.
    pub fn find(&self, name: &str) -> Result<(&ServiceDesc, &MethodDesc)> {
        let found: Vec<_> = self
            .services
            .iter()
            .flat_map(|s| s.methods.iter().map(move |m| (s, m)))
            .filter(|(s, m)| match name.split_once('.') {
                Some((service, method)) => s.service == service && m.name == method,
                None => m.name == name,
            })
            .collect();
        if let [one] = found[..] {
            return Ok(one);
        }
        let mut all: Vec<(usize, String)> = self
            .services
            .iter()
            .flat_map(|s| {
                s.methods
                    .iter()
                    .map(move |m| format!("{}.{}", s.service, m.name))
            })
            .map(|full| {
                let method = full.split_once('.').map_or(&full[..], |(_, m)| m);
                let distance = edit_distance(&full.to_lowercase(), &name.to_lowercase())
                    .min(edit_distance(&method.to_lowercase(), &name.to_lowercase()));
                (distance, full)
            })
            .collect();
        all.sort();
        let limit = (name.len() / 2).max(3);
        let mut suggestions: Vec<String> = all
            .iter()
            .filter(|(d, _)| *d <= limit)
            .take(3)
            .map(|(_, n)| n.clone())
            .collect();
        if found.len() > 1 {
            // A bare name served by several services: list them all.
            suggestions = found
                .iter()
                .map(|(s, m)| format!("{}.{}", s.service, m.name))
                .collect();
        }
        Err(ToolError::UnknownMethod {
            name: name.to_owned(),
            suggestions,
        })
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (prev + cost).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The size of the frame header, for callers that show frames.
pub const HEADER_SIZE: usize = Header::SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("deposit", "deposti"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("add", "add"), 0);
    }
}
