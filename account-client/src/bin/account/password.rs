//! Passwords: from an environment variable for scripts, else typed at the terminal unseen.

use crate::exit::Failure;
use account_client::Password;
use std::io::IsTerminal as _;

/// The variable holding the password (the current one, for `passwd`).
pub const PASSWORD_VAR: &str = "ACCOUNT_PASSWORD";
/// The variable holding the new password for `passwd`.
pub const NEW_PASSWORD_VAR: &str = "ACCOUNT_NEW_PASSWORD";

/// Whether to ask twice when prompting, to catch a typo in a password being set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Ask once.
    No,
    /// Ask twice and insist that both agree.
    Yes,
}

/// The password from `$var`, or typed without echo after `prompt` when stdin is a terminal.
///
/// The text is returned as is; [`to_wire`] checks that it fits the protocol.
///
/// # Errors
///
/// A usage error (exit 2) when the variable is unset and stdin is not a terminal, since
/// waiting for input that cannot come would hang a script; a local error (exit 1) when the
/// terminal fails.
pub fn read(var: &str, prompt: &str, confirm: Confirm) -> Result<String, Failure> {
    if let Some(value) = std::env::var_os(var) {
        return value
            .into_string()
            .map_err(|_| Failure::usage(format!("{var} is not valid UTF-8")));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(format!(
            "no password: set {var}, or run `account` in a terminal to type it"
        )));
    }
    let typed = prompt_once(prompt)?;
    if confirm == Confirm::Yes && prompt_once("Repeat it: ")? != typed {
        return Err(Failure::usage("the two passwords differ"));
    }
    Ok(typed)
}

fn prompt_once(prompt: &str) -> Result<String, Failure> {
    rpassword::prompt_password(prompt)
        .map_err(|e| Failure::local(format!("cannot read the password from the terminal: {e}")))
}

/// The password as the protocol carries it, or `None` if it cannot be (more than 64 bytes,
/// or a NUL byte): no account can have such a password.
pub fn to_wire(password: &str) -> Option<Password> {
    Password::new(password).ok()
}
