//! JSON in and out: request bodies, amounts, names, tokens and idempotency keys from the
//! request; accounts, sessions, receipts and ledger entries as JSON for the response.
//!
//! 64-bit numbers (ids, cents, timestamps) go out as strings of decimal digits, so that
//! JavaScript cannot round them; amounts go out twice, as `"12.34"` for people and as cents.

use super::problem::Problem;
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountSummary, Entry, EntryKind, IdemKey, Name,
    Password, Receipt, Session, Token,
};
use account_client::{format_cents, parse_cents};
use blake2::{Blake2b256, Digest};
use http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The largest integer a JSON number may carry here: 2^53 - 1, the last one every JSON
/// parser (JavaScript's included) holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The most characters of an `Idempotency-Key` value.
const MAX_KEY_LEN: usize = 255;

/// Decodes a JSON object body into `T`, after checking that it is declared as JSON.
pub(crate) fn json<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match &declared {
        Some(media) if is_json(media) => {}
        Some(media) => return Err(Problem::unsupported_media_type(media)),
        None if body.is_empty() => {}
        None => return Err(Problem::unsupported_media_type("no Content-Type")),
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request(
            "the body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body is not the JSON expected here: {e}")))
}

/// Whether a `Content-Type` value is `application/json`, with or without parameters.
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// An amount as the client gave it: `"amount": "12.34"` or `"cents": 1234` (or `"1234"`).
pub(crate) fn amount(
    amount: Option<&Value>,
    cents: Option<&Value>,
    names: (&str, &str),
) -> Result<Option<i64>, Problem> {
    let (amount_name, cents_name) = names;
    match (amount, cents) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(Problem::bad_request(format!(
            "give either \"{amount_name}\" or \"{cents_name}\", not both"
        ))),
        (Some(Value::String(text)), None) => parse_cents(text).map(Some).map_err(|e| {
            // The messages start with "amount": name the field only when it is another.
            let detail = match amount_name {
                "amount" => e.to_string(),
                other => format!("{other}: {e}"),
            };
            Problem::invalid_value(AccountError::InvalidAmount, detail)
        }),
        (Some(_), None) => Err(Problem::bad_request(format!(
            "\"{amount_name}\" must be a string such as \"12.34\" (JSON numbers cannot hold \
             every amount exactly); or give integer \"{cents_name}\""
        ))),
        (None, Some(value)) => int64(value, cents_name).map(Some),
    }
}

/// A 64-bit integer per the JSON conventions: a string of decimal digits with an optional
/// `-`, or a JSON number that is an integer no larger in magnitude than 2^53 - 1.
pub(crate) fn int64(value: &Value, name: &str) -> Result<i64, Problem> {
    let refuse = || {
        Problem::bad_request(format!(
            "\"{name}\" must be an integer: a JSON number up to 9007199254740991 or a string \
             of decimal digits such as \"1234\""
        ))
    };
    match value {
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse());
            }
            text.parse().map_err(|_| refuse())
        }
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if i.unsigned_abs() <= MAX_SAFE_INTEGER => Ok(i),
            _ => Err(refuse()),
        },
        _ => Err(refuse()),
    }
}

/// A name for a new account or a rename: too long is the service's `InvalidName`.
pub(crate) fn new_name(text: &str, field: &str) -> Result<Name, Problem> {
    Name::new(text)
        .map_err(|e| Problem::invalid_value(AccountError::InvalidName, format!("{field}: {e}")))
}

/// A password for a new account or a new password: too long is `InvalidPassword`.
pub(crate) fn new_password(text: &str, field: &str) -> Result<Password, Problem> {
    Password::new(text)
        .map_err(|e| Problem::invalid_value(AccountError::InvalidPassword, format!("{field}: {e}")))
}

/// The session token of `Authorization: Bearer <64 hex digits>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Token, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::no_credentials());
    };
    let malformed =
        || Problem::invalid_token("the Authorization header must be `Bearer <64 hex digits>`");
    let text = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, credentials) = text.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    let mut token = Token::default();
    hex_into(credentials.trim(), &mut token).ok_or_else(malformed)?;
    Ok(token)
}

/// Decodes `text` (exactly twice as many hex digits as `out` has bytes, either case).
fn hex_into(text: &str, out: &mut [u8]) -> Option<()> {
    let digits = text.as_bytes();
    if digits.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let nibble = |d: u8| char::from(d).to_digit(16);
        let value = nibble(pair[0])? * 16 + nibble(pair[1])?;
        *byte = u8::try_from(value).ok()?;
    }
    Some(())
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The idempotency key of the request: `Ok(None)` when it has no `Idempotency-Key` header.
///
/// The header's value is a Structured Field string (`"…"`, as the IETF httpapi draft
/// defines it) or, for convenience, a bare run of visible ASCII characters; it holds 1 to 255
/// characters. The service's 16-byte key is the first half of the blake2b-256 hash of the
/// string (after removing the quotes and escapes), so any client-chosen text, such as a
/// UUID, maps to one key and the same text always maps to the same key.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdemKey>, Problem> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Problem::bad_request(
            "send one Idempotency-Key header, not several",
        ));
    }
    let malformed = || {
        Problem::bad_request(
            "the Idempotency-Key must be a quoted string of 1 to 255 printable ASCII \
             characters, such as \"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
        )
    };
    let text = sf_string(value.as_bytes()).ok_or_else(malformed)?;
    if text.is_empty() || text.len() > MAX_KEY_LEN {
        return Err(malformed());
    }
    let digest = Blake2b256::new()
        .chain_update(b"account-rest idempotency-key\0")
        .chain_update(text.as_bytes())
        .finalize();
    let mut key = IdemKey::default();
    let half = key.len();
    key.copy_from_slice(&digest[..half]);
    Ok(Some(key))
}

/// The text of an RFC 8941 string (`"a\"b"`), or of a bare token of visible ASCII.
fn sf_string(raw: &[u8]) -> Option<String> {
    let raw = raw.trim_ascii();
    let Some(quoted) = raw.strip_prefix(b"\"") else {
        return raw
            .iter()
            .all(|b| b.is_ascii_graphic() && *b != b'"' && *b != b'\\')
            .then(|| String::from_utf8_lossy(raw).into_owned());
    };
    let mut text = String::new();
    let mut bytes = quoted.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(&escaped @ (b'"' | b'\\')) => text.push(char::from(escaped)),
                _ => return None,
            },
            b'"' => return bytes.next().is_none().then_some(text),
            b' '..=b'~' => text.push(char::from(b)),
            _ => return None,
        }
    }
    None
}

/// An amount as both `"<name>": "12.34"` and `"<name>_cents": "1234"`.
fn money(object: &mut serde_json::Map<String, Value>, name: &str, cents: i64) {
    object.insert(name.to_owned(), Value::from(format_cents(cents)));
    object.insert(format!("{name}_cents"), Value::from(cents.to_string()));
}

/// An account as its owner sees it.
pub(crate) fn account(info: &AccountInfo) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), info.id.to_string().into());
    object.insert("name".into(), info.name.as_str().into());
    money(&mut object, "balance", info.balance_cents);
    object.insert("status".into(), status(info.status).into());
    object.insert("created_at".into(), info.created_at.to_string().into());
    Value::Object(object)
}

/// A session.
pub(crate) fn session(session: &Session) -> Value {
    json!({
        "token": hex(&session.token),
        "account_id": session.account_id.to_string(),
        "expires_at": session.expires_at.to_string(),
    })
}

/// A receipt of a money movement.
pub(crate) fn receipt(receipt: &Receipt) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("entry_id".into(), receipt.entry_id.to_string().into());
    money(&mut object, "balance", receipt.balance_cents);
    object.insert("at".into(), receipt.at.to_string().into());
    Value::Object(object)
}

/// One account of a listing.
pub(crate) fn summary(summary: &AccountSummary) -> Value {
    json!({
        "id": summary.id.to_string(),
        "name": summary.name.as_str(),
        "status": status(summary.status),
    })
}

/// One ledger entry; `counterparty` is `null` when the entry is not a transfer.
pub(crate) fn entry(entry: &Entry) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), entry.id.to_string().into());
    object.insert("kind".into(), kind(entry.kind).into());
    money(&mut object, "amount", entry.cents);
    money(&mut object, "balance_after", entry.balance_after);
    let counterparty = match entry.counterparty.as_str() {
        "" => Value::Null,
        name => Value::from(name),
    };
    object.insert("counterparty".into(), counterparty);
    object.insert("at".into(), entry.at.to_string().into());
    Value::Object(object)
}

fn status(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Open => "Open",
        AccountStatus::Closed => "Closed",
    }
}

fn kind(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Opening => "Opening",
        EntryKind::Deposit => "Deposit",
        EntryKind::Withdrawal => "Withdrawal",
        EntryKind::TransferOut => "TransferOut",
        EntryKind::TransferIn => "TransferIn",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    #[test]
    fn sixty_four_bit_integers_follow_the_json_conventions() {
        assert_eq!(int64(&json!("-12"), "c"), Ok(-12));
        assert_eq!(int64(&json!("9223372036854775807"), "c"), Ok(i64::MAX));
        assert_eq!(
            int64(&json!(9_007_199_254_740_991_i64), "c"),
            Ok((1 << 53) - 1)
        );
        assert_eq!(
            int64(&json!(-9_007_199_254_740_991_i64), "c"),
            Ok(1 - (1 << 53))
        );
        let refused = [
            json!(9_007_199_254_740_992_i64),
            json!(1.5),
            json!(1e3),
            json!("1e3"),
            json!("+1"),
            json!(""),
            json!("-"),
            json!("9223372036854775808"),
            json!(" 1"),
            json!(null),
            json!(true),
            json!([1]),
        ];
        for value in refused {
            let problem = int64(&value, "c").unwrap_err();
            assert_eq!(problem.status, 400, "{value}");
        }
    }

    #[test]
    fn amounts_come_as_decimal_text_or_cents_but_not_both() {
        let names = ("amount", "cents");
        let text = json!("12.34");
        let cents = json!(1234);
        assert_eq!(amount(Some(&text), None, names), Ok(Some(1234)));
        assert_eq!(amount(None, Some(&cents), names), Ok(Some(1234)));
        assert_eq!(amount(None, None, names), Ok(None));
        assert_eq!(
            amount(Some(&text), Some(&cents), names).unwrap_err().status,
            400
        );
        // A float would lose cents: refused with a pointer to the string form.
        let float = json!(12.34);
        let problem = amount(Some(&float), None, names).unwrap_err();
        assert_eq!(problem.status, 400);
        assert!(problem.detail.contains("\"12.34\""), "{}", problem.detail);
        // Well-formed JSON, unacceptable amount: the service's InvalidAmount.
        for bad in ["1.234", "-1", "abc", ""] {
            let problem = amount(Some(&json!(bad)), None, names).unwrap_err();
            assert_eq!(problem.status, 422, "{bad}");
            assert_eq!(problem.error, Some(AccountError::InvalidAmount));
        }
    }

    #[test]
    fn bearer_tokens_are_64_hex_digits() {
        let token = [0xab_u8; 32];
        let good = format!("Bearer {}", hex(&token));
        assert_eq!(
            bearer(&headers(&[("authorization", good.as_bytes())])),
            Ok(token)
        );
        let upper = format!("bearer {}", hex(&token).to_uppercase());
        assert_eq!(
            bearer(&headers(&[("authorization", upper.as_bytes())])),
            Ok(token)
        );
        assert_eq!(bearer(&headers(&[])).unwrap_err().status, 401);
        let bad: [&[u8]; 5] = [
            b"Basic YWxpY2U6cw==",
            b"Bearer abc",
            b"Bearer",
            b"Bearer \xff\xfe",
            &[b'x'; 80],
        ];
        for value in bad {
            let problem = bearer(&headers(&[("authorization", value)])).unwrap_err();
            assert_eq!(problem.status, 401);
            assert!(
                problem
                    .headers
                    .iter()
                    .any(|(n, _)| n == header::WWW_AUTHENTICATE),
                "{value:?}"
            );
        }
    }

    #[test]
    fn idempotency_keys_hash_the_structured_field_string() {
        let key = |value: &[u8]| idempotency_key(&headers(&[("idempotency-key", value)]));
        let quoted = key(b"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"").unwrap();
        let bare = key(b"8e03978e-40d5-43e8-bc93-6894a57f9324").unwrap();
        assert!(quoted.is_some());
        assert_eq!(quoted, bare);
        assert_ne!(
            quoted,
            key(b"\"8e03978e-40d5-43e8-bc93-6894a57f9325\"").unwrap()
        );
        assert_eq!(key(br#""a\"b""#).unwrap(), key(br#""a\"b" "#).unwrap());
        assert_eq!(idempotency_key(&headers(&[])), Ok(None));
        let long = format!("\"{}\"", "k".repeat(256));
        let bad: [&[u8]; 7] = [
            b"\"\"",
            b"\"unterminated",
            b"\"a\" trailing",
            b"\"bad \\escape\"",
            b"two words",
            b"\"caf\xc3\xa9\"",
            long.as_bytes(),
        ];
        for value in bad {
            assert_eq!(key(value).unwrap_err().status, 400, "{value:?}");
        }
        let twice = headers(&[("idempotency-key", b"a"), ("idempotency-key", b"b")]);
        assert_eq!(idempotency_key(&twice).unwrap_err().status, 400);
    }

    #[test]
    fn bodies_must_be_declared_json_and_parse() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        let typed = headers(&[("content-type", b"application/json; charset=utf-8")]);
        assert!(json::<Body>(&typed, br#"{"name": "x"}"#).is_ok());
        let form = headers(&[("content-type", b"application/x-www-form-urlencoded")]);
        assert_eq!(json::<Body>(&form, b"name=x").unwrap_err().status, 415);
        let cases: [&[u8]; 6] = [
            b"",
            b"{",
            b"[]",
            br#"{"name": 5}"#,
            br#"{"name": "x", "extra": 1}"#,
            b"{\"name\": \"\xff\"}",
        ];
        for body in cases {
            assert_eq!(
                json::<Body>(&typed, body).unwrap_err().status,
                400,
                "{body:?}"
            );
        }
    }
}
