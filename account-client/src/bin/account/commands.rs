//! Running each subcommand: find the session and server, call, store, render.

use crate::cli::{Cli, Command, DEFAULT_SERVER};
use crate::exit::{Code, Failure, from_account_error, from_call_error};
use crate::json::Object;
use crate::output::{self, Format, Movement};
use crate::password::{self, Confirm, NEW_PASSWORD_VAR, PASSWORD_VAR};
use crate::session::{self, Session};
use crate::time::{rfc3339, utc};
use account_client::{
    AccountError, AccountsBlockingClient, Auth, HistoryRequest, ListRequest, LoginRequest, Name,
    Receipt, RetryingBlockingClient,
};
use rpc_runtime::{BlockingClient, CallError, ClientOptions, Endpoint};
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

/// The global flags, resolved.
#[derive(Debug)]
struct Context {
    format: Format,
    session_path: PathBuf,
    server: Option<Endpoint>,
    timeout: Duration,
}

impl Context {
    /// `--server`, else the session's server, else the default.
    fn endpoint(&self, session: Option<&Session>) -> Result<Endpoint, Failure> {
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

    /// A client for `endpoint` whose calls and connection attempts give up after `--timeout`.
    fn client(&self, endpoint: Endpoint) -> RetryingBlockingClient {
        let mut options = ClientOptions::default();
        options.timeout = Some(self.timeout);
        options.connect_timeout = self.timeout;
        let client = BlockingClient::with_options(endpoint, options);
        RetryingBlockingClient::new(AccountsBlockingClient::new(client))
    }

    /// The stored session, if it can be read; for commands that work without one.
    fn any_session(&self) -> Option<Session> {
        Session::load(&self.session_path).ok().flatten()
    }

    /// The stored session and a client for its server; exit 3 when there is none or it expired.
    fn logged_in(&self) -> Result<(Session, RetryingBlockingClient), Failure> {
        let session = Session::load(&self.session_path)?.ok_or_else(Failure::not_logged_in)?;
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
        let client = self.client(self.endpoint(Some(&session))?);
        Ok((session, client))
    }

    fn open(&self, name: Name, initial_cents: i64) -> Result<String, Failure> {
        let client = self.client(self.endpoint(self.any_session().as_ref())?);
        let typed = password::read(PASSWORD_VAR, "Password for the new account: ", Confirm::Yes)?;
        let password = password::to_wire(&typed)
            .ok_or_else(|| from_account_error(AccountError::InvalidPassword))?;
        let info = client
            .open(name, password, initial_cents)
            .map_err(|e| from_call_error(&e))?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!(
                "opened account {} ({}) with balance {}; log in with `account login {}`\n",
                info.id,
                info.name,
                account_client::format_cents(info.balance_cents),
                info.name
            ),
        })
    }

    fn login(&self, name: Name) -> Result<String, Failure> {
        let endpoint = self.endpoint(self.any_session().as_ref())?;
        let client = self.client(endpoint.clone());
        let typed = password::read(PASSWORD_VAR, &format!("Password for {name}: "), Confirm::No)?;
        let password = password::to_wire(&typed)
            .ok_or_else(|| from_account_error(AccountError::InvalidCredentials))?;
        let granted = client
            .inner()
            .login(LoginRequest { name, password })
            .map_err(|e| from_call_error(&e))?;
        let session = Session {
            server: stable_endpoint(&endpoint).to_string(),
            account_id: granted.account_id,
            name: name.to_string(),
            token: granted.token,
            expires_at: granted.expires_at,
        };
        session.save(&self.session_path)?;
        let fields = Object::new()
            .int("account_id", session.account_id)
            .str("name", &session.name)
            .str("server", &session.server)
            .int("expires_at", session.expires_at)
            .str("expires_at_utc", &rfc3339(session.expires_at));
        let message = format!(
            "logged in as {} (account {}) until {} UTC",
            session.name,
            session.account_id,
            utc(session.expires_at)
        );
        Ok(output::done(&message, fields, self.format))
    }

    fn logout(&self) -> Result<String, Failure> {
        let session = Session::load(&self.session_path)?.ok_or_else(Failure::not_logged_in)?;
        if !session.expired() {
            let client = self.client(self.endpoint(Some(&session))?);
            match client.inner().logout(Auth {
                token: session.token,
            }) {
                Ok(()) | Err(CallError::Application(AccountError::Unauthenticated)) => {}
                Err(e) => return Err(self.failure(&e, &session)),
            }
        }
        Session::remove(&self.session_path)?;
        let fields = Object::new()
            .bool("logged_out", true)
            .int("account_id", session.account_id)
            .str("name", &session.name);
        let message = format!("logged out of {}", session.name);
        Ok(output::done(&message, fields, self.format))
    }

    fn show(&self) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let info = client
            .inner()
            .get(Auth {
                token: session.token,
            })
            .map_err(|e| self.failure(&e, &session))?;
        Ok(output::account(&info, self.format))
    }

    fn list(&self, after_id: u64, limit: u32) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let request = ListRequest {
            token: session.token,
            after_id,
            limit,
        };
        let page = client
            .inner()
            .list(request)
            .map_err(|e| self.failure(&e, &session))?;
        if let Some(last) = page.last().filter(|_| page.len() == limit as usize) {
            self.hint(&format!("more: account list --after {}", last.id));
        }
        Ok(output::accounts(&page, self.format))
    }

    fn rename(&self, new_name: Name) -> Result<String, Failure> {
        let (mut session, client) = self.logged_in()?;
        let info = client
            .rename(session.token, new_name)
            .map_err(|e| self.failure(&e, &session))?;
        session.name = info.name.to_string();
        session.save(&self.session_path)?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!("renamed account {} to {}\n", info.id, info.name),
        })
    }

    fn passwd(&self) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let old = password::read(PASSWORD_VAR, "Current password: ", Confirm::No)?;
        let new = password::read(NEW_PASSWORD_VAR, "New password: ", Confirm::Yes)?;
        let old = password::to_wire(&old)
            .ok_or_else(|| from_account_error(AccountError::InvalidCredentials))?;
        let new = password::to_wire(&new)
            .ok_or_else(|| from_account_error(AccountError::InvalidPassword))?;
        client
            .change_password(session.token, old, new)
            .map_err(|e| self.failure(&e, &session))?;
        let fields = Object::new()
            .bool("password_changed", true)
            .int("account_id", session.account_id);
        let message = "password changed; every other session was logged out";
        Ok(output::done(message, fields, self.format))
    }

    fn deposit(&self, cents: i64) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let receipt = client
            .deposit(session.token, cents)
            .map_err(|e| self.failure(&e, &session))?;
        Ok(self.movement("deposit", cents, None, &receipt))
    }

    fn withdraw(&self, cents: i64) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let receipt = client
            .withdraw(session.token, cents)
            .map_err(|e| self.failure(&e, &session))?;
        Ok(self.movement("withdraw", cents, None, &receipt))
    }

    fn transfer(&self, to: Name, cents: i64) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let receipt = client
            .transfer(session.token, to, cents)
            .map_err(|e| self.failure(&e, &session))?;
        Ok(self.movement("transfer", cents, Some(to.as_str()), &receipt))
    }

    fn history(&self, before_id: u64, limit: u32) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let request = HistoryRequest {
            token: session.token,
            before_id,
            limit,
        };
        let page = client
            .inner()
            .history(request)
            .map_err(|e| self.failure(&e, &session))?;
        if let Some(last) = page.last().filter(|_| page.len() == limit as usize) {
            self.hint(&format!("more: account history --before {}", last.id));
        }
        Ok(output::entries(&page, self.format))
    }

    fn close(&self) -> Result<String, Failure> {
        let (session, client) = self.logged_in()?;
        let info = client
            .close(session.token)
            .map_err(|e| self.failure(&e, &session))?;
        Session::remove(&self.session_path)?;
        Ok(match self.format {
            Format::Json => output::account(&info, self.format),
            Format::Human => format!("closed account {} ({}); logged out\n", info.id, info.name),
        })
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
