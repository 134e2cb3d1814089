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

/// One problem, ready to become a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The last segment of the type URI, e.g. `insufficient-funds`.
    pub slug: &'static str,
    /// A short, fixed summary of the problem type.
    pub title: &'static str,
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
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            slug,
            title,
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
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "the request is malformed",
            detail,
        )
    }

    /// `400`: a mutating `POST` without an `Idempotency-Key` header.
    pub fn missing_idempotency_key() -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-missing",
            "an Idempotency-Key header is required",
            "this request moves money or creates something: send an Idempotency-Key header \
             (a fresh random UUID per operation, reused only to retry it)",
        )
    }

    /// `401` with a bare challenge: no credentials were sent.
    pub fn no_credentials() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first",
            "send the session token from POST /sessions as `Authorization: Bearer <token>`",
        )
        .with_header(header::WWW_AUTHENTICATE, REALM)
    }

    /// `401`: the credentials sent are malformed, unknown or expired.
    pub fn invalid_token(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first",
            detail,
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            format!("{REALM}, error=\"invalid_token\""),
        )
    }

    /// `403`: the caller is logged in but may not see this account.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this is not your account",
            detail,
        )
    }

    /// `404`: no such resource under the API's paths.
    pub fn not_found(path: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no such resource",
            format!("there is nothing at {path}; see docs/HTTP.md for the routes"),
        )
    }

    /// `405` with `Allow`.
    pub fn method_not_allowed(method: &http::Method, allow: &str) -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this resource does not support the method",
            format!("{method} is not allowed here; allowed: {allow}"),
        )
        .with_header(header::ALLOW, allow)
    }

    /// `415` with `Accept`: a body that is not `application/json`.
    pub fn unsupported_media_type(found: &str) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be JSON",
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
        let (status, slug, title) = match error {
            E::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "wrong name or password",
            ),
            E::Unauthenticated => {
                let mut problem = Problem::invalid_token(
                    "the session token is unknown, logged out or expired: log in again",
                );
                problem.error = Some(error);
                return problem;
            }
            E::Throttled => (
                StatusCode::TOO_MANY_REQUESTS,
                "login-throttled",
                "too many failed logins for this name",
            ),
            E::NameTaken => (StatusCode::CONFLICT, "name-taken", "the name is taken"),
            E::InvalidName => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-name",
                "the name is not acceptable",
            ),
            E::InvalidPassword => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-password",
                "the password is not acceptable",
            ),
            E::InvalidAmount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-amount",
                "the amount is not acceptable",
            ),
            E::InsufficientFunds => (
                StatusCode::CONFLICT,
                "insufficient-funds",
                "the balance is too small",
            ),
            E::Overflow => (
                StatusCode::CONFLICT,
                "balance-overflow",
                "the balance would be too large",
            ),
            E::RecipientNotFound => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient-not-found",
                "there is no open account with that name",
            ),
            E::SameAccount => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "same-account",
                "a transfer needs another account",
            ),
            E::NonZeroBalance => (
                StatusCode::CONFLICT,
                "non-zero-balance",
                "the account still holds money",
            ),
            E::AccountClosed => (
                StatusCode::FORBIDDEN,
                "account-closed",
                "the account is closed",
            ),
            E::IdempotencyConflict => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "the idempotency key was used for a different request",
            ),
            E::InvalidPage => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-page",
                "the page size is not acceptable",
            ),
            E::StorageFailure => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-failure",
                "the ledger is unavailable",
            ),
        };
        let mut problem = Problem::new(status, slug, title, describe(error));
        problem.error = Some(error);
        match error {
            E::InvalidCredentials => problem.with_header(header::WWW_AUTHENTICATE, REALM),
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
            Status::ResourceExhausted => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy",
                "the server is busy",
                message,
            )
            .with_header(header::RETRY_AFTER, "1"),
            Status::Unavailable | Status::Cancelled => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server cannot answer now",
                message,
            )
            .with_header(header::RETRY_AFTER, "1"),
            Status::DeadlineExceeded => Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "deadline-exceeded",
                "the call took too long",
                message,
            ),
            Status::BadRequest => Problem::bad_request(message),
            _ => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed",
                format!("{}: {message}", reply.status),
            ),
        }
    }

    /// The response: `application/problem+json` with the security headers.
    pub fn into_response(self) -> http::Response<Vec<u8>> {
        let mut json = serde_json::json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
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
        E::Unauthenticated => "the session token is unknown, logged out or expired",
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
            assert!(problem.title.starts_with(char::is_lowercase));
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
        assert_eq!(body["type"], "/problems/insufficient-funds");
        assert_eq!(body["status"], 409);
        assert_eq!(body["error"], "InsufficientFunds");
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
