//! Unix socket files: replacing a dead server's socket, never a live one, and cleaning up.

use crate::server::ServeError;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A socket file this process created. Dropping it removes the file, unless something else
/// has replaced it since.
#[derive(Debug)]
pub(crate) struct UnixSocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl UnixSocketFile {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UnixSocketFile {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && meta.dev() == self.dev
            && meta.ino() == self.ino
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds a Unix socket at `path` with permissions `mode`.
///
/// An existing socket file is probed with a connection attempt: if a server answers, binding
/// fails with [`ServeError::AddressInUse`]; if nobody does, the file is a leftover of a dead
/// server and is replaced. A path that exists and is not a socket is never touched.
pub(crate) fn bind(path: &Path, mode: u32) -> Result<(UnixListener, UnixSocketFile), ServeError> {
    let shown = path.display().to_string();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(ServeError::NotASocket { path: shown });
        }
        match UnixStream::connect(path) {
            Ok(_) => return Err(ServeError::AddressInUse { path: shown }),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                // Nobody listens: a dead server's socket. Replace it.
                std::fs::remove_file(path).map_err(|source| ServeError::Listen {
                    endpoint: format!("unix://{shown}"),
                    source,
                })?;
            }
            Err(source) => {
                return Err(ServeError::Listen {
                    endpoint: format!("unix://{shown}"),
                    source,
                });
            }
        }
    }
    let listen_err = |source| ServeError::Listen {
        endpoint: format!("unix://{shown}"),
        source,
    };
    let listener = UnixListener::bind(path).map_err(listen_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(listen_err)?;
    let meta = std::fs::symlink_metadata(path).map_err(listen_err)?;
    Ok((
        listener,
        UnixSocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        },
    ))
}
