//! Code generation for a validated model. Nothing here checks the input.

use super::ast::{Enum, Field, Input, Struct};
use super::attr;
use super::valid::byte_array_len;
use crate::errors::Errors;
use crate::paths;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

/// Expands a valid model into the `WireField` and `Wire` impls.
pub fn expand(input: &Input<'_>) -> TokenStream {
    match input {
        Input::Struct(s) => StructGen::new(s).into_token_stream(),
        Input::Enum(e) => EnumGen::new(e).into_token_stream(),
    }
}

/// Impls emitted after a compile error so that uses of the type do not cascade into more
/// errors ("no associated item named `SIZE`"). They are never run: the crate does not compile.
///
/// Generic types get them too, with their generics, and a `#[wire(crate = ...)]` path is honoured
/// when it parses; the errors of that second parse were already reported.
pub fn fallback(input: &syn::DeriveInput) -> TokenStream {
    let mut reported = Errors::default();
    let krate = attr::container(&input.attrs, &mut reported).krate;
    let _already_reported = reported.finish();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let p = paths::private(krate.as_ref());
    let Prims { usize, u8, str } = Prims::new();
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::WireField for #ident #ty_generics #where_clause {
            const LAYOUT: &'static [#p::Item] = &[];
            fn pack_field<__WireO: #p::Order>(&self, _: &mut [#u8], _: #usize) -> #usize {
                ::core::unreachable!()
            }
            fn unpack_field<__WireO: #p::Order>(_: &[#u8], _: &mut #usize) -> #p::WireResult<Self> {
                ::core::unreachable!()
            }
            fn zeroed() -> Self {
                ::core::unreachable!()
            }
        }
        #[automatically_derived]
        impl #impl_generics #p::Wire for #ident #ty_generics #where_clause {
            const SIZE: #usize = 0;
            const FORMAT: &'static #str = "";
            const ORDER: #p::ByteOrder = #p::ByteOrder::Network;
            type Bytes = [#u8; 0];
            fn pack(&self) -> [#u8; 0] {
                ::core::unreachable!()
            }
        }
    }
}

/// The primitive types generated signatures name, by absolute path: a user type called `usize`
/// or `str` in scope must not stand in for them.
struct Prims {
    usize: TokenStream,
    u8: TokenStream,
    str: TokenStream,
}

impl Prims {
    fn new() -> Self {
        Prims {
            usize: primitive("usize"),
            u8: primitive("u8"),
            str: primitive("str"),
        }
    }
}

/// `::core::primitive::<name>`.
fn primitive(name: &str) -> TokenStream {
    let ident = Ident::new(name, Span::call_site());
    quote!(::core::primitive::#ident)
}

/// The `ByteOrder` variant for a prefix character.
fn order_variant(prefix: char) -> Ident {
    let name = match prefix {
        '<' => "Little",
        '>' => "Big",
        '=' => "NativeStandard",
        '@' => "Native",
        _ => "Network",
    };
    Ident::new(name, Span::call_site())
}

/// What struct and enum impls share: the type, the runtime path and the byte order.
struct Common<'a> {
    ident: &'a Ident,
    p: TokenStream,
    /// The byte-order prefix, as the user wrote it (`'!'` by default).
    prefix: char,
    order: TokenStream,
}

impl<'a> Common<'a> {
    fn new(ident: &'a Ident, attrs: &attr::Container) -> Self {
        let p = paths::private(attrs.krate.as_ref());
        let prefix = attrs.order.as_ref().map_or('!', |o| o.prefix);
        let variant = order_variant(prefix);
        let order = quote!(#p::ByteOrder::#variant);
        Common {
            ident,
            p,
            prefix,
            order,
        }
    }

    /// The `Wire` impl and the consts it needs, given the `WireField` impl.
    fn wire_impl(&self) -> TokenStream {
        let Common {
            ident, p, order, ..
        } = self;
        let Prims { usize, u8, str } = Prims::new();
        quote! {
            const __WIRE_SIZE: #usize = #p::size_of(<#ident as #p::WireField>::LAYOUT, #order);
            const __WIRE_FORMAT_LEN: #usize = #p::format_len(<#ident as #p::WireField>::LAYOUT) + 1;
            const __WIRE_FORMAT: [#u8; __WIRE_FORMAT_LEN] =
                #p::format_bytes(#order, <#ident as #p::WireField>::LAYOUT);

            #[automatically_derived]
            impl #p::Wire for #ident {
                const SIZE: #usize = __WIRE_SIZE;
                const FORMAT: &'static #str = #p::format_str(&__WIRE_FORMAT);
                const ORDER: #p::ByteOrder = #order;
                type Bytes = [#u8; __WIRE_SIZE];

                #[inline]
                fn pack(&self) -> [#u8; __WIRE_SIZE] {
                    #p::pack_array(self)
                }
            }
        }
    }
}

/// Generates the impls of a struct.
struct StructGen<'a> {
    common: Common<'a>,
    input: &'a Struct<'a>,
}

impl<'a> StructGen<'a> {
    fn new(input: &'a Struct<'a>) -> Self {
        StructGen {
            common: Common::new(input.ident, &input.attrs),
            input,
        }
    }

    fn layout_item(&self, field: &Field<'_>) -> TokenStream {
        let p = &self.common.p;
        let name = &field.name;
        let ty = field.ty;
        match (field.attrs.pad.is_some(), byte_array_len(ty)) {
            (true, Some(len)) => quote!(#p::Item::field(#name, &[#p::Item::pad(#len)])),
            _ => quote_spanned!(ty.span()=> #p::Item::field(#name, <#ty as #p::WireField>::LAYOUT)),
        }
    }

    /// A compile-time check that a nested type's byte order matches this struct's.
    fn order_check(&self, field: &Field<'_>) -> TokenStream {
        if field.attrs.pad.is_some() {
            return TokenStream::new();
        }
        let Common { p, order, .. } = &self.common;
        let ty = field.ty;
        let prefix = self.common.prefix;
        let message = format!(
            "field `{}` nests a Wire type whose byte order is not `{}`'s \"{prefix}\"; a Python format has one byte order, so give the nested type `#[wire(order = \"{prefix}\")]` too",
            field.name, self.common.ident
        );
        quote_spanned! {ty.span()=>
            const _: () = ::core::assert!(
                #p::order_compatible(<#ty as #p::WireField>::NESTED_ORDER, #order),
                #message
            );
        }
    }

    fn pack_body(&self) -> TokenStream {
        let p = &self.common.p;
        let steps = self.input.fields.iter().map(|field| {
            let member = &field.member;
            let ty = field.ty;
            match (field.attrs.pad.is_some(), byte_array_len(ty)) {
                (true, Some(len)) => quote! {
                    let __wire_pos = #p::pack_pad(__wire_buf, __wire_pos, #len);
                },
                _ => quote_spanned! {ty.span()=>
                    let __wire_pos = <#ty as #p::WireField>::pack_field::<__WireO>(&self.#member, __wire_buf, __wire_pos);
                },
            }
        });
        quote! {
            #(#steps)*
            __wire_pos
        }
    }

    fn unpack_body(&self) -> TokenStream {
        let p = &self.common.p;
        let mut steps = Vec::new();
        let mut inits = Vec::new();
        for (i, field) in self.input.fields.iter().enumerate() {
            let local = format_ident!("__wire_f{}", i);
            let member = &field.member;
            let ty = field.ty;
            let name = &field.name;
            steps.push(match (field.attrs.pad.is_some(), byte_array_len(ty)) {
                (true, Some(len)) => quote! {
                    #p::unpack_pad(__wire_buf, __wire_pos, #len)?;
                    let #local = [0u8; #len];
                },
                _ => quote_spanned! {ty.span()=>
                    let #local = match <#ty as #p::WireField>::unpack_field::<__WireO>(__wire_buf, __wire_pos) {
                        #p::Ok(value) => value,
                        #p::Err(error) => return #p::Err(error.in_field(#name)),
                    };
                },
            });
            inits.push(quote!(#member: #local));
        }
        quote! {
            #(#steps)*
            #p::Ok(Self { #(#inits),* })
        }
    }

    fn zeroed_body(&self) -> TokenStream {
        let p = &self.common.p;
        let inits = self.input.fields.iter().map(|field| {
            let member = &field.member;
            let ty = field.ty;
            quote_spanned!(ty.span()=> #member: <#ty as #p::WireField>::zeroed())
        });
        quote!(Self { #(#inits),* })
    }
}

impl ToTokens for StructGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Common {
            ident, p, order, ..
        } = &self.common;
        let items = self.input.fields.iter().map(|f| self.layout_item(f));
        let checks = self.input.fields.iter().map(|f| self.order_check(f));
        let pack = self.pack_body();
        let unpack = self.unpack_body();
        let zeroed = self.zeroed_body();
        let wire = self.common.wire_impl();
        let Prims { usize, u8, .. } = Prims::new();
        tokens.extend(quote! {
            #[allow(non_upper_case_globals, unused_qualifications, clippy::identity_op)]
            const _: () = {
                #(#checks)*

                #[automatically_derived]
                impl #p::WireField for #ident {
                    const LAYOUT: &'static [#p::Item] = &[#(#items),*];
                    const NESTED_ORDER: #p::Option<#p::ByteOrder> = #p::Some(#order);

                    #[inline]
                    fn pack_field<__WireO: #p::Order>(&self, __wire_buf: &mut [#u8], __wire_pos: #usize) -> #usize {
                        #pack
                    }

                    #[inline]
                    fn unpack_field<__WireO: #p::Order>(__wire_buf: &[#u8], __wire_pos: &mut #usize) -> #p::WireResult<Self> {
                        #unpack
                    }

                    fn zeroed() -> Self {
                        #zeroed
                    }
                }

                #wire
            };
        });
    }
}

/// Generates the impls of a C-like enum.
struct EnumGen<'a> {
    common: Common<'a>,
    input: &'a Enum<'a>,
}

impl<'a> EnumGen<'a> {
    fn new(input: &'a Enum<'a>) -> Self {
        EnumGen {
            common: Common::new(input.ident, &input.attrs),
            input,
        }
    }
}

impl ToTokens for EnumGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Common { ident, p, .. } = &self.common;
        let Some(repr) = self.input.repr.int.as_ref() else {
            return;
        };
        // `#[repr(u8)]` always means the primitive, whatever `u8` names in the user's scope.
        let repr = primitive(&repr.to_string());
        let Prims { usize, u8, .. } = Prims::new();
        let variants: Vec<_> = self.input.variants.iter().map(|v| &v.ident).collect();
        let consts: Vec<_> = (0..variants.len())
            .map(|i| format_ident!("__WIRE_V{}", i))
            .collect();
        let Some(first) = variants.first() else {
            return;
        };
        let type_name = ident.to_string();
        let wire = self.common.wire_impl();
        tokens.extend(quote! {
            #[allow(non_upper_case_globals, unused_qualifications)]
            const _: () = {
                #(const #consts: #repr = #ident::#variants as #repr;)*

                #[automatically_derived]
                impl #p::WireField for #ident {
                    const LAYOUT: &'static [#p::Item] = <#repr as #p::WireField>::LAYOUT;

                    #[inline]
                    fn pack_field<__WireO: #p::Order>(&self, __wire_buf: &mut [#u8], __wire_pos: #usize) -> #usize {
                        let __wire_value: #repr = match self {
                            #(#ident::#variants => #consts,)*
                        };
                        <#repr as #p::WireField>::pack_field::<__WireO>(&__wire_value, __wire_buf, __wire_pos)
                    }

                    #[inline]
                    fn unpack_field<__WireO: #p::Order>(__wire_buf: &[#u8], __wire_pos: &mut #usize) -> #p::WireResult<Self> {
                        let __wire_value = <#repr as #p::WireField>::unpack_field::<__WireO>(__wire_buf, __wire_pos)?;
                        match __wire_value {
                            #(#consts => #p::Ok(#ident::#variants),)*
                            __wire_other => #p::Err(#p::WireError::UnknownDiscriminant {
                                type_name: #type_name,
                                value: ::core::convert::From::from(__wire_other),
                                offset: *__wire_pos - ::core::mem::size_of::<#repr>(),
                            }),
                        }
                    }

                    fn zeroed() -> Self {
                        #ident::#first
                    }
                }

                #wire
            };
        });
    }
}
