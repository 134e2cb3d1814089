//! The real `account-server` binary for the REST tests, and what they need from the machine.
//!
//! The REST API and the page are served by the runtime's HTTP stack (hyper) on the same TCP
//! listener as the binary protocol, so these tests exercise exactly what a user reaches.

use crate::accounts::support::Server;
use std::path::{Path, PathBuf};

/// A running `account-server` for a test: its base URL and the process.
#[derive(Debug)]
pub struct RestServer {
    server: Server,
}

impl RestServer {
    /// Starts the server binary on a fresh database in `dir`, and waits until it listens.
    pub fn start(dir: &Path) -> RestServer {
        RestServer {
            server: Server::start(dir),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.server.tcp.to_string().replacen("tcp://", "http://", 1)
    }
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// The path of the program `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The programs a test needs, or `None` after printing why the test is skipped. Skipping is
/// allowed only outside CI: with `CI` set, a missing program fails the test.
pub fn require(programs: &[&str]) -> Option<Vec<PathBuf>> {
    let found: Vec<Option<PathBuf>> = programs.iter().map(|p| which(p)).collect();
    let missing: Vec<&str> = programs
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return Some(found.into_iter().flatten().collect());
    }
    let reason = format!("{} not found on PATH", missing.join(", "));
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason}; .ci/run installs them"
    );
    eprintln!("skipped: {reason} (install them, or set CI to make this a failure)");
    None
}
