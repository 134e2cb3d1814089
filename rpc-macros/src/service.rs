//! `#[service]`: a trait of async methods becomes a client, a blocking client and a dispatcher.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

/// Runs the macro: parse (with the per-method checks), validate across the trait, expand.
///
/// Every mistake either stage finds is reported in one build. Errors become `compile_error!`
/// next to the trait as written, so that the trait itself still exists and uses of it do not
/// cascade into more errors.
pub fn expand(args: TokenStream, item: &syn::ItemTrait) -> TokenStream {
    crate::pipeline::run(
        |errors| ast::Service::from_syn(args, item, errors),
        valid::check,
        expand::expand,
        expand::fallback,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn argument_method_and_trait_mistakes_are_reported_together() {
        let item: syn::ItemTrait = syn::parse_quote! {
            trait Echo<T> {
                fn ping(&self, request: ()) -> Result<(), ()>;
                async fn pong(&self) -> Result<(), ()>;
            }
        };
        let out = expand(quote!(bogus), &item).to_string();
        let errors = out.matches("compile_error").count();
        assert_eq!(errors, 4, "{out}");
        assert!(out.contains("unknown service argument `bogus`"));
        assert!(out.contains("trait Echo"), "the trait is kept: {out}");
        assert!(!out.contains("EchoClient"), "nothing is expanded: {out}");
    }

    #[test]
    fn client_methods_bind_only_prefixed_names() {
        let item: syn::ItemTrait = syn::parse_quote! {
            trait Echo {
                async fn ping(&self, text: ()) -> Result<(), ()>;
            }
        };
        let out = expand(TokenStream::new(), &item).to_string();
        for name in ["request", "client", "timeout", "service", "f"] {
            assert!(
                !out.contains(&format!("({name} :")) && !out.contains(&format!(", {name} :")),
                "`{name}` is bound: {out}"
            );
        }
        assert!(
            out.contains("pub async fn ping (& self , __rpc_request : ())"),
            "{out}"
        );
        assert!(
            out.contains("pub fn ping (& self , __rpc_request : ())"),
            "{out}"
        );
    }
}
