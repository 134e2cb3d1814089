//! Exit codes and the one-line failure message that goes with each.

use account_client::AccountError;
use rpc_runtime::frame::Status;
use rpc_runtime::{CallError, RpcError};
use std::process::ExitCode;

/// The exit-code table shown by `account --help`; keep it in step with [`Code`] and the README.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  local failure: the session file or the terminal could not be read or written
  2  usage error: unknown command or flag, a malformed amount, name or endpoint, or no
     password available (set ACCOUNT_PASSWORD when there is no terminal)
  3  not logged in, session expired or ended, invalid name or password, or too many
     failed logins: run `account login NAME`
  4  refused by a business rule: insufficient funds, name taken, invalid amount, unknown
     recipient, account closed or not empty, ...; nothing was changed
  5  server unreachable, unavailable, busy or too slow (see --timeout): retrying later
     may work. A change (open, rename, passwd, deposit, withdraw, transfer, close) that
     got no answer MAY HAVE BEEN APPLIED: run the same command again to finish it; it is
     resent with the same idempotency key, so it is applied at most once
  6  server or protocol error: internal server error, incompatible server version; a
     change whose answer could not be read may have been applied, as for 5

The same command means the same subcommand with the same arguments (amounts by value:
1 and 1.00 are the same), for the same account on the same server as named; global
flags and passwords do not count. The session file keeps the unanswered change until
an answer comes. Reads (show, list, history) and logging in again keep it; a different
change replaces it, so check `account history` before repeating it by hand.";

/// What a script can rely on: the process exit status for each class of outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The session file or the terminal failed.
    Local = 1,
    /// Bad arguments or no way to get a password (clap's own errors also exit with 2).
    Usage = 2,
    /// Not logged in, session expired, bad credentials, throttled.
    Auth = 3,
    /// The service refused the request by one of its rules.
    Refused = 4,
    /// The server could not be reached or could not serve the call now.
    Unavailable = 5,
    /// The server failed, or client and server do not understand each other.
    Server = 6,
}

/// A failed command: its exit code, a stable snake_case kind for `--json`, and a one-line
/// message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// A stable identifier of the failure, such as `insufficient_funds`.
    pub kind: &'static str,
    /// What went wrong, on one line.
    pub message: String,
}

impl Failure {
    /// A failure with `code`, `kind` and `message` (newlines become spaces).
    pub fn new(code: Code, kind: &'static str, message: impl Into<String>) -> Failure {
        let message: String = message.into();
        Failure {
            code,
            kind,
            message: message.replace(['\r', '\n'], " "),
        }
    }

    /// The session file or terminal failed.
    pub fn local(message: impl Into<String>) -> Failure {
        Failure::new(Code::Local, "local_error", message)
    }

    /// A usage error found after argument parsing.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Code::Usage, "usage", message)
    }

    /// No session file.
    pub fn not_logged_in() -> Failure {
        Failure::new(
            Code::Auth,
            "not_logged_in",
            "not logged in: run `account login NAME`",
        )
    }

    /// The process exit status.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code as u8)
    }
}

/// The failure for an error the service returned.
pub fn from_account_error(error: AccountError) -> Failure {
    use AccountError as E;
    let (code, kind, message) = match error {
        E::InvalidCredentials => (
            Code::Auth,
            "invalid_credentials",
            "invalid name or password",
        ),
        E::Unauthenticated => (
            Code::Auth,
            "unauthenticated",
            "session expired or ended: run `account login NAME`",
        ),
        E::Throttled => (
            Code::Auth,
            "throttled",
            "too many failed logins for this name: wait a while and try again",
        ),
        E::NameTaken => (Code::Refused, "name_taken", "that name is already taken"),
        E::InvalidName => (
            Code::Refused,
            "invalid_name",
            "invalid name: use 1 to 32 bytes with no control characters",
        ),
        E::InvalidPassword => (
            Code::Refused,
            "invalid_password",
            "invalid password: use 8 to 64 bytes",
        ),
        E::InvalidAmount => (
            Code::Refused,
            "invalid_amount",
            "invalid amount: it must be more than zero and not too large",
        ),
        E::InsufficientFunds => (
            Code::Refused,
            "insufficient_funds",
            "insufficient funds: the balance is too small",
        ),
        E::Overflow => (
            Code::Refused,
            "overflow",
            "the balance would exceed the largest amount an account can hold",
        ),
        E::RecipientNotFound => (
            Code::Refused,
            "recipient_not_found",
            "no open account has that name",
        ),
        E::SameAccount => (
            Code::Refused,
            "same_account",
            "cannot transfer to your own account",
        ),
        E::NonZeroBalance => (
            Code::Refused,
            "non_zero_balance",
            "the account still holds money: withdraw or transfer it before closing",
        ),
        E::AccountClosed => (Code::Refused, "account_closed", "the account is closed"),
        E::IdempotencyConflict => (
            Code::Refused,
            "idempotency_conflict",
            "the server already saw this request's key with a different request",
        ),
        E::InvalidPage => (
            Code::Refused,
            "invalid_page",
            "invalid page: --limit must be from 1 to 1000",
        ),
        E::StorageFailure => (
            Code::Unavailable,
            "storage_failure",
            "the server's storage failed and nothing was changed: try again",
        ),
    };
    Failure::new(code, kind, message)
}

/// The failure for a runtime error.
pub fn from_rpc_error(error: &RpcError) -> Failure {
    let detail = &error.message;
    let (code, kind, message) = match error.status {
        Status::Unavailable => (
            Code::Unavailable,
            "unavailable",
            format!("server unavailable: {detail}"),
        ),
        Status::DeadlineExceeded => (
            Code::Unavailable,
            "timeout",
            format!("the server did not answer in time: {detail}"),
        ),
        Status::ResourceExhausted => (
            Code::Unavailable,
            "busy",
            format!("the server is busy: {detail}"),
        ),
        Status::UnknownMethod | Status::SchemaMismatch => (
            Code::Server,
            "incompatible_server",
            format!("the server speaks another version of the account protocol: {detail}"),
        ),
        Status::BadRequest => (
            Code::Server,
            "bad_request",
            format!("the server could not read the request: {detail}"),
        ),
        Status::Internal => (
            Code::Server,
            "server_error",
            format!("server error: {detail}"),
        ),
        Status::Ok | Status::Application | Status::Cancelled => (
            Code::Server,
            "protocol_error",
            format!("protocol error ({}): {detail}", error.status),
        ),
    };
    Failure::new(code, kind, message)
}

/// The failure for any failed call.
pub fn from_call_error(error: &CallError<AccountError>) -> Failure {
    match error {
        CallError::Application(e) => from_account_error(*e),
        CallError::Rpc(e) => from_rpc_error(e),
        other => Failure::new(Code::Server, "protocol_error", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpc_runtime::Wire as _;

    /// Every `AccountError`, found by decoding every 16-bit value: a new variant is tested
    /// without being listed anywhere.
    fn all_errors() -> Vec<AccountError> {
        (0..=u16::MAX)
            .filter_map(|n| AccountError::unpack(&n.to_be_bytes()).ok())
            .collect()
    }

    /// Every `Status`, found the same way.
    fn all_statuses() -> Vec<Status> {
        (0..=u16::MAX)
            .filter_map(|n| Status::unpack(&n.to_be_bytes()).ok())
            .collect()
    }

    /// Every exit code in table order. The match has no wildcard, so a new code does not
    /// compile until it is given its place in the chain.
    fn all_codes() -> Vec<Code> {
        let next = |code: &Code| match code {
            Code::Local => Some(Code::Usage),
            Code::Usage => Some(Code::Auth),
            Code::Auth => Some(Code::Refused),
            Code::Refused => Some(Code::Unavailable),
            Code::Unavailable => Some(Code::Server),
            Code::Server => None,
        };
        std::iter::successors(Some(Code::Local), next).collect()
    }

    /// The class each service error belongs to, as the help and README promise it. The
    /// match has no wildcard: a new variant does not compile until it is classified here.
    fn promised_for_error(error: AccountError) -> Code {
        use AccountError as E;
        match error {
            E::InvalidCredentials | E::Unauthenticated | E::Throttled => Code::Auth,
            E::NameTaken
            | E::InvalidName
            | E::InvalidPassword
            | E::InvalidAmount
            | E::InsufficientFunds
            | E::Overflow
            | E::RecipientNotFound
            | E::SameAccount
            | E::NonZeroBalance
            | E::AccountClosed
            | E::IdempotencyConflict
            | E::InvalidPage => Code::Refused,
            E::StorageFailure => Code::Unavailable,
        }
    }

    /// The class each runtime status belongs to, checked by the compiler the same way.
    fn promised_for_status(status: Status) -> Code {
        match status {
            Status::Unavailable | Status::DeadlineExceeded | Status::ResourceExhausted => {
                Code::Unavailable
            }
            Status::Ok
            | Status::Application
            | Status::Cancelled
            | Status::UnknownMethod
            | Status::BadRequest
            | Status::Internal
            | Status::SchemaMismatch => Code::Server,
        }
    }

    #[test]
    fn the_enumerations_find_values_across_the_range() {
        let errors = all_errors();
        assert!(errors.contains(&AccountError::InvalidCredentials));
        assert!(errors.contains(&AccountError::StorageFailure));
        let statuses = all_statuses();
        assert!(statuses.contains(&Status::Ok) && statuses.contains(&Status::SchemaMismatch));
        let codes = all_codes();
        let distinct: std::collections::HashSet<u8> = codes.iter().map(|c| *c as u8).collect();
        assert_eq!(distinct.len(), codes.len());
    }

    #[test]
    fn account_errors_map_to_their_class() {
        for error in all_errors() {
            let failure = from_account_error(error);
            assert_eq!(failure.code, promised_for_error(error), "{error:?}");
            let call = CallError::Application(error);
            assert_eq!(from_call_error(&call), failure, "{error:?}");
        }
    }

    #[test]
    fn statuses_map_to_their_class() {
        for status in all_statuses() {
            let failure = from_rpc_error(&RpcError::new(status, "detail"));
            assert_eq!(failure.code, promised_for_status(status), "{status:?}");
            assert!(failure.message.contains("detail"), "{failure:?}");
            let call = CallError::<AccountError>::Rpc(RpcError::new(status, "detail"));
            assert_eq!(from_call_error(&call), failure, "{status:?}");
        }
    }

    #[test]
    fn every_failure_has_a_distinct_kind_and_a_one_line_message() {
        let errors = all_errors();
        let mut failures: Vec<Failure> = errors.iter().map(|e| from_account_error(*e)).collect();
        let kinds: std::collections::HashSet<_> = failures.iter().map(|f| f.kind).collect();
        assert_eq!(kinds.len(), errors.len());
        failures.extend(
            all_statuses()
                .into_iter()
                .map(|s| from_rpc_error(&RpcError::new(s, "line one\nline two"))),
        );
        for f in failures {
            assert!(!f.message.contains('\n'), "{f:?}");
            assert!(f.message.starts_with(char::is_lowercase), "{f:?}");
            assert!(f.kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn exit_code_table_lists_every_code() {
        let codes = all_codes();
        for code in &codes {
            assert!(EXIT_CODES.contains(&format!("\n  {}  ", *code as u8)));
        }
        assert!(EXIT_CODES.contains("\n  0  success"));
        // Every code a failure can carry is in the chain the table is checked against.
        let used = all_errors()
            .into_iter()
            .map(|e| from_account_error(e).code)
            .chain(
                all_statuses()
                    .into_iter()
                    .map(|s| from_rpc_error(&RpcError::new(s, "")).code),
            )
            .chain([Failure::local("").code, Failure::usage("").code]);
        for code in used {
            assert!(codes.contains(&code), "{code:?}");
        }
        // Exit 5 after a change is not "nothing happened", and the table must not say so.
        assert!(!EXIT_CODES.contains("is safe"));
        assert!(EXIT_CODES.contains("MAY HAVE BEEN APPLIED: run the same command again"));
    }
}
