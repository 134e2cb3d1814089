//! The database file as the operating system sees it: owner-only permissions, and an
//! exclusive lock that keeps a second server off the same database.
//!
//! The lock is `flock(2)` on `<db>.lock` beside the database, held for as long as the
//! [`SqliteStore`](super::SqliteStore) lives; the kernel drops it when the process exits, even on
//! `kill -9`, so a crash never leaves a stale lock behind. It is a separate file because SQLite
//! takes its own (POSIX) locks on the database file, and on some systems `flock` and POSIX locks
//! on one file interfere.
//!
//! SQLite creates `-wal` and `-shm` with the permissions of the database file, so creating that
//! file `0600` before SQLite opens it is enough for new databases; files an older version left
//! readable by others are tightened at start-up.

use crate::error::Error;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Read and write for the owner, nothing for anyone else.
const OWNER_ONLY: u32 = 0o600;

/// `path` with `suffix` appended to its file name (`accounts.db` → `accounts.db-wal`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The held lock on a database; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Takes the exclusive lock on `db`, or fails at once with [`Error::Locked`] when another
/// process (or another store in this one) holds it.
pub(crate) fn lock(db: &Path) -> Result<Lock, Error> {
    let path = sibling(db, ".lock");
    let io_error = |source| Error::Lock {
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(OWNER_ONLY)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            path: db.to_owned(),
            lock: path,
        }),
        Err(TryLockError::Error(e)) => Err(io_error(e)),
    }
}

/// Creates `db` owner-only when it is missing, so that SQLite (which gives `-wal` and `-shm`
/// the database's permissions) never makes a file others can read.
pub(crate) fn create_owner_only(db: &Path) -> Result<(), Error> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(db)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Permissions {
            path: db.to_owned(),
            source,
        }),
    }
}

/// Takes group and other permissions away from `db`, `db-wal` and `db-shm` where they exist.
pub(crate) fn tighten(db: &Path) -> Result<(), Error> {
    for path in [db.to_owned(), sibling(db, "-wal"), sibling(db, "-shm")] {
        let error = |source| Error::Permissions {
            path: path.clone(),
            source,
        };
        let mode = match std::fs::metadata(&path) {
            Ok(metadata) => metadata.permissions().mode(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(error(e)),
        };
        if mode & 0o077 != 0 {
            let tight = mode & 0o7700 | OWNER_ONLY;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(tight))
                .map_err(error)?;
            tracing::warn!(
                path = %path.display(),
                was = format_args!("{:o}", mode & 0o777),
                "the database file was readable by others; made it owner-only"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_owner_only_and_old_ones_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        create_owner_only(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let wal = sibling(&db, "-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o664)).unwrap();
        tighten(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        // Creating again leaves an existing file alone.
        std::fs::write(&db, b"kept").unwrap();
        create_owner_only(&db).unwrap();
        assert_eq!(std::fs::read(&db).unwrap(), b"kept");
    }

    #[test]
    fn the_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let held = lock(&db).unwrap();
        let err = lock(&db).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        drop(held);
        lock(&db).unwrap();
    }
}
