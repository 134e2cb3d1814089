//! Cross-crate integration tests, one module per feature, in one binary to keep CI builds lean.

mod fixtures;
mod protocol;
mod python;
mod roundtrip;
mod rpc;
mod snapshots;
