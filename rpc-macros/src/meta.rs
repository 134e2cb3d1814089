//! What `#[wire(...)]` and `#[service(...)]` share: their keywords, and the parsing of
//! `key`, `key = value` lists that records a mistake and goes on with the next keyword, so a
//! single build reports every bad keyword, not just the first.

use crate::errors::Errors;
use proc_macro2::{TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, Parser as _};
use syn::{Attribute, Path, Token};

/// Every attribute name and keyword the macros read, declared once.
pub mod kw {
    /// The helper attribute of `#[derive(Wire)]`.
    pub const WIRE: &str = "wire";
    /// The attribute that carries an enum's integer type.
    pub const REPR: &str = "repr";
    /// `order = "<"`: a Wire type's byte order.
    pub const ORDER: &str = "order";
    /// `crate = path`: where the runtime is when it is not `::rpc_runtime`.
    pub const CRATE: &str = "crate";
    /// `pad`: a `[u8; N]` field that stands for N padding bytes.
    pub const PAD: &str = "pad";
    /// The attribute on a `#[service]` method: `#[rpc(read_only)]`.
    pub const RPC: &str = "rpc";
    /// `read_only`: a method that changes nothing, so HTTP may call it with `GET`.
    pub const READ_ONLY: &str = "read_only";
}

/// What one attribute's keywords are called in messages: "wire attribute", "service argument".
#[derive(Clone, Copy)]
pub struct Namespace(pub &'static str);

impl Namespace {
    /// The error for a keyword given twice, at the second one's span.
    pub fn duplicate(self, meta: &ParseNestedMeta<'_>, key: &str) -> syn::Error {
        meta.error(format!(
            "duplicate {} `{key}`: it was already given; keep one",
            self.0
        ))
    }

    /// Records a keyword this namespace does not have; `expected` says what it does have.
    pub fn unknown(
        self,
        meta: &ParseNestedMeta<'_>,
        errors: &mut Errors,
        expected: &str,
    ) -> syn::Result<()> {
        let name = key_name(&meta.path);
        reject(meta, errors, |meta| {
            meta.error(format!("unknown {} `{name}`; {expected}", self.0))
        })
    }

    /// Stores `value` in `slot`, or records a duplicate when the keyword was already given.
    pub fn set_once<T>(
        self,
        meta: &ParseNestedMeta<'_>,
        errors: &mut Errors,
        key: &str,
        slot: &mut Option<T>,
        value: T,
    ) {
        if slot.is_some() {
            errors.push(self.duplicate(meta, key));
        } else {
            *slot = Some(value);
        }
    }
}

/// The keyword as the user wrote it, `::`-joined when it is a path (`pad::more`).
pub fn key_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// Whether the keyword has nothing after it (it is last, or a `,` follows).
pub fn is_bare(meta: &ParseNestedMeta<'_>) -> bool {
    meta.input.is_empty() || meta.input.peek(Token![,])
}

/// Skips whatever follows the keyword (`= value` or `(...)`) up to the next `,`, then records
/// `error`, built after the skip so that it spans the keyword and all of its value.
pub fn reject(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    error: impl FnOnce(&ParseNestedMeta<'_>) -> syn::Error,
) -> syn::Result<()> {
    while !is_bare(meta) {
        let _: TokenTree = meta.input.parse()?;
    }
    errors.push(error(meta));
    Ok(())
}

/// Parses `= value` after a keyword; on a mistake, records an error that shows `usage` and
/// returns `None`.
pub fn value<T: Parse>(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    key: &str,
    usage: &str,
) -> syn::Result<Option<T>> {
    if !meta.input.peek(Token![=]) {
        reject(meta, errors, |meta| {
            meta.error(format!("`{key}` needs a value: write {usage}"))
        })?;
        return Ok(None);
    }
    let _: Token![=] = meta.input.parse()?;
    match meta.input.parse::<T>() {
        Ok(value) if is_bare(meta) => Ok(Some(value)),
        _ => {
            reject(meta, errors, |meta| {
                meta.error(format!("malformed `{key}`: write {usage}"))
            })?;
            Ok(None)
        }
    }
}

/// Parses every `#[name(...)]` among `attrs` with `keyword`, which sees one keyword at a time.
pub fn parse_attrs(
    attrs: &[Attribute],
    name: &str,
    errors: &mut Errors,
    mut keyword: impl FnMut(&ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        let parsed = attr.parse_nested_meta(|meta| keyword(&meta, errors));
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
}

/// Parses the tokens of an attribute macro's arguments (`#[service(...)]`) with `keyword`.
pub fn parse_args(
    tokens: TokenStream,
    errors: &mut Errors,
    mut keyword: impl FnMut(&ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    if tokens.is_empty() {
        return;
    }
    let parsed = syn::meta::parser(|meta| keyword(&meta, errors)).parse2(tokens);
    if let Err(e) = parsed {
        errors.push(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    const NS: Namespace = Namespace("test keyword");

    /// Parses `flag` and `name = "..."`, the two kinds of keyword.
    fn parse(tokens: TokenStream) -> (Option<syn::LitStr>, Vec<String>) {
        let mut errors = Errors::default();
        let mut name = None;
        let mut flag = None;
        parse_args(tokens, &mut errors, |meta, errors| {
            if meta.path.is_ident("name") {
                if let Some(lit) = value(meta, errors, "name", "`name = \"x\"`")? {
                    NS.set_once(meta, errors, "name", &mut name, lit);
                }
            } else if meta.path.is_ident("flag") && is_bare(meta) {
                NS.set_once(meta, errors, "flag", &mut flag, ());
            } else {
                NS.unknown(meta, errors, "expected `name` or `flag`")?;
            }
            Ok(())
        });
        let messages = errors.into_messages();
        (name, messages)
    }

    #[test]
    fn keys_are_named_as_written() {
        let path: Path = syn::parse_str("pad::more").unwrap();
        assert_eq!(key_name(&path), "pad::more");
    }

    #[test]
    fn every_mistake_is_reported_and_parsing_goes_on() {
        let (name, errors) = parse(quote!(
            bogus = 1 + 2,
            name,
            name = x y,
            name = "a",
            flag,
            name = "b",
            a::b(c),
            flag
        ));
        assert_eq!(name.unwrap().value(), "a");
        assert_eq!(
            errors,
            [
                "unknown test keyword `bogus`; expected `name` or `flag`",
                "`name` needs a value: write `name = \"x\"`",
                "malformed `name`: write `name = \"x\"`",
                "duplicate test keyword `name`: it was already given; keep one",
                "unknown test keyword `a::b`; expected `name` or `flag`",
                "duplicate test keyword `flag`: it was already given; keep one",
            ]
        );
    }

    #[test]
    fn a_syntax_error_stops_the_list_but_keeps_earlier_mistakes() {
        let (name, errors) = parse(quote!(bogus, "name", name = "a"));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("unknown test keyword `bogus`"));
        assert!(name.is_none());
    }

    #[test]
    fn only_the_named_attribute_is_read() {
        let item: syn::DeriveInput =
            syn::parse_str(r#"#[other(bogus)] #[wire(name = "x")] struct S;"#).unwrap();
        let mut errors = Errors::default();
        let mut seen = Vec::new();
        parse_attrs(&item.attrs, kw::WIRE, &mut errors, |meta, errors| {
            seen.push(key_name(&meta.path));
            reject(meta, errors, |meta| meta.error("seen"))
        });
        assert_eq!(seen, ["name"]);
        assert_eq!(errors.finish().unwrap_err().into_iter().count(), 1);
    }
}
