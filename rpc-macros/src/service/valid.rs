//! Rules across the whole trait: generics, clashing names, colliding method ids.

use super::ast::Service;
use crate::errors::Errors;
use std::collections::HashMap;

/// Names the generated clients define themselves; a method may not take them.
const RESERVED: &[&str] = &[
    "new",
    "inner",
    "with_timeout",
    "connect",
    "schema",
    "from_arc",
];

/// Checks the model, reporting every independent mistake at once.
pub fn check(service: &Service<'_>) -> syn::Result<()> {
    let mut errors = Errors::default();
    if !service.item.generics.params.is_empty() {
        errors.spanned(
            &service.item.generics,
            "a #[service] trait cannot be generic: its messages must have fixed formats",
        );
    }
    let mut seen: HashMap<u32, &syn::Ident> = HashMap::new();
    for method in &service.methods {
        let sig = &method.item.sig;
        if !sig.generics.params.is_empty() {
            errors.spanned(
                &sig.generics,
                "rpc methods cannot be generic: their messages must have fixed formats",
            );
        }
        if method.item.default.is_some() {
            errors.spanned(
                &method.item.default,
                "rpc methods cannot have a default body in the service trait; implement them in the impl",
            );
        }
        let name = method.ident.unraw_string();
        if RESERVED.contains(&name.as_str()) {
            errors.spanned(
                method.ident,
                format!("method name `{name}` clashes with the generated client's `{name}`; rename the method"),
            );
        }
        let id = method_id(&service.ident.unraw_string(), &name);
        if let Some(previous) = seen.insert(id, method.ident) {
            errors.spanned(
                method.ident,
                format!(
                    "method id {id:#010x} of `{name}` collides with `{previous}`; rename one of them"
                ),
            );
        }
    }
    errors.finish()
}

/// Names without the `r#` of raw identifiers.
pub trait Unraw {
    fn unraw_string(&self) -> String;
}

impl Unraw for syn::Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv1a(mut h: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The stable id of `service.method`; `rpc_runtime::schema::method_id` computes the same.
pub fn method_id(service: &str, method: &str) -> u32 {
    let h = fnv1a(
        fnv1a(fnv1a(FNV_OFFSET, service.as_bytes()), b"."),
        method.as_bytes(),
    );
    if h == 0 { 1 } else { h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fnv1a_of_the_qualified_name() {
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
        assert_eq!(method_id("Calc", "add"), fnv1a(FNV_OFFSET, b"Calc.add"));
        assert_ne!(method_id("Calc", "add"), method_id("Calc", "sub"));
    }
}
