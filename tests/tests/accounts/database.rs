//! The database file as the operating system sees it: who may read it, who may open it, and
//! what the server says when it cannot.

use super::support::{Server, login, open, run_to_exit};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    let metadata =
        std::fs::metadata(path).unwrap_or_else(|e| panic!("metadata of {}: {e}", path.display()));
    metadata.permissions().mode() & 0o777
}

#[test]
fn the_database_and_its_wal_files_are_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_sqlite(dir.path());
    let c = server.tcp_client();
    open(&c, "perm-alice", "alice's password", 100);
    login(&c, "perm-alice", "alice's password");
    let db = dir.path().join("accounts.db");
    // The server is running: the WAL and its index exist now.
    for file in ["accounts.db", "accounts.db-wal", "accounts.db-shm"] {
        let path = dir.path().join(file);
        assert_eq!(mode(&path), 0o600, "{file} is {:o}", mode(&path));
    }
    server.stop();
    assert_eq!(mode(&db), 0o600);
}

#[test]
fn a_second_server_on_the_same_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Server::start_sqlite(dir.path());
    let c = first.tcp_client();
    open(&c, "lock-alice", "alice's password", 100);

    let db = dir.path().join("accounts.db");
    let (status, log) = run_to_exit(
        dir.path(),
        &[
            OsStr::new("--db"),
            db.as_os_str(),
            OsStr::new("--listen"),
            OsStr::new("tcp://127.0.0.1:0"),
        ],
    );
    assert!(!status.success(), "the second server ran:\n{log}");
    assert!(
        log.contains("in use by another"),
        "no clear reason in the log:\n{log}"
    );
    assert!(!log.contains("listening"), "it listened:\n{log}");

    // The first server goes on as if nothing happened.
    login(&c, "lock-alice", "alice's password");
    first.stop();
}

#[test]
fn startup_errors_name_their_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory where the database file should be: SQLite cannot open it.
    let db = dir.path().join("not-a-file.db");
    std::fs::create_dir(&db).expect("mkdir");
    let (status, log) = run_to_exit(
        dir.path(),
        &[
            OsStr::new("--db"),
            db.as_os_str(),
            OsStr::new("--listen"),
            OsStr::new("tcp://127.0.0.1:0"),
        ],
    );
    assert!(!status.success(), "it started on a directory:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no error line:\n{log}"));
    // The top error, then what was underneath it.
    assert!(line.contains("not-a-file.db"), "{line}");
    assert!(line.matches(": ").count() >= 2, "no cause in {line:?}");
}
