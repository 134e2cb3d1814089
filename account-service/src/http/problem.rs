//! RFC 9457 problem details: every error the REST API answers, with its HTTP status.
//!
//! A problem is `application/problem+json` with `type` (a relative URI naming the kind of
//! problem, `/problems/<slug>`), `title` (the same for every problem of that type), `status`,
//! `detail` (this occurrence) and, when the service refused the request, `error`: the
//! `AccountError` variant name, as in the JSON mapping of every other service.

use super::page;
use account_client::api::AccountError;
use http::{HeaderValue, StatusCode, header};
use rpc_runtime::frame::Status;
use rpc_runtime::service::Reply;
use std::time::Duration;

/// A kind of problem: the `type` URI is `/problems#<slug>`, and `GET /problems` documents
/// every kind.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The URI fragment naming the kind, e.g. `insufficient-funds`.
    pub(crate) slug: &'static str,
    /// A short, fixed summary: the problem's `title`.
    pub(crate) title: &'static str,
    /// What it means and what to do about it, for `GET /problems`.
    pub(crate) about: &'static str,
}

macro_rules! kinds {
    ($($name:ident = $slug:literal, $title:literal, $about:literal;)*) => {
        $(
            #[doc = $title]
            const $name: &Kind = &Kind { slug: $slug, title: $title, about: $about };
        )*
        /// Every kind of problem, in the order `GET /problems` lists them.
        pub(crate) const KINDS: &[&Kind] = &[$($name),*];
    };
}

kinds! {
    INVALID_REQUEST = "invalid-request", "the request is malformed",
        "The JSON, a field's type, a query parameter or a header is not what this route takes; \
         the detail says which. Fix the request; sending it again unchanged will fail again.";
    KEY_MISSING = "idempotency-key-missing", "an Idempotency-Key header is required",
        "Requests that move money or create something need an Idempotency-Key header: a fresh \
         random UUID per operation, sent again unchanged only to retry that operation.";
    UNAUTHENTICATED = "unauthenticated", "log in first",
        "No session token was sent, or it is malformed, unknown, logged out or expired. Log in \
         with POST /sessions and send the token as `Authorization: Bearer <token>`.";
    INVALID_CREDENTIALS = "invalid-credentials", "wrong name or password",
        "The name or the password is wrong (the answer never says which). When changing the \
         password, it is the current password that is wrong.";
    THROTTLED = "login-throttled", "too many failed logins for this name",
        "Logins for this name are refused for a while after repeated failures; Retry-After \
         says how many seconds to wait.";
    FORBIDDEN = "forbidden", "this is not your account",
        "A session may see only its own account.";
    ACCOUNT_CLOSED = "account-closed", "the account is closed",
        "A closed account can no longer log in or move money.";
    NOT_FOUND = "not-found", "no such resource",
        "Nothing lives at this path; docs/HTTP.md lists the routes.";
    METHOD_NOT_ALLOWED = "method-not-allowed", "this resource does not support the method",
        "The Allow header lists the methods this path answers.";
    NAME_TAKEN = "name-taken", "the name is taken",
        "Another account has this name, or one that looks the same (the same letters from \
         another script, or another Unicode form of the same text).";
    INSUFFICIENT_FUNDS = "insufficient-funds", "the balance is too small",
        "The withdrawal or transfer is larger than the balance; nothing moved.";
    OVERFLOW = "balance-overflow", "the balance would be too large",
        "The balance would exceed the largest amount an account can hold; nothing moved.";
    NON_ZERO_BALANCE = "non-zero-balance", "the account still holds money",
        "Withdraw or transfer the whole balance before closing the account.";
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type", "the body must be JSON",
        "Send request bodies as `Content-Type: application/json`.";
    INVALID_NAME = "invalid-name", "the name is not acceptable",
        "A name is 1 to 32 bytes of UTF-8 without control or invisible characters, does not \
         start with a combining mark, and does not start or end with whitespace.";
    INVALID_PASSWORD = "invalid-password", "the password is not acceptable",
        "A password is 8 to 64 bytes of UTF-8.";
    INVALID_AMOUNT = "invalid-amount", "the amount is not acceptable",
        "An amount is more than zero and at most 92233720368547758.07, given as text with at \
         most two decimals (\"12.34\") or as whole cents.";
    RECIPIENT_NOT_FOUND = "recipient-not-found", "there is no open account with that name",
        "A transfer needs the name of another open account.";
    SAME_ACCOUNT = "same-account", "a transfer needs another account",
        "Money cannot be sent to the account it comes from.";
    KEY_REUSED = "idempotency-key-reused", "the idempotency key was used for a different request",
        "An Idempotency-Key names one operation: use a fresh key for a new one.";
    INVALID_PAGE = "invalid-page", "the page size is not acceptable",
        "limit is 1 to 1000.";
    BUSY = "busy", "the server is busy",
        "Too much work is queued (for example, password checks); nothing was done. Retry after \
         the seconds Retry-After gives.";
    STORAGE_FAILURE = "storage-failure", "the ledger is unavailable",
        "The server's storage failed; nothing was done. Retry after the seconds Retry-After \
         gives.";
    UNAVAILABLE = "unavailable", "the server cannot answer now",
        "The server is shutting down or overloaded; nothing was done. Retry later.";
    DEADLINE_EXCEEDED = "deadline-exceeded", "the call took too long",
        "The call ran out of time; a mutation may or may not have been applied, so retry it \
         with the same Idempotency-Key.";
    INTERNAL = "internal", "the server failed",
        "Something failed inside the server; it is not the request's fault.";
}

/// One problem, ready to become a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// What kind of problem it is.
    pub kind: &'static Kind,
    /// What went wrong with this request.
    pub detail: String,
    /// The service's error, when it refused the request.
    pub error: Option<AccountError>,
    /// Extra headers the status calls for (`WWW-Authenticate`, `Retry-After`, `Allow`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// The realm every `WWW-Authenticate` challenge names.
const REALM: &str = "Bearer realm=\"accounts\"";

impl Problem {
    fn new(status: StatusCode, kind: &'static Kind, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            kind,
            detail: detail.into(),
            error: None,
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: header::HeaderName, value: impl AsRef<str>) -> Problem {
        if let Ok(value) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((name, value));
        }
        self
    }

    /// `400`: the request is malformed (bad JSON, wrong type, unknown field, bad header).
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, INVALID_REQUEST, detail)
    }

    /// `400`: a mutating `POST` without an `Idempotency-Key` header.
    pub fn missing_idempotency_key() -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            KEY_MISSING,
            "this request moves money or creates something: send an Idempotency-Key header \
             (a fresh random UUID per operation, reused only to retry it)",
        )
    }

    /// `401` with a bare challenge: no credentials were sent.
    pub fn no_credentials() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "send the session token from POST /sessions as `Authorization: Bearer <token>`",
        )
        .with_header(header::WWW_AUTHENTICATE, REALM)
    }

    /// `401`: the credentials sent are malformed, unknown or expired.
    pub fn invalid_token(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, UNAUTHENTICATED, detail).with_header(
            header::WWW_AUTHENTICATE,
            format!("{REALM}, error=\"invalid_token\""),
        )
    }

    /// `403`: the caller is logged in but may not see this account.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, FORBIDDEN, detail)
    }

    /// `403`: changing the password with a wrong current one. Not `401`: the session is
    /// fine, and `401` would tell the client to log in again.
    pub fn wrong_current_password() -> Problem {
        let mut problem = Problem::new(
            StatusCode::FORBIDDEN,
            INVALID_CREDENTIALS,
            "the current password is wrong",
        );
        problem.error = Some(AccountError::InvalidCredentials);
        problem
    }

    /// `404`: no such resource under the API's paths.
    pub fn not_found(path: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            NOT_FOUND,
            format!("there is nothing at {path}; see docs/HTTP.md for the routes"),
        )
    }

    /// `405` with `Allow`.
    pub fn method_not_allowed(method: &http::Method, allow: &str) -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            METHOD_NOT_ALLOWED,
            format!("{method} is not allowed here; allowed: {allow}"),
        )
        .with_header(header::ALLOW, allow)
    }

    /// `415` with `Accept`: a body that is not `application/json`.
    pub fn unsupported_media_type(found: &str) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UNSUPPORTED_MEDIA_TYPE,
            format!("send the body as `Content-Type: application/json`, not {found:?}"),
        )
        .with_header(header::ACCEPT, "application/json")
    }

    /// `422`: a well-formed request with a value the service cannot accept.
    pub fn invalid_value(error: AccountError, detail: impl Into<String>) -> Problem {
        let mut problem = Problem::from_error(error, Duration::ZERO);
        problem.detail = detail.into();
        problem
    }

    /// The problem for the service's refusal `error`. `retry_after` is what a throttled
    /// login is told to wait.
    pub fn from_error(error: AccountError, retry_after: Duration) -> Problem {
        use AccountError as E;
        let (status, kind) = match error {
            E::InvalidCredentials => (StatusCode::UNAUTHORIZED, INVALID_CREDENTIALS),
            E::Unauthenticated => (StatusCode::UNAUTHORIZED, UNAUTHENTICATED),
            E::Throttled => (StatusCode::TOO_MANY_REQUESTS, THROTTLED),
            E::NameTaken => (StatusCode::CONFLICT, NAME_TAKEN),
            E::InvalidName => (StatusCode::UNPROCESSABLE_ENTITY, INVALID_NAME),
            E::InvalidPassword => (StatusCode::UNPROCESSABLE_ENTITY, INVALID_PASSWORD),
            E::InvalidAmount => (StatusCode::UNPROCESSABLE_ENTITY, INVALID_AMOUNT),
            E::InsufficientFunds => (StatusCode::CONFLICT, INSUFFICIENT_FUNDS),
            E::Overflow => (StatusCode::CONFLICT, OVERFLOW),
            E::RecipientNotFound => (StatusCode::UNPROCESSABLE_ENTITY, RECIPIENT_NOT_FOUND),
            E::SameAccount => (StatusCode::UNPROCESSABLE_ENTITY, SAME_ACCOUNT),
            E::NonZeroBalance => (StatusCode::CONFLICT, NON_ZERO_BALANCE),
            E::AccountClosed => (StatusCode::FORBIDDEN, ACCOUNT_CLOSED),
            E::IdempotencyConflict => (StatusCode::UNPROCESSABLE_ENTITY, KEY_REUSED),
            E::InvalidPage => (StatusCode::UNPROCESSABLE_ENTITY, INVALID_PAGE),
            E::StorageFailure => (StatusCode::SERVICE_UNAVAILABLE, STORAGE_FAILURE),
        };
        let mut problem = Problem::new(status, kind, describe(error));
        problem.error = Some(error);
        match error {
            E::InvalidCredentials => problem.with_header(header::WWW_AUTHENTICATE, REALM),
            E::Unauthenticated => problem.with_header(
                header::WWW_AUTHENTICATE,
                format!("{REALM}, error=\"invalid_token\""),
            ),
            E::Throttled => problem.with_header(
                header::RETRY_AFTER,
                retry_after.as_secs().max(1).to_string(),
            ),
            E::StorageFailure => problem.with_header(header::RETRY_AFTER, "1"),
            _ => problem,
        }
    }

    /// The problem for a reply that carries a runtime status rather than an answer.
    pub fn from_status(reply: &Reply) -> Problem {
        let message = String::from_utf8_lossy(&reply.body).into_owned();
        match reply.status {
            Status::ResourceExhausted => Problem::new(StatusCode::TOO_MANY_REQUESTS, BUSY, message)
                .with_header(header::RETRY_AFTER, "1"),
            Status::Unavailable | Status::Cancelled => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE, message)
                    .with_header(header::RETRY_AFTER, "1")
            }
            Status::DeadlineExceeded => {
                Problem::new(StatusCode::GATEWAY_TIMEOUT, DEADLINE_EXCEEDED, message)
            }
            Status::BadRequest => Problem::bad_request(message),
            _ => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL,
                format!("{}: {message}", reply.status),
            ),
        }
    }

    /// The response: `application/problem+json` with the security headers.
    pub fn into_response(self) -> http::Response<Vec<u8>> {
        let mut json = serde_json::json!({
            "type": format!("/problems#{}", self.kind.slug),
            "title": self.kind.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(error) = self.error {
            json["error"] = serde_json::Value::from(error_name(error));
        }
        let mut response = page::json_response(self.status, "application/problem+json", &json);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

/// `GET /problems`: every kind of problem, each under its slug as an anchor, so that a
/// problem's `type` URI leads to its description.
pub(crate) fn catalogue() -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Problem types</title>\n<link rel=\"stylesheet\" href=\"/app.css\">\n</head>\n\
         <body>\n<h1>Problem types</h1>\n<p>Errors of the account REST API are RFC 9457 \
         problem details; their <code>type</code> is <code>/problems#&lt;name&gt;</code>.</p>\n",
    );
    for kind in KINDS {
        html.push_str(&format!(
            "<section class=\"card\" id=\"{}\">\n<h2>{}</h2>\n<p><strong>{}</strong></p>\n<p>{}</p>\n</section>\n",
            escape(kind.slug),
            escape(kind.slug),
            escape(kind.title),
            escape(kind.about),
        ));
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// `text` with the characters HTML gives a meaning escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The variant name of `error`, as the JSON mapping spells enums.
pub(crate) fn error_name(error: AccountError) -> &'static str {
    use AccountError as E;
    match error {
        E::InvalidCredentials => "InvalidCredentials",
        E::Unauthenticated => "Unauthenticated",
        E::Throttled => "Throttled",
        E::NameTaken => "NameTaken",
        E::InvalidName => "InvalidName",
        E::InvalidPassword => "InvalidPassword",
        E::InvalidAmount => "InvalidAmount",
        E::InsufficientFunds => "InsufficientFunds",
        E::Overflow => "Overflow",
        E::RecipientNotFound => "RecipientNotFound",
        E::SameAccount => "SameAccount",
        E::NonZeroBalance => "NonZeroBalance",
        E::AccountClosed => "AccountClosed",
        E::IdempotencyConflict => "IdempotencyConflict",
        E::InvalidPage => "InvalidPage",
        E::StorageFailure => "StorageFailure",
    }
}

/// A sentence for people about `error`.
fn describe(error: AccountError) -> &'static str {
    use AccountError as E;
    match error {
        E::InvalidCredentials => "the name or the password is wrong",
        E::Unauthenticated => "the session token is unknown, logged out or expired: log in again",
        E::Throttled => "too many failed logins for this name recently: wait and try again",
        E::NameTaken => "that name is taken, or looks too much like one that is",
        E::InvalidName => {
            "a name is 1 to 32 bytes of UTF-8 without control or invisible characters, \
             and does not start or end with a space"
        }
        E::InvalidPassword => "a password is 8 to 64 bytes of UTF-8",
        E::InvalidAmount => "an amount is more than zero and at most 92233720368547758.07",
        E::InsufficientFunds => "the balance is too small for this withdrawal or transfer",
        E::Overflow => "the balance would exceed the largest amount an account can hold",
        E::RecipientNotFound => "there is no open account with that name",
        E::SameAccount => "you cannot transfer money to your own account",
        E::NonZeroBalance => "withdraw or transfer the balance before closing the account",
        E::AccountClosed => "the account is closed",
        E::IdempotencyConflict => {
            "this Idempotency-Key was already used for a different request: use a fresh key"
        }
        E::InvalidPage => "a page holds 1 to 1000 records",
        E::StorageFailure => "the server's storage failed; nothing was done, retry later",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [AccountError; 16] = [
        AccountError::InvalidCredentials,
        AccountError::Unauthenticated,
        AccountError::Throttled,
        AccountError::NameTaken,
        AccountError::InvalidName,
        AccountError::InvalidPassword,
        AccountError::InvalidAmount,
        AccountError::InsufficientFunds,
        AccountError::Overflow,
        AccountError::RecipientNotFound,
        AccountError::SameAccount,
        AccountError::NonZeroBalance,
        AccountError::AccountClosed,
        AccountError::IdempotencyConflict,
        AccountError::InvalidPage,
        AccountError::StorageFailure,
    ];

    #[test]
    fn every_error_is_a_client_or_availability_problem_with_its_headers() {
        for error in ALL {
            let problem = Problem::from_error(error, Duration::from_secs(30));
            let code = problem.status.as_u16();
            assert!(
                (400..500).contains(&code) || code == 503,
                "{error:?} -> {code}"
            );
            let has = |name: &header::HeaderName| problem.headers.iter().any(|(n, _)| n == name);
            assert_eq!(code == 401, has(&header::WWW_AUTHENTICATE), "{error:?}");
            assert_eq!(
                code == 429 || code == 503,
                has(&header::RETRY_AFTER),
                "{error:?}"
            );
            assert!(!problem.detail.is_empty());
            assert!(problem.kind.title.starts_with(char::is_lowercase));
        }
    }

    #[test]
    fn the_problem_body_names_its_type_status_and_error() {
        let response =
            Problem::from_error(AccountError::InsufficientFunds, Duration::ZERO).into_response();
        assert_eq!(response.status(), 409);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["type"], "/problems#insufficient-funds");
        assert_eq!(body["status"], 409);
        assert_eq!(body["error"], "InsufficientFunds");
    }

    #[test]
    fn every_kind_has_a_unique_slug_and_is_in_the_catalogue() {
        let html = catalogue();
        for (i, kind) in KINDS.iter().enumerate() {
            assert!(
                KINDS[..i].iter().all(|k| k.slug != kind.slug),
                "{}",
                kind.slug
            );
            assert!(html.contains(&format!("id=\"{}\"", kind.slug)));
            assert!(kind.about.ends_with('.'), "{}", kind.slug);
        }
        // The about texts are escaped: no markup but the page's own.
        assert!(html.contains("Bearer &lt;token&gt;"));
        let mut problems = ALL.map(|e| Problem::from_error(e, Duration::ZERO)).to_vec();
        problems.extend([
            Problem::bad_request("x"),
            Problem::missing_idempotency_key(),
            Problem::no_credentials(),
            Problem::forbidden("x"),
            Problem::wrong_current_password(),
            Problem::not_found("/x"),
            Problem::method_not_allowed(&http::Method::GET, "POST"),
            Problem::unsupported_media_type("text/plain"),
        ]);
        for status in [
            Status::ResourceExhausted,
            Status::Unavailable,
            Status::DeadlineExceeded,
            Status::Internal,
        ] {
            problems.push(Problem::from_status(&Reply::error(status, "x")));
        }
        for problem in problems {
            assert!(KINDS.contains(&problem.kind), "{:?}", problem.kind);
        }
    }

    #[test]
    fn a_throttled_login_says_how_long_to_wait() {
        let problem = Problem::from_error(AccountError::Throttled, Duration::from_secs(45));
        let wait = problem
            .headers
            .iter()
            .find(|(n, _)| n == header::RETRY_AFTER)
            .map(|(_, v)| v.clone());
        assert_eq!(wait, Some(HeaderValue::from_static("45")));
    }

    #[test]
    fn runtime_statuses_map_to_their_http_meaning() {
        let cases = [
            (Status::ResourceExhausted, 429),
            (Status::Unavailable, 503),
            (Status::DeadlineExceeded, 504),
            (Status::BadRequest, 400),
            (Status::Internal, 500),
            (Status::UnknownMethod, 500),
        ];
        for (status, code) in cases {
            let problem = Problem::from_status(&Reply::error(status, "x"));
            assert_eq!(problem.status.as_u16(), code, "{status:?}");
        }
    }
}
