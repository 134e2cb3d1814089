//! `#[derive(Wire)]`: parse the input into a model, validate it, then expand it.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

/// Runs the derive; errors become `compile_error!` invocations next to a fallback impl.
pub fn derive(input: &syn::DeriveInput) -> TokenStream {
    crate::pipeline::run(
        |errors| ast::Input::from_syn(input, errors),
        valid::check,
        expand::expand,
        expand::fallback,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(source: &str) -> Vec<String> {
        let input: syn::DeriveInput = syn::parse_str(source).unwrap();
        let mut errors = crate::errors::Errors::default();
        let model = ast::Input::from_syn(&input, &mut errors);
        valid::check(&model, &mut errors);
        errors.into_messages()
    }

    #[test]
    fn attribute_and_rule_mistakes_are_reported_together() {
        let found =
            messages(r#"#[wire(order = "x")] struct S<T> { a: usize, #[wire(bogus)] b: T }"#);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("unknown byte order"));
        assert!(found[1].starts_with("unknown wire attribute `bogus`"));
        assert!(found[2].contains("does not support generic parameters"));
        assert!(found[3].starts_with("`usize`"));
    }

    #[test]
    fn a_union_is_one_mistake_after_its_attributes() {
        let found = messages("#[wire(bogus)] union U<T> { a: usize, b: T }");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].contains("does not support unions"));
    }

    #[test]
    fn errors_come_with_a_fallback_that_honours_the_crate_path() {
        let input: syn::DeriveInput =
            syn::parse_str("#[wire(crate = ::rt)] struct S { a: usize }").unwrap();
        let out = derive(&input).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains(":: rt :: __private :: Wire for S"), "{out}");
    }
}
