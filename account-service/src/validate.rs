//! Checks on request fields that need no database: names, passwords, amounts and page sizes.
//!
//! The wire types already bound the lengths from above (a [`Name`] holds at most 32 bytes, a
//! [`Password`] at most 64, neither holds a NUL); these functions add the rest of the rules.

use account_client::api::{AccountError, Name, Password};
use unicode_normalization::char::{is_combining_mark, is_public_assigned};
use unicode_normalization::{UnicodeNormalization, is_nfc};

/// The fewest bytes a password may have.
pub const MIN_PASSWORD_BYTES: usize = 8;
/// The most records one `list` or `history` page may ask for.
pub const MAX_PAGE: u32 = 1000;

/// A name someone gives to find an account (`login`, `transfer`): 1 to 32 bytes of UTF-8
/// with no control characters, no invisible or direction-changing format characters, and no
/// whitespace at either end. Returns it in Unicode normalisation form C, the form names are
/// stored in, so `zoë` typed precomposed or decomposed finds the same account.
pub fn name(name: &Name) -> Result<Name, AccountError> {
    let text = name.as_str();
    let bad = |c: char| c.is_control() || is_invisible_format(c);
    if text.is_empty() || text.trim() != text || text.chars().any(bad) {
        return Err(AccountError::InvalidName);
    }
    nfc(name)
}

/// A name for a new or renamed account, and its confusable skeleton.
///
/// On top of [`name`]'s rules, every character must be visible and assigned: no default
/// ignorable code points (tag characters, variation selectors, fillers such as U+3164), no
/// blank characters that are not a plain space (U+2800, no-break and other spaces), no
/// private-use or unassigned code points, and the name may not start with a combining mark
/// (so a name of combining marks only is refused). The skeleton (Unicode UTS #39) is what the
/// name looks like: two names with one skeleton are confusable, and the database keeps
/// skeletons unique, so `аlice` with a Cyrillic `а` is taken once `alice` is.
pub fn new_name(given: &Name) -> Result<(Name, String), AccountError> {
    let name = self::name(given)?;
    let text = name.as_str();
    let starts_with_mark = text.chars().next().is_some_and(is_combining_mark);
    if starts_with_mark || text.chars().any(|c| !is_visible(c)) {
        return Err(AccountError::InvalidName);
    }
    Ok((name, skeleton(text)))
}

/// The UTS #39 skeleton of a name: equal skeletons mean the names look alike.
pub fn skeleton(name: &str) -> String {
    unicode_security::skeleton(name).collect()
}

/// `name` in normalisation form C; `InvalidName` when that no longer fits 32 bytes.
fn nfc(name: &Name) -> Result<Name, AccountError> {
    let text = name.as_str();
    if is_nfc(text) {
        return Ok(*name);
    }
    let composed: String = text.nfc().collect();
    Name::new(&composed).map_err(|_| AccountError::InvalidName)
}

/// Whether `c` shows as something a reader can see and tell apart.
fn is_visible(c: char) -> bool {
    let blank = c == '\u{2800}' || (c.is_whitespace() && c != ' ');
    // The skeleton drops exactly the default ignorable code points.
    let mut utf8 = [0; 4];
    let ignorable = unicode_security::skeleton(c.encode_utf8(&mut utf8))
        .next()
        .is_none();
    is_public_assigned(c) && !ignorable && !blank
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
        assert_eq!(name(&n("alice")), Ok(n("alice")));
        assert_eq!(
            name(&n("O'Brien'); DROP TABLE x;--")),
            Ok(n("O'Brien'); DROP TABLE x;--"))
        );
        assert!(name(&n(&"x".repeat(32))).is_ok());
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
        assert!(name(&n("jean paul")).is_ok());
        assert!(name(&n("zoë")).is_ok());
    }

    #[test]
    fn names_are_normalised_to_nfc() {
        let composed = "zo\u{eb}";
        let decomposed = "zoe\u{308}";
        assert_eq!(name(&n(decomposed)), Ok(n(composed)));
        assert_eq!(name(&n(composed)), Ok(n(composed)));
        assert_eq!(new_name(&n(decomposed)).unwrap().0, n(composed));
        // NFC of U+2126 OHM SIGN is U+03A9, one byte shorter: fits; expansions that do not
        // fit 32 bytes are refused rather than cut.
        assert_eq!(name(&n("\u{2126}")), Ok(n("\u{3a9}")));
    }

    #[test]
    fn new_names_must_be_visible() {
        for good in [
            "alice",
            "jean paul",
            "zoë",
            "O'Brien",
            "Ünïcödé",
            "ÅÉÎ",
            "日本",
            "a\u{301}",
        ] {
            assert!(new_name(&n(good)).is_ok(), "{good:?}");
        }
        for bad in [
            "bob\u{e0041}", // a tag character
            "\u{e0001}",    // LANGUAGE TAG
            "bob\u{fe0f}",  // a variation selector
            "\u{2800}",     // BRAILLE PATTERN BLANK
            "bob\u{2800}",
            "\u{3164}", // HANGUL FILLER
            "a\u{3164}b",
            "\u{115f}x", // HANGUL CHOSEONG FILLER
            "\u{301}",   // combining marks only
            "\u{301}\u{302}\u{303}",
            "\u{301}abc",  // starting with a mark
            "a\u{a0}b",    // no-break space
            "a\u{3000}b",  // ideographic space
            "a\u{e000}",   // private use
            "a\u{378}",    // unassigned
            "a\u{34f}b",   // COMBINING GRAPHEME JOINER
            "bob\u{200b}", // zero-width space
        ] {
            assert_eq!(new_name(&n(bad)), Err(AccountError::InvalidName), "{bad:?}");
        }
    }

    #[test]
    fn look_alike_names_share_a_skeleton() {
        let sk = |s: &str| new_name(&n(s)).unwrap().1;
        assert_eq!(sk("alice"), sk("\u{430}lice")); // Cyrillic а
        assert_eq!(sk("paypal"), sk("\u{440}\u{430}\u{443}\u{440}\u{430}l"));
        assert_eq!(sk("zo\u{eb}"), sk("zoe\u{308}"));
        assert_eq!(sk("alice"), sk("aIice")); // capital I
        assert_ne!(sk("alice"), sk("bob"));
        assert_ne!(sk("alice"), sk("alice2"));
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
