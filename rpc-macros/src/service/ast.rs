//! The typed model of a `#[service]` trait.

use crate::errors::Errors;
use proc_macro2::TokenStream;
use syn::{
    FnArg, GenericArgument, Ident, ItemTrait, Path, PathArguments, ReturnType, TraitItem, Type,
};

/// A service trait.
pub struct Service<'a> {
    pub item: &'a ItemTrait,
    pub ident: &'a Ident,
    pub krate: Option<Path>,
    pub methods: Vec<Method<'a>>,
}

/// One RPC method: `async fn name(&self, req: Req) -> Result<Resp, Err>`.
pub struct Method<'a> {
    pub item: &'a syn::TraitItemFn,
    pub ident: &'a Ident,
    pub request: &'a Type,
    pub response: &'a Type,
    pub error: &'a Type,
}

impl<'a> Service<'a> {
    /// Builds the model, reporting every malformed method at once.
    pub fn from_syn(args: TokenStream, item: &'a ItemTrait) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let krate = parse_args(args, &mut errors);
        let mut methods = Vec::new();
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(f) => {
                    if let Some(m) = Method::from_syn(f, &mut errors) {
                        methods.push(m);
                    }
                }
                other => errors.spanned(
                    other,
                    "a #[service] trait holds only `async fn` methods; move other items elsewhere",
                ),
            }
        }
        errors.finish()?;
        Ok(Service {
            item,
            ident: &item.ident,
            krate,
            methods,
        })
    }
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> Option<Path> {
    let mut krate = None;
    if args.is_empty() {
        return None;
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            if krate.is_some() {
                return Err(meta.error("duplicate service attribute `crate`"));
            }
            krate = Some(meta.value()?.parse::<Path>()?);
            Ok(())
        } else {
            Err(meta.error("unknown service attribute; expected `crate = path`"))
        }
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
    krate
}

impl<'a> Method<'a> {
    fn from_syn(f: &'a syn::TraitItemFn, errors: &mut Errors) -> Option<Self> {
        let sig = &f.sig;
        let mut ok = true;
        if sig.asyncness.is_none() {
            errors.spanned(
                sig.fn_token,
                format!("rpc method `{}` must be an `async fn`", sig.ident),
            );
            ok = false;
        }
        let mut inputs = sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
            Some(other) => {
                errors.spanned(other, "rpc methods take `&self` first");
                ok = false;
            }
            None => {
                errors.spanned(
                    &sig.ident,
                    "rpc methods take `&self` and one request argument",
                );
                ok = false;
            }
        }
        let request = match (inputs.next(), inputs.next()) {
            (Some(FnArg::Typed(arg)), None) => Some(&*arg.ty),
            (None, _) => {
                errors.spanned(
                    &sig.inputs,
                    "rpc methods take exactly one request argument after `&self`; use `()` for none",
                );
                None
            }
            (_, Some(extra)) => {
                errors.spanned(
                    extra,
                    "rpc methods take exactly one request argument; put the fields in one Wire struct",
                );
                None
            }
            (Some(other), None) => {
                errors.spanned(other, "expected a request argument");
                None
            }
        };
        let result = result_types(&sig.output);
        if result.is_none() {
            errors.spanned(
                &sig.output,
                "rpc methods return `Result<Response, Error>` where both are Wire messages",
            );
        }
        let (Some(request), Some((response, error)), true) = (request, result, ok) else {
            return None;
        };
        Some(Method {
            item: f,
            ident: &sig.ident,
            request,
            response,
            error,
        })
    }
}

/// `Result<A, B>` → `(A, B)`.
fn result_types(output: &ReturnType) -> Option<(&Type, &Type)> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(a), Some(b), None) => Some((a, b)),
        _ => None,
    }
}
