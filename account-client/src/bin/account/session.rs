//! The session file: who is logged in, where, and with which token; and the change whose
//! answer never came, with its idempotency key.
//!
//! A small `key=value` text file, created with mode 0600 so that only its owner can read the
//! token. It is replaced atomically: written to a private temporary file beside it, then
//! renamed over it.

use crate::exit::Failure;
use crate::output;
use account_client::{IdemKey, Token};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The file name used in the home directory (or the working directory without one).
const FILE_NAME: &str = ".account-session";

/// A stored login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The endpoint of the server that issued the token.
    pub server: String,
    /// The account logged in.
    pub account_id: u64,
    /// Its name when the session was stored.
    pub name: String,
    /// The secret session token.
    pub token: Token,
    /// When the token expires, in Unix seconds.
    pub expires_at: i64,
}

/// A change sent to the server whose answer has not come yet: it may or may not have been
/// applied. Running the [same change](Change) again resends it with this key, so the server
/// applies it at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// What was asked.
    pub change: Change,
    /// The key every attempt carries.
    pub key: IdemKey,
    /// When it was first sent, in Unix seconds.
    pub since: i64,
}

/// What makes two runs of `account` the same change: the same server, the same account, and
/// the same command with the same arguments, written canonically (amounts as `1.00`, names
/// quoted and escaped). Global flags (`--json`, `--timeout`, how the server was named) do not
/// count, and neither do passwords: the server checks those itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The endpoint, as the session stores it.
    pub server: String,
    /// The account changed, or 0 for `open`, which needs no session.
    pub account_id: u64,
    /// The command and its arguments, such as `transfer "bob" 3.00`.
    pub command: String,
}

/// Everything the session file holds. Either part may be absent; with neither, there is no
/// file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFile {
    /// The login, if any.
    pub login: Option<Session>,
    /// The change in doubt, if any.
    pub pending: Option<Pending>,
}

/// `$HOME/.account-session`, or `./.account-session` when `HOME` is unset or empty.
pub fn default_path() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join(FILE_NAME),
        _ => PathBuf::from(".").join(FILE_NAME),
    }
}

impl Session {
    /// Whether the token's expiry time has passed.
    pub fn expired(&self) -> bool {
        self.expires_at <= output::now()
    }
}

/// A value kept on one line (names never hold line breaks, the server refuses them).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

impl SessionFile {
    /// The file's text.
    fn to_text(&self) -> String {
        let mut text = String::from("# account session: the token below is a secret\n");
        if let Some(login) = &self.login {
            let _ = writeln!(text, "server={}", one_line(&login.server));
            let _ = writeln!(text, "account_id={}", login.account_id);
            let _ = writeln!(text, "name={}", one_line(&login.name));
            let _ = writeln!(text, "token={}", hex(&login.token));
            let _ = writeln!(text, "expires_at={}", login.expires_at);
        }
        if let Some(pending) = &self.pending {
            let change = &pending.change;
            let _ = writeln!(text, "pending_server={}", one_line(&change.server));
            let _ = writeln!(text, "pending_account_id={}", change.account_id);
            let _ = writeln!(text, "pending_command={}", one_line(&change.command));
            let _ = writeln!(text, "pending_key={}", hex(&pending.key));
            let _ = writeln!(text, "pending_since={}", pending.since);
        }
        text
    }

    /// Parses the file's text; `None` if a part is incomplete or a field malformed.
    fn from_text(text: &str) -> Option<SessionFile> {
        let mut fields = std::collections::HashMap::new();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                fields.insert(key, value);
            }
        }
        let login = part(
            &fields,
            &["server", "account_id", "name", "token", "expires_at"],
            |f| {
                Some(Session {
                    server: f[0].to_owned(),
                    account_id: f[1].parse().ok()?,
                    name: f[2].to_owned(),
                    token: unhex(f[3])?,
                    expires_at: f[4].parse().ok()?,
                })
            },
        )?;
        let pending = part(
            &fields,
            &[
                "pending_server",
                "pending_account_id",
                "pending_command",
                "pending_key",
                "pending_since",
            ],
            |f| {
                Some(Pending {
                    change: Change {
                        server: f[0].to_owned(),
                        account_id: f[1].parse().ok()?,
                        command: f[2].to_owned(),
                    },
                    key: unhex(f[3])?,
                    since: f[4].parse().ok()?,
                })
            },
        )?;
        Some(SessionFile { login, pending })
    }

    /// Reads the file at `path`; empty when there is no file.
    ///
    /// # Errors
    ///
    /// Exit code 1 when the file cannot be read, 3 when it is damaged.
    pub fn load(path: &Path) -> Result<SessionFile, Failure> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(SessionFile::default()),
            Err(e) => {
                return Err(Failure::local(format!(
                    "cannot read the session file {}: {e}",
                    path.display()
                )));
            }
        };
        warn_if_shared(path);
        SessionFile::from_text(&text).ok_or_else(|| {
            Failure::new(
                crate::exit::Code::Auth,
                "bad_session",
                format!(
                    "the session file {} is damaged: run `account login NAME`",
                    path.display()
                ),
            )
        })
    }

    /// Writes the file to `path`, replacing any file there, readable by its owner only; with
    /// nothing to keep, deletes it.
    ///
    /// # Errors
    ///
    /// Exit code 1 when the file cannot be written or removed.
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        if self.login.is_none() && self.pending.is_none() {
            return remove(path).map(drop);
        }
        write_private(path, self.to_text().as_bytes()).map_err(|e| {
            Failure::local(format!(
                "cannot write the session file {}: {e}",
                path.display()
            ))
        })
    }
}

/// One part of the file: `None` (a damaged file) when only some of `keys` are there or
/// `build` refuses them, `Some(None)` when none are.
fn part<T>(
    fields: &std::collections::HashMap<&str, &str>,
    keys: &[&str],
    build: impl FnOnce(&[&str]) -> Option<T>,
) -> Option<Option<T>> {
    let values: Vec<&str> = keys.iter().filter_map(|k| fields.get(k).copied()).collect();
    match values.len() {
        0 => Some(None),
        n if n == keys.len() => build(&values).map(Some),
        _ => None,
    }
}

/// Deletes the session file at `path`; `Ok(false)` if there was none.
///
/// # Errors
///
/// Exit code 1 when the file exists but cannot be removed.
pub fn remove(path: &Path) -> Result<bool, Failure> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::local(format!(
            "cannot remove the session file {}: {e}",
            path.display()
        ))),
    }
}

/// Writes `bytes` to a new owner-only temporary file next to `path`, then renames it over
/// `path` (tempfile's `persist`), so that the token is never readable by others, not even for
/// a moment, and a crash leaves either the old file or the new one. A temporary file that
/// could not be renamed is deleted.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Warns on stderr when others may read the session file (it was not created by us).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: the session file {} can be read by other users; run `chmod 600` on it",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The `N` bytes written by [`hex`], or `None`.
fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut bytes = [0; N];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        Session {
            server: "unix:///tmp/a b/account.sock".to_owned(),
            account_id: 42,
            name: "alice = \"a\"".to_owned(),
            token: std::array::from_fn(|i| (i * 7 + 200) as u8),
            expires_at: 1_700_000_000,
        }
    }

    fn pending() -> Pending {
        Pending {
            change: Change {
                server: "tcp://127.0.0.1:7878".to_owned(),
                account_id: 42,
                command: "transfer \"bob = b\" 3.00".to_owned(),
            },
            key: std::array::from_fn(|i| i as u8 + 1),
            since: 1_700_000_100,
        }
    }

    fn both() -> SessionFile {
        SessionFile {
            login: Some(sample()),
            pending: Some(pending()),
        }
    }

    #[test]
    fn text_round_trips() {
        let login_only = SessionFile {
            login: Some(sample()),
            pending: None,
        };
        let pending_only = SessionFile {
            login: None,
            pending: Some(pending()),
        };
        for file in [both(), login_only, pending_only, SessionFile::default()] {
            assert_eq!(SessionFile::from_text(&file.to_text()), Some(file));
        }
    }

    #[test]
    fn damaged_text_is_refused() {
        let text = both().to_text();
        assert_eq!(
            SessionFile::from_text(&text.replace("token=c8", "token=zz")),
            None
        );
        assert_eq!(
            SessionFile::from_text(&text.replace("account_id=42", "account_id=x")),
            None
        );
        assert_eq!(
            SessionFile::from_text(&text.replace("pending_key=01", "pending_key=1")),
            None
        );
        for dropped in ["expires_at", "pending_since"] {
            let short: String = text
                .lines()
                .filter(|l| !l.starts_with(dropped))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(SessionFile::from_text(&short), None, "{dropped}");
        }
    }

    #[test]
    fn hex_round_trips() {
        let token: Token = std::array::from_fn(|i| i as u8 * 8);
        assert_eq!(unhex(&hex(&token)), Some(token));
        assert_eq!(unhex::<32>("00"), None);
        assert_eq!(unhex::<32>(&"é".repeat(32)), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_created_owner_only_and_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session");
        assert_eq!(SessionFile::load(&path), Ok(SessionFile::default()));

        // A world-readable file in the way is replaced by a private one.
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let file = both();
        file.save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(SessionFile::load(&path), Ok(file));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        // Nothing left to keep: no file.
        SessionFile::default().save(&path).unwrap();
        assert!(!path.exists());
        assert_eq!(remove(&path), Ok(false));
        assert_eq!(SessionFile::load(&path), Ok(SessionFile::default()));
    }

    #[test]
    fn damaged_file_asks_to_log_in_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session");
        fs::write(&path, "token=00").unwrap();
        let failure = SessionFile::load(&path).unwrap_err();
        assert_eq!(failure.code, crate::exit::Code::Auth);
        assert!(failure.message.contains("account login"));
    }

    #[test]
    fn expiry_is_checked_against_the_clock() {
        let mut session = sample();
        assert!(session.expired());
        session.expires_at = output::now() + 60;
        assert!(!session.expired());
    }
}
