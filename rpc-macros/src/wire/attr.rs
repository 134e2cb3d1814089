//! `#[wire(...)]` and `#[repr(...)]` attributes, parsed into options that keep their spans.

use crate::errors::Errors;
use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitStr, Path};

/// The `#[wire(...)]` keywords, declared once.
mod kw {
    pub const ORDER: &str = "order";
    pub const CRATE: &str = "crate";
    pub const PAD: &str = "pad";
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

/// An integer `#[repr(..)]` on an enum.
pub struct Repr {
    pub ident: Ident,
}

const REPRS: &[&str] = &["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"];

fn duplicate(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Error {
    meta.error(format!("duplicate wire attribute `{key}`"))
}

/// Parses the attributes of the struct or enum.
pub fn container(attrs: &[Attribute], errors: &mut Errors) -> Container {
    let mut out = Container::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(kw::ORDER) {
                let lit: LitStr = meta.value()?.parse()?;
                if out.order.is_some() {
                    return Err(duplicate(&meta, kw::ORDER));
                }
                let value = lit.value();
                let mut chars = value.chars();
                match (chars.next(), chars.next()) {
                    (Some(prefix @ ('!' | '<' | '>' | '=' | '@')), None) => {
                        out.order = Some(Order { prefix });
                    }
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!(
                                "unknown byte order {value:?}; expected one of the Python struct prefixes \"!\", \"<\", \">\", \"=\" or \"@\""
                            ),
                        ));
                    }
                }
            } else if meta.path.is_ident(kw::CRATE) {
                let path: Path = meta.value()?.parse()?;
                if out.krate.is_some() {
                    return Err(duplicate(&meta, kw::CRATE));
                }
                out.krate = Some(path);
            } else if meta.path.is_ident(kw::PAD) {
                return Err(meta.error("`#[wire(pad)]` belongs on a `[u8; N]` field, not on the type"));
            } else {
                return Err(unknown(&meta, "`order = \"...\"` or `crate = path`"));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    out
}

/// Parses the attributes of a field.
pub fn field(attrs: &[Attribute], errors: &mut Errors) -> Field {
    let mut out = Field::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(kw::PAD) {
                if out.pad.is_some() {
                    return Err(duplicate(&meta, kw::PAD));
                }
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(meta.error("`pad` takes no value: write `#[wire(pad)]`"));
                }
                out.pad = meta.path.get_ident().cloned();
            } else if meta.path.is_ident(kw::ORDER) || meta.path.is_ident(kw::CRATE) {
                let key = if meta.path.is_ident(kw::ORDER) { kw::ORDER } else { kw::CRATE };
                return Err(meta.error(format!(
                    "`{key}` belongs on the struct or enum, not on a field: one format has one byte order"
                )));
            } else {
                return Err(unknown(&meta, "`pad`"));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
        }
    }
    out
}

/// Rejects `#[wire(...)]` on enum variants, where no keyword applies.
pub fn variant(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("wire")) {
        errors.spanned(attr, "wire attributes do not apply to enum variants");
    }
}

fn unknown(meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
    meta.error(format!(
        "unknown wire attribute `{name}`; expected {expected}"
    ))
}

/// Finds the integer repr of an enum; `Err` spans say what is wrong.
pub fn repr(attrs: &[Attribute], fallback: Span) -> syn::Result<Repr> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                if REPRS.contains(&ident.to_string().as_str()) {
                    found = Some(Repr {
                        ident: ident.clone(),
                    });
                }
            }
            // Other reprs (C, align, …) are the compiler's business; skip any arguments.
            if meta.input.peek(syn::token::Paren) {
                let _content;
                syn::parenthesized!(_content in meta.input);
            }
            Ok(())
        })?;
    }
    found.ok_or_else(|| {
        syn::Error::new(
            fallback,
            "a Wire enum needs an integer repr such as `#[repr(u8)]` (one of u8, i8, u16, i16, u32, i32, u64, i64) to fix its size on the wire",
        )
    })
}
