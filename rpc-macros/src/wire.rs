//! `#[derive(Wire)]`: parse the input into a model, validate it, then expand it.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

/// Runs the derive; errors become `compile_error!` invocations next to a fallback impl.
pub fn derive(input: &syn::DeriveInput) -> TokenStream {
    let result = ast::Input::from_syn(input).and_then(|model| {
        valid::check(&model)?;
        Ok(expand::expand(&model))
    });
    match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(expand::fallback(input));
            tokens
        }
    }
}
