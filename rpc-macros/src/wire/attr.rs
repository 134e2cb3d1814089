//! `#[wire(...)]` and `#[repr(...)]` attributes, parsed into options that keep their spans.
//!
//! A mistake in one keyword is recorded and parsing goes on with the next one (see
//! `crate::meta`), so a single build reports every bad keyword, not just the first.

use crate::errors::Errors;
use crate::meta::{self, Namespace, kw};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitStr, Path};

/// How `#[wire(...)]` keywords are called in messages.
const WIRE: Namespace = Namespace("wire attribute");

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

/// Parses the attributes of the struct or enum.
pub fn container(attrs: &[Attribute], errors: &mut Errors) -> Container {
    let mut out = Container::default();
    meta::parse_attrs(attrs, kw::WIRE, errors, |meta, errors| {
        if meta.path.is_ident(kw::ORDER) {
            if let Some(lit) = meta::value::<LitStr>(meta, errors, kw::ORDER, usage::ORDER)? {
                order(meta, errors, &mut out.order, &lit);
            }
        } else if meta.path.is_ident(kw::CRATE) {
            if let Some(path) = meta::value::<Path>(meta, errors, kw::CRATE, usage::CRATE)? {
                WIRE.set_once(meta, errors, kw::CRATE, &mut out.krate, path);
            }
        } else if meta.path.is_ident(kw::PAD) {
            meta::reject(meta, errors, |meta| {
                meta.error(
                    "`pad` belongs on a `[u8; N]` field, not on the type: write `#[wire(pad)]` above the padding field",
                )
            })?;
        } else {
            WIRE.unknown(meta, errors, "expected `order = \"...\"` or `crate = path`")?;
        }
        Ok(())
    });
    out
}

/// Records `order = "<lit>"`: a repeat is reported before the prefix is looked at.
fn order(meta: &ParseNestedMeta<'_>, errors: &mut Errors, slot: &mut Option<Order>, lit: &LitStr) {
    if slot.is_some() {
        errors.push(WIRE.duplicate(meta, kw::ORDER));
        return;
    }
    match prefix(&lit.value()) {
        Some(prefix) => *slot = Some(Order { prefix }),
        None => errors.push(syn::Error::new(
            lit.span(),
            format!(
                "unknown byte order {:?}; expected one of the Python struct prefixes \"!\", \"<\", \">\", \"=\" or \"@\"",
                lit.value()
            ),
        )),
    }
}

/// The byte-order prefix `text` is, if it is exactly one of Python's.
fn prefix(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(prefix @ ('!' | '<' | '>' | '=' | '@')), None) => Some(prefix),
        _ => None,
    }
}

/// Parses the attributes of a field.
pub fn field(attrs: &[Attribute], errors: &mut Errors) -> Field {
    let mut out = Field::default();
    meta::parse_attrs(attrs, kw::WIRE, errors, |meta, errors| {
        if meta.path.is_ident(kw::PAD) {
            if !meta::is_bare(meta) {
                return meta::reject(meta, errors, |meta| {
                    meta.error("`pad` takes no value: write `#[wire(pad)]`; the field's `[u8; N]` type gives the length")
                });
            }
            if let Some(ident) = meta.path.get_ident() {
                WIRE.set_once(meta, errors, kw::PAD, &mut out.pad, ident.clone());
            }
        } else if meta.path.is_ident(kw::ORDER) {
            meta::reject(meta, errors, |meta| {
                meta.error("`order` belongs on the struct or enum, not on a field: one Python format has one byte order")
            })?;
        } else if meta.path.is_ident(kw::CRATE) {
            meta::reject(meta, errors, |meta| {
                meta.error("`crate` belongs on the struct or enum, not on a field: write `#[wire(crate = path)]` above the type")
            })?;
        } else {
            WIRE.unknown(meta, errors, "expected `pad`")?;
        }
        Ok(())
    });
    out
}

/// Rejects `#[wire(...)]` on enum variants, where no keyword applies.
pub fn variant(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(kw::WIRE)) {
        errors.spanned(
            attr,
            "`#[wire(...)]` does not apply to enum variants: put `order` or `crate` on the enum, and give the variant its value with `Variant = 1`",
        );
    }
}

/// Collects the `#[repr(...)]` hints of an enum.
///
/// Whether they are enough is decided in `valid.rs`; malformed `repr`s are the compiler's to report.
pub fn repr(attrs: &[Attribute]) -> Repr {
    let mut out = Repr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(kw::REPR)) {
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
        let (_, err) = container_of(r#"#[wire(order = "<", order = "bad")]"#);
        assert!(err.unwrap().starts_with("duplicate wire attribute `order`"));
    }

    #[test]
    fn prefixes_are_single_python_characters() {
        assert_eq!(prefix("@"), Some('@'));
        assert_eq!(prefix("!"), Some('!'));
        assert_eq!(prefix(""), None);
        assert_eq!(prefix("<<"), None);
        assert_eq!(prefix("x"), None);
    }

    #[test]
    fn repeated_pad_is_reported_at_the_second() {
        let item: syn::DeriveInput =
            syn::parse_str("struct S { #[wire(pad, pad)] #[wire(pad)] a: [u8; 1] }").unwrap();
        let syn::Data::Struct(data) = &item.data else {
            unreachable!()
        };
        let mut errors = Errors::default();
        let out = field(&data.fields.iter().next().unwrap().attrs, &mut errors);
        assert!(out.pad.is_some());
        assert_eq!(errors.finish().unwrap_err().into_iter().count(), 2);
    }

    #[test]
    fn repr_hints() {
        let item: syn::DeriveInput =
            syn::parse_str("#[repr(C)] #[repr(align(4), u16)] enum E { A }").unwrap();
        let repr = repr(&item.attrs);
        assert_eq!(repr.int.unwrap(), "u16");
        assert_eq!(repr.other.unwrap(), "C");
    }
}
