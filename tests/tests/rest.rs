//! The account system's REST API and web page from the outside: the `curl` examples of
//! `docs/HTTP.md`, run verbatim, and a real browser driving the page.
//!
//! Both run against the real `account-server` binary, which serves
//! [`account_service::http::RestApi`] through the runtime's HTTP routing hook.
//!
//! - [`front`]: the server binary for a test and the external tools the tests need.
//! - [`curl_doc`]: every `sh` block of `docs/HTTP.md`, in order, through bash and curl.
//! - [`browser`]: Chromium through chromedriver and a stdlib-only Python WebDriver script.

mod browser;
mod curl_doc;
mod front;
