//! Cross-crate integration tests, one module per feature, in one binary to keep CI builds lean.

mod account_messages;
mod accounts;
mod fixtures;
mod json;
mod openapi;
mod protocol;
mod python;
mod rest;
mod roundtrip;
mod rpc;
mod rpc_tool;
mod rpc_tool_gen;
mod snapshots;
