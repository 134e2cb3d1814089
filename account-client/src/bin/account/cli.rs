//! The command line: global flags and one subcommand per operation.

use crate::exit::EXIT_CODES;
use account_client::{Name, Servers, parse_cents};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

/// The server used when neither `--server` nor a session names one.
pub const DEFAULT_SERVER: &str = "tcp://127.0.0.1:7878";

const LONG_ABOUT: &str = "\
Use an account on an account server: open it, log in, move money, read its history.

Log in once with `account login NAME`; later commands use the session kept in the session
file, and go to the server that session came from unless --server says otherwise.
Amounts are decimal with at most two places: 12, 12.5, 12.50.

Passwords are typed at the terminal without echo. Scripts set ACCOUNT_PASSWORD instead
(and ACCOUNT_NEW_PASSWORD for `passwd`); with neither a variable nor a terminal, the
command fails at once rather than wait.

With --json every command prints one JSON object or array on stdout, amounts both as
integer cents and as text; a failure prints one JSON object on stderr:
{\"error\":KIND,\"exit_code\":N,\"message\":TEXT}.";

/// Use an account on an account server.
#[derive(Debug, Parser)]
#[command(name = "account", version, long_about = LONG_ABOUT, after_long_help = EXIT_CODES)]
pub struct Cli {
    /// Server endpoint, tcp://HOST:PORT or unix://PATH, or several servers of one database
    /// separated by commas, which calls are spread over [default: the session's servers,
    /// else tcp://127.0.0.1:7878]
    #[arg(long, global = true, env = "ACCOUNT_SERVER", hide_env_values = true,
          value_name = "ENDPOINT[,ENDPOINT...]", help_heading = GLOBAL)]
    pub server: Option<Servers>,

    /// Session file [default: $HOME/.account-session, else ./.account-session]
    #[arg(long, global = true, env = "ACCOUNT_SESSION", hide_env_values = true,
          value_name = "FILE", help_heading = GLOBAL)]
    pub session: Option<PathBuf>,

    /// Print machine-readable JSON instead of text
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Give up connecting, or waiting for an answer, after this many seconds (a change is
    /// tried up to 4 times, with the same idempotency key, while no answer comes)
    #[arg(long, global = true, value_name = "SECS", default_value = "30",
          value_parser = parse_timeout, help_heading = GLOBAL)]
    pub timeout: Duration,

    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// One operation.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open a new account (asks for its password twice); does not log in
    Open {
        /// The new account's name (1 to 32 bytes)
        #[arg(value_parser = parse_name)]
        name: Name,
        /// Pay this much in when opening
        #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
        deposit: Option<i64>,
    },
    /// Log in and store the session in the session file
    Login {
        /// The account's name
        #[arg(value_parser = parse_name)]
        name: Name,
    },
    /// End the session on the server and delete the session file
    Logout,
    /// Show the logged-in account: id, name, balance, status
    Show,
    /// List accounts by id, one page at a time
    List {
        /// Only accounts with a larger id (the last id of the previous page)
        #[arg(long, value_name = "ID", default_value_t = 0)]
        after: u64,
        /// At most this many accounts (1 to 1000)
        #[arg(long, value_name = "N", default_value_t = 50,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Rename the logged-in account
    Rename {
        /// The new name
        #[arg(value_parser = parse_name)]
        new_name: Name,
    },
    /// Change the password (asks for the current one and the new one); ends other sessions
    Passwd,
    /// Pay money in
    Deposit {
        /// How much, such as 12.50
        #[arg(value_parser = parse_amount)]
        amount: i64,
    },
    /// Take money out
    Withdraw {
        /// How much, such as 12.50
        #[arg(value_parser = parse_amount)]
        amount: i64,
    },
    /// Send money to another account
    Transfer {
        /// The receiving account's name
        #[arg(value_parser = parse_name)]
        to: Name,
        /// How much, such as 3.00
        #[arg(value_parser = parse_amount)]
        amount: i64,
    },
    /// Show the account's ledger, newest entry first, one page at a time
    History {
        /// Only entries older than this id (the last id of the previous page)
        #[arg(long, value_name = "ID", default_value_t = 0)]
        before: u64,
        /// At most this many entries (1 to 1000)
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Close the logged-in account, which must be empty, and delete the session file
    Close,
}

/// An amount argument: decimal, at most two places, not negative.
fn parse_amount(text: &str) -> Result<i64, String> {
    parse_cents(text).map_err(|e| e.to_string())
}

/// A name argument: 1 to 32 bytes of UTF-8 without NUL (the server checks the rest).
fn parse_name(text: &str) -> Result<Name, String> {
    if text.is_empty() {
        return Err("a name cannot be empty".to_owned());
    }
    Name::new(text).map_err(|_| {
        format!(
            "a name is at most 32 bytes with no NUL byte (this one has {})",
            text.len()
        )
    })
}

/// `--timeout`: positive seconds, fractions allowed, at most a day.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err("expected seconds, more than 0 and at most 86400, such as 30 or 2.5".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;
    use rpc_runtime::Endpoint;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_globals_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "account",
            "transfer",
            "bob",
            "3.00",
            "--json",
            "--timeout",
            "2.5",
            "--server",
            "unix:///tmp/a.sock",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.timeout, Duration::from_millis(2500));
        assert_eq!(cli.server, Some(Endpoint::unix("/tmp/a.sock").into()));
        match cli.command {
            Command::Transfer { to, amount } => assert_eq!((to.as_str(), amount), ("bob", 300)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn takes_several_servers_from_the_flag_or_the_environment() {
        let cli = Cli::try_parse_from([
            "account",
            "show",
            "--server",
            "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
        ])
        .unwrap();
        let servers = cli.server.unwrap();
        assert_eq!(
            servers.endpoints(),
            [Endpoint::tcp("127.0.0.1:1"), Endpoint::tcp("127.0.0.1:2")]
        );
        for bad in ["", "tcp://127.0.0.1:1,", "tcp://127.0.0.1:1,nope"] {
            let error = Cli::try_parse_from(["account", "show", "--server", bad]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn refuses_bad_arguments() {
        let bad: [&[&str]; 9] = [
            &["account", "deposit", "12.505"],
            &["account", "deposit", "-1"],
            &["account", "deposit", "abc"],
            &["account", "open", ""],
            &["account", "login", &"x".repeat(33)],
            &["account", "list", "--limit", "0"],
            &["account", "history", "--limit", "1001"],
            &["account", "show", "--timeout", "0"],
            &["account", "show", "--server", "http://example.com"],
        ];
        for args in bad {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn long_help_lists_exit_codes_and_environment() {
        let help = Cli::command().render_long_help().to_string();
        for needle in [
            "Exit codes:",
            "ACCOUNT_SERVER",
            "ACCOUNT_SESSION",
            "ACCOUNT_PASSWORD",
        ] {
            assert!(help.contains(needle), "{needle} missing from:\n{help}");
        }
    }
}
