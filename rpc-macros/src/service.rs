//! `#[service]`: a trait of async methods becomes a client, a blocking client and a dispatcher.

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;

/// Runs the macro; errors become `compile_error!` next to the trait as written, so that the
/// trait itself still exists and uses of it do not cascade into more errors.
pub fn expand(args: TokenStream, item: &syn::ItemTrait) -> TokenStream {
    let result = ast::Service::from_syn(args, item).and_then(|model| {
        valid::check(&model)?;
        Ok(expand::expand(&model))
    });
    match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(expand::fallback(item));
            tokens
        }
    }
}
