//! Target `account`: the derived `unpack` of every account message, and the generated
//! dispatcher that decodes requests on the server.
//!
//! The first input byte picks what to run; the rest is the message body.
//!
//! - Below 128: one message type, `byte % DECODERS.len()`. Records go through every record
//!   decoder ([`props::check_record`]) and, like lists and `()`, through [`Message::decode`]
//!   as the client and server call it. A body that decodes must encode to the same bytes.
//! - 128 and up: one method of `ServeAccounts`, `(byte - 128) % 12`, called with the body. A
//!   body the request type refuses must get a `BadRequest` reply without reaching the
//!   handler; one it accepts must reach the handler as exactly that request.

use crate::{Check, Seed, props};
use account_client::api::*;
use rpc_runtime::frame::Status;
use rpc_runtime::{FixedStr, Message, Service, Wire};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

/// The message decoders, by name; the first input byte below 128 picks one.
pub const DECODERS: &[(&str, Check)] = &[
    ("OpenRequest", record::<OpenRequest>),
    ("AccountInfo", record::<AccountInfo>),
    ("LoginRequest", record::<LoginRequest>),
    ("Session", record::<Session>),
    ("Auth", record::<Auth>),
    ("ListRequest", record::<ListRequest>),
    ("AccountSummary", record::<AccountSummary>),
    ("RenameRequest", record::<RenameRequest>),
    ("PasswordRequest", record::<PasswordRequest>),
    ("AmountRequest", record::<AmountRequest>),
    ("TransferRequest", record::<TransferRequest>),
    ("Receipt", record::<Receipt>),
    ("HistoryRequest", record::<HistoryRequest>),
    ("Entry", record::<Entry>),
    ("CloseRequest", record::<CloseRequest>),
    ("AccountError", record::<AccountError>),
    ("AccountStatus", record::<AccountStatus>),
    ("EntryKind", record::<EntryKind>),
    ("Vec<AccountSummary>", message::<Vec<AccountSummary>>),
    ("Vec<Entry>", message::<Vec<Entry>>),
    ("()", message::<()>),
];

/// Selector bytes from here on call a method of the dispatcher.
const DISPATCH: u8 = 128;

/// Checks one input; see the module docs for its layout.
pub fn check(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector < DISPATCH {
        let (_, decode) = DECODERS[usize::from(selector) % DECODERS.len()];
        decode(body);
    } else {
        let methods = AccountsClient::SCHEMA.methods;
        let method = &methods[usize::from(selector - DISPATCH) % methods.len()];
        dispatch(method.name, method.id, body);
    }
}

/// A record type: every record decoder, then the message decoder.
fn record<T: Wire + Message + core::fmt::Debug + PartialEq>(body: &[u8]) {
    props::check_record::<T>(body);
    message::<T>(body);
}

/// `Message::decode`, as the runtime calls it on a request or reply body.
fn message<M: Message + core::fmt::Debug + PartialEq>(body: &[u8]) {
    match M::decode(body) {
        Ok(value) => {
            let mut out = Vec::new();
            value.encode(&mut out).expect("a decoded message encodes");
            assert_eq!(out, body, "{value:?} does not re-encode to its body");
            assert_eq!(M::decode(&out).as_ref(), Ok(&value));
        }
        Err(error) => props::assert_error_describes(&error, body),
    }
}

/// The encoding of the last request a handler received.
static SEEN: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// The one reply every handler gives, so the dispatcher's encoding of it can be checked.
const HANDLER_ERROR: AccountError = AccountError::StorageFailure;

/// An account service whose handlers record their request and fail.
#[derive(Debug)]
struct Recorder;

fn seen<Q: Message, R>(request: Q) -> Result<R, AccountError> {
    let mut out = Vec::new();
    request.encode(&mut out).expect("a request encodes");
    *SEEN.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
    Err(HANDLER_ERROR)
}

impl Accounts for Recorder {
    async fn open(&self, r: OpenRequest) -> Result<AccountInfo, AccountError> {
        seen(r)
    }
    async fn login(&self, r: LoginRequest) -> Result<Session, AccountError> {
        seen(r)
    }
    async fn logout(&self, r: Auth) -> Result<(), AccountError> {
        seen(r)
    }
    async fn get(&self, r: Auth) -> Result<AccountInfo, AccountError> {
        seen(r)
    }
    async fn list(&self, r: ListRequest) -> Result<Vec<AccountSummary>, AccountError> {
        seen(r)
    }
    async fn rename(&self, r: RenameRequest) -> Result<AccountInfo, AccountError> {
        seen(r)
    }
    async fn change_password(&self, r: PasswordRequest) -> Result<(), AccountError> {
        seen(r)
    }
    async fn deposit(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        seen(r)
    }
    async fn withdraw(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        seen(r)
    }
    async fn transfer(&self, r: TransferRequest) -> Result<Receipt, AccountError> {
        seen(r)
    }
    async fn history(&self, r: HistoryRequest) -> Result<Vec<Entry>, AccountError> {
        seen(r)
    }
    async fn close(&self, r: CloseRequest) -> Result<AccountInfo, AccountError> {
        seen(r)
    }
}

/// Whether `body` decodes as the request of method `name`.
fn request_decodes(name: &str, body: &[u8]) -> bool {
    match name {
        "open" => OpenRequest::decode(body).is_ok(),
        "login" => LoginRequest::decode(body).is_ok(),
        "logout" | "get" => Auth::decode(body).is_ok(),
        "list" => ListRequest::decode(body).is_ok(),
        "rename" => RenameRequest::decode(body).is_ok(),
        "change_password" => PasswordRequest::decode(body).is_ok(),
        "deposit" | "withdraw" => AmountRequest::decode(body).is_ok(),
        "transfer" => TransferRequest::decode(body).is_ok(),
        "history" => HistoryRequest::decode(body).is_ok(),
        "close" => CloseRequest::decode(body).is_ok(),
        _ => panic!("the account service has a method `{name}` this target does not know"),
    }
}

/// Calls method `id` of the dispatcher with `body` and checks the reply.
fn dispatch(name: &str, id: u32, body: &[u8]) {
    static SERVE: OnceLock<ServeAccounts<Recorder>> = OnceLock::new();
    let serve = SERVE.get_or_init(|| ServeAccounts::new(Recorder));
    *SEEN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let mut call = serve.start(id, body).expect("a served method id");
    // Handlers answer at once, so one poll finishes the call.
    let reply = match call.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(reply) => reply,
        Poll::Pending => panic!("`{name}` did not finish in one poll"),
    };
    let seen = SEEN.lock().unwrap_or_else(|e| e.into_inner()).take();
    if request_decodes(name, body) {
        assert_eq!(reply.status, Status::Application, "`{name}`: {reply:?}");
        assert_eq!(reply.body, HANDLER_ERROR.to_vec());
        assert_eq!(seen.as_deref(), Some(body), "`{name}` got another request");
    } else {
        assert_eq!(reply.status, Status::BadRequest, "`{name}`: {reply:?}");
        assert!(
            seen.is_none(),
            "`{name}` reached its handler with a bad request"
        );
        assert!(
            String::from_utf8(reply.body).is_ok(),
            "status text not UTF-8"
        );
    }
}

fn name(s: &str) -> Name {
    FixedStr::new(s).expect("a short name")
}

fn password(s: &str) -> Password {
    FixedStr::new(s).expect("a short password")
}

/// Real encodings of every message, and a call of every method.
pub fn seeds() -> Vec<Seed> {
    let token = [0x5a; 32];
    let key = *b"idem-key-0000001";
    let summary = |id, n: &str, status| AccountSummary {
        id,
        name: name(n),
        status,
    };
    let entry = |id, kind, cents, balance_after, counterparty: &str| Entry {
        id,
        kind,
        cents,
        balance_after,
        counterparty: name(counterparty),
        at: 1_790_000_000 + id as i64,
    };
    let open = OpenRequest {
        key,
        name: name("alice"),
        password: password("correct horse battery"),
        initial_cents: 12_50,
    };
    let auth = Auth { token };
    let list = ListRequest {
        token,
        after_id: 0,
        limit: 100,
    };
    let rename = RenameRequest {
        token,
        key,
        name: name("Ålice ünïcode"),
    };
    let change = PasswordRequest {
        token,
        key,
        old: password("correct horse battery"),
        new: password("staple-staple-staple"),
    };
    let amount = AmountRequest {
        token,
        key,
        cents: 99,
    };
    let transfer = TransferRequest {
        token,
        key,
        to: name("bob"),
        cents: 1,
    };
    let history = HistoryRequest {
        token,
        before_id: u64::MAX,
        limit: 1000,
    };
    let close = CloseRequest { token, key };
    let mut messages: Vec<(&str, &str, Vec<u8>)> = vec![
        ("OpenRequest", "", open.to_vec()),
        (
            "AccountInfo",
            "",
            AccountInfo {
                id: 1,
                name: name("alice"),
                balance_cents: -3,
                status: AccountStatus::Open,
                created_at: 1_790_000_000,
            }
            .to_vec(),
        ),
        (
            "LoginRequest",
            "",
            LoginRequest {
                name: name("a-name-of-exactly-32-bytes-long!"),
                password: password("p"),
            }
            .to_vec(),
        ),
        (
            "Session",
            "",
            Session {
                token,
                account_id: 7,
                expires_at: i64::MAX,
            }
            .to_vec(),
        ),
        ("Auth", "", auth.to_vec()),
        ("ListRequest", "", list.to_vec()),
        (
            "AccountSummary",
            "",
            summary(3, "carol", AccountStatus::Closed).to_vec(),
        ),
        ("RenameRequest", "", rename.to_vec()),
        ("PasswordRequest", "", change.to_vec()),
        ("AmountRequest", "", amount.to_vec()),
        ("TransferRequest", "", transfer.to_vec()),
        (
            "Receipt",
            "",
            Receipt {
                entry_id: 10,
                balance_cents: 0,
                at: 0,
            }
            .to_vec(),
        ),
        ("HistoryRequest", "", history.to_vec()),
        (
            "Entry",
            "",
            entry(4, EntryKind::TransferOut, -500, 750, "bob").to_vec(),
        ),
        ("CloseRequest", "", close.to_vec()),
        (
            "AccountError",
            "-first",
            AccountError::InvalidCredentials.to_vec(),
        ),
        (
            "AccountError",
            "-last",
            AccountError::StorageFailure.to_vec(),
        ),
        ("AccountStatus", "", AccountStatus::Closed.to_vec()),
        ("EntryKind", "", EntryKind::TransferIn.to_vec()),
        (
            "Vec<AccountSummary>",
            "-empty",
            encode(&Vec::<AccountSummary>::new()),
        ),
        (
            "Vec<AccountSummary>",
            "-two",
            encode(&vec![
                summary(1, "alice", AccountStatus::Open),
                summary(2, "bob", AccountStatus::Closed),
            ]),
        ),
        (
            "Vec<Entry>",
            "-two",
            encode(&vec![
                entry(2, EntryKind::Deposit, 100, 1350, ""),
                entry(1, EntryKind::Opening, 1250, 1250, ""),
            ]),
        ),
        ("()", "", Vec::new()),
    ];
    let mut seeds: Vec<Seed> = messages
        .drain(..)
        .map(|(ty, suffix, body)| {
            let index = DECODERS
                .iter()
                .position(|(n, _)| *n == ty)
                .expect("a decoder for every seed");
            let mut bytes = vec![index as u8];
            bytes.extend_from_slice(&body);
            let file = ty.replace(['<', '>'], "_").replace("()", "unit");
            Seed::new(format!("{file}{suffix}"), bytes)
        })
        .collect();
    let requests: [(&str, Vec<u8>); 12] = [
        ("open", open.to_vec()),
        (
            "login",
            LoginRequest {
                name: name("alice"),
                password: password("correct horse battery"),
            }
            .to_vec(),
        ),
        ("logout", auth.to_vec()),
        ("get", auth.to_vec()),
        ("list", list.to_vec()),
        ("rename", rename.to_vec()),
        ("change_password", change.to_vec()),
        ("deposit", amount.to_vec()),
        ("withdraw", amount.to_vec()),
        ("transfer", transfer.to_vec()),
        ("history", history.to_vec()),
        ("close", close.to_vec()),
    ];
    for (method, body) in requests {
        let index = AccountsClient::SCHEMA
            .methods
            .iter()
            .position(|m| m.name == method)
            .expect("a method of the account service");
        let mut bytes = vec![DISPATCH + index as u8];
        bytes.extend_from_slice(&body);
        seeds.push(Seed::new(format!("call-{method}"), bytes));
    }
    seeds
}

fn encode<M: Message>(message: &M) -> Vec<u8> {
    let mut out = Vec::new();
    message.encode(&mut out).expect("a seed encodes");
    out
}
