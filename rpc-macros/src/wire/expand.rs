//! Code generation for a validated model. Nothing here checks the input.

use super::ast::{Data, Enum, Field, Input};
use super::valid::byte_array_len;
use crate::paths::{self, Core, Runtime};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

/// Expands a valid model into the `WireField` and `Wire` impls.
pub fn expand(input: &Input<'_>) -> TokenStream {
    let common = Common::new(input);
    match &input.data {
        Data::Struct(fields) => StructGen { common, fields }.into_token_stream(),
        Data::Enum(data) => EnumGen { common, data }.into_token_stream(),
        // `valid::check` rejects unions, so this model never gets here.
        Data::Union(_) => TokenStream::new(),
    }
}

/// Impls emitted after a compile error so that uses of the type do not cascade into more
/// errors ("no associated item named `SIZE`"). They are never run: the crate does not compile.
///
/// Generic types get them too, with their generics, and a `#[wire(crate = ...)]` path is honoured
/// when it parsed.
pub fn fallback(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let Runtime {
        wire_field,
        wire,
        item,
        order,
        wire_result,
        byte_order,
        ..
    } = &Runtime::new(input.attrs.krate.as_ref());
    let Core {
        usize,
        u8,
        str,
        unreachable,
        ..
    } = &Core::new();
    quote! {
        #[automatically_derived]
        impl #impl_generics #wire_field for #ident #ty_generics #where_clause {
            const LAYOUT: &'static [#item] = &[];
            fn pack_field<__WireO: #order>(&self, _: &mut [#u8], _: #usize) -> #usize {
                #unreachable!()
            }
            fn unpack_field<__WireO: #order>(_: &[#u8], _: &mut #usize) -> #wire_result<Self> {
                #unreachable!()
            }
            fn zeroed() -> Self {
                #unreachable!()
            }
        }
        #[automatically_derived]
        impl #impl_generics #wire for #ident #ty_generics #where_clause {
            const SIZE: #usize = 0;
            const FORMAT: &'static #str = "";
            const ORDER: #byte_order = #byte_order::Network;
            type Bytes = [#u8; 0];
            fn pack(&self) -> [#u8; 0] {
                #unreachable!()
            }
        }
    }
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

/// What struct and enum impls share: the type, the paths and the byte order.
struct Common<'a> {
    ident: &'a Ident,
    rt: Runtime,
    core: Core,
    /// The byte-order prefix, as the user wrote it (`'!'` by default).
    prefix: char,
    /// The `ByteOrder` value of the prefix.
    order: TokenStream,
}

impl<'a> Common<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        let rt = Runtime::new(input.attrs.krate.as_ref());
        let prefix = input.attrs.order.as_ref().map_or('!', |o| o.prefix);
        let variant = order_variant(prefix);
        let byte_order = &rt.byte_order;
        let order = quote!(#byte_order::#variant);
        Common {
            ident: input.ident,
            rt,
            core: Core::new(),
            prefix,
            order,
        }
    }

    /// The `Wire` impl and the consts it needs, given the `WireField` impl.
    fn wire_impl(&self) -> TokenStream {
        let Common { ident, order, .. } = self;
        let Runtime {
            wire,
            wire_field,
            byte_order,
            size_of,
            format_len,
            format_bytes,
            format_str,
            pack_array,
            ..
        } = &self.rt;
        let Core { usize, u8, str, .. } = &self.core;
        quote! {
            const __WIRE_SIZE: #usize = #size_of(<#ident as #wire_field>::LAYOUT, #order);
            const __WIRE_FORMAT_LEN: #usize = #format_len(<#ident as #wire_field>::LAYOUT) + 1;
            const __WIRE_FORMAT: [#u8; __WIRE_FORMAT_LEN] =
                #format_bytes(#order, <#ident as #wire_field>::LAYOUT);

            #[automatically_derived]
            impl #wire for #ident {
                const SIZE: #usize = __WIRE_SIZE;
                const FORMAT: &'static #str = #format_str(&__WIRE_FORMAT);
                const ORDER: #byte_order = #order;
                type Bytes = [#u8; __WIRE_SIZE];

                #[inline]
                fn pack(&self) -> [#u8; __WIRE_SIZE] {
                    #pack_array(self)
                }
            }
        }
    }

    /// The `WireField` impl around the bodies of its methods, and the `Wire` impl after it.
    fn impls(&self, consts: TokenStream, items: TokenStream, methods: &Methods) -> TokenStream {
        let ident = self.ident;
        let Runtime {
            wire_field,
            order,
            wire_result,
            ..
        } = &self.rt;
        let Core { usize, u8, .. } = &self.core;
        let Methods {
            pack,
            unpack,
            zeroed,
        } = methods;
        let wire = self.wire_impl();
        quote! {
            #consts

            #[automatically_derived]
            impl #wire_field for #ident {
                #items

                #[inline]
                fn pack_field<__WireO: #order>(&self, __wire_buf: &mut [#u8], __wire_pos: #usize) -> #usize {
                    #pack
                }

                #[inline]
                fn unpack_field<__WireO: #order>(__wire_buf: &[#u8], __wire_pos: &mut #usize) -> #wire_result<Self> {
                    #unpack
                }

                fn zeroed() -> Self {
                    #zeroed
                }
            }

            #wire
        }
    }
}

/// The bodies of the three `WireField` methods.
struct Methods {
    pack: TokenStream,
    unpack: TokenStream,
    zeroed: TokenStream,
}

/// Generates the impls of a struct.
struct StructGen<'a> {
    common: Common<'a>,
    fields: &'a [Field<'a>],
}

impl StructGen<'_> {
    /// The `[u8; N]` length of a `#[wire(pad)]` field.
    fn pad_len<'f>(field: &'f Field<'_>) -> Option<&'f syn::Expr> {
        field.attrs.pad.as_ref().and(byte_array_len(field.ty))
    }

    fn layout_item(&self, field: &Field<'_>) -> TokenStream {
        let Runtime {
            item, wire_field, ..
        } = &self.common.rt;
        let name = &field.name;
        let ty = field.ty;
        match Self::pad_len(field) {
            Some(len) => quote!(#item::field(#name, &[#item::pad(#len)])),
            None => quote_spanned!(ty.span()=> #item::field(#name, <#ty as #wire_field>::LAYOUT)),
        }
    }

    /// A compile-time check that a nested type's byte order matches this struct's.
    fn order_check(&self, field: &Field<'_>) -> TokenStream {
        if field.attrs.pad.is_some() {
            return TokenStream::new();
        }
        let Common {
            ident,
            order,
            prefix,
            ..
        } = &self.common;
        let Runtime {
            order_compatible,
            wire_field,
            ..
        } = &self.common.rt;
        let ty = field.ty;
        // The compiler reports a failed `assert!` at the macro's span: the field's type.
        let assert = paths::respan(&self.common.core.assert, ty.span());
        let message = format!(
            "field `{}` nests a Wire type whose byte order is not `{ident}`'s \"{prefix}\"; a Python format has one byte order, so give the nested type `#[wire(order = \"{prefix}\")]` too",
            field.name,
        );
        quote_spanned! {ty.span()=>
            const _: () = #assert!(
                #order_compatible(<#ty as #wire_field>::NESTED_ORDER, #order),
                #message
            );
        }
    }

    fn pack_body(&self) -> TokenStream {
        let Runtime {
            pack_pad,
            wire_field,
            ..
        } = &self.common.rt;
        let steps = self.fields.iter().map(|field| {
            let member = &field.member;
            let ty = field.ty;
            match Self::pad_len(field) {
                Some(len) => quote! {
                    let __wire_pos = #pack_pad(__wire_buf, __wire_pos, #len);
                },
                None => quote_spanned! {ty.span()=>
                    let __wire_pos = <#ty as #wire_field>::pack_field::<__WireO>(&self.#member, __wire_buf, __wire_pos);
                },
            }
        });
        quote! {
            #(#steps)*
            __wire_pos
        }
    }

    fn unpack_body(&self) -> TokenStream {
        let Runtime {
            unpack_pad,
            wire_field,
            ok,
            err,
            ..
        } = &self.common.rt;
        let mut steps = Vec::new();
        let mut inits = Vec::new();
        for (i, field) in self.fields.iter().enumerate() {
            let local = format_ident!("__wire_f{}", i);
            let member = &field.member;
            let ty = field.ty;
            let name = &field.name;
            steps.push(match Self::pad_len(field) {
                Some(len) => quote! {
                    #unpack_pad(__wire_buf, __wire_pos, #len)?;
                    let #local = [0u8; #len];
                },
                None => quote_spanned! {ty.span()=>
                    let #local = match <#ty as #wire_field>::unpack_field::<__WireO>(__wire_buf, __wire_pos) {
                        #ok(__wire_value) => __wire_value,
                        #err(__wire_error) => return #err(__wire_error.in_field(#name)),
                    };
                },
            });
            inits.push(quote!(#member: #local));
        }
        quote! {
            #(#steps)*
            #ok(Self { #(#inits),* })
        }
    }

    fn zeroed_body(&self) -> TokenStream {
        let wire_field = &self.common.rt.wire_field;
        let inits = self.fields.iter().map(|field| {
            let member = &field.member;
            let ty = field.ty;
            quote_spanned!(ty.span()=> #member: <#ty as #wire_field>::zeroed())
        });
        quote!(Self { #(#inits),* })
    }
}

impl ToTokens for StructGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let Common { order, .. } = &self.common;
        let Runtime {
            item,
            option,
            some,
            byte_order,
            ..
        } = &self.common.rt;
        let layout = self.fields.iter().map(|f| self.layout_item(f));
        let checks: TokenStream = self.fields.iter().map(|f| self.order_check(f)).collect();
        let items = quote! {
            const LAYOUT: &'static [#item] = &[#(#layout),*];
            const NESTED_ORDER: #option<#byte_order> = #some(#order);
        };
        let methods = Methods {
            pack: self.pack_body(),
            unpack: self.unpack_body(),
            zeroed: self.zeroed_body(),
        };
        let impls = self.common.impls(checks, items, &methods);
        tokens.extend(quote! {
            #[allow(non_upper_case_globals, unused_qualifications, clippy::identity_op)]
            const _: () = {
                #impls
            };
        });
    }
}

/// Generates the impls of a C-like enum.
struct EnumGen<'a> {
    common: Common<'a>,
    data: &'a Enum<'a>,
}

impl ToTokens for EnumGen<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let ident = self.common.ident;
        let Runtime {
            wire_field,
            wire_error,
            item,
            kind,
            variant,
            ok,
            err,
            ..
        } = &self.common.rt;
        let Core { from, size_of, .. } = &self.common.core;
        let i128 = paths::primitive("i128");
        let Some(repr) = self.data.repr.int.as_ref() else {
            return;
        };
        // `#[repr(u8)]` always means the primitive, whatever `u8` names in the user's scope.
        let repr = paths::primitive(&repr.to_string());
        let variants: Vec<_> = self.data.variants.iter().map(|v| &v.ident).collect();
        let Some(first) = variants.first() else {
            return;
        };
        let names: Vec<_> = (0..variants.len())
            .map(|i| format_ident!("__WIRE_V{}", i))
            .collect();
        let type_name = ident.to_string();
        let enum_name = syn::ext::IdentExt::unraw(ident).to_string();
        let consts = quote!(#(const #names: #repr = #ident::#variants as #repr;)*);
        let variant_names = variants
            .iter()
            .map(|v| syn::ext::IdentExt::unraw(*v).to_string());
        let items = quote! {
            const LAYOUT: &'static [#item] = &[#item::typed(
                #kind::Enum {
                    name: #enum_name,
                    variants: &[#(#variant { name: #variant_names, value: #names as #i128 }),*],
                },
                <#repr as #wire_field>::LAYOUT,
            )];
        };
        let methods = Methods {
            pack: quote! {
                let __wire_value: #repr = match self {
                    #(#ident::#variants => #names,)*
                };
                <#repr as #wire_field>::pack_field::<__WireO>(&__wire_value, __wire_buf, __wire_pos)
            },
            unpack: quote! {
                let __wire_value = <#repr as #wire_field>::unpack_field::<__WireO>(__wire_buf, __wire_pos)?;
                match __wire_value {
                    #(#names => #ok(#ident::#variants),)*
                    __wire_other => #err(#wire_error::UnknownDiscriminant {
                        type_name: #type_name,
                        value: #from::from(__wire_other),
                        offset: *__wire_pos - #size_of::<#repr>(),
                    }),
                }
            },
            zeroed: quote!(#ident::#first),
        };
        let impls = self.common.impls(consts, items, &methods);
        tokens.extend(quote! {
            #[allow(non_upper_case_globals, unused_qualifications)]
            const _: () = {
                #impls
            };
        });
    }
}
