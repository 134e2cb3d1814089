//! The arguments of `#[service(...)]`, parsed into options that keep their spans.
//!
//! A mistake in one argument is recorded and parsing goes on with the next one, so a single
//! build reports every bad argument, not just the first.

use crate::errors::Errors;
use proc_macro2::{TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::{Path, Token};

/// The `#[service(...)]` keywords, declared once.
mod kw {
    pub const CRATE: &str = "crate";
}

/// How each keyword is written, for messages that say what to do.
mod usage {
    pub const CRATE: &str = "`#[service(crate = path)]`, e.g. `#[service(crate = ::my_runtime)]`";
}

/// The arguments of `#[service(...)]`.
#[derive(Default)]
pub struct Args {
    /// `crate = path`: where the runtime is when it is not `::rpc_runtime`.
    pub krate: Option<Path>,
}

/// Parses the tokens between the parentheses of `#[service(...)]`.
pub fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut out = Args::default();
    if tokens.is_empty() {
        return out;
    }
    let mut found = Errors::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(kw::CRATE) {
            if !meta.input.peek(Token![=]) {
                return reject(&meta, &mut found, |meta| {
                    meta.error(format!("`crate` needs a value: write {}", usage::CRATE))
                });
            }
            let _: Token![=] = meta.input.parse()?;
            match meta.input.parse::<Path>() {
                Ok(path) if meta.input.is_empty() || meta.input.peek(Token![,]) => {
                    if out.krate.is_some() {
                        found.push(meta.error(
                            "duplicate service argument `crate`: it was already given; keep one",
                        ));
                    } else {
                        out.krate = Some(path);
                    }
                    Ok(())
                }
                _ => reject(&meta, &mut found, |meta| {
                    meta.error(format!("malformed `crate`: write {}", usage::CRATE))
                }),
            }
        } else {
            let name = key_name(&meta.path);
            reject(&meta, &mut found, |meta| {
                meta.error(format!(
                    "unknown service argument `{name}`; the only argument is `crate = path`, \
                     naming the runtime when it is not `::rpc_runtime`"
                ))
            })
        }
    });
    let parsed = syn::parse::Parser::parse2(parser, tokens);
    if let Err(e) = found.finish() {
        errors.push(e);
    }
    if let Err(e) = parsed {
        errors.push(e);
    }
    out
}

/// The keyword as the user wrote it, `::`-joined when it is a path.
fn key_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// Skips the rest of the argument up to the next `,`, then records `error` (built after the
/// skip, so that it spans the whole argument).
fn reject(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    error: impl FnOnce(&ParseNestedMeta<'_>) -> syn::Error,
) -> syn::Result<()> {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        let _: TokenTree = meta.input.parse()?;
    }
    errors.push(error(meta));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(tokens: TokenStream) -> (Args, Vec<String>) {
        let mut errors = Errors::default();
        let args = parse(tokens, &mut errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (args, messages)
    }

    #[test]
    fn crate_path() {
        let (args, errors) = messages(quote!(crate = ::my_runtime));
        assert!(errors.is_empty());
        let path = args.krate.expect("crate path");
        assert_eq!(quote!(#path).to_string(), ":: my_runtime");
    }

    #[test]
    fn every_bad_argument_is_reported() {
        let (args, errors) = messages(quote!(
            name = "x",
            crate,
            crate = "rt",
            crate = a,
            crate = b
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("unknown service argument `name`"));
        assert!(errors[1].starts_with("`crate` needs a value"));
        assert!(errors[2].starts_with("malformed `crate`"));
        assert!(errors[3].starts_with("duplicate service argument `crate`"));
        assert!(args.krate.is_some());
    }
}
