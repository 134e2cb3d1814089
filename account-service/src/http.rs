//! The account system over HTTP: a resource-shaped REST API and the web page that uses it.
//!
//! [`RestApi::handle`] takes one HTTP request and answers it when it is an account route
//! (`/accounts…`, `/sessions…`, `/transfers`, and the page: `/`, `/app.js`, `/app.css`), or
//! returns `None` so that the server can try its other routes. It speaks only `http` types
//! and reaches the service through a [`Backend`]: each REST request becomes the `Accounts`
//! method's request message, the backend makes the call, and the reply becomes JSON or an
//! RFC 9457 problem. So the REST API is the same service, with the same checks, idempotency
//! and throttling, as the binary protocol. `docs/HTTP.md` documents every route.
//!
//! # Examples
//!
//! Serve the API from an in-process [`ServeAccounts`]:
//!
//! ```
//! use account_service::http::RestApi;
//! use account_service::{AccountService, Config, PasswordHashing, ServeAccounts};
//!
//! let dir = tempfile::tempdir()?;
//! let mut config = Config::new(dir.path().join("accounts.db"));
//! config.password_hashing = PasswordHashing::INSECURE_FAST;
//! let service = AccountService::open(config)?;
//! let backend = ServeAccounts::new(service.clone());
//! let api = RestApi::new();
//!
//! let request = http::Request::post("/accounts")
//!     .header("content-type", "application/json")
//!     .header("idempotency-key", "\"0b9e2f9c-4d1e-4f53-9a5b-0c8f3e7d2a61\"")
//!     .body(br#"{"name": "alice", "password": "correct horse", "initial_amount": "12.50"}"#.to_vec())?;
//! let response = smol::block_on(api.handle(&backend, request)).expect("an account route");
//! assert_eq!(response.status(), 201);
//! assert_eq!(response.headers()["location"], "/accounts/1");
//! let account: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(account["balance"], "12.50");
//! assert_eq!(account["balance_cents"], "1250");
//!
//! // Not an account route: the server's other routes get it.
//! let other = http::Request::get("/health").body(Vec::new())?;
//! assert!(smol::block_on(api.handle(&backend, other)).is_none());
//! # service.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
mod page;
mod problem;
mod routes;

use crate::serve::ServeAccounts;
use crate::store::Store;
use core::future::Future;
use core::pin::Pin;
use rpc_runtime::frame::Status;
use rpc_runtime::server::{HttpContext, HttpFuture, HttpRoutes};
use rpc_runtime::service::{Reply, Service as _};
use std::time::Duration;

/// A call in progress through a [`Backend`].
pub type BackendCall = Pin<Box<dyn Future<Output = Reply> + Send + 'static>>;

/// How the REST layer reaches the `Accounts` service: one call of a method (by its id in
/// `AccountsClient::SCHEMA`) with the request message's Wire bytes.
///
/// [`ServeAccounts`] implements it in-process. A server that serves the REST API beside the
/// binary protocol implements it over its own call path, so that REST calls carry the
/// client's address (for the login throttle), deadlines and limits like any other call.
pub trait Backend: Send + Sync {
    /// Starts method `method` with the encoded request `body`.
    fn call(&self, method: u32, body: Vec<u8>) -> BackendCall;
}

impl<S: Store> Backend for ServeAccounts<S> {
    fn call(&self, method: u32, body: Vec<u8>) -> BackendCall {
        match self.start(method, &body) {
            Some(call) => call,
            None => Box::pin(core::future::ready(Reply::error(
                Status::UnknownMethod,
                format!("the account service has no method {method:#010x}"),
            ))),
        }
    }
}

/// Calls made through the server's own call path, so that REST calls carry the client's
/// address (for the login throttle), deadlines and limits like binary calls.
impl Backend for HttpContext {
    fn call(&self, method: u32, body: Vec<u8>) -> BackendCall {
        Box::pin(HttpContext::call(self, method, body))
    }
}

/// The server's routing hook: the account routes and the page are answered here, every other
/// path falls through to the runtime's built-in routes (`/health`, `/describe`, the generic
/// `/{Service}/{method}` calls).
impl HttpRoutes for RestApi {
    fn route(
        &self,
        request: http::Request<Vec<u8>>,
        ctx: HttpContext,
    ) -> Result<HttpFuture, http::Request<Vec<u8>>> {
        if !self.serves(request.uri().path()) {
            return Err(request);
        }
        let api = self.clone();
        Ok(Box::pin(async move {
            let path = request.uri().path().to_owned();
            match api.handle(&ctx, request).await {
                Some(response) => response,
                // `serves` said yes, so `handle` answers; a 404 keeps this total anyway.
                None => problem::Problem::not_found(&path).into_response(),
            }
        }))
    }
}

/// The REST API and web page of the account service. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct RestApi {
    methods: routes::Methods,
    retry_after: Duration,
}

impl RestApi {
    /// The API with its defaults: `Retry-After: 30` on a throttled login (the default first
    /// lockout of [`LoginThrottle`](crate::LoginThrottle)).
    pub fn new() -> Self {
        RestApi {
            methods: routes::Methods::of(&account_client::AccountsClient::SCHEMA),
            retry_after: Duration::from_secs(30),
        }
    }

    /// Sets what `Retry-After` says when a login is throttled: the server's first lockout.
    #[must_use]
    pub fn with_login_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Whether `path` is one of this API's (or the page's): what [`handle`](Self::handle)
    /// answers rather than returning `None`. A server's routing hook asks this first, so that
    /// other paths go to its own routes untouched.
    pub fn serves(&self, path: &str) -> bool {
        page::is_page(path) || routes::Route::find(path).is_some()
    }

    /// Answers `request` when its path is an account route, calling the service through
    /// `backend`; `None` when the path is not one of this API's (see [`serves`](Self::serves)).
    ///
    /// A `HEAD` request is answered like `GET`, body included: the HTTP server sends only
    /// the head, with that body's `Content-Length`, as hyper does for every `HEAD`.
    ///
    /// Never panics on any input: bad JSON, wrong types, bad UTF-8, missing or malformed
    /// headers and out-of-range values all get a `400`/`415`/`422` problem.
    pub async fn handle(
        &self,
        backend: &dyn Backend,
        request: http::Request<Vec<u8>>,
    ) -> Option<http::Response<Vec<u8>>> {
        if let Some(response) = page::serve(&request) {
            return Some(response);
        }
        let route = routes::Route::find(request.uri().path())?;
        let context = routes::Context {
            methods: &self.methods,
            backend,
            retry_after: self.retry_after,
        };
        Some(context.answer(route, request).await)
    }
}

impl Default for RestApi {
    fn default() -> Self {
        RestApi::new()
    }
}

#[cfg(test)]
mod tests;
