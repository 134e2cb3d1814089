//! Unix socket files: a dead server's socket is replaced, a live server's never, a file that
//! is not a socket is left alone, the server removes its socket when it stops, and the
//! socket's permissions are owner-only unless configured.
#![cfg(unix)]

use super::lab::{Gauge, Item, LabImpl, ServeLab};
use super::support::Served;
use rpc_runtime::server::Limits;
use rpc_runtime::{Endpoint, ServeError, Server, ServerBuilder};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

const ITEM: Item = Item { id: 5, value: 55 };

/// A temporary directory and a socket path inside it.
fn socket_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.sock");
    (dir, path)
}

fn builder(path: &Path) -> ServerBuilder {
    Server::builder()
        .listen(Endpoint::unix(path))
        .serve(ServeLab::new(LabImpl {
            gauge: Gauge::new(),
        }))
}

fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn stale_socket_file_is_replaced() {
    let (_dir, path) = socket_path();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(is_socket(&path), "the dead listener left its file behind");
    let served = Served::start(Endpoint::unix(&path), Limits::default());
    assert_eq!(served.blocking().echo(ITEM).unwrap(), ITEM);
}

#[test]
fn live_server_socket_is_never_removed() {
    let (_dir, path) = socket_path();
    let served = Served::start(Endpoint::unix(&path), Limits::default());
    let inode = std::fs::metadata(&path).unwrap().ino();
    match builder(&path).bind() {
        Err(ServeError::AddressInUse { path: shown }) => assert!(shown.contains("lab.sock")),
        other => panic!("expected AddressInUse, got {other:?}"),
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().ino(),
        inode,
        "socket replaced"
    );
    // A client that connects now still reaches the first server.
    assert_eq!(served.blocking().echo(ITEM).unwrap(), ITEM);
    served.server.stop();
    assert!(!path.exists(), "the socket outlived its server");
}

#[test]
fn path_that_is_not_a_socket_is_refused_and_left_intact() {
    let (dir, path) = socket_path();
    std::fs::write(&path, b"precious").unwrap();
    match builder(&path).bind() {
        Err(ServeError::NotASocket { .. }) => {}
        other => panic!("expected NotASocket, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    // A directory is not a socket either.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(matches!(
        builder(&sub).bind(),
        Err(ServeError::NotASocket { .. })
    ));
    assert!(sub.is_dir());
}

#[test]
fn socket_file_is_owner_only_by_default_and_removed_on_shutdown() {
    let (_dir, path) = socket_path();
    let served = Served::start(Endpoint::unix(&path), Limits::default());
    assert!(is_socket(&path));
    assert_eq!(mode(&path), 0o600);
    served.server.stop();
    assert!(!path.exists(), "the socket outlived its server");
    // A server that is bound but never run cleans up too.
    let bound = builder(&path).bind().unwrap();
    assert!(is_socket(&path));
    drop(bound);
    assert!(!path.exists(), "the socket outlived its server");
}

#[test]
fn socket_file_mode_is_configurable() {
    let (_dir, path) = socket_path();
    let server = builder(&path)
        .unix_mode(0o660)
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    assert_eq!(mode(&path), 0o660);
    server.stop();
    assert!(!path.exists());
}
