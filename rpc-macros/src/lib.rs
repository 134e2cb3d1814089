//! Procedural macros behind `rpc-runtime`. Depend on `rpc-runtime` and write
//! `use rpc_runtime::{Wire, service};`; this crate's items are re-exported and documented there.

mod errors;
mod meta;
mod paths;
mod pipeline;
mod service;
mod wire;

use proc_macro::TokenStream;
use syn::{DeriveInput, ItemTrait, parse_macro_input};

/// Derives `rpc_runtime::Wire` for a struct or a C-like enum; see `rpc_runtime::Wire`.
#[proc_macro_derive(Wire, attributes(wire))]
pub fn derive_wire(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    wire::derive(&input).into()
}

/// Turns a trait of methods (`async fn`, or a plain `fn` for a handler that never waits) into
/// an RPC service; see `rpc_runtime::service`.
#[proc_macro_attribute]
pub fn service(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = parse_macro_input!(input as ItemTrait);
    service::expand(args.into(), &item).into()
}
