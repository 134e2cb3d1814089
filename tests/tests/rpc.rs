//! The runtime as a user meets it: a `#[service]` trait served over real TCP and Unix sockets,
//! called through the generated async and blocking clients, and abused with raw bytes.
//!
//! Every server binds `tcp://127.0.0.1:0` or a socket in a fresh temporary directory. Tests
//! wait on real events (a reply, a frame, a handler starting or being dropped); the only
//! fixed durations are generous upper bounds that turn a hang into a failure.
//!
//! - [`lab`]: the test service and the gauge its handlers report to.
//! - [`support`]: starting servers, hang guards, a raw frame client, a well-behaved witness.
//! - [`calls`]: calls over TCP and Unix sockets, `describe`, ping, pipelining.
//! - [`timeouts`]: client timeouts, cancellation, deadlines enforced by the server.
//! - [`abuse`]: broken and hostile clients, and the limits that contain them.
//! - [`budget`]: clients that never read their replies.
//! - [`files`]: Unix socket files: stale, live, not a socket, removal, permissions.
//! - [`shutdown`]: graceful shutdown, goaway, dead servers and lazy reconnection.
//! - [`load`]: a thousand connections at once.
//! - [`idle`]: what idle connections cost in memory.
//! - [`framing`]: the read timeout per frame, strict `describe` bodies.
//! - [`handlers`]: what handlers can rely on: the caller's address, panics contained.
//! - [`inline`]: replies framed in place on a call's first poll, byte for byte as before.
//! - [`sync_methods`]: methods declared as a plain `fn`, run inline beside `async fn` ones.
//! - [`stats`]: the server's live counts of connections and calls.
//! - [`balance`]: one client over several servers: spreading, failover, probing back.
//! - [`http`]: HTTP/1.1 on the same listeners: routes, keep-alive, limits.
//! - [`http_attacks`]: the HTTP defects of the old hand-written shim, each tried.
//! - [`http_json`]: every method in JSON over HTTP, `GET` for read-only ones.
//! - [`http_routes`]: an application's own HTTP routes beside the built-in ones.
//! - [`executors`]: connections kept on one worker thread each, or one shared executor.
//! - [`teardown`]: a stopped server has dropped every task, even stuck ones.

mod abuse;
mod balance;
mod budget;
mod calls;
mod executors;
mod files;
mod framing;
mod handlers;
mod http;
mod http_attacks;
mod http_json;
mod http_routes;
mod idle;
mod inline;
mod lab;
mod load;
mod shutdown;
mod stats;
mod support;
mod sync_methods;
mod teardown;
mod timeouts;
