//! `account-server`: serves the account service over TCP and a Unix socket, on an embedded
//! SQLite database (the default) or on PostgreSQL shared by several servers. Flags and
//! environment only; everything else lives in the library.
//!
//! ```sh
//! cargo run --release --bin account-server
//! cargo run --release --bin account-server -- --listen tcp://0.0.0.0:7878 --db /var/lib/accounts.db
//! cargo run --release --bin account-server -- --db postgres://accounts@db.internal/accounts
//! cargo run --release --bin account-server -- migrate-db --from ./accounts.db --to postgres://accounts@db.internal/accounts
//! ```

use account_service::http::RestApi;
use account_service::{AccountService, Config, PasswordHashing, PgStore, ServeAccounts, Store};
use clap::{Parser, Subcommand};
use rpc_runtime::server::{Limits, shutdown_on_signals};
use rpc_runtime::{Endpoint, Server};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The account server: a durable ledger of accounts served over rpc-runtime.
///
/// Stop it with Ctrl-C or SIGTERM: it stops accepting, tells clients to go away, finishes the
/// calls in flight, commits what the writer holds, removes its socket file and exits.
#[derive(Debug, Parser)]
#[command(
    name = "account-server",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Args {
    /// Something else than serving.
    #[command(subcommand)]
    command: Option<Command>,

    /// Where to listen: tcp://HOST:PORT or unix://PATH. Repeat the flag for several endpoints.
    #[arg(
        long = "listen",
        env = "ACCOUNT_LISTEN",
        value_delimiter = ',',
        default_values = ["tcp://127.0.0.1:7878", "unix://./account.sock"]
    )]
    listen: Vec<Endpoint>,

    /// The database: a SQLite file (created with its schema when missing), or a PostgreSQL
    /// URL, postgres://USER@HOST/DB (the schema is created or migrated at start).
    #[arg(long, env = "ACCOUNT_DB", default_value = "./accounts.db")]
    db: String,

    /// PostgreSQL only: most read connections per server (plus one for the writer).
    #[arg(long, env = "ACCOUNT_PG_POOL", default_value_t = Config::new("").pg.pool_size)]
    pg_pool: usize,

    /// PostgreSQL only: seconds to wait for a connection before answering "unavailable".
    #[arg(long, env = "ACCOUNT_PG_CONNECT_TIMEOUT", default_value_t = 5)]
    pg_connect_timeout: u64,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "ACCOUNT_LOG", default_value = "info")]
    log_level: tracing::Level,

    /// Worker threads for connections (default: one per core).
    #[arg(long, env = "ACCOUNT_WORKERS")]
    workers: Option<usize>,

    /// Most connections served at once.
    #[arg(long, env = "ACCOUNT_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,

    /// Most calls running at once per connection.
    #[arg(long, env = "ACCOUNT_MAX_IN_FLIGHT", default_value_t = Limits::default().max_in_flight)]
    max_in_flight: usize,

    /// Largest frame body accepted, in bytes (`--max-frame` is an older name for it).
    #[arg(
        long = "max-body",
        alias = "max-frame",
        env = "ACCOUNT_MAX_BODY",
        default_value_t = Limits::default().max_body
    )]
    max_body: u32,

    /// Seconds a partly received frame may wait for the rest.
    #[arg(long, env = "ACCOUNT_READ_TIMEOUT", default_value_t = 10)]
    read_timeout: u64,

    /// Seconds an idle connection is kept.
    #[arg(long, env = "ACCOUNT_IDLE_TIMEOUT", default_value_t = 300)]
    idle_timeout: u64,

    /// Seconds calls in flight get to finish on shutdown.
    #[arg(long, env = "ACCOUNT_SHUTDOWN_GRACE", default_value_t = 10)]
    shutdown_grace: u64,

    /// Threads that hash and check passwords (default: one per core).
    #[arg(long, env = "ACCOUNT_HASH_THREADS")]
    hash_threads: Option<usize>,

    /// Password checks that may wait for a hashing thread; beyond that, logins are answered
    /// "resource exhausted" at once.
    #[arg(long, env = "ACCOUNT_HASH_QUEUE", default_value_t = 32)]
    hash_queue: usize,

    /// Most reply bytes one connection collects before the server stops reading its requests.
    #[arg(long, env = "ACCOUNT_WRITE_BUDGET", default_value_t = Limits::default().write_budget)]
    write_budget: usize,

    /// Most reply bytes held over all connections for clients slow to read them.
    #[arg(long, env = "ACCOUNT_TOTAL_WRITE_BUDGET", default_value_t = Limits::default().total_write_budget)]
    total_write_budget: usize,

    /// The argon2id cost of new password hashes: m=KIB (memory), t=N (passes), p=N (lanes);
    /// a key left out keeps its default. Lower it only where guessing does not matter (load
    /// tests); existing hashes keep the cost they were made with.
    #[arg(
        long,
        env = "ACCOUNT_PASSWORD_COST",
        default_value_t = PasswordHashing::OWASP
    )]
    password_cost: PasswordHashing,

    /// Seconds a login session lasts.
    #[arg(long, env = "ACCOUNT_SESSION_TTL", default_value_t = 24 * 60 * 60)]
    session_ttl: u64,
}

/// Commands besides serving.
#[derive(Debug, Subcommand)]
enum Command {
    /// Copies a SQLite database into an empty PostgreSQL database, checks that both ledgers
    /// balance and hold the same totals, and commits only then. Stop the server on the SQLite
    /// file first (the copy takes its lock).
    MigrateDb {
        /// The SQLite database file.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL URL; its database must hold no accounts yet.
        #[arg(long)]
        to: String,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", Chain(&*e));
            ExitCode::FAILURE
        }
    }
}

/// An error and every cause under it, as `outer: cause: root cause`, so that the log names what
/// SQLite or the OS actually said.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
fn is_postgres(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new(&args.db);
    config.session_ttl = Duration::from_secs(args.session_ttl);
    config.hashing_queue = args.hash_queue;
    config.password_hashing = args.password_cost;
    if let Some(threads) = args.hash_threads {
        config.hashing_threads = threads;
    }
    config.pg.pool_size = args.pg_pool;
    config.pg.connect_timeout = Duration::from_secs(args.pg_connect_timeout);
    if let Some(Command::MigrateDb { from, to }) = &args.command {
        let report = account_service::migrate_sqlite_to_postgres(from, to, &config)?;
        tracing::info!(
            accounts = report.accounts,
            entries = report.entries,
            sessions = report.sessions,
            idempotency = report.idempotency,
            total_cents = %report.total_cents,
            "copied the database; both ledgers balance"
        );
        return Ok(());
    }
    let retry_after = config.login_throttle.lockout;
    if is_postgres(&args.db) {
        let store = PgStore::open(&args.db, &config)?;
        let service = AccountService::with_store(store, &config)?;
        serve(&args, service.clone(), retry_after)?;
        tracing::info!("connections drained; stopping the writer");
        service.store().shutdown()?;
    } else {
        let service = AccountService::open(config)?;
        serve(&args, service.clone(), retry_after)?;
        tracing::info!("connections drained; stopping the writer");
        service.shutdown()?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves `service` on the endpoints of `args` until a signal stops the server.
fn serve<S: Store>(
    args: &Args,
    service: AccountService<S>,
    retry_after: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let limits = Limits {
        max_body: args.max_body,
        max_connections: args.max_connections,
        max_in_flight: args.max_in_flight,
        read_timeout: Duration::from_secs(args.read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        write_budget: args.write_budget,
        total_write_budget: args.total_write_budget,
    };
    let mut builder = Server::builder()
        .serve(ServeAccounts::new(service))
        .http_routes(RestApi::new().with_login_retry_after(retry_after))
        .limits(limits);
    for endpoint in &args.listen {
        builder = builder.listen(endpoint.clone());
    }
    if let Some(workers) = args.workers {
        builder = builder.workers(workers);
    }
    let server = builder.bind()?;
    // Before the "listening" lines: whoever waits for them may signal at once.
    shutdown_on_signals(&server.shutdown_handle())?;
    for endpoint in server.endpoints() {
        tracing::info!(%endpoint, "listening");
    }
    server.run()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_frame_is_an_alias_of_max_body() {
        let old = Args::try_parse_from(["account-server", "--max-frame", "4096"]).unwrap();
        assert_eq!(old.max_body, 4096);
        let new = Args::try_parse_from(["account-server", "--max-body", "8192"]).unwrap();
        assert_eq!(new.max_body, 8192);
    }

    #[test]
    fn the_password_cost_is_a_flag_and_a_bad_one_is_a_clear_error() {
        let default = Args::try_parse_from(["account-server"]).unwrap();
        assert_eq!(default.password_cost, PasswordHashing::OWASP);
        let low =
            Args::try_parse_from(["account-server", "--password-cost", "m=8,t=1,p=1"]).unwrap();
        assert_eq!(low.password_cost, PasswordHashing::INSECURE_FAST);
        let bad =
            Args::try_parse_from(["account-server", "--password-cost", "m=4,t=1"]).unwrap_err();
        assert_eq!(bad.kind(), clap::error::ErrorKind::ValueValidation);
        let message = bad.to_string();
        assert!(message.contains("--password-cost"), "{message}");
        assert!(message.contains("argon2 refuses"), "{message}");
    }

    #[test]
    fn the_database_url_picks_the_backend() {
        assert!(is_postgres("postgres://a@b/c"));
        assert!(is_postgres("postgresql://a@%2Frun%2Fpg/c"));
        assert!(!is_postgres("./accounts.db"));
        assert!(!is_postgres("postgres.db"));
        let args = Args::try_parse_from([
            "account-server",
            "migrate-db",
            "--from",
            "a.db",
            "--to",
            "postgres://x@y/z",
        ])
        .unwrap();
        assert!(matches!(args.command, Some(Command::MigrateDb { .. })));
    }
}
