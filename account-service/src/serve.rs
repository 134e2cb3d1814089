//! [`ServeAccounts`]: the account service on an rpc-runtime server, able to answer
//! `resource exhausted` and `unavailable`.
//!
//! The dispatcher `#[service]` generates ([`account_client::api::ServeAccounts`]) turns a
//! handler's `Result<T, AccountError>` into a response; it has no way to say "too busy". The
//! honest answer when the password-hashing queue is full is the runtime's own
//! `ResourceExhausted` status (retry later; nothing was done), not an application error
//! that means something else. So this wrapper polls the three methods that hash passwords
//! (`open`, `login`, `change_password`) inside a [`Scope`]: a refusal by the pool during that
//! poll marks the scope, and the call is answered `ResourceExhausted` instead of whatever the
//! handler returned. Every method is polled in a scope of its own, in which a store that
//! cannot reach its database (PostgreSQL restarting) marks the call, which is then answered
//! with the `Unavailable` status: nothing was done, and a retry (on any server, under the same
//! idempotency key) is safe.

use crate::db::SqliteStore;
use crate::service::AccountService;
use crate::store::Store;
use account_client::api::{self, AccountsClient};
use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use rpc_runtime::frame::Status;
use rpc_runtime::schema::ServiceSchema;
use rpc_runtime::service::{Call, Reply, Service};

/// The methods that hash or verify passwords.
const HASHING: [&str; 3] = ["open", "login", "change_password"];

/// Serves an [`AccountService`]: hand it to `rpc_runtime::ServerBuilder::serve`.
///
/// It is the generated `account_client::api::ServeAccounts` plus one answer that one cannot
/// give: when the password-hashing queue is full, `open`, `login` and `change_password` get
/// the `ResourceExhausted` status at once (nothing was done; retry later). Served through the
/// generated dispatcher instead, those calls wait for room in the queue.
///
/// ```
/// use account_service::{AccountService, Config, PasswordHashing, ServeAccounts};
/// use rpc_runtime::Server;
///
/// let dir = tempfile::tempdir()?;
/// let mut config = Config::new(dir.path().join("accounts.db"));
/// config.password_hashing = PasswordHashing::INSECURE_FAST;
/// let service = AccountService::open(config)?;
/// let server = Server::builder()
///     .listen("tcp://127.0.0.1:0".parse()?)
///     .serve(ServeAccounts::new(service.clone()))
///     .bind()?;
/// # drop(server);
/// # service.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ServeAccounts<S = SqliteStore> {
    inner: api::ServeAccounts<AccountService<S>>,
    hashing: [u32; 3],
}

impl<S: Store> ServeAccounts<S> {
    /// Serves `service`.
    pub fn new(service: AccountService<S>) -> Self {
        let id = |name: &str| {
            AccountsClient::SCHEMA
                .methods
                .iter()
                .find(|m| m.name == name)
                .map_or(0, |m| m.id)
        };
        ServeAccounts {
            inner: api::ServeAccounts::new(service),
            hashing: HASHING.map(id),
        }
    }
}

impl<S> Clone for ServeAccounts<S> {
    fn clone(&self) -> Self {
        ServeAccounts {
            inner: self.inner.clone(),
            hashing: self.hashing,
        }
    }
}

impl<S> core::fmt::Debug for ServeAccounts<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServeAccounts").finish_non_exhaustive()
    }
}

impl<S: Store> Service for ServeAccounts<S> {
    fn schema(&self) -> &'static ServiceSchema {
        self.inner.schema()
    }

    fn start(&self, method: u32, body: &[u8]) -> Option<Call> {
        let call = self.inner.start(method, body)?;
        let refusable = self.hashing.contains(&method);
        Some(Box::pin(Scoped {
            call,
            refusable,
            unavailable: false,
        }))
    }
}

/// A call whose every poll runs inside a [`Scope`].
///
/// When the store could not reach its database during any poll (see [`mark_unavailable`]),
/// the call is answered with the `Unavailable` status: nothing was done, and a client may
/// retry, on this server or another, with the same idempotency key.
struct Scoped {
    call: Call,
    /// Whether the hashing pool may refuse this call instead of queueing it.
    refusable: bool,
    /// Whether the database was unreachable during an earlier poll.
    unavailable: bool,
}

impl Future for Scoped {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let scope = Scope::enter_with(self.refusable);
        let poll = self.call.as_mut().poll(cx);
        if scope.refused() {
            // The handler gave up the moment the pool refused; what it returned is moot.
            return Poll::Ready(Reply::error(
                Status::ResourceExhausted,
                "too many passwords are being checked; nothing was done, retry later",
            ));
        }
        self.unavailable |= scope.unavailable();
        match poll {
            Poll::Ready(_) if self.unavailable => Poll::Ready(Reply::error(
                Status::Unavailable,
                "the database cannot be reached; nothing was done, retry later",
            )),
            other => other,
        }
    }
}

/// What happened in the current scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Marks {
    /// Whether the hashing pool may refuse work here.
    refusable: bool,
    /// Whether it did.
    refused: bool,
    /// Whether the store found its database unreachable.
    unavailable: bool,
}

thread_local! {
    /// `None` outside a scope.
    static SCOPE: Cell<Option<Marks>> = const { Cell::new(None) };
}

/// While alive, work refused by a full pool on this thread is reported here rather than
/// waited for, and so is an unreachable database. Scopes nest; dropping one restores the one
/// around it.
pub(crate) struct Scope {
    outer: Option<Marks>,
}

impl Scope {
    /// Enters a scope on this thread in which a full pool refuses work.
    #[cfg(test)]
    pub(crate) fn enter() -> Scope {
        Self::enter_with(true)
    }

    /// Enters a scope on this thread; a full pool refuses work in it only when `refusable`.
    fn enter_with(refusable: bool) -> Scope {
        Scope {
            outer: SCOPE.replace(Some(Marks {
                refusable,
                refused: false,
                unavailable: false,
            })),
        }
    }

    /// Whether work was refused since the scope was entered.
    pub(crate) fn refused(&self) -> bool {
        SCOPE.get().is_some_and(|m| m.refused)
    }

    /// Whether the database was found unreachable since the scope was entered.
    fn unavailable(&self) -> bool {
        SCOPE.get().is_some_and(|m| m.unavailable)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        SCOPE.set(self.outer);
    }
}

/// Called by a store that could not reach its database: inside a scope, the call will be
/// answered `Unavailable`; outside, nothing happens (the caller sees `StorageFailure`).
pub(crate) fn mark_unavailable() {
    if let Some(marks) = SCOPE.get() {
        SCOPE.set(Some(Marks {
            unavailable: true,
            ..marks
        }));
    }
}

/// Whether a pool may refuse work here rather than wait for room: inside a scope that allows
/// it.
pub(crate) fn may_refuse() -> bool {
    SCOPE.get().is_some_and(|marks| marks.refusable)
}

/// Called by a pool whose queue is full: inside a scope, marks it and returns `true` (refuse
/// now); outside, returns `false` (wait for room).
pub(crate) fn refuse_when_full() -> bool {
    match SCOPE.get() {
        Some(marks) if marks.refusable => {
            SCOPE.set(Some(Marks {
                refused: true,
                ..marks
            }));
            true
        }
        _ => false,
    }
}
