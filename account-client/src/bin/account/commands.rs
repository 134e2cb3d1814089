//! Running each subcommand: find the session and server, call, store, render.
//!
//! A change (open, rename, passwd, deposit, withdraw, transfer, close) is written to the
//! session file as pending, with its idempotency key, before it is sent, and forgotten once
//! the server answers. When no answer comes, it stays: running the same change again (see
//! [`Change`]) resends it with the same key, so the server applies it at most once.

use crate::cli::{Cli, Command, DEFAULT_SERVER};
use crate::exit::{Code, Failure, from_account_error, from_call_error};
use crate::output::{self, Format, Movement, rfc3339, utc};
use crate::password::{self, Confirm, NEW_PASSWORD_VAR, PASSWORD_VAR};
use crate::session::{self, Change, Pending, Session, SessionFile};
use account_client::Servers;
use account_client::retry::{RetryPolicy, retry_unanswered_blocking};
use account_client::{
    AccountError, AccountsBlockingClient, AmountRequest, Auth, CloseRequest, HistoryRequest,
    IdemKey, ListRequest, LoginRequest, Name, OpenRequest, PasswordRequest, Receipt, RenameRequest,
    TransferRequest, format_cents, new_idem_key,
};
use rpc_runtime::{CallError, ClientOptions, Endpoint};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Runs the command line and returns what to print on stdout.
///
/// # Errors
///
/// The failure to report, with its exit code.
pub fn run(cli: Cli) -> Result<String, Failure> {
    let ctx = Context {
        format: if cli.json {
            Format::Json
        } else {
            Format::Human
        },
        session_path: cli.session.unwrap_or_else(session::default_path),
        server: cli.server,
        timeout: cli.timeout,
    };
    match cli.command {
        Command::Open { name, deposit } => ctx.open(name, deposit.unwrap_or(0)),
        Command::Login { name } => ctx.login(name),
        Command::Logout => ctx.logout(),
        Command::Show => ctx.show(),
        Command::List { after, limit } => ctx.list(after, limit),
        Command::Rename { new_name } => ctx.rename(new_name),
        Command::Passwd => ctx.passwd(),
        Command::Deposit { amount } => ctx.deposit(amount),
        Command::Withdraw { amount } => ctx.withdraw(amount),
        Command::Transfer { to, amount } => ctx.transfer(to, amount),
        Command::History { before, limit } => ctx.history(before, limit),
        Command::Close => ctx.close(),
    }
}

/// A name as it appears in a [`Change`]'s command: quoted, with escapes, on one line.
fn quoted(name: &Name) -> String {
    format!("{:?}", name.as_str())
}

/// `login --json`.
#[derive(Debug, Serialize)]
struct LoggedInJson<'a> {
    account_id: u64,
    name: &'a str,
    server: &'a str,
    expires_at: i64,
    expires_at_utc: String,
}

/// `logout --json`.
#[derive(Debug, Serialize)]
struct LoggedOutJson<'a> {
    logged_out: bool,
    account_id: u64,
    name: &'a str,
}

/// `passwd --json`.
#[derive(Debug, Serialize)]
struct PasswordChangedJson {
    password_changed: bool,
    account_id: u64,
}

/// A logged-in command's starting point.
#[derive(Debug)]
struct LoggedIn {
    /// The whole session file, to update and save.
    file: SessionFile,
    /// Its login.
    session: Session,
    /// The servers to call.
    endpoint: Servers,
    /// A client for it.
    client: AccountsBlockingClient,
}

impl LoggedIn {
    /// The change `command` of this session's account on this server.
    fn change(&self, command: String) -> Change {
        Change {
            server: stable_servers(&self.endpoint).to_string(),
            account_id: self.session.account_id,
            command,
        }
    }
}

/// The global flags, resolved.
#[derive(Debug)]
struct Context {
    format: Format,
    session_path: PathBuf,
    server: Option<Servers>,
    timeout: Duration,
}

impl Context {
    /// `--server`, else the session's servers, else the default.
    fn endpoint(&self, session: Option<&Session>) -> Result<Servers, Failure> {
        if let Some(endpoint) = &self.server {
            return Ok(endpoint.clone());
        }
        let stored = session.map_or(DEFAULT_SERVER, |s| s.server.as_str());
        stored.parse().map_err(|e| {
            Failure::new(
                Code::Auth,
                "bad_session",
                format!("the session file names a bad server ({e}): run `account login NAME`"),
            )
        })
    }

    /// A client for `servers` (balanced over them when there are several) whose calls and
    /// connection attempts give up after `--timeout`.
    fn client(&self, servers: Servers) -> AccountsBlockingClient {
        let mut options = ClientOptions::default();
        options.timeout = Some(self.timeout);
        options.connect_timeout = self.timeout;
        servers.accounts_blocking(options)
    }

    /// The session file for commands that work without a login, which replace a damaged or
    /// unreadable one.
    fn any_file(&self) -> SessionFile {
        SessionFile::load(&self.session_path).unwrap_or_default()
    }

    /// `file` as it is on disk now, if it can be read; else `file` unchanged (it will
    /// replace a damaged one).
    fn reload(&self, file: &mut SessionFile) {
        if let Ok(current) = SessionFile::load(&self.session_path) {
            *file = current;
        }
    }

    /// The session file, its login and a client for its server; exit 3 when there is no
    /// login or it expired.
    fn logged_in(&self) -> Result<LoggedIn, Failure> {
        let file = SessionFile::load(&self.session_path)?;
        let session = file.login.clone().ok_or_else(Failure::not_logged_in)?;
        if session.expired() {
            return Err(Failure::new(
                Code::Auth,
                "session_expired",
                format!(
                    "the session of {} expired at {} UTC: run `account login {}`",
                    session.name,
                    utc(session.expires_at),
                    session.name
                ),
            ));
        }
        let endpoint = self.endpoint(Some(&session))?;
        let client = self.client(endpoint.clone());
        Ok(LoggedIn {
            file,
            session,
            endpoint,
            client,
        })
    }

    /// Sends `change`, made into a request around its key by `request`, with `call`, resent
    /// with the same key while it goes unanswered.
    ///
    /// The change is saved in the session file as pending before it is sent, with the key
    /// of the pending change if it is the same change (an earlier run got no answer), else
    /// with a new key; it is forgotten once the server answers, whatever the answer. When
    /// no answer comes, it stays, and the failure says how to finish it.
    ///
    /// The file is read again before each of the two writes, and the second one forgets the
    /// pending change only if it is still this one, so that another `account` run on the
    /// same file during the call (a login, another change) is not undone. `file` ends up as
    /// the file was last written.
    fn send<Req: Clone, T>(
        &self,
        file: &mut SessionFile,
        change: Change,
        session: Option<&Session>,
        request: impl FnOnce(IdemKey) -> Req,
        call: impl FnMut(Req) -> Result<T, CallError<AccountError>>,
    ) -> Result<T, Failure> {
        self.reload(file);
        let pending = match file.pending.take() {
            Some(earlier) if earlier.change == change => {
                self.hint(&format!(
                    "resending `account {}` (first sent {} UTC, no answer came) with the same \
                     idempotency key: it is applied at most once",
                    change.command,
                    utc(earlier.since)
                ));
                earlier
            }
            _ => Pending {
                change,
                key: new_idem_key()
                    .map_err(|e| Failure::local(format!("cannot make an idempotency key: {e}")))?,
                since: output::now(),
            },
        };
        let (key, command) = (pending.key, pending.change.command.clone());
        file.pending = Some(pending);
        file.save(&self.session_path)?;
        let outcome = retry_unanswered_blocking(&RetryPolicy::default(), &request(key), call);
        let answered = matches!(outcome, Ok(_) | Err(CallError::Application(_)));
        if answered {
            self.reload(file);
            if file.pending.as_ref().is_some_and(|p| p.key == key) {
                file.pending = None;
                file.save(&self.session_path)?;
            }
        }
        outcome.map_err(|e| {
            let mut failure = match session {
                Some(session) => self.failure(&e, session),
                None => from_call_error(&e),
            };
            if !answered {
                failure.message = format!(
                    "{}; `account {command}` may or may not have been applied: run it again to \
                     finish it (it is resent with the same idempotency key, so it is applied \
                     at most once)",
                    failure.message
                );
            }
            failure
        })
    }

    fn open(&self, name: Name, initial_cents: i64) -> Result<String, Failure> {
        let mut file = self.any_file();
        let endpoint = self.endpoint(file.login.as_ref())?;
        let client = self.client(endpoint.clone());
        let typed = password::read(PASSWORD_VAR, "Password for the new account: ", Confirm::Yes)?;
        let password = password::to_wire(&typed)
            .ok_or_else(|| from_account_error(AccountError::InvalidPassword))?;
        let mut command = format!("open {}", quoted(&name));
        if initial_cents > 0 {
            command = format!("{command} --deposit {}", format_cents(initial_cents));
        }
        let change = Change {
            server: stable_servers(&endpoint).to_string(),
            account_id: 0,
            command,
        };
        let request = |key| OpenRequest {
            key,
            name,
            password,
            initial_cents,
        };
        let info = self.send(&mut file, change, None, request, |r| client.open(r))?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!(
                "opened account {} ({}) with balance {}; log in with `account login {}`\n",
                info.id,
                info.name,
                format_cents(info.balance_cents),
                info.name
            ),
        })
    }

    fn login(&self, name: Name) -> Result<String, Failure> {
        let mut file = self.any_file();
        let endpoint = self.endpoint(file.login.as_ref())?;
        let client = self.client(endpoint.clone());
        let typed = password::read(PASSWORD_VAR, &format!("Password for {name}: "), Confirm::No)?;
        let password = password::to_wire(&typed)
            .ok_or_else(|| from_account_error(AccountError::InvalidCredentials))?;
        let granted = client
            .login(LoginRequest { name, password })
            .map_err(|e| from_call_error(&e))?;
        let session = Session {
            server: stable_servers(&endpoint).to_string(),
            account_id: granted.account_id,
            name: name.to_string(),
            token: granted.token,
            expires_at: granted.expires_at,
        };
        // A pending change stays: logging in again must not make its retry a new change.
        file.login = Some(session.clone());
        file.save(&self.session_path)?;
        let fields = LoggedInJson {
            account_id: session.account_id,
            name: &session.name,
            server: &session.server,
            expires_at: session.expires_at,
            expires_at_utc: rfc3339(session.expires_at),
        };
        let message = format!(
            "logged in as {} (account {}) until {} UTC",
            session.name,
            session.account_id,
            utc(session.expires_at)
        );
        Ok(output::done(&message, &fields, self.format))
    }

    fn logout(&self) -> Result<String, Failure> {
        let mut file = SessionFile::load(&self.session_path)?;
        let session = file.login.take().ok_or_else(Failure::not_logged_in)?;
        if !session.expired() {
            let client = self.client(self.endpoint(Some(&session))?);
            match client.logout(Auth {
                token: session.token,
            }) {
                Ok(()) | Err(CallError::Application(AccountError::Unauthenticated)) => {}
                Err(e) => return Err(self.failure(&e, &session)),
            }
        }
        file.save(&self.session_path)?;
        let fields = LoggedOutJson {
            logged_out: true,
            account_id: session.account_id,
            name: &session.name,
        };
        let message = format!("logged out of {}", session.name);
        Ok(output::done(&message, &fields, self.format))
    }

    fn show(&self) -> Result<String, Failure> {
        let at = self.logged_in()?;
        self.note_pending(&at.file);
        let info = at
            .client
            .get(Auth {
                token: at.session.token,
            })
            .map_err(|e| self.failure(&e, &at.session))?;
        Ok(output::account(&info, self.format))
    }

    fn list(&self, after_id: u64, limit: u32) -> Result<String, Failure> {
        let at = self.logged_in()?;
        self.note_pending(&at.file);
        let request = ListRequest {
            token: at.session.token,
            after_id,
            limit,
        };
        let page = at
            .client
            .list(request)
            .map_err(|e| self.failure(&e, &at.session))?;
        if let Some(last) = page.last().filter(|_| page.len() == limit as usize) {
            self.hint(&format!("more: account list --after {}", last.id));
        }
        Ok(output::accounts(&page, self.format))
    }

    fn rename(&self, new_name: Name) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let change = at.change(format!("rename {}", quoted(&new_name)));
        let token = at.session.token;
        let request = |key| RenameRequest {
            token,
            key,
            name: new_name,
        };
        let client = &at.client;
        let info = self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.rename(r)
        })?;
        if let Some(login) = &mut at.file.login {
            login.name = info.name.to_string();
        }
        at.file.save(&self.session_path)?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!("renamed account {} to {}\n", info.id, info.name),
        })
    }

    fn passwd(&self) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let old = password::read(PASSWORD_VAR, "Current password: ", Confirm::No)?;
        let new = password::read(NEW_PASSWORD_VAR, "New password: ", Confirm::Yes)?;
        let old = password::to_wire(&old)
            .ok_or_else(|| from_account_error(AccountError::InvalidCredentials))?;
        let new = password::to_wire(&new)
            .ok_or_else(|| from_account_error(AccountError::InvalidPassword))?;
        let change = at.change("passwd".to_owned());
        let token = at.session.token;
        let request = |key| PasswordRequest {
            token,
            key,
            old,
            new,
        };
        let client = &at.client;
        self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.change_password(r)
        })?;
        let fields = PasswordChangedJson {
            password_changed: true,
            account_id: at.session.account_id,
        };
        let message = "password changed; every other session was logged out";
        Ok(output::done(message, &fields, self.format))
    }

    fn deposit(&self, cents: i64) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let change = at.change(format!("deposit {}", format_cents(cents)));
        let token = at.session.token;
        let request = |key| AmountRequest { token, key, cents };
        let client = &at.client;
        let receipt = self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.deposit(r)
        })?;
        Ok(self.movement("deposit", cents, None, &receipt))
    }

    fn withdraw(&self, cents: i64) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let change = at.change(format!("withdraw {}", format_cents(cents)));
        let token = at.session.token;
        let request = |key| AmountRequest { token, key, cents };
        let client = &at.client;
        let receipt = self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.withdraw(r)
        })?;
        Ok(self.movement("withdraw", cents, None, &receipt))
    }

    fn transfer(&self, to: Name, cents: i64) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let change = at.change(format!("transfer {} {}", quoted(&to), format_cents(cents)));
        let token = at.session.token;
        let request = |key| TransferRequest {
            token,
            key,
            to,
            cents,
        };
        let client = &at.client;
        let receipt = self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.transfer(r)
        })?;
        Ok(self.movement("transfer", cents, Some(to.as_str()), &receipt))
    }

    fn history(&self, before_id: u64, limit: u32) -> Result<String, Failure> {
        let at = self.logged_in()?;
        self.note_pending(&at.file);
        let request = HistoryRequest {
            token: at.session.token,
            before_id,
            limit,
        };
        let page = at
            .client
            .history(request)
            .map_err(|e| self.failure(&e, &at.session))?;
        if let Some(last) = page.last().filter(|_| page.len() == limit as usize) {
            self.hint(&format!("more: account history --before {}", last.id));
        }
        Ok(output::entries(&page, self.format))
    }

    fn close(&self) -> Result<String, Failure> {
        let mut at = self.logged_in()?;
        let change = at.change("close".to_owned());
        let token = at.session.token;
        let request = |key| CloseRequest { token, key };
        let client = &at.client;
        let info = self.send(&mut at.file, change, Some(&at.session), request, |r| {
            client.close(r)
        })?;
        session::remove(&self.session_path)?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!("closed account {} ({}); logged out\n", info.id, info.name),
        })
    }

    /// Reminds people of a change still waiting for an answer, before a read that may show
    /// whether it was applied.
    fn note_pending(&self, file: &SessionFile) {
        if let Some(pending) = &file.pending {
            self.hint(&format!(
                "note: `account {}` (sent {} UTC) got no answer and may or may not have been \
                 applied; running it again finishes it, applying it at most once",
                pending.change.command,
                utc(pending.since)
            ));
        }
    }

    fn movement(
        &self,
        operation: &'static str,
        cents: i64,
        to: Option<&str>,
        r: &Receipt,
    ) -> String {
        let movement = Movement {
            operation,
            cents,
            to,
            entry_id: r.entry_id,
            balance_cents: r.balance_cents,
            at: r.at,
        };
        output::movement(&movement, self.format)
    }

    /// The failure for a call made with `session`, naming its account in a log-in hint.
    fn failure(&self, error: &CallError<AccountError>, session: &Session) -> Failure {
        let mut failure = from_call_error(error);
        if failure.kind == "unauthenticated" {
            failure.message = format!(
                "the session of {} expired or was ended: run `account login {}`",
                session.name, session.name
            );
        }
        failure
    }

    /// A note for people on stderr (never with `--json`, whose output is complete as is).
    fn hint(&self, note: &str) {
        if self.format == Format::Human {
            eprintln!("{note}");
        }
    }
}

/// `servers` with every Unix path made absolute, so the stored session works from any
/// directory.
fn stable_servers(servers: &Servers) -> Servers {
    let endpoints = servers.endpoints().iter().map(stable_endpoint).collect();
    Servers::new(endpoints).unwrap_or_else(|_| servers.clone())
}

/// A Unix endpoint with an absolute path, so the stored session works from any directory.
fn stable_endpoint(endpoint: &Endpoint) -> Endpoint {
    match endpoint {
        Endpoint::Unix(path) if path.is_relative() => std::path::absolute(path)
            .ok()
            .map(Endpoint::Unix)
            .filter(|e| e.to_string().parse::<Endpoint>().is_ok())
            .unwrap_or_else(|| endpoint.clone()),
        other => other.clone(),
    }
}
