//! The arguments of `#[service(...)]`, parsed into options that keep their spans.
//!
//! A mistake in one argument is recorded and parsing goes on with the next one (see
//! `crate::meta`), so a single build reports every bad argument, not just the first.

use crate::errors::Errors;
use crate::meta::{self, Namespace, kw};
use proc_macro2::TokenStream;
use syn::Path;

/// How `#[service(...)]` arguments are called in messages.
const SERVICE: Namespace = Namespace("service argument");

/// How `#[rpc(...)]` options on a method are called in messages.
const METHOD: Namespace = Namespace("rpc method option");

/// How each keyword is written, for messages that say what to do.
mod usage {
    pub const CRATE: &str = "`#[service(crate = path)]`, e.g. `#[service(crate = ::my_runtime)]`";
}

/// The arguments of `#[service(...)]`.
#[derive(Default)]
pub struct Args {
    /// `crate = path`: where the runtime is when it is not `::rpc_runtime`.
    pub krate: Option<Path>,
}

/// The options of one method, from its `#[rpc(...)]` attributes.
#[derive(Default)]
pub struct MethodArgs {
    /// `read_only`: the method changes nothing, so HTTP also serves it on `GET` and `HEAD`.
    pub read_only: Option<()>,
}

/// Parses every `#[rpc(...)]` attribute of a method.
pub fn method(attrs: &[syn::Attribute], errors: &mut Errors) -> MethodArgs {
    let mut out = MethodArgs::default();
    meta::parse_attrs(attrs, kw::RPC, errors, |meta, errors| {
        if meta.path.is_ident(kw::READ_ONLY) {
            if meta::is_bare(meta) {
                METHOD.set_once(meta, errors, kw::READ_ONLY, &mut out.read_only, ());
                Ok(())
            } else {
                meta::reject(meta, errors, |meta| {
                    meta.error("`read_only` takes no value: write `#[rpc(read_only)]`")
                })
            }
        } else {
            METHOD.unknown(
                meta,
                errors,
                "the only option is `read_only`, as in `#[rpc(read_only)]`, for a method that changes nothing",
            )
        }
    });
    out
}

/// Whether an attribute is one of ours (`#[rpc(...)]`), which the generated code leaves out.
pub fn is_rpc(attr: &syn::Attribute) -> bool {
    attr.path().is_ident(kw::RPC)
}

/// Parses the tokens between the parentheses of `#[service(...)]`.
pub fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut out = Args::default();
    meta::parse_args(tokens, errors, |meta, errors| {
        if meta.path.is_ident(kw::CRATE) {
            if let Some(path) = meta::value::<Path>(meta, errors, kw::CRATE, usage::CRATE)? {
                SERVICE.set_once(meta, errors, kw::CRATE, &mut out.krate, path);
            }
            Ok(())
        } else {
            SERVICE.unknown(
                meta,
                errors,
                "the only argument is `crate = path`, naming the runtime when it is not `::rpc_runtime`",
            )
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(tokens: TokenStream) -> (Args, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        let messages = errors.into_messages();
        (args, messages)
    }

    #[test]
    fn crate_path() {
        let (args, errors) = messages(quote!(crate = ::my_runtime));
        assert!(errors.is_empty());
        let path = args.krate.expect("crate path");
        assert_eq!(quote!(#path).to_string(), ":: my_runtime");
    }

    #[test]
    fn method_options() {
        let f: syn::TraitItemFn = syn::parse_quote! {
            #[doc = "x"]
            #[rpc(read_only)]
            #[rpc(read_only, readonly, read_only = true)]
            async fn get(&self, r: ()) -> Result<(), ()>;
        };
        let mut errors = Errors::default();
        let args = method(&f.attrs, &mut errors);
        assert!(args.read_only.is_some());
        let messages = errors.into_messages();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].starts_with("duplicate rpc method option `read_only`"));
        assert!(messages[1].starts_with("unknown rpc method option `readonly`"));
        assert!(messages[2].starts_with("`read_only` takes no value"));
    }

    #[test]
    fn every_bad_argument_is_reported() {
        let (args, errors) = messages(quote!(
            name = "x",
            crate,
            crate = "rt",
            crate = a,
            crate = b
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("unknown service argument `name`"));
        assert!(errors[1].starts_with("`crate` needs a value"));
        assert!(errors[2].starts_with("malformed `crate`"));
        assert!(errors[3].starts_with("duplicate service argument `crate`"));
        assert!(args.krate.is_some());
    }
}
