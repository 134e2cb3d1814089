//! `#[wire(...)]` and `#[repr(...)]` attributes, parsed into options that keep their spans.
//!
//! A mistake in one keyword is recorded and parsing goes on with the next one, so a single
//! build reports every bad keyword, not just the first.

use crate::errors::Errors;
use proc_macro2::TokenTree;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::{Attribute, Ident, LitStr, Path, Token};

/// The `#[wire(...)]` keywords, declared once.
mod kw {
    pub const ORDER: &str = "order";
    pub const CRATE: &str = "crate";
    pub const PAD: &str = "pad";
}

/// How each keyword is written, for messages that say what to do.
mod usage {
    pub const ORDER: &str = "`#[wire(order = \"<\")]` with one of the Python struct prefixes \"!\", \"<\", \">\", \"=\" or \"@\"";
    pub const CRATE: &str = "`#[wire(crate = path)]`, e.g. `#[wire(crate = ::my_runtime)]`";
}

/// The byte-order prefix a type asked for.
pub struct Order {
    pub prefix: char,
}

/// Attributes on the struct or enum itself.
#[derive(Default)]
pub struct Container {
    pub order: Option<Order>,
    pub krate: Option<Path>,
}

/// Attributes on one field.
#[derive(Default)]
pub struct Field {
    /// The `pad` keyword, kept for its span.
    pub pad: Option<Ident>,
}

/// The `#[repr(...)]` hints of an enum.
#[derive(Default)]
pub struct Repr {
    /// The integer repr (`u8`, `i32`, …), if there is one.
    pub int: Option<Ident>,
    /// The first other hint (`C`, `transparent`, …), kept to explain why it is not enough.
    pub other: Option<Ident>,
}

/// The integer reprs a Wire enum may have: those with a Python struct code.
pub const REPRS: &[&str] = &["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"];

/// The keyword as the user wrote it, `::`-joined when it is a path (`pad::more`).
fn key_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// Skips whatever follows the keyword (`= value` or `(...)`) up to the next `,`, so parsing can
/// go on with the next keyword after an error.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        let _: TokenTree = meta.input.parse()?;
    }
    Ok(())
}

/// Records `error` (built once the keyword's value is skipped, so it spans all of it).
fn reject(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    error: impl FnOnce(&ParseNestedMeta<'_>) -> syn::Error,
) -> syn::Result<()> {
    skip_value(meta)?;
    errors.push(error(meta));
    Ok(())
}

/// Parses `= value` after a keyword; on a mistake, records an error that shows `usage`.
fn value<T: Parse>(
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
        Ok(value) if meta.input.is_empty() || meta.input.peek(Token![,]) => Ok(Some(value)),
        _ => {
            reject(meta, errors, |meta| {
                meta.error(format!("malformed `{key}`: write {usage}"))
            })?;
            Ok(None)
        }
    }
}

fn duplicate(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Error {
    meta.error(format!(
        "duplicate wire attribute `{key}`: it was already given; keep one"
    ))
}

/// Parses every `#[wire(...)]` in `attrs` with `keyword`, recording errors instead of stopping.
fn parse_wire_attrs(
    attrs: &[Attribute],
    errors: &mut Errors,
    mut keyword: impl FnMut(&ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        let mut found = Errors::default();
        let parsed = attr.parse_nested_meta(|meta| keyword(&meta, &mut found));
        if let Err(e) = found.finish() {
            errors.push(e);
        }
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
}

/// Parses the attributes of the struct or enum.
pub fn container(attrs: &[Attribute], errors: &mut Errors) -> Container {
    let mut out = Container::default();
    parse_wire_attrs(attrs, errors, |meta, errors| {
        if meta.path.is_ident(kw::ORDER) {
            let Some(lit) = value::<LitStr>(meta, errors, kw::ORDER, usage::ORDER)? else {
                return Ok(());
            };
            if out.order.is_some() {
                errors.push(duplicate(meta, kw::ORDER));
                return Ok(());
            }
            let text = lit.value();
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(prefix @ ('!' | '<' | '>' | '=' | '@')), None) => {
                    out.order = Some(Order { prefix });
                }
                _ => errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown byte order {text:?}; expected one of the Python struct prefixes \"!\", \"<\", \">\", \"=\" or \"@\""
                    ),
                )),
            }
        } else if meta.path.is_ident(kw::CRATE) {
            let Some(path) = value::<Path>(meta, errors, kw::CRATE, usage::CRATE)? else {
                return Ok(());
            };
            if out.krate.is_some() {
                errors.push(duplicate(meta, kw::CRATE));
                return Ok(());
            }
            out.krate = Some(path);
        } else if meta.path.is_ident(kw::PAD) {
            reject(meta, errors, |meta| {
                meta.error(
                    "`pad` belongs on a `[u8; N]` field, not on the type: write `#[wire(pad)]` above the padding field",
                )
            })?;
        } else {
            reject(meta, errors, |meta| {
                unknown(meta, "`order = \"...\"` or `crate = path`")
            })?;
        }
        Ok(())
    });
    out
}

/// Parses the attributes of a field.
pub fn field(attrs: &[Attribute], errors: &mut Errors) -> Field {
    let mut out = Field::default();
    parse_wire_attrs(attrs, errors, |meta, errors| {
        if meta.path.is_ident(kw::PAD) {
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                return reject(meta, errors, |meta| {
                    meta.error("`pad` takes no value: write `#[wire(pad)]`; the field's `[u8; N]` type gives the length")
                });
            }
            if out.pad.is_some() {
                errors.push(duplicate(meta, kw::PAD));
                return Ok(());
            }
            out.pad = meta.path.get_ident().cloned();
        } else if meta.path.is_ident(kw::ORDER) {
            reject(meta, errors, |meta| {
                meta.error("`order` belongs on the struct or enum, not on a field: one Python format has one byte order")
            })?;
        } else if meta.path.is_ident(kw::CRATE) {
            reject(meta, errors, |meta| {
                meta.error("`crate` belongs on the struct or enum, not on a field: write `#[wire(crate = path)]` above the type")
            })?;
        } else {
            reject(meta, errors, |meta| unknown(meta, "`pad`"))?;
        }
        Ok(())
    });
    out
}

/// Rejects `#[wire(...)]` on enum variants, where no keyword applies.
pub fn variant(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        errors.spanned(
            attr,
            "`#[wire(...)]` does not apply to enum variants: put `order` or `crate` on the enum, and give the variant its value with `Variant = 1`",
        );
    }
}

fn unknown(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Error {
    let name = key_name(&meta.path);
    meta.error(format!(
        "unknown wire attribute `{name}`; expected {expected}"
    ))
}

/// Collects the `#[repr(...)]` hints of an enum.
///
/// Whether they are enough is decided in `valid.rs`; malformed `repr`s are the compiler's to report.
pub fn repr(attrs: &[Attribute]) -> Repr {
    let mut out = Repr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let _compiler_reports_malformed_reprs = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                if REPRS.contains(&ident.to_string().as_str()) {
                    out.int = Some(ident.clone());
                } else if out.other.is_none() {
                    out.other = Some(ident.clone());
                }
            }
            // Other reprs (C, align, …) are the compiler's business; skip any arguments.
            if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container_of(attr: &str) -> (Container, Option<String>) {
        let item: syn::DeriveInput = syn::parse_str(&format!("{attr} struct S;")).unwrap();
        let mut errors = Errors::default();
        let out = container(&item.attrs, &mut errors);
        (out, errors.finish().err().map(|e| e.to_string()))
    }

    #[test]
    fn parsing_goes_on_after_a_bad_keyword() {
        let item: syn::DeriveInput =
            syn::parse_str(r#"#[wire(order = "x", bogus = 1 + 2, crate = ::rt)] struct S;"#)
                .unwrap();
        let mut errors = Errors::default();
        let out = container(&item.attrs, &mut errors);
        assert_eq!(errors.finish().unwrap_err().into_iter().count(), 2);
        assert!(out.krate.is_some());
    }

    #[test]
    fn order_values() {
        let (parsed, err) = container_of(r#"#[wire(order = "<")]"#);
        assert_eq!((parsed.order.map(|o| o.prefix), err), (Some('<'), None));
        let (_, err) = container_of("#[wire(order = little)]");
        assert!(err.unwrap().starts_with("malformed `order`"));
        let (_, err) = container_of("#[wire(order)]");
        assert!(err.unwrap().starts_with("`order` needs a value"));
    }

    #[test]
    fn repr_hints() {
        let item: syn::DeriveInput =
            syn::parse_str("#[repr(C)] #[repr(align(4), u16)] enum E { A }").unwrap();
        let repr = repr(&item.attrs);
        assert_eq!(repr.int.unwrap(), "u16");
        assert_eq!(repr.other.unwrap(), "C");
    }

    #[test]
    fn keys_are_named_as_written() {
        let path: Path = syn::parse_str("pad::more").unwrap();
        assert_eq!(key_name(&path), "pad::more");
    }
}
