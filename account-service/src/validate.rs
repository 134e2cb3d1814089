//! Checks on request fields that need no database: names, passwords, amounts and page sizes.
//!
//! The wire types already bound the lengths from above (a [`Name`] holds at most 32 bytes, a
//! [`Password`] at most 64, neither holds a NUL); these functions add the rest of the rules.

use account_client::api::{AccountError, Name, Password};

/// The fewest bytes a password may have.
pub const MIN_PASSWORD_BYTES: usize = 8;
/// The most records one `list` or `history` page may ask for.
pub const MAX_PAGE: u32 = 1000;

/// A name is 1 to 32 bytes of UTF-8 that people can read and tell apart: no control
/// characters, no invisible or direction-changing format characters (which would let
/// `bob\u{200B}` pass for `bob` in a list), and no whitespace at either end.
pub fn name(name: &Name) -> Result<(), AccountError> {
    let text = name.as_str();
    let bad = |c: char| c.is_control() || is_invisible_format(c);
    if text.is_empty() || text.trim() != text || text.chars().any(bad) {
        return Err(AccountError::InvalidName);
    }
    Ok(())
}

/// Unicode format characters (general category Cf) that render as nothing or reorder text:
/// zero-width spaces and joiners, bidirectional marks, embeddings, overrides and isolates, word
/// joiners and invisible operators, the byte order mark, and the Mongolian vowel separator.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// A password is 8 to 64 bytes.
pub fn password(password: &Password) -> Result<(), AccountError> {
    if password.len() < MIN_PASSWORD_BYTES {
        return Err(AccountError::InvalidPassword);
    }
    Ok(())
}

/// An amount moved by a request is more than zero cents.
pub fn amount(cents: i64) -> Result<(), AccountError> {
    if cents <= 0 {
        return Err(AccountError::InvalidAmount);
    }
    Ok(())
}

/// An opening deposit is zero or more cents.
pub fn opening_amount(cents: i64) -> Result<(), AccountError> {
    if cents < 0 {
        return Err(AccountError::InvalidAmount);
    }
    Ok(())
}

/// A page holds 1 to 1,000 records.
pub fn page(limit: u32) -> Result<(), AccountError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(AccountError::InvalidPage);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn names() {
        assert_eq!(name(&n("alice")), Ok(()));
        assert_eq!(name(&n("O'Brien'); DROP TABLE x;--")), Ok(()));
        assert_eq!(name(&n(&"x".repeat(32))), Ok(()));
        assert_eq!(name(&n("")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("a\nb")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("tab\there")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("del\u{7f}")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("c1\u{85}")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("bob\u{200B}")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("\u{202E}evil")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("\u{FEFF}bob")), Err(AccountError::InvalidName));
        assert_eq!(name(&n(" bob")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("bob ")), Err(AccountError::InvalidName));
        assert_eq!(name(&n("jean paul")), Ok(()));
        assert_eq!(name(&n("zoë")), Ok(()));
    }

    #[test]
    fn passwords() {
        assert_eq!(password(&Password::new("12345678").unwrap()), Ok(()));
        assert_eq!(password(&Password::new(&"p".repeat(64)).unwrap()), Ok(()));
        assert_eq!(
            password(&Password::new("1234567").unwrap()),
            Err(AccountError::InvalidPassword)
        );
        assert_eq!(
            password(&Password::EMPTY),
            Err(AccountError::InvalidPassword)
        );
    }

    #[test]
    fn amounts_and_pages() {
        assert_eq!(amount(1), Ok(()));
        assert_eq!(amount(i64::MAX), Ok(()));
        assert_eq!(amount(0), Err(AccountError::InvalidAmount));
        assert_eq!(amount(-5), Err(AccountError::InvalidAmount));
        assert_eq!(amount(i64::MIN), Err(AccountError::InvalidAmount));
        assert_eq!(opening_amount(0), Ok(()));
        assert_eq!(opening_amount(-1), Err(AccountError::InvalidAmount));
        assert_eq!(page(1), Ok(()));
        assert_eq!(page(1000), Ok(()));
        assert_eq!(page(0), Err(AccountError::InvalidPage));
        assert_eq!(page(1001), Err(AccountError::InvalidPage));
    }
}
