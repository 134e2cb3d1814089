//! The PostgreSQL cluster the tests may use, and the switch that runs the account suite on it.
//!
//! `.ci/run` (or a developer, with `.ci/pg-cluster start DIR`) starts a throwaway cluster and
//! exports two variables:
//!
//! - `ACCOUNT_TEST_PG`: the URL of a database on it as a superuser (`postgres://USER@HOST/postgres`,
//!   HOST being the percent-encoded socket directory); [`Cluster::fresh_database`] creates a
//!   new empty database per test with `psql`.
//! - `ACCOUNT_TEST_PG_CTL`: a script that runs `pg_ctl` on that cluster, so that a test can
//!   [`Cluster::stop`] and [`Cluster::start`] PostgreSQL under a running server.
//!
//! With `ACCOUNT_TEST_BACKEND=postgres`, every test that starts a server through
//! `support::Server` runs it on a fresh PostgreSQL database instead of a SQLite file; `.ci/run`
//! runs the account suite once per backend.
//!
//! A test that stops PostgreSQL takes a [`private_cluster`] of its own instead.
//!
//! Without `ACCOUNT_TEST_PG`, tests that need PostgreSQL print why they skip, unless `CI` is
//! set: then they fail, so that CI never passes without having run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the account servers of the tests keep their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the test's directory (the default).
    Sqlite,
    /// A fresh database on the test cluster.
    Postgres,
}

/// The backend chosen by `ACCOUNT_TEST_BACKEND` (`sqlite`, the default, or `postgres`).
pub fn backend() -> Backend {
    match std::env::var("ACCOUNT_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("ACCOUNT_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// A running PostgreSQL cluster for tests.
#[derive(Debug)]
pub struct Cluster {
    /// A URL of its `postgres` database as a superuser.
    pub url: String,
    /// The `pg_ctl` wrapper, when the cluster can be restarted.
    ctl: Option<PathBuf>,
}

/// The cluster from `ACCOUNT_TEST_PG`, if there is one.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let url = std::env::var("ACCOUNT_TEST_PG").ok()?;
            let ctl = std::env::var_os("ACCOUNT_TEST_PG_CTL").map(PathBuf::from);
            Some(Cluster { url, ctl })
        })
        .as_ref()
}

/// The cluster, for a test that needs one. Without one, prints why `test` is skipped and
/// returns `None`; with `CI` set, fails instead.
pub fn require(test: &str) -> Option<&'static Cluster> {
    let found = cluster();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} needs PostgreSQL: ACCOUNT_TEST_PG is not set (see .ci/pg-cluster)"
        );
        eprintln!(
            "skipped {test}: ACCOUNT_TEST_PG is not set (start a cluster with .ci/pg-cluster)"
        );
    }
    found
}

/// A cluster of the test's own in a temporary directory, started with `.ci/pg-cluster` and
/// stopped and removed when dropped: for tests that stop and start PostgreSQL, which must
/// not pull the shared cluster from under the tests running beside them.
#[derive(Debug)]
pub struct PrivateCluster {
    cluster: Cluster,
    dir: tempfile::TempDir,
}

/// A new private cluster for `test`, or `None` (with the reason printed) when PostgreSQL is
/// not available, as [`require`] decides.
pub fn private_cluster(test: &str) -> Option<PrivateCluster> {
    require(test)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/pg-cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let exports = run(
        Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(dir.path()),
        "pg-cluster start",
    );
    let var = |name: &str| {
        exports
            .lines()
            .find_map(|line| line.strip_prefix(&format!("export {name}=")))
            .map(|v| v.trim_matches('\'').to_owned())
            .unwrap_or_else(|| panic!("pg-cluster did not export {name}: {exports}"))
    };
    Some(PrivateCluster {
        cluster: Cluster {
            url: var("ACCOUNT_TEST_PG"),
            ctl: Some(PathBuf::from(var("ACCOUNT_TEST_PG_CTL"))),
        },
        dir,
    })
}

impl std::ops::Deref for PrivateCluster {
    type Target = Cluster;

    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/pg-cluster");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Cluster {
    /// Creates a new, empty database and returns its URL.
    pub fn fresh_database(&self) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "accounts_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            super::support::random_u64() % 1_000_000
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        let (base, _) = self
            .url
            .rsplit_once('/')
            .expect("ACCOUNT_TEST_PG ends with /DATABASE");
        format!("{base}/{name}")
    }

    /// Runs one SQL command on the `postgres` database.
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }

    /// Stops PostgreSQL (fast shutdown: sessions are ended, in-flight transactions roll back).
    /// Only for a [`PrivateCluster`]: other tests may be using the shared one.
    pub fn stop(&self) {
        self.ctl("stop");
    }

    /// Starts PostgreSQL again and waits until it accepts connections.
    pub fn start(&self) {
        self.ctl("start");
    }

    fn ctl(&self, action: &str) {
        let ctl = self
            .ctl
            .as_deref()
            .expect("ACCOUNT_TEST_PG_CTL is not set: this cluster cannot be restarted");
        run(
            Command::new(ctl).arg(action),
            &format!("{} {action}", ctl.display()),
        );
    }
}

/// Runs one SQL command on the database at `url` with `psql` and returns its unaligned output.
pub fn psql(url: &str, sql: &str) -> String {
    run(
        Command::new("psql").args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ]),
        sql,
    )
}

fn run(command: &mut Command, what: &str) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The database the servers of the test in `dir` share: a SQLite file, or (with the
/// PostgreSQL backend) a fresh database created the first time and remembered in
/// `dir/pg-url`, so that a restarted server finds the same data.
pub fn database_for(dir: &Path) -> String {
    match backend() {
        Backend::Sqlite => dir.join("accounts.db").display().to_string(),
        Backend::Postgres => {
            let remembered = dir.join("pg-url");
            if let Ok(url) = std::fs::read_to_string(&remembered) {
                return url;
            }
            let cluster = cluster()
                .expect("ACCOUNT_TEST_BACKEND=postgres needs ACCOUNT_TEST_PG (see .ci/pg-cluster)");
            let url = cluster.fresh_database();
            std::fs::write(&remembered, &url).expect("remember the database url");
            url
        }
    }
}
