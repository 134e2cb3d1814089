//! `account`: the command-line tool of the account system.
//!
//! Run `account --help` for the commands, flags, environment variables and exit codes; the
//! crate's README has the same reference. The modules live in `account/`.

#[path = "account/cli.rs"]
mod cli;
#[path = "account/commands.rs"]
mod commands;
#[path = "account/exit.rs"]
mod exit;
#[path = "account/json.rs"]
mod json;
#[path = "account/output.rs"]
mod output;
#[path = "account/password.rs"]
mod password;
#[path = "account/session.rs"]
mod session;
#[path = "account/time.rs"]
mod time;

use clap::Parser as _;
use exit::Failure;
use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json = cli.json;
    let outcome = commands::run(cli).and_then(|mut text| {
        if json {
            text.push('\n');
        }
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::local(format!("cannot write the output: {e}")))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report(&failure, json);
            failure.exit_code()
        }
    }
}

/// One line on stderr: `error: MESSAGE`, or a JSON object with `--json`.
fn report(failure: &Failure, json: bool) {
    if json {
        let object = json::Object::new()
            .str("error", failure.kind)
            .int("exit_code", failure.code as u8)
            .str("message", &failure.message)
            .finish();
        eprintln!("{object}");
    } else {
        eprintln!("error: {}", failure.message);
    }
}
