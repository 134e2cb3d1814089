//! Every path the generated code names, in one place. Generated code uses absolute paths only.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime's hidden support module: `::rpc_runtime::__private`, or `<crate>::__private`
/// when the user renamed the runtime with `#[wire(crate = path)]`.
pub fn private(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::rpc_runtime::__private),
    }
}
