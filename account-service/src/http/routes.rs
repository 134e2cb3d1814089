//! The REST routes: which path and method becomes which `Accounts` call, and what its answer
//! looks like in HTTP.

use super::Backend;
use super::body::{self, amount, bearer, idempotency_key, new_name, new_password};
use super::page::json_response;
use super::problem::Problem;
use account_client::api::{
    AccountError, AccountInfo, AmountRequest, Auth, CloseRequest, HistoryRequest, IdemKey,
    ListRequest, LoginRequest, Name, OpenRequest, Password, PasswordRequest, RenameRequest,
    TransferRequest,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use rpc_runtime::Message;
use rpc_runtime::frame::Status;
use rpc_runtime::schema::ServiceSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The page size when a listing does not ask for one.
const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
const MAX_LIMIT: u32 = 1000;

/// The ids of the `Accounts` methods the routes call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Methods {
    open: u32,
    login: u32,
    logout: u32,
    get: u32,
    list: u32,
    rename: u32,
    change_password: u32,
    deposit: u32,
    withdraw: u32,
    transfer: u32,
    history: u32,
    close: u32,
}

impl Methods {
    /// Looks the ids up in `schema` (a method it lacks gets id 0, which no method has, so
    /// calling it is answered `unknown method`).
    pub(crate) fn of(schema: &ServiceSchema) -> Methods {
        let id = |name: &str| {
            schema
                .methods
                .iter()
                .find(|m| m.name == name)
                .map_or(0, |m| m.id)
        };
        Methods {
            open: id("open"),
            login: id("login"),
            logout: id("logout"),
            get: id("get"),
            list: id("list"),
            rename: id("rename"),
            change_password: id("change_password"),
            deposit: id("deposit"),
            withdraw: id("withdraw"),
            transfer: id("transfer"),
            history: id("history"),
            close: id("close"),
        }
    }
}

/// A path of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/accounts`
    Accounts,
    /// `/accounts/{id}`
    Account(u64),
    /// `/accounts/me`
    Me,
    /// `/accounts/me/name`
    Name,
    /// `/accounts/me/password`
    Password,
    /// `/accounts/me/deposits`
    Deposits,
    /// `/accounts/me/withdrawals`
    Withdrawals,
    /// `/accounts/me/history`
    History,
    /// `/sessions`
    Sessions,
    /// `/sessions/current`
    CurrentSession,
    /// `/transfers`
    Transfers,
    /// Any other path under `/accounts`, `/sessions` or `/transfers`.
    Unknown,
}

impl Route {
    /// The route of `path`, or `None` when the path is outside the API's namespaces.
    pub(crate) fn find(path: &str) -> Option<Route> {
        let mut segments = path.strip_prefix('/')?.split('/');
        let top = segments.next()?;
        if !matches!(top, "accounts" | "sessions" | "transfers") {
            return None;
        }
        let rest: Vec<&str> = segments.collect();
        let route = match (top, rest.as_slice()) {
            ("accounts", []) => Route::Accounts,
            ("accounts", ["me"]) => Route::Me,
            ("accounts", ["me", "name"]) => Route::Name,
            ("accounts", ["me", "password"]) => Route::Password,
            ("accounts", ["me", "deposits"]) => Route::Deposits,
            ("accounts", ["me", "withdrawals"]) => Route::Withdrawals,
            ("accounts", ["me", "history"]) => Route::History,
            ("accounts", [id]) if is_decimal(id) => match id.parse() {
                Ok(id) => Route::Account(id),
                Err(_) => Route::Unknown,
            },
            ("sessions", []) => Route::Sessions,
            ("sessions", ["current"]) => Route::CurrentSession,
            ("transfers", []) => Route::Transfers,
            _ => Route::Unknown,
        };
        Some(route)
    }

    /// The methods the route answers, as an `Allow` header lists them.
    fn allow(self) -> &'static str {
        match self {
            Route::Accounts => "GET, HEAD, POST",
            Route::Account(_) | Route::History => "GET, HEAD",
            Route::Me => "GET, HEAD, DELETE",
            Route::Name | Route::Password => "PUT",
            Route::Deposits | Route::Withdrawals | Route::Sessions | Route::Transfers => "POST",
            Route::CurrentSession => "DELETE",
            Route::Unknown => "",
        }
    }
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// What one request is answered with.
type Answer = Result<Response<Vec<u8>>, Problem>;

/// Everything a route needs to answer a request.
pub(crate) struct Context<'a> {
    pub(crate) methods: &'a Methods,
    pub(crate) backend: &'a dyn Backend,
    pub(crate) retry_after: Duration,
}

/// The parts of a request a route reads.
struct Parts {
    method: Method,
    path: String,
    query: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Parts {
    fn token(&self) -> Result<[u8; 32], Problem> {
        bearer(&self.headers)
    }

    /// The idempotency key a `POST` that changes something must carry.
    fn required_key(&self) -> Result<IdemKey, Problem> {
        idempotency_key(&self.headers)?.ok_or_else(Problem::missing_idempotency_key)
    }

    /// The idempotency key of a `PUT` or `DELETE`: optional, since those methods are
    /// idempotent by definition; without one, each request is a new operation.
    fn optional_key(&self) -> Result<IdemKey, Problem> {
        match idempotency_key(&self.headers)? {
            Some(key) => Ok(key),
            None => account_client::new_idem_key().map_err(|e| {
                Problem::from_status(&rpc_runtime::Reply::error(
                    Status::Unavailable,
                    e.to_string(),
                ))
            }),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Problem> {
        body::json(&self.headers, &self.body)
    }
}

impl Context<'_> {
    /// Answers `request` on `route`.
    pub(crate) async fn answer(
        &self,
        route: Route,
        request: Request<Vec<u8>>,
    ) -> Response<Vec<u8>> {
        let (head, body) = request.into_parts();
        let parts = Parts {
            method: head.method,
            path: head.uri.path().to_owned(),
            query: head.uri.query().unwrap_or_default().to_owned(),
            headers: head.headers,
            body,
        };
        let answer = match self.check_method(route, &parts) {
            None => self.dispatch(route, &parts).await,
            Some(answer) => answer,
        };
        let response = answer.unwrap_or_else(Problem::into_response);
        super::page::harden(response)
    }

    /// The answer when the method is not one the route serves (or the path is unknown).
    fn check_method(&self, route: Route, parts: &Parts) -> Option<Answer> {
        if route == Route::Unknown {
            return Some(Err(Problem::not_found(&parts.path)));
        }
        let allow = route.allow();
        if allow.split(", ").any(|m| m == parts.method.as_str()) {
            None
        } else {
            Some(Err(Problem::method_not_allowed(&parts.method, allow)))
        }
    }

    async fn dispatch(&self, route: Route, parts: &Parts) -> Answer {
        let m = self.methods;
        let method = &parts.method;
        match route {
            Route::Accounts if method == Method::POST => self.open(parts).await,
            Route::Accounts => self.list(parts).await,
            Route::Account(id) => self.account(parts, Some(id)).await,
            Route::Me if method == Method::DELETE => self.close(parts).await,
            Route::Me => self.account(parts, None).await,
            Route::Name => self.rename(parts).await,
            Route::Password => self.change_password(parts).await,
            Route::Deposits => self.money(parts, m.deposit).await,
            Route::Withdrawals => self.money(parts, m.withdraw).await,
            Route::History => self.history(parts).await,
            Route::Sessions => self.login(parts).await,
            Route::CurrentSession => self.logout(parts).await,
            Route::Transfers => self.transfer(parts).await,
            Route::Unknown => Err(Problem::not_found(&parts.path)),
        }
    }

    /// Calls `method` with `request` and decodes its answer; a refusal becomes its problem.
    async fn call<Q: Message, A: Message>(&self, method: u32, request: Q) -> Result<A, Problem> {
        let mut body = Vec::new();
        if let Err(e) = request.encode(&mut body) {
            let reply = rpc_runtime::Reply::error(Status::Internal, e.to_string());
            return Err(Problem::from_status(&reply));
        }
        let reply = self.backend.call(method, body).await;
        let decode_failed = |e: rpc_runtime::WireError| {
            let reply = rpc_runtime::Reply::error(
                Status::Internal,
                format!("cannot decode the service's answer: {e}"),
            );
            Problem::from_status(&reply)
        };
        match reply.status {
            Status::Ok => A::decode(&reply.body).map_err(decode_failed),
            Status::Application => match AccountError::decode(&reply.body) {
                Ok(error) => Err(Problem::from_error(error, self.retry_after)),
                Err(e) => Err(decode_failed(e)),
            },
            _ => Err(Problem::from_status(&reply)),
        }
    }

    async fn open(&self, parts: &Parts) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            name: String,
            password: String,
            #[serde(default)]
            initial_amount: Option<Value>,
            #[serde(default)]
            initial_cents: Option<Value>,
        }
        let key = parts.required_key()?;
        let body: Body = parts.json()?;
        let request = OpenRequest {
            key,
            name: new_name(&body.name, "name")?,
            password: new_password(&body.password, "password")?,
            initial_cents: amount(
                body.initial_amount.as_ref(),
                body.initial_cents.as_ref(),
                ("initial_amount", "initial_cents"),
            )?
            .unwrap_or(0),
        };
        let info: AccountInfo = self.call(self.methods.open, request).await?;
        let mut response = json_response(
            StatusCode::CREATED,
            "application/json",
            &body::account(&info),
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/accounts/{}", info.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        Ok(response)
    }

    async fn login(&self, parts: &Parts) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            name: String,
            password: String,
        }
        let body: Body = parts.json()?;
        // No account has a name or password this long: the same answer as a wrong one.
        let (Ok(name), Ok(password)) = (Name::new(&body.name), Password::new(&body.password))
        else {
            return Err(Problem::from_error(
                AccountError::InvalidCredentials,
                self.retry_after,
            ));
        };
        let request = LoginRequest { name, password };
        let session = self.call(self.methods.login, request).await?;
        let mut response = json_response(
            StatusCode::CREATED,
            "application/json",
            &body::session(&session),
        );
        response.headers_mut().insert(
            header::LOCATION,
            HeaderValue::from_static("/sessions/current"),
        );
        Ok(response)
    }

    async fn logout(&self, parts: &Parts) -> Answer {
        let token = parts.token()?;
        let () = self.call(self.methods.logout, Auth { token }).await?;
        Ok(no_content())
    }

    /// `GET /accounts/me`, or `GET /accounts/{id}` when `id` is given: only the session's
    /// own account may be seen.
    async fn account(&self, parts: &Parts, id: Option<u64>) -> Answer {
        let token = parts.token()?;
        let info: AccountInfo = self.call(self.methods.get, Auth { token }).await?;
        if let Some(id) = id
            && id != info.id
        {
            return Err(Problem::forbidden(format!(
                "you are logged in to account {}; you may see only your own account",
                info.id
            )));
        }
        Ok(ok(&body::account(&info)))
    }

    async fn list(&self, parts: &Parts) -> Answer {
        let token = parts.token()?;
        let [after, limit] = query(&parts.query, ["after", "limit"])?;
        let after_id = after.unwrap_or(0);
        let limit = page_limit(limit)?;
        let request = ListRequest {
            token,
            after_id,
            limit,
        };
        let accounts: Vec<account_client::api::AccountSummary> =
            self.call(self.methods.list, request).await?;
        let next = next_page(&accounts, limit, |a| a.id)
            .map(|last| format!("/accounts?after={last}&limit={limit}"));
        let json = json!({
            "accounts": accounts.iter().map(body::summary).collect::<Vec<_>>(),
            "next": next,
        });
        Ok(ok(&json))
    }

    async fn history(&self, parts: &Parts) -> Answer {
        let token = parts.token()?;
        let [before, limit] = query(&parts.query, ["before", "limit"])?;
        let before_id = before.unwrap_or(0);
        let limit = page_limit(limit)?;
        let request = HistoryRequest {
            token,
            before_id,
            limit,
        };
        let entries: Vec<account_client::api::Entry> =
            self.call(self.methods.history, request).await?;
        let next = next_page(&entries, limit, |e| e.id)
            .map(|last| format!("/accounts/me/history?before={last}&limit={limit}"));
        let json = json!({
            "entries": entries.iter().map(body::entry).collect::<Vec<_>>(),
            "next": next,
        });
        Ok(ok(&json))
    }

    async fn rename(&self, parts: &Parts) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            name: String,
        }
        let token = parts.token()?;
        let key = parts.optional_key()?;
        let body: Body = parts.json()?;
        let request = RenameRequest {
            token,
            key,
            name: new_name(&body.name, "name")?,
        };
        let info: AccountInfo = self.call(self.methods.rename, request).await?;
        Ok(ok(&body::account(&info)))
    }

    async fn change_password(&self, parts: &Parts) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            current_password: String,
            new_password: String,
        }
        let token = parts.token()?;
        let key = parts.optional_key()?;
        let body: Body = parts.json()?;
        let old =
            Password::new(&body.current_password).map_err(|_| Problem::wrong_current_password())?;
        let request = PasswordRequest {
            token,
            key,
            old,
            new: new_password(&body.new_password, "new_password")?,
        };
        match self.call(self.methods.change_password, request).await {
            Ok(()) => Ok(no_content()),
            Err(problem) if problem.error == Some(AccountError::InvalidCredentials) => {
                Err(Problem::wrong_current_password())
            }
            Err(problem) => Err(problem),
        }
    }

    /// A deposit or a withdrawal.
    async fn money(&self, parts: &Parts, method: u32) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            #[serde(default)]
            amount: Option<Value>,
            #[serde(default)]
            cents: Option<Value>,
        }
        let token = parts.token()?;
        let key = parts.required_key()?;
        let body: Body = parts.json()?;
        let cents = required_amount(body.amount.as_ref(), body.cents.as_ref())?;
        let request = AmountRequest { token, key, cents };
        let receipt = self.call(method, request).await?;
        Ok(ok(&body::receipt(&receipt)))
    }

    async fn transfer(&self, parts: &Parts) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            to: String,
            #[serde(default)]
            amount: Option<Value>,
            #[serde(default)]
            cents: Option<Value>,
        }
        let token = parts.token()?;
        let key = parts.required_key()?;
        let body: Body = parts.json()?;
        let cents = required_amount(body.amount.as_ref(), body.cents.as_ref())?;
        let request = TransferRequest {
            token,
            key,
            to: new_name(&body.to, "to")?,
            cents,
        };
        let receipt = self.call(self.methods.transfer, request).await?;
        Ok(ok(&body::receipt(&receipt)))
    }

    async fn close(&self, parts: &Parts) -> Answer {
        let token = parts.token()?;
        let key = parts.optional_key()?;
        let info: AccountInfo = self
            .call(self.methods.close, CloseRequest { token, key })
            .await?;
        Ok(ok(&body::account(&info)))
    }
}

fn ok(json: &Value) -> Response<Vec<u8>> {
    json_response(StatusCode::OK, "application/json", json)
}

fn no_content() -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The amount of a deposit, withdrawal or transfer: one of `amount` and `cents` is needed.
fn required_amount(text: Option<&Value>, cents: Option<&Value>) -> Result<i64, Problem> {
    amount(text, cents, ("amount", "cents"))?.ok_or_else(|| {
        Problem::bad_request("give the amount as \"amount\": \"12.34\" or as \"cents\": 1234")
    })
}

/// The values of the query parameters `names` (each at most once; no others allowed), as
/// unsigned decimal integers.
fn query<const N: usize>(query: &str, names: [&str; N]) -> Result<[Option<u64>; N], Problem> {
    let mut values = [None; N];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(index) = names.iter().position(|n| *n == name) else {
            return Err(Problem::bad_request(format!(
                "unknown query parameter {name:?}; this resource takes {}",
                names.join(" and ")
            )));
        };
        if values[index].is_some() {
            return Err(Problem::bad_request(format!(
                "the query parameter {name} is given twice"
            )));
        }
        let number = is_decimal(value)
            .then(|| value.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "the query parameter {name} must be a whole number, not {value:?}"
                ))
            })?;
        values[index] = Some(number);
    }
    Ok(values)
}

/// A page size: 1 to 1,000, 50 when not given.
fn page_limit(limit: Option<u64>) -> Result<u32, Problem> {
    let Some(limit) = limit else {
        return Ok(DEFAULT_LIMIT);
    };
    match u32::try_from(limit) {
        Ok(limit @ 1..=MAX_LIMIT) => Ok(limit),
        _ => Err(Problem::invalid_value(
            AccountError::InvalidPage,
            format!("limit must be 1 to {MAX_LIMIT}, not {limit}"),
        )),
    }
}

/// The id to continue after when `page` is full (there may be more), else `None`.
fn next_page<T>(page: &[T], limit: u32, id: impl Fn(&T) -> u64) -> Option<u64> {
    let full = usize::try_from(limit).is_ok_and(|limit| page.len() == limit);
    page.last().filter(|_| full).map(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_and_foreign_paths_to_none() {
        let cases = [
            ("/accounts", Some(Route::Accounts)),
            ("/accounts/me", Some(Route::Me)),
            ("/accounts/7", Some(Route::Account(7))),
            ("/accounts/me/history", Some(Route::History)),
            ("/accounts/99999999999999999999", Some(Route::Unknown)),
            ("/accounts/-1", Some(Route::Unknown)),
            ("/accounts/me/", Some(Route::Unknown)),
            ("/sessions/current", Some(Route::CurrentSession)),
            ("/transfers/1", Some(Route::Unknown)),
            ("/Accounts/get", None),
            ("/health", None),
            ("/", None),
            ("", None),
        ];
        for (path, route) in cases {
            assert_eq!(Route::find(path), route, "{path:?}");
        }
    }

    #[test]
    fn query_parameters_are_whole_numbers_given_once() {
        assert_eq!(query("", ["after", "limit"]).unwrap(), [None, None]);
        assert_eq!(
            query("after=3&limit=10", ["after", "limit"]).unwrap(),
            [Some(3), Some(10)]
        );
        for bad in [
            "after=-1",
            "after=x",
            "after=",
            "after",
            "limit=1&limit=2",
            "sort=name",
            "after=%31",
            "after=99999999999999999999",
        ] {
            assert_eq!(
                query(bad, ["after", "limit"]).unwrap_err().status,
                400,
                "{bad}"
            );
        }
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(1000)).unwrap(), 1000);
        for huge in [0, 1001, u64::from(u32::MAX) + 1, u64::MAX] {
            assert_eq!(page_limit(Some(huge)).unwrap_err().status, 422, "{huge}");
        }
    }
}
