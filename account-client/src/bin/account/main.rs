//! `account`: the command-line tool of the account system.
//!
//! Run `account --help` for the commands, flags, environment variables and exit codes; the
//! crate's README has the same reference.

mod cli;
mod commands;
mod exit;
mod output;
mod password;
mod session;

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

/// The `--json` report of a failure.
#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    error: &'a str,
    exit_code: u8,
    message: &'a str,
}

/// One line on stderr: `error: MESSAGE`, or a JSON object with `--json`.
fn report(failure: &Failure, json: bool) {
    if json {
        let report = Report {
            error: failure.kind,
            exit_code: failure.code as u8,
            message: &failure.message,
        };
        eprintln!("{}", output::json(&report));
    } else {
        eprintln!("error: {}", failure.message);
    }
}
