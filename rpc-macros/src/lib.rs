//! Procedural macros behind `rpc-runtime`. Depend on `rpc-runtime` and write
//! `use rpc_runtime::Wire;`; this crate's items are re-exported there and documented there.

mod errors;
mod paths;
mod wire;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `rpc_runtime::Wire` for a struct or a C-like enum; see `rpc_runtime::Wire`.
#[proc_macro_derive(Wire, attributes(wire))]
pub fn derive_wire(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    wire::derive(&input).into()
}
