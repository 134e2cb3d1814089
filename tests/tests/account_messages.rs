//! Snapshots of every message of the `Accounts` service (`account-client/src/api.rs`) on the
//! wire.
//!
//! One snapshot per request and response struct renders representative values with
//! [`hexdump`] (offset, bytes, field name, Python format code; the first line holds `FORMAT`
//! and `SIZE`). The two list replies, `list` and `history`, are rendered as they travel: the
//! count, then each record at its offset. The enums (`AccountError`, `AccountStatus`,
//! `EntryKind`) get a number → name table built by decoding every possible value, so a new
//! variant cannot be missed, and the method table pins each method's id, fingerprint and
//! message formats as the generated `AccountsClient::SCHEMA` has them.
//!
//! Every value is also packed, compared with its `Message` encoding (the bytes a client sends)
//! and unpacked again. The files live in `tests/tests/snapshots/`; each was checked against
//! Python's `struct.pack` with the printed format.

use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountSummary, AccountsClient, AmountRequest, Auth,
    CloseRequest, Entry, EntryKind, HistoryRequest, IdemKey, ListRequest, LoginRequest, Name,
    OpenRequest, Password, PasswordRequest, Receipt, RenameRequest, Session, Token,
    TransferRequest,
};
use core::fmt::{Debug, Write as _};
use rpc_runtime::message::Shape;
use rpc_runtime::schema::{fnv1a, method_id};
use rpc_runtime::wire::{hexdump, list_count_format, pack_list, unpack_list};
use rpc_runtime::{Message, Wire};

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/// 2023-11-14 22:13:20 UTC.
const NOW: i64 = 1_700_000_000;

/// A session token: bytes `e0 e1 … ff`, easy to spot in a dump.
fn token() -> Token {
    core::array::from_fn(|i| 0xe0 + i as u8)
}

/// An idempotency key: bytes `10 11 … 1f`.
fn key() -> IdemKey {
    core::array::from_fn(|i| 0x10 + i as u8)
}

fn name(s: &str) -> Name {
    Name::new(s).expect("test name fits")
}

fn password(s: &str) -> Password {
    Password::new(s).expect("test password fits")
}

/// The longest name: 32 bytes.
const LONGEST_NAME: &str = "abcdefghijklmnopqrstuvwxyz012345";

/// The longest password: 64 bytes.
const LONGEST_PASSWORD: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// Hex dumps of several labelled values of one message, separated by blank lines.
///
/// Checks on the way that the packed bytes have `T::SIZE`, are what the message encoding sends,
/// and unpack to the same value.
fn dumps<T: Wire + Message + PartialEq + Debug>(values: &[(&str, T)]) -> String {
    let mut out = String::new();
    for (i, (label, value)) in values.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let packed = value.pack();
        let bytes = packed.as_ref();
        assert_eq!(bytes.len(), T::SIZE, "{label}: packed length");
        let mut sent = Vec::new();
        value.encode(&mut sent).expect("a record always encodes");
        assert_eq!(
            sent, bytes,
            "{label}: the message encoding is the packed record"
        );
        assert_eq!(&T::unpack(bytes).expect("unpacks"), value, "{label}");
        let _ = writeln!(out, "# {label}");
        out.push_str(&hexdump::<T>(bytes));
    }
    out
}

/// A list reply as it travels: the count line, then the hex dump of each record at its offset.
fn list_dump<T: Wire + Message + Clone + PartialEq + Debug>(items: &[T]) -> String {
    let bytes = pack_list(items).expect("a short list packs");
    let mut sent = Vec::new();
    items
        .to_vec()
        .encode(&mut sent)
        .expect("a short list encodes");
    assert_eq!(sent, bytes, "the message encoding is the packed list");
    assert_eq!(unpack_list::<T>(&bytes).expect("unpacks"), items);

    let Some((head, body)) = bytes.split_first_chunk::<4>() else {
        panic!("a packed list starts with a 4-byte count");
    };
    assert!(
        !T::ORDER.is_little_endian(),
        "account messages are big-endian"
    );
    let count = u32::from_be_bytes(*head);
    assert_eq!(count as usize, items.len());
    assert_eq!(body.len(), items.len() * T::SIZE, "records fill the rest");
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = format!(
        "0000  {}  count  {} = {count}\n",
        hex.join(" "),
        list_count_format::<T>()
    );
    for (i, record) in body.chunks_exact(T::SIZE).enumerate() {
        let _ = write!(out, "\n# record {i} at offset {}\n", 4 + i * T::SIZE);
        out.push_str(&hexdump::<T>(record));
    }
    out
}

/// Bytes as space-separated hex.
fn hex(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(" ")
}

/// The number → name table of a C-like Wire enum, found by unpacking every value its `width`
/// bytes can hold (so the table is complete by construction), and the first values on either
/// side that are refused.
fn enum_table<T: Wire + Debug + PartialEq>(width: usize) -> String {
    assert!(
        !T::ORDER.is_little_endian(),
        "account messages are big-endian"
    );
    assert_eq!(T::SIZE, width);
    let max: u32 = if width == 1 { 0xff } else { 0xffff };
    let encode = |n: u32| n.to_be_bytes()[4 - width..].to_vec();
    let known: Vec<(u32, T)> = (0..=max)
        .filter_map(|n| T::unpack(&encode(n)).ok().map(|v| (n, v)))
        .collect();
    let type_name = core::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("?");
    let mut out = format!(
        "{type_name} {} ({} byte{})\n",
        T::FORMAT,
        T::SIZE,
        if width == 1 { "" } else { "s" }
    );
    for (n, value) in &known {
        let packed = value.pack();
        assert_eq!(packed.as_ref(), encode(*n), "{value:?} packs to its number");
        let _ = writeln!(out, "{n:>5}  {:<5}  {value:?}", hex(packed.as_ref()));
    }
    let first = known.first().map_or(0, |(n, _)| *n);
    let last = known.last().map_or(0, |(n, _)| *n);
    for n in [first.checked_sub(1), last.checked_add(1)]
        .into_iter()
        .flatten()
    {
        let error = T::unpack(&encode(n)).expect_err("outside the known values");
        let _ = writeln!(out, "{n:>5}  {:<5}  rejected: {error}", hex(&encode(n)));
    }
    out
}

/// How long a body of this shape is.
fn size(shape: &Shape) -> String {
    match shape {
        Shape::Unit => "no body".to_owned(),
        Shape::Record { size, .. } => format!("{size} bytes"),
        Shape::List { size, .. } => format!("4-byte count + {size} bytes per record"),
        other => panic!("a shape this table does not know: {other:?}"),
    }
}

/// The formats `#[service]` should have recorded for a method with these types.
fn shapes<Req: Message, Resp: Message, E: Message>() -> [String; 3] {
    [
        Req::SHAPE.describe(),
        Resp::SHAPE.describe(),
        E::SHAPE.describe(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------

#[test]
fn open_request() {
    insta::assert_snapshot!(dumps(&[
        (
            "alice opens with 12.50",
            OpenRequest {
                key: key(),
                name: name("alice"),
                password: password("correct horse"),
                initial_cents: 1250,
            },
        ),
        (
            "no initial deposit, UTF-8 name",
            OpenRequest {
                key: [0; 16],
                name: name("zoë"),
                password: password("battery staple"),
                initial_cents: 0,
            },
        ),
        (
            "longest name and password, largest amount",
            OpenRequest {
                key: [0xff; 16],
                name: name(LONGEST_NAME),
                password: password(LONGEST_PASSWORD),
                initial_cents: i64::MAX,
            },
        ),
    ]));
}

#[test]
fn account_info() {
    insta::assert_snapshot!(dumps(&[
        (
            "open, 12.50",
            AccountInfo {
                id: 1,
                name: name("alice"),
                balance_cents: 1250,
                status: AccountStatus::Open,
                created_at: NOW,
            },
        ),
        (
            "closed, empty",
            AccountInfo {
                id: 0x0102_0304_0506_0708,
                name: name("bob"),
                balance_cents: 0,
                status: AccountStatus::Closed,
                created_at: NOW + 86_400,
            },
        ),
    ]));
}

#[test]
fn login_request() {
    insta::assert_snapshot!(dumps(&[(
        "alice",
        LoginRequest {
            name: name("alice"),
            password: password("correct horse"),
        },
    )]));
}

#[test]
fn session() {
    insta::assert_snapshot!(dumps(&[(
        "account 1, expires in 24 hours",
        Session {
            token: token(),
            account_id: 1,
            expires_at: NOW + 86_400,
        },
    )]));
}

#[test]
fn auth() {
    insta::assert_snapshot!(dumps(&[("logout or get", Auth { token: token() })]));
}

#[test]
fn list_request() {
    insta::assert_snapshot!(dumps(&[
        (
            "first page of 100",
            ListRequest {
                token: token(),
                after_id: 0,
                limit: 100,
            },
        ),
        (
            "after account 2, the largest page",
            ListRequest {
                token: token(),
                after_id: 2,
                limit: 1000,
            },
        ),
    ]));
}

#[test]
fn list_reply() {
    let accounts = [
        AccountSummary {
            id: 1,
            name: name("alice"),
            status: AccountStatus::Open,
        },
        AccountSummary {
            id: 2,
            name: name("bob"),
            status: AccountStatus::Closed,
        },
        AccountSummary {
            id: 3,
            name: name("zoë"),
            status: AccountStatus::Open,
        },
    ];
    insta::assert_snapshot!(list_dump(&accounts));
}

#[test]
fn empty_list_reply() {
    insta::assert_snapshot!(list_dump::<AccountSummary>(&[]));
}

#[test]
fn rename_request() {
    insta::assert_snapshot!(dumps(&[(
        "alice becomes alicia",
        RenameRequest {
            token: token(),
            key: key(),
            name: name("alicia"),
        },
    )]));
}

#[test]
fn password_request() {
    insta::assert_snapshot!(dumps(&[(
        "new password",
        PasswordRequest {
            token: token(),
            key: key(),
            old: password("correct horse"),
            new: password("battery staple"),
        },
    )]));
}

#[test]
fn amount_request() {
    insta::assert_snapshot!(dumps(&[
        (
            "deposit 12.50",
            AmountRequest {
                token: token(),
                key: key(),
                cents: 1250,
            },
        ),
        (
            "withdraw 1.00",
            AmountRequest {
                token: token(),
                key: [0x20; 16],
                cents: 100,
            },
        ),
        (
            "negative (refused with InvalidAmount)",
            AmountRequest {
                token: token(),
                key: [0x21; 16],
                cents: -1,
            },
        ),
    ]));
}

#[test]
fn transfer_request() {
    insta::assert_snapshot!(dumps(&[(
        "3.00 to bob",
        TransferRequest {
            token: token(),
            key: key(),
            to: name("bob"),
            cents: 300,
        },
    )]));
}

#[test]
fn receipt() {
    insta::assert_snapshot!(dumps(&[
        (
            "after depositing 12.50",
            Receipt {
                entry_id: 2,
                balance_cents: 2500,
                at: NOW,
            },
        ),
        (
            "emptied",
            Receipt {
                entry_id: 0x0102_0304_0506_0708,
                balance_cents: 0,
                at: NOW + 1,
            },
        ),
    ]));
}

#[test]
fn history_request() {
    insta::assert_snapshot!(dumps(&[
        (
            "newest page of 50",
            HistoryRequest {
                token: token(),
                before_id: 0,
                limit: 50,
            },
        ),
        (
            "before entry 5",
            HistoryRequest {
                token: token(),
                before_id: 5,
                limit: 1000,
            },
        ),
    ]));
}

#[test]
fn history_reply() {
    // alice's ledger, newest first: opened with 12.50, paid in 12.50, took out 1.00, sent 3.00
    // to bob, got 0.75 back.
    let entries = [
        Entry {
            id: 9,
            kind: EntryKind::TransferIn,
            cents: 75,
            balance_after: 2150,
            counterparty: name("bob"),
            at: NOW + 40,
        },
        Entry {
            id: 7,
            kind: EntryKind::TransferOut,
            cents: -300,
            balance_after: 2075,
            counterparty: name("bob"),
            at: NOW + 30,
        },
        Entry {
            id: 4,
            kind: EntryKind::Withdrawal,
            cents: -100,
            balance_after: 2375,
            counterparty: Name::EMPTY,
            at: NOW + 20,
        },
        Entry {
            id: 2,
            kind: EntryKind::Deposit,
            cents: 1250,
            balance_after: 2500,
            counterparty: Name::EMPTY,
            at: NOW + 10,
        },
        Entry {
            id: 1,
            kind: EntryKind::Opening,
            cents: 1250,
            balance_after: 1250,
            counterparty: Name::EMPTY,
            at: NOW,
        },
    ];
    insta::assert_snapshot!(list_dump(&entries));
}

#[test]
fn empty_history_reply() {
    insta::assert_snapshot!(list_dump::<Entry>(&[]));
}

#[test]
fn close_request() {
    insta::assert_snapshot!(dumps(&[(
        "close",
        CloseRequest {
            token: token(),
            key: key(),
        },
    )]));
}

// ---------------------------------------------------------------------------------------------
// Enums and the method table
// ---------------------------------------------------------------------------------------------

#[test]
fn account_errors() {
    insta::assert_snapshot!(enum_table::<AccountError>(2));
}

#[test]
fn account_status() {
    insta::assert_snapshot!(enum_table::<AccountStatus>(1));
}

#[test]
fn entry_kinds() {
    insta::assert_snapshot!(enum_table::<EntryKind>(1));
}

#[test]
fn accounts_methods() {
    let schema = &AccountsClient::SCHEMA;
    let expected: [(&str, [String; 3]); 12] = [
        ("open", shapes::<OpenRequest, AccountInfo, AccountError>()),
        ("login", shapes::<LoginRequest, Session, AccountError>()),
        ("logout", shapes::<Auth, (), AccountError>()),
        ("get", shapes::<Auth, AccountInfo, AccountError>()),
        (
            "list",
            shapes::<ListRequest, Vec<AccountSummary>, AccountError>(),
        ),
        (
            "rename",
            shapes::<RenameRequest, AccountInfo, AccountError>(),
        ),
        (
            "change_password",
            shapes::<PasswordRequest, (), AccountError>(),
        ),
        ("deposit", shapes::<AmountRequest, Receipt, AccountError>()),
        ("withdraw", shapes::<AmountRequest, Receipt, AccountError>()),
        (
            "transfer",
            shapes::<TransferRequest, Receipt, AccountError>(),
        ),
        (
            "history",
            shapes::<HistoryRequest, Vec<Entry>, AccountError>(),
        ),
        ("close", shapes::<CloseRequest, AccountInfo, AccountError>()),
    ];
    assert_eq!(schema.name, "Accounts");
    assert_eq!(schema.methods.len(), expected.len(), "one row per method");

    let mut out = format!("{} ({} methods)\n", schema.name, schema.methods.len());
    for (m, (name, formats)) in schema.methods.iter().zip(&expected) {
        assert_eq!(m.name, *name, "methods in declaration order");
        let described = [
            m.request.describe(),
            m.response.describe(),
            m.error.describe(),
        ];
        assert_eq!(&described, formats, "{name}: message formats");
        let qualified = format!("{}.{}", schema.name, m.name);
        assert_eq!(m.id, method_id(schema.name, m.name));
        assert_eq!(m.id, fnv1a(0x811c_9dc5, qualified.as_bytes()));
        // The fingerprint: FNV-1a of the id (big-endian) and, per message, `u;` for no body,
        // `r:FORMAT` for a record, `l:FORMAT` for a list.
        let mut hashed = m.id.to_be_bytes().to_vec();
        for format in &described {
            match format.as_str() {
                "" => hashed.extend_from_slice(b"u;"),
                f => match f.strip_prefix("list ") {
                    Some(record) => hashed.extend_from_slice(format!("l:{record}").as_bytes()),
                    None => hashed.extend_from_slice(format!("r:{f}").as_bytes()),
                },
            }
        }
        assert_eq!(m.fingerprint, fnv1a(0x811c_9dc5, &hashed), "{name}");
        let [request, response, error] = &described;
        let _ = write!(
            out,
            "\n{qualified}\n  id           {:#010x} = {}\n  fingerprint  {:#010x} = {}\n  \
             request      {request:?} ({})\n  response     {response:?} ({})\n  \
             error        {error:?} ({})\n",
            m.id,
            m.id,
            m.fingerprint,
            m.fingerprint,
            size(&m.request),
            size(&m.response),
            size(&m.error),
        );
    }
    insta::assert_snapshot!(out);
}
