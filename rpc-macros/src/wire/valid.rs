//! Rules that look at the whole input: generics, field types, padding fields, enum shape.

use super::ast::{Enum, Field, Input, Struct, has_fields};
use crate::errors::Errors;
use syn::{Generics, Type};

/// Checks a parsed model, reporting every independent mistake at once.
pub fn check(input: &Input<'_>) -> syn::Result<()> {
    let mut errors = Errors::default();
    match input {
        Input::Struct(s) => check_struct(s, &mut errors),
        Input::Enum(e) => check_enum(e, &mut errors),
    }
    errors.finish()
}

fn check_generics(generics: &Generics, errors: &mut Errors) {
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "#[derive(Wire)] does not support generic parameters: a Wire type's size and Python format must be fixed when the type is defined",
        );
    }
}

fn check_struct(s: &Struct<'_>, errors: &mut Errors) {
    check_generics(s.generics, errors);
    for field in &s.fields {
        if field.attrs.pad.is_some() {
            check_pad(field, errors);
        } else if let Some(why) = unsupported(field.ty) {
            errors.spanned(field.ty, why);
        }
    }
}

/// The length expression of a `[u8; N]` type.
pub fn byte_array_len(ty: &Type) -> Option<&syn::Expr> {
    match ty {
        Type::Array(array) if is_ident(&array.elem, "u8") => Some(&array.len),
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

fn check_enum(e: &Enum<'_>, errors: &mut Errors) {
    check_generics(e.generics, errors);
    if e.variants.is_empty() {
        errors.spanned(
            e.ident,
            "a Wire enum needs at least one variant: an empty enum has no value to unpack",
        );
    }
    for variant in &e.variants {
        if has_fields(variant) {
            errors.spanned(
                &variant.fields,
                format!(
                    "variant `{}` has fields; a Wire enum is C-like: unit variants only, each one integer on the wire",
                    variant.ident
                ),
            );
        }
    }
}

fn is_ident(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// Why a field type can never be a Wire field, for the types we can tell by their syntax.
///
/// Anything else is left to the `WireField` trait bound, whose error names the type.
fn unsupported(ty: &Type) -> Option<String> {
    let text = match ty {
        Type::Array(array) => return unsupported(&array.elem),
        Type::Group(g) => return unsupported(&g.elem),
        Type::Paren(p) => return unsupported(&p.elem),
        Type::Reference(_) => {
            "references cannot be packed: a Wire field owns its bytes; use `FixedStr<N>` for text or `[u8; N]` for bytes"
        }
        Type::Slice(_) => {
            "slices have no fixed size; use an array `[T; N]`, or send a list of records (`rpc_runtime::wire::pack_list`)"
        }
        Type::Ptr(_) => "raw pointers cannot be packed",
        Type::Tuple(_) => "tuples are not Wire fields; use a nested `#[derive(Wire)]` struct",
        Type::BareFn(_)
        | Type::TraitObject(_)
        | Type::ImplTrait(_)
        | Type::Never(_)
        | Type::Infer(_) => "this type has no Wire layout",
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "String" | "str" => {
                    "`String` has no fixed size; use `FixedStr<N>` (N bytes, NUL-padded, `Ns`) or `PascalStr<N>` (`Np`)"
                }
                "Vec" => {
                    "`Vec` has no fixed size; use an array `[T; N]`, or send a list of records (`rpc_runtime::wire::pack_list`)"
                }
                "usize" | "isize" => {
                    "`usize` and `isize` differ in size between platforms; use `u32`/`u64` or `i32`/`i64`"
                }
                "char" => {
                    "`char` is not a Python struct type; use `u32`, or `FixedStr<4>` for its UTF-8"
                }
                "u128" | "i128" => {
                    "Python's struct module has no 128-bit integers; use two 64-bit fields or `[u8; 16]`"
                }
                "Option" => "`Option` has no fixed layout; put a `bool` flag next to the value",
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    #[test]
    fn unsupported_types_are_named() {
        assert!(unsupported(&ty("String")).unwrap().contains("FixedStr"));
        assert!(unsupported(&ty("[Vec<u8>; 2]")).unwrap().contains("Vec"));
        assert!(
            unsupported(&ty("&'static str"))
                .unwrap()
                .contains("references")
        );
        assert!(unsupported(&ty("usize")).is_some());
        assert!(unsupported(&ty("[u8; 4]")).is_none());
        assert!(unsupported(&ty("my::Record")).is_none());
    }

    #[test]
    fn byte_arrays_are_recognised() {
        assert!(byte_array_len(&ty("[u8; 3]")).is_some());
        assert!(byte_array_len(&ty("[i8; 3]")).is_none());
        assert!(byte_array_len(&ty("u8")).is_none());
    }
}
