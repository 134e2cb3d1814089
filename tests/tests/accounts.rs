//! End-to-end tests of the account system's real binaries: an `account-server` process on a
//! database in a temporary directory, listening on `tcp://127.0.0.1:0` and a Unix socket in
//! that directory, driven by the typed client library, by raw frames and by the `account`
//! command-line tool.
//!
//! The binaries are taken from the test's own target directory (built first when missing).
//! Each server is found through its `listening endpoint=...` log lines and is killed when its
//! test ends, however it ends. Tests wait on real events (a reply, a log line, a process
//! exit); the one deliberate sleep waits out a one-second session lifetime.
//!
//! - [`support`]: binaries, the server process guard, clients, keys, raw frames, the audit.
//! - [`library`]: every operation through the library, over TCP and over the Unix socket.
//! - [`concurrency`]: many clients transferring at once; money is conserved and accounted.
//! - [`crash`]: `kill -9` under load, restart, and every acknowledged write is still there.
//! - [`idempotency`]: replays apply once, across graceful restarts too; conflicts are refused.
//! - [`overload`]: a flood of logins against a small hashing pool is refused, not queued.
//! - [`security`]: tokens, ownership, expiry, hostile names and amounts, uniform login errors.
//! - [`database`]: the database file's permissions and lock, and start-up error messages.
//! - [`bank`]: random transfers through a balanced client while servers are killed (-9) and
//!   restarted; the money, the balances and the acknowledged transfers all add up.
//! - [`http_server`]: the server over HTTP/1.1 with `curl` and Python; bodies never allocated ahead.
//! - [`pg_cluster`]: the PostgreSQL test cluster and the `ACCOUNT_TEST_BACKEND` switch.
//! - [`postgres`]: several servers on one PostgreSQL database, a restart of PostgreSQL under a
//!   server, `migrate-db`, and the schema version check.
//! - [`cli`]: the `account` tool in scripts: `--json` output, session files, exit codes.

mod bank;
mod cli;
mod concurrency;
mod crash;
mod database;
mod http_server;
mod idempotency;
mod library;
mod overload;
pub mod pg_cluster;
mod postgres;
mod security;
pub(crate) mod support;
