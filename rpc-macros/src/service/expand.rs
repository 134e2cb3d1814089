//! Code generation for a validated service: the trait with `Send` futures, the async client,
//! the blocking client and the server-side dispatcher.
//!
//! Generated bindings all start with `__rpc_`: a plain name such as `request` would turn into a
//! pattern that matches a user's constant or unit struct of that name, and fail to compile.

use super::ast::{Method, Service};
use super::attr;
use super::valid::{Unraw, method_id};
use crate::paths::{self, Core, Runtime};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::collections::HashSet;

/// The original trait, emitted after a compile error so the rest of the crate still resolves.
///
/// Warnings inside it (an unused argument in a default body, `async fn` in a public trait)
/// would only bury the errors, so they are silenced; a method declared twice keeps its first
/// declaration, so the compiler does not report the repeat the macro already did.
pub fn fallback(service: &Service<'_>) -> TokenStream {
    let mut item = service.item.clone();
    let mut seen = HashSet::new();
    item.items.retain(|i| match i {
        syn::TraitItem::Fn(f) => seen.insert(f.sig.ident.unraw_string()),
        _ => true,
    });
    // `#[rpc(...)]` is the macro's own attribute: the compiler would not know it.
    for trait_item in &mut item.items {
        if let syn::TraitItem::Fn(f) = trait_item {
            f.attrs.retain(|a| !attr::is_rpc(a));
        }
    }
    quote! {
        #[allow(warnings)]
        #item
    }
}

/// Expands a valid model.
pub fn expand(service: &Service<'_>) -> TokenStream {
    ServiceGen::new(service).into_token_stream()
}

/// Generates every item of a service, one method per item.
struct ServiceGen<'a> {
    service: &'a Service<'a>,
    rt: Runtime,
    core: Core,
    /// The trait's name without `r#`, as the schema and the method ids spell it.
    name: String,
    client: syn::Ident,
    blocking: syn::Ident,
    serve: syn::Ident,
}

/// What sets the async and the blocking client apart; everything else they share.
struct Flavor<'a> {
    ident: &'a syn::Ident,
    doc: String,
    /// The runtime client it wraps.
    inner: &'a TokenStream,
    /// Doc comments of `new` and `inner`.
    new_doc: &'static str,
    inner_doc: &'static str,
    /// `async` on the methods and `.await` on the calls, or nothing.
    asyncness: Option<TokenStream>,
    awaited: Option<TokenStream>,
    /// The `SCHEMA` const, which only the async client carries, and how methods reach it.
    schema_const: Option<TokenStream>,
    schema: TokenStream,
}

impl<'a> ServiceGen<'a> {
    fn new(service: &'a Service<'a>) -> Self {
        let name = service.ident.unraw_string();
        ServiceGen {
            service,
            rt: Runtime::new(service.krate.as_ref()),
            core: Core::new(),
            client: format_ident!("{}Client", name),
            blocking: format_ident!("{}BlockingClient", name),
            serve: format_ident!("Serve{}", name),
            name,
        }
    }

    fn id(&self, method: &Method<'_>) -> u32 {
        method_id(&self.name, &method.ident.unraw_string())
    }

    /// `where Request: Message, Response: Message, …` for every message type, written once.
    ///
    /// Every impl that handles messages carries these bounds, so its body may assume them.
    /// A type that is not a `Message` then fails one bound in the user's own signature,
    /// spanned on the type, instead of failing at each generated call: the compiler reports
    /// the identical error of each impl once.
    fn message_bounds(&self) -> TokenStream {
        let mut seen = HashSet::new();
        let bounds = self
            .service
            .methods
            .iter()
            .flat_map(|m| [m.request, m.response, m.error])
            .filter(|ty| seen.insert(ty.to_token_stream().to_string()))
            .map(|ty| {
                // Every token of the bound takes the span of the type's last token, so that
                // the predicate, and the error about it, covers exactly the type as written
                // (a token spanned elsewhere would stretch it to the attribute).
                let end = ty
                    .to_token_stream()
                    .into_iter()
                    .last()
                    .map_or_else(Span::call_site, |t| t.span());
                let message = paths::respan(&self.rt.message, end);
                quote_spanned!(end=> #ty: #message)
            });
        quote!(where #(#bounds,)*)
    }

    /// The trait, with each `async fn` turned into a method returning a `Send` future; a plain
    /// `fn` stays as it is, returning its `Result`.
    fn trait_def(&self) -> TokenStream {
        let Core {
            future,
            result,
            send,
            sync,
            ..
        } = &self.core;
        let item = self.service.item;
        let attrs = &item.attrs;
        let vis = &item.vis;
        let unsafety = &item.unsafety;
        let ident = &item.ident;
        let supertraits = item.supertraits.iter();
        let where_clause = &item.generics.where_clause;
        let methods = self.service.methods.iter().map(|m| {
            let attrs = m.item.attrs.iter().filter(|a| !attr::is_rpc(a));
            let constness = &m.item.sig.constness;
            let name = m.ident;
            let inputs = &m.item.sig.inputs;
            let (resp, err) = (m.response, m.error);
            let output = if m.sync {
                quote!(#result<#resp, #err>)
            } else {
                quote!(impl #future<Output = #result<#resp, #err>> + #send)
            };
            quote! {
                #(#attrs)*
                #constness fn #name(#inputs) -> #output;
            }
        });
        quote! {
            #(#attrs)*
            #vis #unsafety trait #ident: #send + #sync + 'static #(+ #supertraits)*
            #where_clause
            {
                #(#methods)*
            }
        }
    }

    fn schema(&self) -> TokenStream {
        let Runtime {
            message,
            service_schema,
            method_schema,
            ..
        } = &self.rt;
        let name = &self.name;
        let methods = self.service.methods.iter().map(|m| {
            let method = m.ident.unraw_string();
            let id = self.id(m);
            let (req, resp, err) = (m.request, m.response, m.error);
            let read_only = m.read_only;
            quote! {
                #method_schema::new(
                    #method,
                    #id,
                    <#req as #message>::SHAPE,
                    <#resp as #message>::SHAPE,
                    <#err as #message>::SHAPE,
                )
                .with_read_only(#read_only)
            }
        });
        quote! {
            #service_schema {
                name: #name,
                methods: &[#(#methods),*],
            }
        }
    }

    fn async_client(&self) -> TokenStream {
        let service_schema = &self.rt.service_schema;
        let schema = self.schema();
        self.client(&Flavor {
            ident: &self.client,
            doc: format!(
                "Async client of the `{}` service, generated by `#[service]`. Cheap to clone; clones share one connection.",
                self.name
            ),
            inner: &self.rt.client,
            new_doc: " Wraps a runtime client connected to a server that serves this service.",
            inner_doc: " The runtime client underneath.",
            asyncness: Some(quote!(async)),
            awaited: Some(quote!(.await)),
            schema_const: Some(quote! {
                /// The service's schema: its name, and each method's id and message formats.
                pub const SCHEMA: #service_schema = #schema;
            }),
            schema: quote!(Self::SCHEMA),
        })
    }

    fn blocking_client(&self) -> TokenStream {
        let client = &self.client;
        self.client(&Flavor {
            ident: &self.blocking,
            doc: format!(
                "Blocking client of the `{}` service, for programs without an async runtime.",
                self.name
            ),
            inner: &self.rt.blocking_client,
            new_doc: " Wraps a blocking runtime client.",
            inner_doc: " The blocking runtime client underneath.",
            asyncness: None,
            awaited: None,
            schema_const: None,
            schema: quote!(#client::SCHEMA),
        })
    }

    /// A client struct and its methods: one per rpc method, after `new`, `inner` and
    /// `with_timeout`.
    fn client(&self, flavor: &Flavor<'_>) -> TokenStream {
        let Flavor {
            ident,
            doc,
            inner,
            new_doc,
            inner_doc,
            asyncness,
            awaited,
            schema_const,
            schema,
        } = flavor;
        let Core {
            debug,
            clone,
            result,
            duration,
            ..
        } = &self.core;
        let call_error = &self.rt.call_error;
        let vis = &self.service.item.vis;
        let bounds = self.message_bounds();
        let methods = self.service.methods.iter().enumerate().map(|(i, m)| {
            let name = m.ident;
            let attrs = m.item.attrs.iter().filter(|a| client_attr(a));
            let (req, resp, err) = (m.request, m.response, m.error);
            quote! {
                #(#attrs)*
                pub #asyncness fn #name(&self, __rpc_request: #req) -> #result<#resp, #call_error<#err>> {
                    self.client.call::<#req, #resp, #err>(&#schema.methods[#i], &__rpc_request)#awaited
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(#debug, #clone)]
            #vis struct #ident {
                client: #inner,
            }

            #[allow(unused_qualifications)]
            impl #ident #bounds {
                #schema_const

                #[doc = #new_doc]
                pub fn new(__rpc_client: #inner) -> Self {
                    Self { client: __rpc_client }
                }

                #[doc = #inner_doc]
                pub fn inner(&self) -> &#inner {
                    &self.client
                }

                /// A clone whose calls time out after the given duration (sent to the server as a deadline).
                pub fn with_timeout(&self, __rpc_timeout: #duration) -> Self {
                    Self { client: self.client.with_timeout(__rpc_timeout) }
                }

                #(#methods)*
            }
        }
    }

    /// The arm of the dispatcher's `match` that starts one method. A plain `fn` runs here and
    /// its result becomes a ready call; an `async fn`'s future is boxed into the call.
    fn dispatch_arm(&self, method: &Method<'_>) -> TokenStream {
        let Runtime {
            bad_request,
            reply,
            ready_result,
            ..
        } = &self.rt;
        let boxed = &self.core.boxed;
        let (resp, err) = (method.response, method.error);
        let start = if method.sync {
            quote!(#ready_result::<#resp, #err>(__rpc_result))
        } else {
            quote!(#boxed::pin(async move { #reply::<#resp, #err>(__rpc_handler.await) }))
        };
        self.method_arm(method, quote!(#bad_request(__rpc_error)), start)
    }

    /// The arm of `start_framed`'s `match` that starts one method: as in [`Self::dispatch_arm`],
    /// but a result the call has at once is framed in place: a plain `fn`'s always, an
    /// `async fn`'s when the runtime's one poll of the boxed future finishes it.
    fn framed_arm(&self, method: &Method<'_>) -> TokenStream {
        let Runtime {
            bad_request_framed,
            start_boxed,
            framed_result,
            ..
        } = &self.rt;
        let (resp, err) = (method.response, method.error);
        let start = if method.sync {
            quote!(#framed_result::<#resp, #err>(__rpc_out, __rpc_result))
        } else {
            quote!(#start_boxed::<#resp, #err, _>(__rpc_out, __rpc_handler))
        };
        self.method_arm(
            method,
            quote!(#bad_request_framed(__rpc_out, &__rpc_error)),
            start,
        )
    }

    /// One method's arm of a dispatcher: decodes the request (`bad_request` answers one that
    /// does not decode, from `__rpc_error`), then answers `start`. For a plain `fn` the
    /// handler has run by then, on the shared service, and `__rpc_result` is what it
    /// returned; for an `async fn`, `__rpc_handler` is its future, which owns a clone of the
    /// service's `Arc`, not yet polled.
    fn method_arm(
        &self,
        method: &Method<'_>,
        bad_request: TokenStream,
        start: TokenStream,
    ) -> TokenStream {
        let message = &self.rt.message;
        let Core {
            result,
            option,
            clone,
            ..
        } = &self.core;
        let trait_ident = self.service.ident;
        let id = self.id(method);
        let name = method.ident;
        let req = method.request;
        let run = if method.sync {
            quote! {
                let __rpc_result =
                    <__RpcService as #trait_ident>::#name(&*self.service, __rpc_request);
            }
        } else {
            quote! {
                let __rpc_service = #clone::clone(&self.service);
                let __rpc_handler = async move {
                    <__RpcService as #trait_ident>::#name(&*__rpc_service, __rpc_request).await
                };
            }
        };
        quote! {
            #id => {
                let __rpc_request = match <#req as #message>::decode(__rpc_body) {
                    #result::Ok(__rpc_request) => __rpc_request,
                    #result::Err(__rpc_error) => return #option::Some(#bad_request),
                };
                #run
                #option::Some(#start)
            }
        }
    }

    /// `Serve{Trait}`, which hands calls to an implementation of the trait.
    ///
    /// The impls that name user types call the service type `__RpcService`, not `S`, so a
    /// message type or a trait called `S` keeps its meaning.
    fn server(&self) -> TokenStream {
        let Runtime {
            service,
            service_schema,
            call,
            reply_slot,
            started,
            ..
        } = &self.rt;
        let Core {
            arc,
            clone,
            debug,
            formatter,
            fmt_result,
            stringify,
            option,
            u32,
            u8,
            ..
        } = &self.core;
        let vis = &self.service.item.vis;
        let (trait_ident, client, serve) = (self.service.ident, &self.client, &self.serve);
        let bounds = self.message_bounds();
        let doc = format!(
            "Serves any implementation of `{}`: hand it to `rpc_runtime::ServerBuilder::serve`.",
            self.name
        );
        let arms = self.service.methods.iter().map(|m| self.dispatch_arm(m));
        let framed_arms = self.service.methods.iter().map(|m| self.framed_arm(m));
        quote! {
            #[doc = #doc]
            #vis struct #serve<S> {
                service: #arc<S>,
            }

            #[allow(unused_qualifications)]
            impl<__RpcService: #trait_ident> #serve<__RpcService> {
                /// Serves the given implementation.
                pub fn new(__rpc_service: __RpcService) -> Self {
                    Self { service: #arc::new(__rpc_service) }
                }

                /// Serves an implementation that is already shared.
                pub fn from_arc(__rpc_service: #arc<__RpcService>) -> Self {
                    Self { service: __rpc_service }
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl<S> #clone for #serve<S> {
                fn clone(&self) -> Self {
                    Self { service: #clone::clone(&self.service) }
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl<S> #debug for #serve<S> {
                fn fmt(&self, __rpc_f: &mut #formatter<'_>) -> #fmt_result {
                    __rpc_f.debug_struct(#stringify!(#serve)).finish_non_exhaustive()
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications, deprecated)]
            impl<__RpcService: #trait_ident> #service for #serve<__RpcService> #bounds {
                fn schema(&self) -> &'static #service_schema {
                    &#client::SCHEMA
                }

                fn start(
                    &self,
                    __rpc_method: #u32,
                    __rpc_body: &[#u8],
                ) -> #option<#call> {
                    match __rpc_method {
                        #(#arms)*
                        _ => #option::None,
                    }
                }

                fn start_framed(
                    &self,
                    __rpc_method: #u32,
                    __rpc_body: &[#u8],
                    __rpc_out: &mut #reply_slot<'_>,
                ) -> #option<#started> {
                    match __rpc_method {
                        #(#framed_arms)*
                        _ => #option::None,
                    }
                }
            }
        }
    }
}

/// Whether a method attribute carries over to the client methods: its docs, and a deprecation
/// that callers should see. The dispatcher still serves deprecated methods without warning.
fn client_attr(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("doc") || attr.path().is_ident("deprecated")
}

impl ToTokens for ServiceGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.trait_def());
        tokens.extend(self.async_client());
        tokens.extend(self.blocking_client());
        tokens.extend(self.server());
    }
}
