//! The typed model of a `#[derive(Wire)]` input, borrowing the syn nodes it came from.

use super::attr;
use crate::errors::Errors;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Member, Type};

/// A derive input: a struct or an enum.
pub enum Input<'a> {
    Struct(Struct<'a>),
    Enum(Enum<'a>),
}

/// A struct with named, tuple or no fields.
pub struct Struct<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub fields: Vec<Field<'a>>,
}

/// One struct field.
pub struct Field<'a> {
    /// How the field is accessed: `self.name` or `self.0`.
    pub member: Member,
    /// The name shown in layouts and errors (`"0"` for the first tuple field).
    pub name: String,
    pub ty: &'a Type,
    pub attrs: attr::Field,
}

/// A C-like enum.
pub struct Enum<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub repr: attr::Repr,
    pub variants: Vec<&'a syn::Variant>,
}

impl<'a> Input<'a> {
    /// Builds the model, reporting every attribute mistake at once.
    ///
    /// When attributes are wrong, the model is checked by `valid::check` anyway and both sets of
    /// errors come back together; `Err` then means "do not expand".
    pub fn from_syn(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let attrs = attr::container(&input.attrs, &mut errors);
        let model = match &input.data {
            Data::Struct(data) => {
                let fields = data
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Field {
                        member: match &f.ident {
                            Some(ident) => Member::Named(ident.clone()),
                            None => Member::Unnamed(syn::Index {
                                index: i as u32,
                                span: f.ty.span(),
                            }),
                        },
                        name: f
                            .ident
                            .as_ref()
                            .map_or_else(|| i.to_string(), |id| id.unraw().to_string()),
                        ty: &f.ty,
                        attrs: attr::field(&f.attrs, &mut errors),
                    })
                    .collect();
                Input::Struct(Struct {
                    ident: &input.ident,
                    generics: &input.generics,
                    attrs,
                    fields,
                })
            }
            Data::Enum(data) => {
                let repr = attr::repr(&input.attrs);
                for v in &data.variants {
                    attr::variant(&v.attrs, &mut errors);
                }
                Input::Enum(Enum {
                    ident: &input.ident,
                    generics: &input.generics,
                    attrs,
                    repr,
                    variants: data.variants.iter().collect(),
                })
            }
            Data::Union(data) => {
                let union = syn::Error::new_spanned(
                    data.union_token,
                    "#[derive(Wire)] does not support unions: nothing on the wire says which member is set; use a struct, or an enum with #[repr(u8)]",
                );
                return Err(match errors.finish() {
                    Ok(()) => union,
                    Err(mut earlier) => {
                        earlier.combine(union);
                        earlier
                    }
                });
            }
        };
        if let Err(mut parse_errors) = errors.finish() {
            // A bad keyword still leaves a model to check: report the field and shape mistakes
            // in the same build rather than one stage at a time.
            if let Err(rule_errors) = super::valid::check(&model) {
                parse_errors.combine(rule_errors);
            }
            return Err(parse_errors);
        }
        Ok(model)
    }
}

/// Whether a variant has fields.
pub fn has_fields(variant: &syn::Variant) -> bool {
    !matches!(variant.fields, Fields::Unit)
}
