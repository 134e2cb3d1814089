//! The one pipeline both macros run: parse → validate → expand, with one error accumulator.

use crate::errors::Errors;
use proc_macro2::TokenStream;

/// Runs the stages of one macro over its input.
///
/// `parse` builds the model, recording the mistakes it can see in one attribute or one item
/// while going on with the rest; `check` adds the rules that look at the whole model. Both feed
/// the same [`Errors`], so one build reports every independent mistake. Only a model with no
/// error at all reaches `expand`; otherwise the errors come out as `compile_error!` next to
/// `fallback`, which keeps the user's type or trait usable so they do not cascade into more.
pub fn run<M>(
    parse: impl FnOnce(&mut Errors) -> M,
    check: impl FnOnce(&M, &mut Errors),
    expand: impl FnOnce(&M) -> TokenStream,
    fallback: impl FnOnce(&M) -> TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let model = parse(&mut errors);
    check(&model, &mut errors);
    match errors.finish() {
        Ok(()) => expand(&model),
        Err(errors) => {
            let mut tokens = errors.to_compile_error();
            tokens.extend(fallback(&model));
            tokens
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn stages(parse_error: bool, check_error: bool) -> String {
        run(
            |errors| {
                if parse_error {
                    errors.push(syn::Error::new(proc_macro2::Span::call_site(), "parse"));
                }
                7
            },
            |model, errors| {
                assert_eq!(*model, 7);
                if check_error {
                    errors.push(syn::Error::new(proc_macro2::Span::call_site(), "check"));
                }
            },
            |_| quote!(expanded),
            |_| quote!(fallback),
        )
        .to_string()
    }

    #[test]
    fn a_valid_model_is_expanded() {
        assert_eq!(stages(false, false), "expanded");
    }

    #[test]
    fn errors_of_both_stages_come_out_together_with_the_fallback() {
        let out = stages(true, true);
        assert!(
            out.contains("\"parse\"") && out.contains("\"check\""),
            "{out}"
        );
        assert!(
            out.ends_with("fallback") && !out.contains("expanded"),
            "{out}"
        );
        let out = stages(false, true);
        assert!(
            out.contains("\"check\"") && out.ends_with("fallback"),
            "{out}"
        );
    }
}
