//! The session file: who is logged in, where, and with which token.
//!
//! A small `key=value` text file, created with mode 0600 so that only its owner can read the
//! token. It is replaced atomically: written to a private temporary file beside it, then
//! renamed over it.

use crate::exit::Failure;
use crate::time;
use account_client::Token;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
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

/// `$HOME/.account-session`, or `./.account-session` when `HOME` is unset or empty.
pub fn default_path() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join(FILE_NAME),
        _ => PathBuf::from(".").join(FILE_NAME),
    }
}

impl Session {
    /// The file's text.
    fn to_text(&self) -> String {
        let mut text = String::from("# account session: the token below is a secret\n");
        // Names never hold control characters (the server refuses them); keep lines whole anyway.
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let _ = writeln!(text, "server={}", one_line(&self.server));
        let _ = writeln!(text, "account_id={}", self.account_id);
        let _ = writeln!(text, "name={}", one_line(&self.name));
        let _ = writeln!(text, "token={}", hex(&self.token));
        let _ = writeln!(text, "expires_at={}", self.expires_at);
        text
    }

    /// Parses the file's text; `None` if a field is missing or malformed.
    fn from_text(text: &str) -> Option<Session> {
        let (mut server, mut account_id, mut name, mut token, mut expires_at) =
            (None, None, None, None, None);
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "server" => server = Some(value.to_owned()),
                "account_id" => account_id = value.parse().ok(),
                "name" => name = Some(value.to_owned()),
                "token" => token = unhex(value),
                "expires_at" => expires_at = value.parse().ok(),
                _ => {}
            }
        }
        Some(Session {
            server: server?,
            account_id: account_id?,
            name: name?,
            token: token?,
            expires_at: expires_at?,
        })
    }

    /// Whether the token's expiry time has passed.
    pub fn expired(&self) -> bool {
        self.expires_at <= time::now()
    }

    /// Reads the session at `path`; `Ok(None)` when there is no file.
    ///
    /// # Errors
    ///
    /// Exit code 1 when the file cannot be read, 3 when it is damaged.
    pub fn load(path: &Path) -> Result<Option<Session>, Failure> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Failure::local(format!(
                    "cannot read the session file {}: {e}",
                    path.display()
                )));
            }
        };
        warn_if_shared(path);
        Session::from_text(&text).map(Some).ok_or_else(|| {
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

    /// Writes the session to `path`, replacing any file there, readable by its owner only.
    ///
    /// # Errors
    ///
    /// Exit code 1 when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        write_private(path, self.to_text().as_bytes()).map_err(|e| {
            Failure::local(format!(
                "cannot write the session file {}: {e}",
                path.display()
            ))
        })
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
}

/// Writes `bytes` to a new owner-only temporary file next to `path`, then renames it over
/// `path`, so that the token is never readable by others, not even for a moment, and a crash
/// leaves either the old file or the new one.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let _ = fs::remove_file(&temp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
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
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The 32 bytes written by [`hex`], or `None`.
fn unhex(text: &str) -> Option<Token> {
    let mut token = Token::default();
    if text.len() != token.len() * 2 || !text.is_ascii() {
        return None;
    }
    for (byte, pair) in token.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(token)
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

    #[test]
    fn text_round_trips() {
        let session = sample();
        assert_eq!(Session::from_text(&session.to_text()), Some(session));
    }

    #[test]
    fn damaged_text_is_refused() {
        let text = sample().to_text();
        assert_eq!(Session::from_text(""), None);
        assert_eq!(
            Session::from_text(&text.replace("token=c8", "token=zz")),
            None
        );
        assert_eq!(
            Session::from_text(&text.replace("account_id=42", "account_id=x")),
            None
        );
        let short: String = text
            .lines()
            .filter(|l| !l.starts_with("expires_at"))
            .collect();
        assert_eq!(Session::from_text(&short), None);
    }

    #[test]
    fn hex_round_trips() {
        let token: Token = std::array::from_fn(|i| i as u8 * 8);
        assert_eq!(unhex(&hex(&token)), Some(token));
        assert_eq!(unhex("00"), None);
        assert_eq!(unhex(&"é".repeat(32)), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_created_owner_only_and_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session");
        assert_eq!(Session::load(&path), Ok(None));

        // A world-readable file in the way is replaced by a private one.
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let session = sample();
        session.save(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Session::load(&path), Ok(Some(session)));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        assert_eq!(Session::remove(&path), Ok(true));
        assert_eq!(Session::remove(&path), Ok(false));
        assert_eq!(Session::load(&path), Ok(None));
    }

    #[test]
    fn damaged_file_asks_to_log_in_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session");
        fs::write(&path, "garbage").unwrap();
        let failure = Session::load(&path).unwrap_err();
        assert_eq!(failure.code, crate::exit::Code::Auth);
        assert!(failure.message.contains("account login"));
    }

    #[test]
    fn expiry_is_checked_against_the_clock() {
        let mut session = sample();
        assert!(session.expired());
        session.expires_at = time::now() + 60;
        assert!(!session.expired());
    }
}
