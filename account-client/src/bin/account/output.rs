//! What each command prints: aligned text for people, or one JSON value with `--json`.

use crate::json::{Object, array};
use crate::time::{rfc3339, utc};
use account_client::{AccountInfo, AccountStatus, AccountSummary, Entry, EntryKind, format_cents};

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Human,
    /// One JSON value per command.
    Json,
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

/// Adds `{key}_cents` (integer) and `{key}` (decimal text) members.
fn money(object: Object, key: &str, cents: i64) -> Object {
    object
        .int(&format!("{key}_cents"), cents)
        .str(key, &format_cents(cents))
}

/// Adds `{key}` (Unix seconds) and `{key}_utc` (RFC 3339) members.
fn instant(object: Object, key: &str, secs: i64) -> Object {
    object
        .int(key, secs)
        .str(&format!("{key}_utc"), &rfc3339(secs))
}

/// The account, as `open`, `show`, `rename` and `close` print it.
pub fn account(info: &AccountInfo, format: Format) -> String {
    match format {
        Format::Json => {
            let object = Object::new().int("id", info.id).str("name", &info.name);
            let object = money(object, "balance", info.balance_cents);
            let object = object.str("status", status_name(info.status));
            instant(object, "created_at", info.created_at).finish()
        }
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
        Format::Json => array(page.iter().map(|a| {
            Object::new()
                .int("id", a.id)
                .str("name", &a.name)
                .str("status", status_name(a.status))
                .finish()
        })),
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
        Format::Json => array(page.iter().map(|e| {
            let object = Object::new()
                .int("id", e.id)
                .str("kind", kind_names(e.kind).1);
            let object = money(object, "amount", e.cents);
            let object = money(object, "balance_after", e.balance_after);
            let counterparty = Some(e.counterparty.as_str()).filter(|c| !c.is_empty());
            let object = object.opt_str("counterparty", counterparty);
            instant(object, "at", e.at).finish()
        })),
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
        Format::Json => {
            let object = Object::new().str("operation", m.operation);
            let object = money(object, "amount", m.cents);
            let object = object.opt_str("to", m.to).int("entry_id", m.entry_id);
            let object = money(object, "balance", m.balance_cents);
            instant(object, "at", m.at).finish()
        }
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

/// A one-line confirmation: `message` for people, or the JSON object `fields`.
pub fn done(message: &str, fields: Object, format: Format) -> String {
    match format {
        Format::Json => fields.finish(),
        Format::Human => format!("{message}\n"),
    }
}

/// How a column lines up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell, two spaces apart, no trailing spaces.
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
        let width = |cell: &String| cell.chars().count();
        let widths: Vec<usize> = (0..self.aligns.len())
            .map(|col| {
                lines
                    .clone()
                    .filter_map(|line| line.get(col).map(width))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (col, cell) in line.iter().enumerate() {
                let pad = widths[col].saturating_sub(width(cell));
                if col > 0 {
                    text.push_str("  ");
                }
                match self.aligns[col] {
                    Align::Left => {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    }
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
