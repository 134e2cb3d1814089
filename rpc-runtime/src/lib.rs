//! Typed, inspectable RPC without an IDL compiler, with wire formats any `struct` module can read.
//!
//! `#[derive(Wire)]` gives a Rust struct a fixed binary layout in the manner of Python's
//! `struct` module: the value packs to [`Wire::SIZE`] bytes, and [`Wire::FORMAT`] is the format
//! string a Python program passes to `struct.unpack` to read the same bytes.
//!
//! # Examples
//!
//! ```
//! use rpc_runtime::{FixedStr, Wire};
//!
//! #[derive(Wire, Debug, PartialEq)]
//! #[wire(order = "<")]
//! struct Deposit {
//!     account: u64,
//!     cents: i64,
//!     memo: FixedStr<16>,
//!     urgent: bool,
//! }
//!
//! assert_eq!(Deposit::FORMAT, "<Qq16s?");
//! assert_eq!(Deposit::SIZE, 33);
//!
//! let d = Deposit { account: 42, cents: 1250, memo: FixedStr::new("rent")?, urgent: false };
//! let bytes = d.pack();
//! // In Python: struct.unpack('<Qq16s?', bytes) == (42, 1250, b'rent' + b'\0' * 12, False)
//! assert_eq!(&bytes[..8], &42u64.to_le_bytes());
//! assert_eq!(Deposit::unpack(&bytes)?, d);
//! # Ok::<(), rpc_runtime::WireError>(())
//! ```
//!
//! `#[service]` turns a trait into a typed client and a server dispatcher over the binary
//! protocol; [`docs`] holds the wire format reference, the protocol specification and a map of
//! the code.

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod client;
pub mod docs;
pub mod endpoint;
pub mod error;
pub mod frame;
mod ids;
#[cfg(feature = "json")]
pub mod json;
pub mod message;
#[cfg(feature = "json")]
pub mod openapi;
pub mod schema;
pub mod server;
pub mod service;
pub mod status;
#[cfg(test)]
mod test_support;
pub mod transport;
pub mod wire;

pub use client::{BalanceError, BlockingClient, CallError, Client, ClientOptions, RpcError};
pub use endpoint::Endpoint;
/// The `http` crate's types, as [`server::HttpRoutes`] takes and returns them.
pub use http;
pub use message::Message;
pub use server::{ServeError, Server, ServerBuilder};
pub use service::{Reply, Service};
pub use status::Status;
pub use wire::{ByteOrder, FixedStr, PascalStr, Wire, WireError, WireField, WireResult};

/// Derives [`Wire`] and [`WireField`] for a struct or a C-like enum.
///
/// See [`docs::wire`] for the attribute reference; in short:
///
/// - `#[wire(order = "<")]` on the type picks the byte order by its Python prefix
///   (`!` by default; `<`, `>`, `=`, `@`).
/// - `#[wire(pad)]` on a `[u8; N]` field makes it `N` padding bytes (`Nx`): written as zeros,
///   skipped when reading.
/// - Enums need `#[repr(u8)]` (or another integer repr) and unit variants only; unknown values
///   are an error when unpacking.
/// - `#[wire(crate = path)]` names the runtime when it is not reachable as `::rpc_runtime`.
pub use rpc_macros::Wire;

/// Turns a trait of methods into an RPC service.
///
/// Each method takes `&self` and one request message and returns
/// `Result<Response, Error>`, where request, response and error are [`Message`]s: a
/// `#[derive(Wire)]` type, a `Vec` of one (a list of records), or `()`. A method is an
/// `async fn`, or a plain `fn` for a handler that never waits (see below). For a trait `Calc`
/// the macro generates:
///
/// - the trait itself, with each `async fn` returning a `Send` future (implement it with
///   `async fn`) and each plain `fn` as written;
/// - `CalcClient` (async) and `CalcBlockingClient`, with one method per RPC;
/// - `ServeCalc<S>`, the dispatcher to hand to [`ServerBuilder::serve`];
/// - `CalcClient::SCHEMA`: the service's name and, per method, a stable id (a hash of
///   `Calc.method`, so reordering methods changes nothing), its message formats and a
///   fingerprint the server checks on every call.
///
/// A method marked `#[rpc(read_only)]` changes nothing: its schema says so
/// ([`MethodSchema::read_only`](schema::MethodSchema::read_only)), and the HTTP face also
/// serves it on `GET` and `HEAD`, with the request's fields as query parameters. The mark is
/// not part of the fingerprint; `rpc` takes no other option.
///
/// # Plain `fn` methods
///
/// `fn name(&self, request: Request) -> Result<Response, Error>;` declares a method whose
/// handler never waits: it does no I/O, takes no lock that may be held for long, and finishes
/// quickly (a lookup, a computation on the request, an atomic counter). The server calls it
/// directly on the connection's thread when the request arrives and encodes its result into
/// the connection's write buffer: no future, no allocation, no task. An `async fn` handler
/// that finishes on its first poll gets the same in-place reply, but its future is boxed
/// first (whether it waits is only known by polling it), which costs an allocation and its
/// free per call.
///
/// Use an `async fn` for anything that may wait. A plain `fn` runs on the server's executor
/// thread, so one that blocks or computes for long stalls every other connection of that
/// thread for as long (see [`ServerBuilder::shared_executor`]); a deadline cannot cut it short
/// either, since there is no future to drop. Everything else is the same for both kinds:
/// a panic fails that call alone with an `internal` error, [`server::current_peer`] names the
/// caller, HTTP and JSON serve it, and the method's id, fingerprint and schema do not depend on
/// its kind, so clients (always async, or blocking for the blocking client) cannot tell, and a
/// method may change kind without breaking them.
///
/// # Examples
///
/// ```
/// use rpc_runtime::{BlockingClient, Server, Wire, service};
///
/// #[derive(Wire, Debug, PartialEq)]
/// pub struct Add { a: i64, b: i64 }
///
/// #[derive(Wire, Debug, PartialEq)]
/// pub struct Sum { value: i64 }
///
/// #[derive(Wire, Debug, PartialEq)]
/// #[repr(u8)]
/// pub enum CalcError { Overflow = 1 }
///
/// #[service]
/// pub trait Calc {
///     /// Adds two numbers.
///     #[rpc(read_only)]
///     async fn add(&self, request: Add) -> Result<Sum, CalcError>;
/// }
///
/// assert!(CalcClient::SCHEMA.methods[0].read_only);
///
/// struct Calculator;
///
/// impl Calc for Calculator {
///     async fn add(&self, r: Add) -> Result<Sum, CalcError> {
///         r.a.checked_add(r.b).map(|value| Sum { value }).ok_or(CalcError::Overflow)
///     }
/// }
///
/// let server = Server::builder()
///     .listen("tcp://127.0.0.1:0".parse()?)
///     .serve(ServeCalc::new(Calculator))
///     .bind()?
///     .spawn()?;
/// let calc = CalcBlockingClient::new(BlockingClient::new(server.endpoints()[0].clone()));
/// assert_eq!(calc.add(Add { a: 2, b: 3 })?, Sum { value: 5 });
/// let overflow = calc.add(Add { a: i64::MAX, b: 1 }).unwrap_err();
/// assert_eq!(overflow.application(), Some(&CalcError::Overflow));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A method that never waits, as a plain `fn`, beside one that does:
///
/// ```
/// use rpc_runtime::{BlockingClient, Server, Wire, service};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Wire, Debug, PartialEq)]
/// pub struct Hits { count: u64 }
///
/// #[service]
/// pub trait Counter {
///     /// Counts one more hit: no I/O, so a plain `fn`, run inline.
///     fn hit(&self, request: ()) -> Result<Hits, ()>;
///     /// Waits a little before answering: an `async fn`.
///     async fn slow_hit(&self, request: ()) -> Result<Hits, ()>;
/// }
///
/// struct Hits64(AtomicU64);
///
/// impl Counter for Hits64 {
///     fn hit(&self, (): ()) -> Result<Hits, ()> {
///         Ok(Hits { count: self.0.fetch_add(1, Ordering::Relaxed) + 1 })
///     }
///
///     async fn slow_hit(&self, (): ()) -> Result<Hits, ()> {
///         smol::Timer::after(std::time::Duration::from_millis(1)).await;
///         self.hit(())
///     }
/// }
///
/// let server = Server::builder()
///     .listen("tcp://127.0.0.1:0".parse()?)
///     .serve(ServeCounter::new(Hits64(AtomicU64::new(0))))
///     .bind()?
///     .spawn()?;
/// let counter = CounterBlockingClient::new(BlockingClient::new(server.endpoints()[0].clone()));
/// assert_eq!(counter.hit(())?, Hits { count: 1 });
/// assert_eq!(counter.slow_hit(())?, Hits { count: 2 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use rpc_macros::service;

#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDocTests;
