//! Long-form documentation, rendered here from the markdown files in `docs/`.
//!
//! The same files read well on their own (in the repository) and here; their Rust code blocks
//! run as doctests.

#[doc = include_str!("../../docs/WIRE.md")]
pub mod wire {}

#[doc = include_str!("../../docs/PROTOCOL.md")]
pub mod protocol {}

#[doc = include_str!("../../docs/ARCHITECTURE.md")]
pub mod architecture {}

#[doc = include_str!("../../docs/JSON.md")]
pub mod json {}
