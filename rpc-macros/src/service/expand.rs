//! Code generation for a validated service: the trait with `Send` futures, the async client,
//! the blocking client and the server-side dispatcher.

use super::ast::{Method, Service};
use super::valid::{Unraw, method_id};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::collections::HashSet;

/// The original trait, emitted after a compile error so the rest of the crate still resolves.
///
/// Warnings inside it (an unused argument in a default body, `async fn` in a public trait)
/// would only bury the errors, so they are silenced; a method declared twice keeps its first
/// declaration, so the compiler does not report the repeat the macro already did.
pub fn fallback(item: &syn::ItemTrait) -> TokenStream {
    let mut item = item.clone();
    let mut seen = HashSet::new();
    item.items.retain(|i| match i {
        syn::TraitItem::Fn(f) => seen.insert(f.sig.ident.unraw_string()),
        _ => true,
    });
    quote! {
        #[allow(warnings)]
        #item
    }
}

/// Expands a valid model.
pub fn expand(service: &Service<'_>) -> TokenStream {
    ServiceGen::new(service).into_token_stream()
}

struct ServiceGen<'a> {
    service: &'a Service<'a>,
    rt: TokenStream,
    name: String,
    client: syn::Ident,
    blocking: syn::Ident,
    serve: syn::Ident,
}

impl<'a> ServiceGen<'a> {
    fn new(service: &'a Service<'a>) -> Self {
        let rt = crate::paths::runtime(service.krate.as_ref());
        let ident = service.ident;
        ServiceGen {
            service,
            rt,
            name: ident.unraw_string(),
            client: format_ident!("{}Client", ident.unraw_string()),
            blocking: format_ident!("{}BlockingClient", ident.unraw_string()),
            serve: format_ident!("Serve{}", ident.unraw_string()),
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
        let rt = &self.rt;
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
                let rt = respan(rt.clone(), end);
                quote_spanned!(end=> #ty: #rt::Message)
            });
        quote!(where #(#bounds,)*)
    }

    /// The trait, with each `async fn` turned into a method returning a `Send` future.
    fn trait_def(&self) -> TokenStream {
        let item = self.service.item;
        let attrs = &item.attrs;
        let vis = &item.vis;
        let unsafety = &item.unsafety;
        let ident = &item.ident;
        let supertraits = item.supertraits.iter();
        let where_clause = &item.generics.where_clause;
        let methods = self.service.methods.iter().map(|m| {
            let attrs = &m.item.attrs;
            let constness = &m.item.sig.constness;
            let name = m.ident;
            let inputs = &m.item.sig.inputs;
            let (resp, err) = (m.response, m.error);
            quote! {
                #(#attrs)*
                #constness fn #name(#inputs) -> impl ::core::future::Future<
                    Output = ::core::result::Result<#resp, #err>,
                > + ::core::marker::Send;
            }
        });
        quote! {
            #(#attrs)*
            #vis #unsafety trait #ident: ::core::marker::Send + ::core::marker::Sync + 'static #(+ #supertraits)*
            #where_clause
            {
                #(#methods)*
            }
        }
    }

    fn schema(&self) -> TokenStream {
        let rt = &self.rt;
        let name = &self.name;
        let methods = self.service.methods.iter().map(|m| {
            let method = m.ident.unraw_string();
            let id = self.id(m);
            let (req, resp, err) = (m.request, m.response, m.error);
            quote! {
                #rt::schema::MethodSchema::new(
                    #method,
                    #id,
                    <#req as #rt::Message>::SHAPE,
                    <#resp as #rt::Message>::SHAPE,
                    <#err as #rt::Message>::SHAPE,
                )
            }
        });
        quote! {
            #rt::schema::ServiceSchema {
                name: #name,
                methods: &[#(#methods),*],
            }
        }
    }

    fn client(&self) -> TokenStream {
        let rt = &self.rt;
        let vis = &self.service.item.vis;
        let client = &self.client;
        let doc = format!(
            "Async client of the `{}` service, generated by `#[service]`. Cheap to clone; clones share one connection.",
            self.name
        );
        let schema = self.schema();
        let bounds = self.message_bounds();
        let methods = self.service.methods.iter().enumerate().map(|(i, m)| {
            let name = m.ident;
            let attrs = m.item.attrs.iter().filter(|a| client_attr(a));
            let (req, resp, err) = (m.request, m.response, m.error);
            quote! {
                #(#attrs)*
                pub async fn #name(&self, request: #req) -> ::core::result::Result<#resp, #rt::CallError<#err>> {
                    self.client.call::<#req, #resp, #err>(&Self::SCHEMA.methods[#i], &request).await
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(::core::fmt::Debug, ::core::clone::Clone)]
            #vis struct #client {
                client: #rt::Client,
            }

            #[allow(unused_qualifications)]
            impl #client #bounds {
                /// The service's schema: its name, and each method's id and message formats.
                pub const SCHEMA: #rt::schema::ServiceSchema = #schema;

                /// Wraps a runtime client connected to a server that serves this service.
                pub fn new(client: #rt::Client) -> Self {
                    Self { client }
                }

                /// The runtime client underneath.
                pub fn inner(&self) -> &#rt::Client {
                    &self.client
                }

                /// A clone whose calls time out after `timeout` (sent to the server as a deadline).
                pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self {
                    Self { client: self.client.with_timeout(timeout) }
                }

                #(#methods)*
            }
        }
    }

    fn blocking_client(&self) -> TokenStream {
        let rt = &self.rt;
        let vis = &self.service.item.vis;
        let (client, blocking) = (&self.client, &self.blocking);
        let bounds = self.message_bounds();
        let doc = format!(
            "Blocking client of the `{}` service, for programs without an async runtime.",
            self.name
        );
        let methods = self.service.methods.iter().enumerate().map(|(i, m)| {
            let name = m.ident;
            let attrs = m.item.attrs.iter().filter(|a| client_attr(a));
            let (req, resp, err) = (m.request, m.response, m.error);
            quote! {
                #(#attrs)*
                pub fn #name(&self, request: #req) -> ::core::result::Result<#resp, #rt::CallError<#err>> {
                    self.client.call::<#req, #resp, #err>(&#client::SCHEMA.methods[#i], &request)
                }
            }
        });
        quote! {
            #[doc = #doc]
            #[derive(::core::fmt::Debug, ::core::clone::Clone)]
            #vis struct #blocking {
                client: #rt::BlockingClient,
            }

            #[allow(unused_qualifications)]
            impl #blocking #bounds {
                /// Wraps a blocking runtime client.
                pub fn new(client: #rt::BlockingClient) -> Self {
                    Self { client }
                }

                /// The blocking runtime client underneath.
                pub fn inner(&self) -> &#rt::BlockingClient {
                    &self.client
                }

                /// A clone whose calls time out after `timeout` (sent to the server as a deadline).
                pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self {
                    Self { client: self.client.with_timeout(timeout) }
                }

                #(#methods)*
            }
        }
    }

    fn server(&self) -> TokenStream {
        let rt = &self.rt;
        let vis = &self.service.item.vis;
        let (trait_ident, client, serve) = (self.service.ident, &self.client, &self.serve);
        let bounds = self.message_bounds();
        let doc = format!(
            "Serves any implementation of `{}`: hand it to `rpc_runtime::ServerBuilder::serve`.",
            self.name
        );
        // The impls that name user types call the service type `__RpcService`, not `S`, so a
        // message type or a trait called `S` keeps its meaning.
        let arms = self.service.methods.iter().map(|m| {
            let id = self.id(m);
            let name = m.ident;
            let (req, resp, err) = (m.request, m.response, m.error);
            quote! {
                #id => {
                    let __rpc_request = match <#req as #rt::Message>::decode(__rpc_body) {
                        ::core::result::Result::Ok(__rpc_request) => __rpc_request,
                        ::core::result::Result::Err(__rpc_error) => {
                            return ::core::option::Option::Some(#rt::__private::bad_request(__rpc_error));
                        }
                    };
                    let __rpc_service = ::core::clone::Clone::clone(&self.service);
                    ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                        #rt::__private::reply::<#resp, #err>(
                            <__RpcService as #trait_ident>::#name(&*__rpc_service, __rpc_request).await,
                        )
                    }))
                }
            }
        });
        quote! {
            #[doc = #doc]
            #vis struct #serve<S> {
                service: ::std::sync::Arc<S>,
            }

            #[allow(unused_qualifications)]
            impl<__RpcService: #trait_ident> #serve<__RpcService> {
                /// Serves `service`.
                pub fn new(service: __RpcService) -> Self {
                    Self { service: ::std::sync::Arc::new(service) }
                }

                /// Serves a shared `service`.
                pub fn from_arc(service: ::std::sync::Arc<__RpcService>) -> Self {
                    Self { service }
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl<S> ::core::clone::Clone for #serve<S> {
                fn clone(&self) -> Self {
                    Self { service: ::core::clone::Clone::clone(&self.service) }
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications)]
            impl<S> ::core::fmt::Debug for #serve<S> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(::core::stringify!(#serve)).finish_non_exhaustive()
                }
            }

            #[automatically_derived]
            #[allow(unused_qualifications, deprecated)]
            impl<__RpcService: #trait_ident> #rt::Service for #serve<__RpcService> #bounds {
                fn schema(&self) -> &'static #rt::schema::ServiceSchema {
                    &#client::SCHEMA
                }

                fn start(
                    &self,
                    __rpc_method: ::core::primitive::u32,
                    __rpc_body: &[::core::primitive::u8],
                ) -> ::core::option::Option<#rt::__private::Call> {
                    match __rpc_method {
                        #(#arms)*
                        _ => ::core::option::Option::None,
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

/// `tokens` with every span, inside groups too, set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

impl ToTokens for ServiceGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(self.trait_def());
        tokens.extend(self.client());
        tokens.extend(self.blocking_client());
        tokens.extend(self.server());
    }
}
