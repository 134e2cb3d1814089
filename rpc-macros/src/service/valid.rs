//! Rules across the whole trait: generics, repeated names, colliding method ids. Checks that
//! look at one method at a time run while parsing, in ast.rs.

use super::ast::Service;
use crate::errors::Errors;
use std::collections::HashMap;

/// Checks the model, recording every independent mistake in `errors`.
///
/// Runs on the methods that parsed, even when others did not, so that one build reports the
/// trait-wide mistakes together with the per-method ones.
pub fn check(service: &Service<'_>, errors: &mut Errors) {
    if !service.item.generics.params.is_empty() {
        errors.spanned(
            &service.item.generics,
            format!(
                "a #[service] trait cannot be generic: every method of `{}` needs messages with one fixed format; use concrete types",
                service.ident
            ),
        );
    }
    let trait_name = service.ident.unraw_string();
    let mut names: HashMap<String, &syn::Ident> = HashMap::new();
    let mut ids: HashMap<u32, &syn::Ident> = HashMap::new();
    for method in &service.methods {
        let name = method.ident.unraw_string();
        if names.insert(name.clone(), method.ident).is_some() {
            errors.spanned(
                method.ident,
                format!(
                    "rpc method `{name}` is declared twice in `{trait_name}`; remove or rename one"
                ),
            );
            continue;
        }
        let id = method_id(&trait_name, &name);
        if let Some(previous) = ids.insert(id, method.ident) {
            let previous = previous.unraw_string();
            errors.spanned(
                method.ident,
                format!(
                    "rpc method `{name}` has the same method id as `{previous}` ({id:#010x}, the FNV-1a hash of `{trait_name}.{name}` and of `{trait_name}.{previous}`); rename one of them"
                ),
            );
        }
    }
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

    /// The pair tests/ui/service/method-id-collision.rs relies on.
    #[test]
    fn colliding_names_exist() {
        assert_eq!(method_id("Echo", "formatters"), 0xfa2c_6691);
        assert_eq!(method_id("Echo", "rewriting"), 0xfa2c_6691);
    }

    #[test]
    fn the_checks_report_collisions_and_repeats() {
        let item: syn::ItemTrait = syn::parse_quote! {
            trait Echo {
                async fn formatters(&self, request: ()) -> Result<(), ()>;
                async fn rewriting(&self, request: ()) -> Result<(), ()>;
                async fn formatters(&self, request: ()) -> Result<(), ()>;
            }
        };
        let mut errors = Errors::default();
        let service = Service::from_syn(proc_macro2::TokenStream::new(), &item, &mut errors);
        check(&service, &mut errors);
        let messages: Vec<String> = errors.into_messages();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with(
            "rpc method `rewriting` has the same method id as `formatters` (0xfa2c6691"
        ));
        assert!(messages[1].starts_with("rpc method `formatters` is declared twice"));
    }
}
