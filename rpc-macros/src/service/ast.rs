//! The typed model of a `#[service]` trait, and the checks that look at one method at a time.

use super::attr;
use crate::errors::Errors;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{
    FnArg, GenericArgument, Ident, ItemTrait, Path, PathArguments, Receiver, ReturnType, Signature,
    TraitItem, TraitItemFn, Type,
};

/// The inherent methods the generated clients define next to the rpc methods (see expand.rs);
/// an rpc method may not take their names.
pub const CLIENT_METHODS: &[&str] = &["new", "inner", "with_timeout"];

/// A service trait.
pub struct Service<'a> {
    pub item: &'a ItemTrait,
    pub ident: &'a Ident,
    pub krate: Option<Path>,
    /// The well-formed methods; malformed ones have been reported and are left out.
    pub methods: Vec<Method<'a>>,
}

/// One RPC method: `async fn name(&self, req: Req) -> Result<Resp, Err>`, or the same as a
/// plain `fn`.
pub struct Method<'a> {
    pub item: &'a TraitItemFn,
    pub ident: &'a Ident,
    /// A plain `fn`: the server calls it inline and frames its result, with no future.
    pub sync: bool,
    pub request: &'a Type,
    pub response: &'a Type,
    pub error: &'a Type,
    /// `#[rpc(read_only)]`: HTTP may call it with `GET`.
    pub read_only: bool,
}

impl<'a> Service<'a> {
    /// Builds the model, recording every malformed method and trait item in `errors`.
    pub fn from_syn(args: TokenStream, item: &'a ItemTrait, errors: &mut Errors) -> Self {
        let args = attr::parse(args, errors);
        let mut methods = Vec::new();
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(f) => {
                    if let Some(m) = Method::from_syn(&item.ident, f, errors) {
                        methods.push(m);
                    }
                }
                TraitItem::Const(c) => errors.spanned(
                    c,
                    format!(
                        "a #[service] trait holds only rpc methods (`async fn` or `fn`): move the associated const `{}` out of the trait",
                        c.ident
                    ),
                ),
                TraitItem::Type(t) => errors.spanned(
                    t,
                    format!(
                        "a #[service] trait holds only rpc methods (`async fn` or `fn`): the associated type `{}` cannot be part of it; name concrete message types in the methods",
                        t.ident
                    ),
                ),
                other => errors.spanned(
                    other,
                    "a #[service] trait holds only rpc methods: write each one out as `async fn name(&self, request: Request) -> Result<Response, Error>;`, or as a plain `fn` for a handler that never waits",
                ),
            }
        }
        Service {
            item,
            ident: &item.ident,
            krate: args.krate,
            methods,
        }
    }
}

impl<'a> Method<'a> {
    /// Checks one method on its own, reporting each independent mistake; `None` when its
    /// signature is not one the macro can expand.
    fn from_syn(service: &Ident, f: &'a TraitItemFn, errors: &mut Errors) -> Option<Self> {
        let sig = &f.sig;
        let name = syn::ext::IdentExt::unraw(&sig.ident);
        let mut ok = true;
        let args = attr::method(&f.attrs, errors);

        // `const` is left in the generated trait for the compiler to reject at the keyword.
        if let syn::Safety::Unsafe(token) = sig.safety {
            errors.spanned(
                token,
                format!("rpc method `{name}` cannot be `unsafe`: a remote caller cannot uphold its safety contract; remove `unsafe`"),
            );
            ok = false;
        }
        if let Some(abi) = &sig.abi {
            errors.spanned(
                abi,
                format!(
                    "rpc method `{name}` cannot declare an ABI: remove `{}`",
                    abi.to_token_stream()
                ),
            );
            ok = false;
        }
        // A plain `fn` is a method that never waits and returns its `Result` directly; one that
        // returns a future by hand is an `async fn` written out, which the macro cannot add
        // its `Send` bound to.
        let returns_future =
            matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)));
        if sig.asyncness.is_none() && returns_future {
            errors.spanned(
                sig.fn_token,
                format!(
                    "rpc method `{name}` returns `impl Future`: write `async fn {name}(&self, request: Request) -> Result<Response, Error>` instead, and the macro adds the `Send` bound; a plain `fn` must return the `Result` itself"
                ),
            );
            ok = false;
        }
        if !sig.generics.params.is_empty() {
            errors.spanned(
                &sig.generics,
                format!("rpc method `{name}` cannot be generic: each method's messages need one fixed format; use concrete types"),
            );
            ok = false;
        } else if let Some(clause) = &sig.generics.where_clause {
            errors.spanned(
                clause,
                format!("rpc method `{name}` cannot have a `where` clause: its messages are concrete types; remove it"),
            );
            ok = false;
        }
        if let Some(body) = &f.default {
            errors.spanned(
                body,
                format!("rpc method `{name}` cannot have a default body: the service trait only declares it; implement it in the `impl` for your service type"),
            );
            ok = false;
        }
        if CLIENT_METHODS.contains(&name.to_string().as_str()) {
            errors.spanned(
                &sig.ident,
                format!(
                    "rpc method `{name}` would clash with `{}Client::{name}`, which the generated clients define; rename the method",
                    syn::ext::IdentExt::unraw(service)
                ),
            );
            ok = false;
        }

        let request = request_type(&name, sig, errors);
        let result = if returns_future && sig.asyncness.is_none() {
            // Already reported as "returns `impl Future`".
            None
        } else {
            result_types(&name, sig, errors)
        };
        let (Some(request), Some((response, error)), true) = (request, result, ok) else {
            return None;
        };
        Some(Method {
            item: f,
            ident: &sig.ident,
            sync: sig.asyncness.is_none(),
            request,
            response,
            error,
            read_only: args.read_only.is_some(),
        })
    }
}

/// Checks `(&self, request: Request)` and returns the request type.
fn request_type<'a>(name: &Ident, sig: &'a Signature, errors: &mut Errors) -> Option<&'a Type> {
    let mut args = sig.inputs.iter().peekable();
    let mut ok = true;
    match args.peek() {
        Some(FnArg::Receiver(receiver)) => {
            if let Some(problem) = receiver_problem(receiver) {
                errors.spanned(receiver, format!("rpc method `{name}` {problem}"));
                ok = false;
            }
            args.next();
        }
        Some(FnArg::Typed(first)) => {
            errors.spanned(
                first,
                format!("rpc method `{name}` has no `self`: rpc methods take `&self` first, then the request"),
            );
            ok = false;
        }
        None => {
            errors.spanned(
                parens(sig),
                format!("rpc method `{name}` takes no arguments: rpc methods take `&self` and one request, e.g. `(&self, request: Request)`; use `request: ()` when there is nothing to send"),
            );
            return None;
        }
    }
    let rest: Vec<&FnArg> = args.collect();
    let request = match rest.as_slice() {
        [] => {
            errors.spanned(
                parens(sig),
                format!("rpc method `{name}` has no request argument: add one after `&self`; use `request: ()` when there is nothing to send"),
            );
            return None;
        }
        [FnArg::Typed(arg)] => &*arg.ty,
        [receiver @ FnArg::Receiver(_)] => {
            errors.spanned(
                receiver,
                format!("rpc method `{name}` takes `self` after another argument: write `(&self, request: Request)`"),
            );
            return None;
        }
        [_, extra @ ..] => {
            let extras: TokenStream = extra.iter().map(|a| a.to_token_stream()).collect();
            errors.spanned(
                extras,
                format!(
                    "rpc method `{name}` takes {} request arguments, but an rpc method takes exactly one: put the fields in one #[derive(Wire)] struct",
                    rest.len()
                ),
            );
            return None;
        }
    };
    let request = owned_message(name, "request", request, errors);
    if ok { request } else { None }
}

/// Why a receiver is not `&self`, if it is not.
fn receiver_problem(receiver: &Receiver) -> Option<&'static str> {
    const ONLY_SHARED: &str = "must take `&self`: the server shares one service between all calls, so other receiver types cannot be served";
    match &receiver.kind {
        syn::ReceiverKind::Reference(_, _, Some(_)) => Some(
            "takes `&mut self`, but the server runs calls concurrently on one shared service: take `&self` and keep mutable state behind a `Mutex` or atomics",
        ),
        syn::ReceiverKind::Reference(_, _, None) => None,
        syn::ReceiverKind::Value => Some(
            "takes `self` by value, but the server shares one service between all calls: take `&self`",
        ),
        syn::ReceiverKind::Typed(_, ty) => match &**ty {
            Type::Reference(r) if r.mutability.is_none() && is_self(&r.elem) => None,
            _ => Some(ONLY_SHARED),
        },
        _ => Some(ONLY_SHARED),
    }
}

fn is_self(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

/// `(...)` of the signature, for errors about the argument list as a whole.
fn parens(sig: &Signature) -> TokenStream {
    let mut tokens = TokenStream::new();
    sig.paren_token
        .surround(&mut tokens, |t| sig.inputs.to_tokens(t));
    tokens
}

/// Checks `-> Result<Response, Error>` and returns the two types.
fn result_types<'a>(
    name: &Ident,
    sig: &'a Signature,
    errors: &mut Errors,
) -> Option<(&'a Type, &'a Type)> {
    let ty = match &sig.output {
        ReturnType::Type(_, ty) => &**ty,
        ReturnType::Default => {
            let mut span = sig.ident.to_token_stream();
            span.extend(parens(sig));
            errors.spanned(
                span,
                format!("rpc method `{name}` returns nothing: rpc methods return `Result<Response, Error>`; write `-> Result<(), ()>` when there is no response and no error"),
            );
            return None;
        }
    };
    let last = match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    };
    let Some(last) = last.filter(|last| last.ident == "Result") else {
        errors.spanned(
            ty,
            format!("rpc method `{name}` must return `Result<Response, Error>`: wrap the response in `Result`, with `()` as the error type if the method cannot fail"),
        );
        return None;
    };
    let types: Vec<&Type> = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let [response, error] = types.as_slice() else {
        let problem = match types.len() {
            1 => {
                "this `Result` names one type; an alias such as `io::Result<T>` hides the error type from the macro"
            }
            _ => "this `Result` does not name a response and an error type",
        };
        errors.spanned(
            ty,
            format!("rpc method `{name}` must return `Result<Response, Error>` with both types written out: {problem}"),
        );
        return None;
    };
    let response = owned_message(name, "response", response, errors);
    let error = owned_message(name, "error", error, errors);
    Some((response?, error?))
}

/// Rejects message types the generated code cannot name: borrowed types, `impl Trait`, `Self`.
/// Whether the type is a `Message` at all is left to the compiler, which reports it with the
/// trait's own `on_unimplemented` text.
fn owned_message<'a>(
    name: &Ident,
    role: &str,
    ty: &'a Type,
    errors: &mut Errors,
) -> Option<&'a Type> {
    let problem = match unnameable(ty) {
        None => return Some(ty),
        Some(Unnameable::Borrowed(part)) => (
            part,
            format!(
                "the {role} of rpc method `{name}` is borrowed: messages are owned values decoded from bytes; remove the reference or lifetime"
            ),
        ),
        Some(Unnameable::ImplTrait(part)) => (
            part,
            format!(
                "the {role} of rpc method `{name}` must be a concrete type: messages need a fixed format, so `impl Trait` and `dyn Trait` cannot be sent"
            ),
        ),
        Some(Unnameable::SelfType(part)) => (
            part,
            format!(
                "the {role} of rpc method `{name}` cannot name `Self`: write the concrete message type"
            ),
        ),
    };
    errors.spanned(problem.0, problem.1);
    None
}

enum Unnameable {
    Borrowed(TokenStream),
    ImplTrait(TokenStream),
    SelfType(TokenStream),
}

/// The first part of `ty` that a message type cannot contain.
fn unnameable(ty: &Type) -> Option<Unnameable> {
    match ty {
        Type::Reference(_) => Some(Unnameable::Borrowed(ty.to_token_stream())),
        Type::ImplTrait(_) | Type::TraitObject(_) => {
            Some(Unnameable::ImplTrait(ty.to_token_stream()))
        }
        Type::Array(a) => unnameable(&a.elem),
        Type::Slice(s) => unnameable(&s.elem),
        Type::Paren(p) => unnameable(&p.elem),
        Type::Group(g) => unnameable(&g.elem),
        Type::Ptr(p) => unnameable(&p.elem),
        Type::Tuple(t) => t.elems.iter().find_map(unnameable),
        Type::Path(p) => {
            if let Some(qself) = &p.qself {
                return unnameable(&qself.ty);
            }
            if p.path.segments.first().is_some_and(|s| s.ident == "Self") {
                return Some(Unnameable::SelfType(ty.to_token_stream()));
            }
            p.path
                .segments
                .iter()
                .find_map(|segment| match &segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            GenericArgument::Type(t) => unnameable(t),
                            GenericArgument::Lifetime(l) => {
                                Some(Unnameable::Borrowed(l.to_token_stream()))
                            }
                            _ => None,
                        })
                    }
                    _ => None,
                })
        }
        _ => None,
    }
}
