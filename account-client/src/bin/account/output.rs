//! What each command prints: aligned text for people, or one JSON value with `--json`.
//!
//! JSON is written by serde_json from one struct per shape, whose field order is the key
//! order; times come from jiff, in UTC; table columns are as wide as their widest cell on a
//! terminal (unicode-width), so names in CJK scripts or with emoji line up.

use account_client::{AccountInfo, AccountStatus, AccountSummary, Entry, EntryKind, format_cents};
use serde::Serialize;
use unicode_width::UnicodeWidthStr as _;

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Human,
    /// One JSON value per command.
    Json,
}

/// `value` as compact JSON.
pub fn json(value: &impl Serialize) -> String {
    // Only maps with non-string keys or failing `Serialize` impls make serde_json fail; the
    // derived structs of this module have neither.
    serde_json::to_string(value).expect("the output structs always serialize")
}

/// `secs` (Unix seconds) as `YYYY-MM-DD HH:MM:SS` in UTC, for people; the number itself when
/// it lies outside what jiff can show (about the years -9999 to 9999).
pub fn utc(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(at) => at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => secs.to_string(),
    }
}

/// `secs` (Unix seconds) in RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`), for `--json`; the number
/// itself when it lies outside what jiff can show (about the years -9999 to 9999).
pub fn rfc3339(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(at) => at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => secs.to_string(),
    }
}

/// Seconds since the Unix epoch now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Open => "open",
        AccountStatus::Closed => "closed",
    }
}

/// The kind of a ledger entry: `(for people, for JSON)`.
fn kind_names(kind: EntryKind) -> (&'static str, &'static str) {
    match kind {
        EntryKind::Opening => ("opening", "opening"),
        EntryKind::Deposit => ("deposit", "deposit"),
        EntryKind::Withdrawal => ("withdrawal", "withdrawal"),
        EntryKind::TransferOut => ("transfer out", "transfer_out"),
        EntryKind::TransferIn => ("transfer in", "transfer_in"),
    }
}

/// An account, as `open`, `show`, `rename` and `close` print it with `--json`.
#[derive(Debug, Serialize)]
struct AccountJson<'a> {
    id: u64,
    name: &'a str,
    balance_cents: i64,
    balance: String,
    status: &'static str,
    created_at: i64,
    created_at_utc: String,
}

/// One account of `list --json`.
#[derive(Debug, Serialize)]
struct SummaryJson<'a> {
    id: u64,
    name: &'a str,
    status: &'static str,
}

/// One ledger entry of `history --json`.
#[derive(Debug, Serialize)]
struct EntryJson<'a> {
    id: u64,
    kind: &'static str,
    amount_cents: i64,
    amount: String,
    balance_after_cents: i64,
    balance_after: String,
    counterparty: Option<&'a str>,
    at: i64,
    at_utc: String,
}

/// A money movement with `--json`.
#[derive(Debug, Serialize)]
struct MovementJson<'a> {
    operation: &'static str,
    amount_cents: i64,
    amount: String,
    to: Option<&'a str>,
    entry_id: u64,
    balance_cents: i64,
    balance: String,
    at: i64,
    at_utc: String,
}

/// The account, as `open`, `show`, `rename` and `close` print it.
pub fn account(info: &AccountInfo, format: Format) -> String {
    match format {
        Format::Json => json(&AccountJson {
            id: info.id,
            name: info.name.as_str(),
            balance_cents: info.balance_cents,
            balance: format_cents(info.balance_cents),
            status: status_name(info.status),
            created_at: info.created_at,
            created_at_utc: rfc3339(info.created_at),
        }),
        Format::Human => {
            let mut table = Table::new(&[("", Align::Left), ("", Align::Left)]);
            table.row(vec!["id".into(), info.id.to_string()]);
            table.row(vec!["name".into(), info.name.to_string()]);
            table.row(vec!["balance".into(), format_cents(info.balance_cents)]);
            table.row(vec!["status".into(), status_name(info.status).into()]);
            table.row(vec![
                "created".into(),
                format!("{} UTC", utc(info.created_at)),
            ]);
            table.render_rows()
        }
    }
}

/// A page of `list`.
pub fn accounts(page: &[AccountSummary], format: Format) -> String {
    match format {
        Format::Json => {
            let page: Vec<SummaryJson<'_>> = page
                .iter()
                .map(|a| SummaryJson {
                    id: a.id,
                    name: a.name.as_str(),
                    status: status_name(a.status),
                })
                .collect();
            json(&page)
        }
        Format::Human if page.is_empty() => "no accounts\n".to_owned(),
        Format::Human => {
            let mut table = Table::new(&[
                ("ID", Align::Right),
                ("NAME", Align::Left),
                ("STATUS", Align::Left),
            ]);
            for a in page {
                table.row(vec![
                    a.id.to_string(),
                    a.name.to_string(),
                    status_name(a.status).into(),
                ]);
            }
            table.render()
        }
    }
}

/// A page of `history`.
pub fn entries(page: &[Entry], format: Format) -> String {
    match format {
        Format::Json => {
            let page: Vec<EntryJson<'_>> = page
                .iter()
                .map(|e| EntryJson {
                    id: e.id,
                    kind: kind_names(e.kind).1,
                    amount_cents: e.cents,
                    amount: format_cents(e.cents),
                    balance_after_cents: e.balance_after,
                    balance_after: format_cents(e.balance_after),
                    counterparty: Some(e.counterparty.as_str()).filter(|c| !c.is_empty()),
                    at: e.at,
                    at_utc: rfc3339(e.at),
                })
                .collect();
            json(&page)
        }
        Format::Human if page.is_empty() => "no entries\n".to_owned(),
        Format::Human => {
            let mut table = Table::new(&[
                ("ID", Align::Right),
                ("TIME (UTC)", Align::Left),
                ("KIND", Align::Left),
                ("AMOUNT", Align::Right),
                ("BALANCE", Align::Right),
                ("COUNTERPARTY", Align::Left),
            ]);
            for e in page {
                table.row(vec![
                    e.id.to_string(),
                    utc(e.at),
                    kind_names(e.kind).0.into(),
                    format_cents(e.cents),
                    format_cents(e.balance_after),
                    e.counterparty.to_string(),
                ]);
            }
            table.render()
        }
    }
}

/// A money movement's outcome, as `deposit`, `withdraw` and `transfer` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement<'a> {
    /// `deposit`, `withdraw` or `transfer`.
    pub operation: &'static str,
    /// The amount moved, in cents (positive).
    pub cents: i64,
    /// The receiving account, for a transfer.
    pub to: Option<&'a str>,
    /// The ledger entry made on the session's account.
    pub entry_id: u64,
    /// The balance afterwards.
    pub balance_cents: i64,
    /// When it happened.
    pub at: i64,
}

/// A money movement's outcome.
pub fn movement(m: &Movement<'_>, format: Format) -> String {
    match format {
        Format::Json => json(&MovementJson {
            operation: m.operation,
            amount_cents: m.cents,
            amount: format_cents(m.cents),
            to: m.to,
            entry_id: m.entry_id,
            balance_cents: m.balance_cents,
            balance: format_cents(m.balance_cents),
            at: m.at,
            at_utc: rfc3339(m.at),
        }),
        Format::Human => {
            let amount = format_cents(m.cents);
            let what = match (m.operation, m.to) {
                ("deposit", _) => format!("deposited {amount}"),
                ("withdraw", _) => format!("withdrew {amount}"),
                (_, Some(to)) => format!("sent {amount} to {to}"),
                (operation, None) => format!("{operation} {amount}"),
            };
            format!(
                "{what}; balance {} (entry {}, {} UTC)\n",
                format_cents(m.balance_cents),
                m.entry_id,
                utc(m.at)
            )
        }
    }
}

/// A one-line confirmation: `message` for people, or `fields` as a JSON object.
pub fn done(message: &str, fields: &impl Serialize, format: Format) -> String {
    match format {
        Format::Json => json(fields),
        Format::Human => format!("{message}\n"),
    }
}

/// How a column lines up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces. Widths are
/// terminal columns (unicode-width): a CJK character or an emoji takes two.
#[derive(Debug)]
struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
            aligns: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Header line and rows.
    fn render(&self) -> String {
        self.lay_out(std::iter::once(&self.headers).chain(&self.rows))
    }

    /// Rows only, for key/value blocks.
    fn render_rows(&self) -> String {
        self.lay_out(self.rows.iter())
    }

    fn lay_out<'a>(&self, lines: impl Iterator<Item = &'a Vec<String>> + Clone) -> String {
        let mut widths = vec![0; self.aligns.len()];
        for line in lines.clone() {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = cell.width().max(*width);
            }
        }
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            let columns = line.iter().zip(&widths).zip(&self.aligns);
            for (col, ((cell, width), align)) in columns.enumerate() {
                let pad = " ".repeat(width.saturating_sub(cell.width()));
                if col > 0 {
                    text.push_str("  ");
                }
                match align {
                    Align::Left => text.extend([cell.as_str(), &pad]),
                    Align::Right => text.extend([&pad, cell.as_str()]),
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use account_client::Name;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn entry(id: u64, kind: EntryKind, cents: i64, balance_after: i64, other: &str) -> Entry {
        Entry {
            id,
            kind,
            cents,
            balance_after,
            counterparty: name(other),
            at: 1_700_000_000,
        }
    }

    #[test]
    fn history_table_is_aligned() {
        let page = [
            entry(12, EntryKind::TransferOut, -300, 950, "bob"),
            entry(3, EntryKind::Deposit, 1250, 1250, ""),
        ];
        let expected = "\
ID  TIME (UTC)           KIND          AMOUNT  BALANCE  COUNTERPARTY
12  2023-11-14 22:13:20  transfer out   -3.00     9.50  bob
 3  2023-11-14 22:13:20  deposit        12.50    12.50
";
        assert_eq!(entries(&page, Format::Human), expected);
        assert_eq!(entries(&[], Format::Human), "no entries\n");
    }

    #[test]
    fn history_json_has_cents_and_text() {
        let page = [entry(12, EntryKind::TransferOut, -300, 950, "bob \"b\"")];
        let expected = concat!(
            r#"[{"id":12,"kind":"transfer_out","amount_cents":-300,"amount":"-3.00","#,
            r#""balance_after_cents":950,"balance_after":"9.50","counterparty":"bob \"b\"","#,
            r#""at":1700000000,"at_utc":"2023-11-14T22:13:20Z"}]"#
        );
        assert_eq!(entries(&page, Format::Json), expected);
        let deposit = [entry(3, EntryKind::Deposit, 1250, 1250, "")];
        assert!(entries(&deposit, Format::Json).contains(r#""counterparty":null"#));
    }

    #[test]
    fn list_table_right_aligns_ids() {
        let page = [
            AccountSummary {
                id: 9,
                name: name("alice"),
                status: AccountStatus::Open,
            },
            AccountSummary {
                id: 10,
                name: name("bo"),
                status: AccountStatus::Closed,
            },
        ];
        let expected = "ID  NAME   STATUS\n 9  alice  open\n10  bo     closed\n";
        assert_eq!(accounts(&page, Format::Human), expected);
        assert_eq!(
            accounts(&page[..1], Format::Json),
            r#"[{"id":9,"name":"alice","status":"open"}]"#
        );
    }

    #[test]
    fn wide_characters_line_up() {
        let page = [
            AccountSummary {
                id: 1,
                name: name("名前"),
                status: AccountStatus::Open,
            },
            AccountSummary {
                id: 2,
                name: name("🦀 crab"),
                status: AccountStatus::Closed,
            },
            AccountSummary {
                id: 3,
                name: name("zoë"),
                status: AccountStatus::Open,
            },
        ];
        // Each CJK character and the emoji take two terminal columns; the e with diaeresis
        // one, though it is two bytes.
        let expected = "\
ID  NAME     STATUS
 1  名前     open
 2  🦀 crab  closed
 3  zoë      open
";
        assert_eq!(accounts(&page, Format::Human), expected);
    }

    #[test]
    fn times_are_utc() {
        let cases = [
            (0, "1970-01-01 00:00:00"),
            (-1, "1969-12-31 23:59:59"),
            (951_782_400, "2000-02-29 00:00:00"),
            (1_700_000_000, "2023-11-14 22:13:20"),
            (4_102_444_800, "2100-01-01 00:00:00"),
        ];
        for (secs, text) in cases {
            assert_eq!(utc(secs), text, "{secs}");
        }
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        // Beyond what a calendar date can show: the seconds, and no panic.
        for secs in [i64::MIN, i64::MAX] {
            assert_eq!(utc(secs), secs.to_string());
            assert_eq!(rfc3339(secs), secs.to_string());
        }
        assert!(now() > 1_704_067_200);
    }

    #[test]
    fn json_escapes_what_it_must() {
        let summary = SummaryJson {
            id: u64::MAX,
            name: "a\"b\\c\n\u{1f} é 名前 🦀 </script>",
            status: "open",
        };
        assert_eq!(
            json(&summary),
            r#"{"id":18446744073709551615,"name":"a\"b\\c\n\u001f é 名前 🦀 </script>","status":"open"}"#
        );
    }

    #[test]
    fn account_block_and_json() {
        let info = AccountInfo {
            id: 3,
            name: name("alice"),
            balance_cents: 1250,
            status: AccountStatus::Open,
            created_at: 0,
        };
        let expected = "\
id       3
name     alice
balance  12.50
status   open
created  1970-01-01 00:00:00 UTC
";
        assert_eq!(account(&info, Format::Human), expected);
        assert_eq!(
            account(&info, Format::Json),
            concat!(
                r#"{"id":3,"name":"alice","balance_cents":1250,"balance":"12.50","#,
                r#""status":"open","created_at":0,"created_at_utc":"1970-01-01T00:00:00Z"}"#
            )
        );
    }

    #[test]
    fn movements_read_naturally() {
        let m = Movement {
            operation: "transfer",
            cents: 300,
            to: Some("bob"),
            entry_id: 7,
            balance_cents: 950,
            at: 0,
        };
        assert_eq!(
            movement(&m, Format::Human),
            "sent 3.00 to bob; balance 9.50 (entry 7, 1970-01-01 00:00:00 UTC)\n"
        );
        assert!(movement(&m, Format::Json).starts_with(
            r#"{"operation":"transfer","amount_cents":300,"amount":"3.00","to":"bob","entry_id":7,"#
        ));
    }
}
