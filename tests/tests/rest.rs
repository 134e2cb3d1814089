//! The account system's REST API and web page from the outside: the `curl` examples of
//! `docs/HTTP.md`, run verbatim, and a real browser driving the page.
//!
//! Both need a server that answers HTTP with [`account_service::http::RestApi`]. Until the
//! runtime's HTTP hook serves it from `account-server` itself, [`front`] is a small
//! test-only HTTP/1.1 server around the same handler and an in-process service; the tests
//! only see its base URL, so pointing them at the real binary is a change to
//! [`front::RestServer::start`] alone.
//!
//! - [`front`]: the test-only HTTP front and the external tools the tests need.
//! - [`curl_doc`]: every `sh` block of `docs/HTTP.md`, in order, through bash and curl.
//! - [`browser`]: Chromium through chromedriver and a stdlib-only Python WebDriver script.

mod browser;
mod curl_doc;
mod front;
