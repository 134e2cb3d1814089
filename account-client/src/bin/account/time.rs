//! UTC calendar times from Unix seconds, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl Civil {
    /// The proleptic Gregorian date and time of `secs` seconds after 1970-01-01 00:00:00 UTC.
    ///
    /// Days to a date by Howard Hinnant's `civil_from_days`: shift the epoch to 0000-03-01 so
    /// that leap days fall at the end of each year, then split into 400-year eras.
    fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Every narrowing below is of a value already reduced into its small range.
        let small = |v: i64| u8::try_from(v).unwrap_or(u8::MAX);
        Civil {
            year,
            month: small(month),
            day: small(day),
            hour: small(of_day / 3600),
            minute: small(of_day / 60 % 60),
            second: small(of_day % 60),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, for people.
pub fn utc(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// RFC 3339 in UTC (`YYYY-MM-DDTHH:MM:SSZ`), for `--json`.
pub fn rfc3339(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Seconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01 00:00:00"),
            (-1, "1969-12-31 23:59:59"),
            (951_782_400, "2000-02-29 00:00:00"),
            (1_700_000_000, "2023-11-14 22:13:20"),
            (1_709_251_199, "2024-02-29 23:59:59"),
            (4_102_444_800, "2100-01-01 00:00:00"),
            (253_402_300_799, "9999-12-31 23:59:59"),
            (-62_135_596_800, "0001-01-01 00:00:00"),
        ];
        for (secs, text) in cases {
            assert_eq!(utc(secs), text, "{secs}");
        }
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn consecutive_days_are_consecutive_dates() {
        // Walk 1900..2101 day by day: each date follows the previous one by the calendar.
        let mut previous = Civil::from_unix(-2_208_988_800 - 86_400);
        for day in -25_567..47_482 {
            let c = Civil::from_unix(day * 86_400 + 45_296);
            assert_eq!((c.hour, c.minute, c.second), (12, 34, 56));
            let leap = c.year % 4 == 0 && (c.year % 100 != 0 || c.year % 400 == 0);
            let month_len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            if c.day == 1 {
                let last = month_len[usize::from((c.month + 10) % 12)];
                assert_eq!(previous.day, last, "{c:?} after {previous:?}");
            } else {
                assert_eq!(
                    (c.year, c.month, c.day - 1),
                    (previous.year, previous.month, previous.day)
                );
            }
            previous = c;
        }
    }

    #[test]
    fn extreme_values_do_not_panic() {
        for secs in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let text = utc(secs);
            assert!(text.len() >= 19, "{text}");
        }
    }

    #[test]
    fn now_is_after_2024() {
        assert!(now() > 1_704_067_200);
    }
}
