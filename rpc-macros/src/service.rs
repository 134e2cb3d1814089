//! `#[service]`: a trait of async methods becomes a client, a blocking client and a dispatcher.

mod ast;
mod attr;
mod expand;
mod valid;

use crate::errors::Errors;
use proc_macro2::TokenStream;

/// Runs the macro: parse (with the per-method checks), validate across the trait, expand.
///
/// Every mistake either stage finds is reported in one build. Errors become `compile_error!`
/// next to the trait as written, so that the trait itself still exists and uses of it do not
/// cascade into more errors.
pub fn expand(args: TokenStream, item: &syn::ItemTrait) -> TokenStream {
    let mut errors = Errors::default();
    let model = ast::Service::from_syn(args, item, &mut errors);
    valid::check(&model, &mut errors);
    match errors.finish() {
        Ok(()) => expand::expand(&model),
        Err(errors) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(expand::fallback(item));
            tokens
        }
    }
}
