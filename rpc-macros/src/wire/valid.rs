//! Rules that look at the whole input: shape, generics, field types, padding fields, enum shape.

use super::ast::{Data, Enum, Field, Input, has_fields};
use super::attr;
use crate::errors::Errors;
use syn::{Generics, Type};

/// Checks a parsed model, recording every independent mistake in `errors`.
pub fn check(input: &Input<'_>, errors: &mut Errors) {
    match &input.data {
        Data::Struct(fields) => {
            check_generics(input.generics, errors);
            check_fields(fields, errors);
        }
        Data::Enum(e) => {
            check_generics(input.generics, errors);
            check_enum(input.ident, e, errors);
        }
        Data::Union(data) => errors.spanned(
            data.union_token,
            "#[derive(Wire)] does not support unions: nothing on the wire says which member is set; use a struct, or an enum with #[repr(u8)]",
        ),
    }
}

fn check_generics(generics: &Generics, errors: &mut Errors) {
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "#[derive(Wire)] does not support generic parameters: a Wire type's size and Python format must be fixed where the type is defined; write a concrete type for each layout you need",
        );
    }
}

fn check_fields(fields: &[Field<'_>], errors: &mut Errors) {
    for field in fields {
        if field.attrs.pad.is_some() {
            check_pad(field, errors);
        } else if let Some((ty, why)) = unsupported(field.ty) {
            errors.spanned(ty, why);
        }
    }
}

/// The length expression of a `[u8; N]` type.
pub fn byte_array_len(ty: &Type) -> Option<&syn::Expr> {
    match ty {
        Type::Array(array) if is_primitive(&array.elem, "u8") => Some(&array.len),
        Type::Group(g) => byte_array_len(&g.elem),
        Type::Paren(p) => byte_array_len(&p.elem),
        _ => None,
    }
}

fn check_pad(field: &Field<'_>, errors: &mut Errors) {
    if byte_array_len(field.ty).is_none() {
        errors.spanned(
            field.ty,
            "a `#[wire(pad)]` field must have type `[u8; N]`: it stands for N padding bytes (`Nx`)",
        );
    }
}

fn check_enum(ident: &syn::Ident, e: &Enum<'_>, errors: &mut Errors) {
    if e.variants.is_empty() {
        errors.spanned(
            ident,
            "a Wire enum needs at least one variant: an empty enum has no value to unpack",
        );
    } else if e.repr.int.is_none() {
        match &e.repr.other {
            Some(other) => errors.spanned(
                other,
                format!(
                    "`#[repr({other})]` does not fix the size of a Wire enum on the wire; use an integer repr instead, such as `#[repr(u8)]` (one of {})",
                    attr::REPRS.join(", ")
                ),
            ),
            None => errors.spanned(
                ident,
                format!(
                    "a Wire enum needs an integer repr to fix its size on the wire: add `#[repr(u8)]` or another of {}",
                    attr::REPRS.join(", ")
                ),
            ),
        }
    }
    for variant in &e.variants {
        if has_fields(variant) {
            errors.spanned(
                &variant.fields,
                format!(
                    "variant `{}` has fields; a Wire enum is C-like: unit variants only, each one integer on the wire; put the data in a Wire struct next to the enum",
                    variant.ident
                ),
            );
        }
    }
}

/// Whether `ty` is the primitive `name`, written bare or as `core::primitive::name`.
fn is_primitive(ty: &Type, name: &str) -> bool {
    let Type::Path(p) = ty else {
        return false;
    };
    let segments: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    p.qself.is_none()
        && p.path.segments.iter().all(|s| s.arguments.is_none())
        && match segments.as_slice() {
            [only] => p.path.leading_colon.is_none() && *only == name,
            ["core" | "std", "primitive", last] => *last == name,
            _ => false,
        }
}

/// The name a path type is known by, when it is a bare name or a path into `std`, `core` or
/// `alloc`; `None` for paths into other crates or modules, which may hold a user's own type
/// of the same name.
fn std_name(path: &syn::TypePath) -> Option<(&syn::PathSegment, String)> {
    if path.qself.is_some() {
        return None;
    }
    let segments = &path.path.segments;
    let last = segments.last()?;
    let is_std = segments.len() == 1
        || segments.first().is_some_and(|first| {
            ["std", "core", "alloc"].contains(&first.ident.to_string().as_str())
        });
    is_std.then(|| (last, last.ident.to_string()))
}

/// Why a field type can never be a Wire field, for the types we can tell by their syntax, with
/// the part of the type to point at (the element, for an array of them).
///
/// Anything else is left to the `WireField` trait bound, whose error names the type.
fn unsupported(ty: &Type) -> Option<(&Type, String)> {
    let text = match ty {
        Type::Array(array) => return unsupported(&array.elem),
        Type::Group(g) => return unsupported(&g.elem),
        Type::Paren(p) => return unsupported(&p.elem),
        Type::Reference(_) => {
            "references cannot be packed: a Wire field owns its bytes; use `FixedStr<N>` for text or `[u8; N]` for bytes".to_owned()
        }
        Type::Slice(_) => {
            "slices have no fixed size; use an array `[T; N]`, or send a list of records (`rpc_runtime::wire::pack_list`)".to_owned()
        }
        Type::Ptr(_) => {
            "raw pointers cannot be packed: an address means nothing to the peer; send the value itself".to_owned()
        }
        Type::Tuple(_) => {
            "tuples are not Wire fields; use a nested `#[derive(Wire)]` struct".to_owned()
        }
        Type::FnPtr(_) | Type::TraitObject(_) | Type::ImplTrait(_) | Type::Never(_) | Type::Infer(_) => {
            "this type has no Wire layout; use a number, `bool`, `[u8; N]`, `FixedStr<N>` or a `#[derive(Wire)]` type".to_owned()
        }
        Type::Path(path) => {
            let (last, name) = std_name(path)?;
            let generic = !last.arguments.is_none();
            match name.as_str() {
                "String" | "str" if !generic => format!(
                    "`{name}` has no fixed size; use `FixedStr<N>` (N bytes, NUL-padded, `Ns`) or `PascalStr<N>` (`Np`)"
                ),
                "Vec" if generic => format!(
                    "`{name}` has no fixed size; use an array `[T; N]`, or send a list of records (`rpc_runtime::wire::pack_list`)"
                ),
                "usize" if !generic => {
                    "`usize` differs in size between platforms; use `u32` or `u64`".to_owned()
                }
                "isize" if !generic => {
                    "`isize` differs in size between platforms; use `i32` or `i64`".to_owned()
                }
                "char" if !generic => {
                    "`char` is not a Python struct type; use `u32`, or `FixedStr<4>` for its UTF-8".to_owned()
                }
                "u128" | "i128" if !generic => format!(
                    "`{name}` has no Python struct code (there are no 128-bit integers); use two 64-bit fields or `[u8; 16]`"
                ),
                "Option" if generic => {
                    "`Option` has no fixed layout; put a `bool` flag next to the value".to_owned()
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((ty, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    fn why(s: &str) -> Option<String> {
        unsupported(&ty(s)).map(|(_, why)| why)
    }

    #[test]
    fn unsupported_types_are_named() {
        assert!(why("String").unwrap().contains("FixedStr"));
        assert!(why("std::string::String").unwrap().contains("FixedStr"));
        assert!(why("[Vec<u8>; 2]").unwrap().starts_with("`Vec`"));
        assert!(why("&'static str").unwrap().contains("references"));
        assert!(why("usize").unwrap().starts_with("`usize`"));
        assert!(why("isize").unwrap().starts_with("`isize`"));
        assert!(
            why("::core::option::Option<u8>")
                .unwrap()
                .starts_with("`Option`")
        );
        assert!(why("[u8; 4]").is_none());
        assert!(why("my::Record").is_none());
    }

    #[test]
    fn user_types_named_like_std_ones_are_left_to_the_trait() {
        assert!(why("Option").is_none());
        assert!(why("my::String").is_none());
        assert!(why("crate::Vec<u8>").is_none());
    }

    #[test]
    fn arrays_point_at_their_element() {
        let array = ty("[[usize; 2]; 3]");
        let (found, _) = unsupported(&array).unwrap();
        assert_eq!(quote::quote!(#found).to_string(), "usize");
    }

    #[test]
    fn byte_arrays_are_recognised() {
        assert!(byte_array_len(&ty("[u8; 3]")).is_some());
        assert!(byte_array_len(&ty("[i8; 3]")).is_none());
        assert!(byte_array_len(&ty("u8")).is_none());
        assert!(byte_array_len(&ty("[::core::primitive::u8; 3]")).is_some());
        assert!(byte_array_len(&ty("[std::primitive::u8; 3]")).is_some());
        assert!(byte_array_len(&ty("[::u8; 3]")).is_none());
        assert!(byte_array_len(&ty("[my::u8; 3]")).is_none());
    }
}
