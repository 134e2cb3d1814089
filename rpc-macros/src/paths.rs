//! Every path the generated code names, in one place. Generated code uses absolute paths only:
//! a user item called `Result`, `Option` or `u8`, or a missing prelude, cannot change what it
//! means.
//!
//! The generators destructure these sets (`let Core { result, .. } = &self.core;`) and
//! interpolate the fields, so no path is spelled anywhere else.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::Ident;

/// `::core::primitive::<name>`: a user type called `u8` or `usize` must not stand in for it.
pub fn primitive(name: &str) -> TokenStream {
    let ident = Ident::new(name, Span::call_site());
    quote!(::core::primitive::#ident)
}

/// `path` with every token, inside groups too, at `span`: for a path whose tokens should point
/// at the user's code in an error, as if written inside `quote_spanned!(span=> ...)`.
pub fn respan(path: &TokenStream, span: Span) -> TokenStream {
    path.clone()
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Paths into `core` and `std`.
pub struct Core {
    pub result: TokenStream,
    pub option: TokenStream,
    pub future: TokenStream,
    pub send: TokenStream,
    pub sync: TokenStream,
    pub clone: TokenStream,
    pub debug: TokenStream,
    pub formatter: TokenStream,
    pub fmt_result: TokenStream,
    pub duration: TokenStream,
    pub from: TokenStream,
    pub size_of: TokenStream,
    pub assert: TokenStream,
    pub unreachable: TokenStream,
    pub stringify: TokenStream,
    pub arc: TokenStream,
    pub boxed: TokenStream,
    pub usize: TokenStream,
    pub u8: TokenStream,
    pub u32: TokenStream,
    pub str: TokenStream,
}

impl Core {
    pub fn new() -> Self {
        Core {
            result: quote!(::core::result::Result),
            option: quote!(::core::option::Option),
            future: quote!(::core::future::Future),
            send: quote!(::core::marker::Send),
            sync: quote!(::core::marker::Sync),
            clone: quote!(::core::clone::Clone),
            debug: quote!(::core::fmt::Debug),
            formatter: quote!(::core::fmt::Formatter),
            fmt_result: quote!(::core::fmt::Result),
            duration: quote!(::core::time::Duration),
            from: quote!(::core::convert::From),
            size_of: quote!(::core::mem::size_of),
            assert: quote!(::core::assert),
            unreachable: quote!(::core::unreachable),
            stringify: quote!(::core::stringify),
            arc: quote!(::std::sync::Arc),
            boxed: quote!(::std::boxed::Box),
            usize: primitive("usize"),
            u8: primitive("u8"),
            u32: primitive("u32"),
            str: primitive("str"),
        }
    }
}

/// Paths into the runtime: `::rpc_runtime`, or the path the user gave with `crate = path`.
pub struct Runtime {
    // The public API that `#[service]` code names.
    pub message: TokenStream,
    pub service: TokenStream,
    pub client: TokenStream,
    pub blocking_client: TokenStream,
    pub call_error: TokenStream,
    pub service_schema: TokenStream,
    pub method_schema: TokenStream,
    // The hidden support module, `__private`.
    pub wire: TokenStream,
    pub wire_field: TokenStream,
    pub wire_result: TokenStream,
    pub wire_error: TokenStream,
    pub item: TokenStream,
    pub kind: TokenStream,
    pub variant: TokenStream,
    pub order: TokenStream,
    pub byte_order: TokenStream,
    pub size_of: TokenStream,
    pub format_len: TokenStream,
    pub format_bytes: TokenStream,
    pub format_str: TokenStream,
    pub order_compatible: TokenStream,
    pub pack_array: TokenStream,
    pub pack_pad: TokenStream,
    pub unpack_pad: TokenStream,
    pub option: TokenStream,
    pub some: TokenStream,
    pub ok: TokenStream,
    pub err: TokenStream,
    pub call: TokenStream,
    pub bad_request: TokenStream,
    pub reply: TokenStream,
    pub reply_slot: TokenStream,
    pub started: TokenStream,
    pub bad_request_framed: TokenStream,
    pub start_boxed: TokenStream,
    pub framed_result: TokenStream,
    pub ready_result: TokenStream,
}

impl Runtime {
    pub fn new(krate: Option<&syn::Path>) -> Self {
        let rt = match krate {
            Some(path) => quote!(#path),
            None => quote!(::rpc_runtime),
        };
        let p = quote!(#rt::__private);
        Runtime {
            message: quote!(#rt::Message),
            service: quote!(#rt::Service),
            client: quote!(#rt::Client),
            blocking_client: quote!(#rt::BlockingClient),
            call_error: quote!(#rt::CallError),
            service_schema: quote!(#rt::schema::ServiceSchema),
            method_schema: quote!(#rt::schema::MethodSchema),
            wire: quote!(#p::Wire),
            wire_field: quote!(#p::WireField),
            wire_result: quote!(#p::WireResult),
            wire_error: quote!(#p::WireError),
            item: quote!(#p::Item),
            kind: quote!(#p::Kind),
            variant: quote!(#p::Variant),
            order: quote!(#p::Order),
            byte_order: quote!(#p::ByteOrder),
            size_of: quote!(#p::size_of),
            format_len: quote!(#p::format_len),
            format_bytes: quote!(#p::format_bytes),
            format_str: quote!(#p::format_str),
            order_compatible: quote!(#p::order_compatible),
            pack_array: quote!(#p::pack_array),
            pack_pad: quote!(#p::pack_pad),
            unpack_pad: quote!(#p::unpack_pad),
            option: quote!(#p::Option),
            some: quote!(#p::Some),
            ok: quote!(#p::Ok),
            err: quote!(#p::Err),
            call: quote!(#p::Call),
            bad_request: quote!(#p::bad_request),
            reply: quote!(#p::reply),
            reply_slot: quote!(#p::ReplySlot),
            started: quote!(#p::Started),
            bad_request_framed: quote!(#p::bad_request_framed),
            start_boxed: quote!(#p::start_boxed),
            framed_result: quote!(#p::framed_result),
            ready_result: quote!(#p::ready_result),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_absolute() {
        let Core {
            result,
            usize,
            boxed,
            ..
        } = Core::new();
        for path in [result, usize, boxed] {
            assert!(
                path.to_string().starts_with(":: core") || path.to_string().starts_with(":: std")
            );
        }
        let rt = Runtime::new(None);
        assert_eq!(rt.message.to_string(), ":: rpc_runtime :: Message");
        assert_eq!(
            rt.wire_field.to_string(),
            ":: rpc_runtime :: __private :: WireField"
        );
    }

    #[test]
    fn a_renamed_runtime_is_used_as_written() {
        let krate: syn::Path = syn::parse_str("crate::renamed").unwrap();
        let rt = Runtime::new(Some(&krate));
        assert_eq!(
            rt.reply.to_string(),
            "crate :: renamed :: __private :: reply"
        );
    }
}
