//! Every path the generated code names, in one place. Generated code uses absolute paths only.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime crate: `::rpc_runtime`, or the path the user gave with `crate = path`.
pub fn runtime(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path),
        None => quote!(::rpc_runtime),
    }
}

/// The runtime's hidden support module: `::rpc_runtime::__private`, or `<crate>::__private`
/// when the user renamed the runtime with `#[wire(crate = path)]`.
pub fn private(krate: Option<&syn::Path>) -> TokenStream {
    let runtime = runtime(krate);
    quote!(#runtime::__private)
}
