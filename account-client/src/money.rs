//! Amounts of money as exact integer cents, parsed from and formatted as decimal text.
//!
//! No floating point is involved anywhere: `"0.1"` is exactly 10 cents, and every `i64` formats
//! and (when not negative) parses back to itself.

use thiserror::Error;

/// Why text is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text is empty.
    #[error("amount is empty")]
    Empty,
    /// The text starts with a minus sign: amounts given by users are never negative.
    #[error("amount must not be negative")]
    Negative,
    /// The text has more than two digits after the decimal point.
    #[error("amount has {decimals} decimal places; at most 2 are allowed (whole cents)")]
    TooManyDecimals {
        /// How many digits follow the point.
        decimals: usize,
    },
    /// The text is not digits with an optional point and one or two more digits.
    #[error("amount must look like 12, 12.5 or 12.50")]
    Invalid,
    /// The amount does not fit in an `i64` number of cents.
    #[error("amount is too large (the most is {})", format_cents(i64::MAX))]
    Overflow,
}

/// Parses a non-negative decimal amount into cents.
///
/// Accepted: one or more ASCII digits, optionally followed by `.` and one or two digits:
/// `"3"` is 300, `"0.5"` is 50, `"12.50"` is 1250. Everything else is refused: signs,
/// spaces, thousands separators, exponents, a bare `.5` or `5.`, a third decimal.
///
/// # Errors
///
/// [`MoneyError`] says which rule the text broke.
///
/// # Examples
///
/// ```
/// use account_client::{MoneyError, parse_cents};
///
/// assert_eq!(parse_cents("12.50"), Ok(1250));
/// assert_eq!(parse_cents("3"), Ok(300));
/// assert_eq!(parse_cents("0.5"), Ok(50));
/// assert_eq!(parse_cents("-1"), Err(MoneyError::Negative));
/// assert_eq!(parse_cents("1.005"), Err(MoneyError::TooManyDecimals { decimals: 3 }));
/// assert_eq!(parse_cents("1e3"), Err(MoneyError::Invalid));
/// ```
pub fn parse_cents(text: &str) -> Result<i64, MoneyError> {
    if text.is_empty() {
        return Err(MoneyError::Empty);
    }
    if text.starts_with('-') {
        return Err(MoneyError::Negative);
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(fraction)) {
        return Err(MoneyError::Invalid);
    }
    if fraction.len() > 2 {
        return Err(MoneyError::TooManyDecimals {
            decimals: fraction.len(),
        });
    }
    let mut cents: i64 = 0;
    for b in whole.bytes() {
        cents = cents
            .checked_mul(10)
            .and_then(|c| c.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    let fraction_cents = match fraction.as_bytes() {
        [] => 0,
        [tenths] => i64::from(tenths - b'0') * 10,
        [tenths, hundredths, ..] => i64::from(tenths - b'0') * 10 + i64::from(hundredths - b'0'),
    };
    cents
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction_cents))
        .ok_or(MoneyError::Overflow)
}

/// Formats cents as a decimal amount with exactly two decimals: 1250 is `"12.50"`, -5 is
/// `"-0.05"`.
///
/// Every `i64`, including `i64::MIN`, formats exactly.
///
/// # Examples
///
/// ```
/// use account_client::format_cents;
///
/// assert_eq!(format_cents(1250), "12.50");
/// assert_eq!(format_cents(-5), "-0.05");
/// assert_eq!(format_cents(0), "0.00");
/// ```
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_whole_and_fractional_amounts() {
        let cases = [
            ("0", 0),
            ("3", 300),
            ("12.50", 1250),
            ("12.5", 1250),
            ("0.5", 50),
            ("0.05", 5),
            ("0.01", 1),
            ("007.10", 710),
            ("1000000", 100_000_000),
            ("92233720368547758.07", i64::MAX),
        ];
        for (text, cents) in cases {
            assert_eq!(parse_cents(text), Ok(cents), "{text:?}");
        }
    }

    #[test]
    fn rejects_negative_amounts() {
        for text in ["-1", "-0", "-0.01", "-", "-abc"] {
            assert_eq!(parse_cents(text), Err(MoneyError::Negative), "{text:?}");
        }
    }

    #[test]
    fn rejects_more_than_two_decimals() {
        assert_eq!(
            parse_cents("1.005"),
            Err(MoneyError::TooManyDecimals { decimals: 3 })
        );
        assert_eq!(
            parse_cents("0.0000"),
            Err(MoneyError::TooManyDecimals { decimals: 4 })
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_cents(""), Err(MoneyError::Empty));
        let garbage = [
            "abc", "12a", "1.2.3", ".5", "5.", ".", "+5", " 5", "5 ", "1,000", "1_000", "1e3",
            "0x10", "NaN", "inf", "12.5x", "١٢", "12.-5", "1.+5",
        ];
        for text in garbage {
            assert_eq!(parse_cents(text), Err(MoneyError::Invalid), "{text:?}");
        }
    }

    #[test]
    fn rejects_overflow() {
        let too_large = [
            "92233720368547758.08",
            "92233720368547759",
            "9223372036854775808",
            "99999999999999999999999999",
        ];
        for text in too_large {
            assert_eq!(parse_cents(text), Err(MoneyError::Overflow), "{text:?}");
        }
    }

    #[test]
    fn formats_with_two_decimals() {
        let cases = [
            (0, "0.00"),
            (1, "0.01"),
            (5, "0.05"),
            (50, "0.50"),
            (1250, "12.50"),
            (100_000, "1000.00"),
            (-5, "-0.05"),
            (-1250, "-12.50"),
            (i64::MAX, "92233720368547758.07"),
            (i64::MIN, "-92233720368547758.08"),
        ];
        for (cents, text) in cases {
            assert_eq!(format_cents(cents), text, "{cents}");
        }
    }

    #[test]
    fn error_messages_are_lowercase_one_liners() {
        let errors = [
            MoneyError::Empty,
            MoneyError::Negative,
            MoneyError::TooManyDecimals { decimals: 3 },
            MoneyError::Invalid,
            MoneyError::Overflow,
        ];
        for e in errors {
            let message = e.to_string();
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(
                !message.contains('\n') && !message.ends_with('.'),
                "{message}"
            );
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(cents in 0..=i64::MAX) {
            prop_assert_eq!(parse_cents(&format_cents(cents)), Ok(cents));
        }

        #[test]
        fn negative_amounts_format_with_a_sign_and_are_refused(cents in i64::MIN..0) {
            let text = format_cents(cents);
            prop_assert!(text.starts_with('-'));
            prop_assert_eq!(parse_cents(&text), Err(MoneyError::Negative));
        }

        #[test]
        fn short_decimals_parse_and_format_canonically(
            whole in 0u64..1_000_000_000_000,
            fraction in proptest::option::of("[0-9]{1,2}"),
        ) {
            let text = match &fraction {
                Some(f) => format!("{whole}.{f}"),
                None => whole.to_string(),
            };
            let cents = parse_cents(&text).unwrap();
            let padded = format!("{:0<2}", fraction.as_deref().unwrap_or(""));
            prop_assert_eq!(format_cents(cents), format!("{whole}.{padded}"));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,24}") {
            if let Ok(cents) = parse_cents(&text) {
                prop_assert!(cents >= 0);
            }
        }
    }
}
