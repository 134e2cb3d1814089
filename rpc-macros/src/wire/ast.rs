//! The typed model of a `#[derive(Wire)]` input, borrowing the syn nodes it came from.

use super::attr;
use crate::errors::Errors;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned;
use syn::{DeriveInput, Fields, Generics, Ident, Member, Type};

/// A derive input: what every shape shares, and the shape.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub data: Data<'a>,
}

/// The shape of the input.
pub enum Data<'a> {
    /// A struct with named, tuple or no fields.
    Struct(Vec<Field<'a>>),
    /// A C-like enum.
    Enum(Enum<'a>),
    /// A union, which `valid.rs` rejects; kept so that the attributes are still checked.
    Union(&'a syn::DataUnion),
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

/// The variants and the `#[repr]` of a C-like enum.
pub struct Enum<'a> {
    pub repr: attr::Repr,
    pub variants: Vec<&'a syn::Variant>,
}

impl<'a> Input<'a> {
    /// Builds the model, recording every attribute mistake in `errors`.
    ///
    /// A bad keyword still leaves a model, which `valid::check` looks at in the same build.
    pub fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Self {
        let attrs = attr::container(&input.attrs, errors);
        let data = match &input.data {
            syn::Data::Struct(data) => Data::Struct(
                data.fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Field::from_syn(i, f, errors))
                    .collect(),
            ),
            syn::Data::Enum(data) => {
                for v in &data.variants {
                    attr::variant(&v.attrs, errors);
                }
                Data::Enum(Enum {
                    repr: attr::repr(&input.attrs),
                    variants: data.variants.iter().collect(),
                })
            }
            syn::Data::Union(data) => Data::Union(data),
        };
        Input {
            ident: &input.ident,
            generics: &input.generics,
            attrs,
            data,
        }
    }
}

impl<'a> Field<'a> {
    fn from_syn(index: usize, field: &'a syn::Field, errors: &mut Errors) -> Self {
        let (member, name) = match &field.ident {
            Some(ident) => (Member::Named(ident.clone()), ident.unraw().to_string()),
            None => (
                Member::Unnamed(syn::Index {
                    index: index as u32,
                    span: field.ty.span(),
                }),
                index.to_string(),
            ),
        };
        Field {
            member,
            name,
            ty: &field.ty,
            attrs: attr::field(&field.attrs, errors),
        }
    }
}

/// Whether a variant has fields.
pub fn has_fields(variant: &syn::Variant) -> bool {
    !matches!(variant.fields, Fields::Unit)
}
