//! `#[service]`: a trait of methods (`async fn`, or a plain `fn` that never waits) becomes a
//! client, a blocking client and a dispatcher.

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
                fn ping(&self, request: ()) -> impl Future<Output = Result<(), ()>>;
                async fn pong(&self) -> Result<(), ()>;
            }
        };
        let out = expand(quote!(bogus), &item).to_string();
        let errors = out.matches("compile_error").count();
        assert_eq!(errors, 4, "{out}");
        assert!(out.contains("unknown service argument `bogus`"));
        assert!(
            out.contains("rpc method `ping` returns `impl Future`"),
            "{out}"
        );
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

    /// The text of `start_framed` in the expansion, up to the end of the impl.
    fn start_framed(out: &str) -> &str {
        let at = out.find("fn start_framed").expect("start_framed");
        &out[at..]
    }

    #[test]
    fn a_plain_fn_is_called_inline_without_a_future_box_or_clone() {
        let item: syn::ItemTrait = syn::parse_quote! {
            trait Echo {
                fn ping(&self, request: ()) -> Result<(), ()>;
            }
        };
        let out = expand(TokenStream::new(), &item).to_string();
        assert!(!out.contains("compile_error"), "{out}");
        assert!(
            out.contains(
                "fn ping (& self , request : ()) -> :: core :: result :: Result < () , () > ;"
            ),
            "the trait method is not kept synchronous: {out}"
        );
        // Both dispatchers call the handler on the shared service directly.
        let call = "< __RpcService as Echo > :: ping (& * self . service , __rpc_request) ;";
        assert_eq!(out.matches(call).count(), 2, "{out}");
        let framed = start_framed(&out);
        for absent in ["Box", "clone", "async", "await", "start_boxed"] {
            assert!(!framed.contains(absent), "`{absent}` in {framed}");
        }
        assert!(framed.contains("__private :: framed_result"), "{framed}");
        assert!(out.contains("__private :: ready_result"), "{out}");
        // The clients are async and blocking as for any method.
        assert!(
            out.contains("pub async fn ping (& self , __rpc_request : ())"),
            "{out}"
        );
        assert!(
            out.contains("pub fn ping (& self , __rpc_request : ())"),
            "{out}"
        );
    }

    #[test]
    fn an_async_fn_still_gets_a_boxed_future() {
        let item: syn::ItemTrait = syn::parse_quote! {
            trait Echo {
                async fn ping(&self, request: ()) -> Result<(), ()>;
            }
        };
        let out = expand(TokenStream::new(), &item).to_string();
        let framed = start_framed(&out);
        assert!(framed.contains("__private :: start_boxed"), "{framed}");
        assert!(
            framed.contains(":: core :: clone :: Clone :: clone (& self . service)"),
            "{framed}"
        );
        assert!(
            out.contains("fn ping (& self , request : ()) -> impl :: core :: future :: Future"),
            "{out}"
        );
    }
}
