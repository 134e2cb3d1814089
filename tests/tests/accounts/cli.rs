//! The real `account` command-line tool against the real server, as a script uses it:
//! `ACCOUNT_PASSWORD` in the environment, a session file per user in the temporary directory,
//! `--json` output parsed, and the documented exit codes (0 success, 2 usage, 3 not logged
//! in or bad credentials, 4 refused, 5 unavailable). Once over TCP with flags, once over the
//! Unix socket with `ACCOUNT_SERVER` and `ACCOUNT_SESSION`; the library checks what the tool
//! did. Through a proxy that swallows the server's answers, a change that got no answer is
//! finished by running the same command again, and applied once.

use super::support::{Server, balance, binary, history, login};
use account_client::api::EntryKind;
use rpc_runtime::Endpoint;
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How the tool is told where the server and the session file are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `--server` and `--session`.
    Flags,
    /// `ACCOUNT_SERVER` and `ACCOUNT_SESSION`.
    Env,
}

/// One user of the tool: a session file, a server, and how to name them.
#[derive(Debug)]
struct User {
    dir: PathBuf,
    session: PathBuf,
    server: Endpoint,
    via: Via,
}

/// What one run of the tool did.
#[derive(Debug)]
struct Run {
    args: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON on stdout of a successful run.
    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "{self:#?}");
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout of `{}` is not JSON ({e}): {self:#?}", self.args))
    }

    /// Checks a failed `--json` run: exit `code`, and on stderr one JSON object with the
    /// error kind `kind` and the same exit code.
    #[track_caller]
    fn fails(&self, code: i32, kind: &str) {
        assert_eq!(self.code, code, "exit code of `{}`: {self:#?}", self.args);
        assert!(
            self.stdout.is_empty(),
            "a failure printed on stdout: {self:#?}"
        );
        let error: Value = serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr of `{}` is not JSON ({e}): {self:#?}", self.args));
        assert_eq!(error["error"], kind, "{self:#?}");
        assert_eq!(error["exit_code"], code, "{self:#?}");
        assert!(error["message"].is_string(), "{self:#?}");
    }
}

impl User {
    fn new(dir: &Path, who: &str, server: &Endpoint, via: Via) -> User {
        User {
            dir: dir.to_path_buf(),
            session: dir.join(format!("{who}.session")),
            server: server.clone(),
            via,
        }
    }

    /// Runs `account ARGS` with `password` (and `new_password`) in the environment.
    fn run_with(&self, password: Option<&str>, new_password: Option<&str>, args: &[&str]) -> Run {
        let mut command = Command::new(binary("account", "account-client"));
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("ACCOUNT_") {
                command.env_remove(var);
            }
        }
        command
            .env("HOME", &self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        match self.via {
            Via::Flags => {
                command
                    .arg("--server")
                    .arg(self.server.to_string())
                    .arg("--session")
                    .arg(&self.session);
            }
            Via::Env => {
                command
                    .env("ACCOUNT_SERVER", self.server.to_string())
                    .env("ACCOUNT_SESSION", &self.session);
            }
        }
        if let Some(password) = password {
            command.env("ACCOUNT_PASSWORD", password);
        }
        if let Some(password) = new_password {
            command.env("ACCOUNT_NEW_PASSWORD", password);
        }
        let output = command.args(args).output().expect("run account");
        Run {
            args: args.join(" "),
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// `account --json ARGS` with `password`.
    fn json(&self, password: &str, args: &[&str]) -> Run {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run_with(Some(password), None, &all)
    }

    /// `account --json ARGS` with no password anywhere.
    fn json_no_password(&self, args: &[&str]) -> Run {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run_with(None, None, &all)
    }
}

/// Two users of the tool, through `server` as `via` says; names carry `tag`.
fn script(server: &Server, endpoint: &Endpoint, via: Via, dir: &Path, tag: &str) {
    let (alice, bob, bobby) = (
        format!("alice-{tag}"),
        format!("bob-{tag}"),
        format!("bobby-{tag}"),
    );
    let a = User::new(dir, &alice, endpoint, via);
    let b = User::new(dir, &bob, endpoint, via);
    let (pa, pb) = ("alice's password", "bob's password");

    // Open: JSON with cents and text; a taken name exits 4.
    let opened = a.json(pa, &["open", &alice, "--deposit", "10.00"]).json();
    assert_eq!(opened["name"], alice.as_str());
    assert_eq!(opened["balance_cents"], 1000);
    assert_eq!(opened["balance"], "10.00");
    assert_eq!(opened["status"], "open");
    let alice_id = opened["id"].as_u64().expect("an id");
    b.json(pb, &["open", &bob]).json();
    b.json(pb, &["open", &alice]).fails(4, "name_taken");

    // Log in: the session file is the user's alone.
    let session = a.json(pa, &["login", &alice]).json();
    assert_eq!(session["account_id"], alice_id);
    assert_eq!(session["name"], alice.as_str());
    assert!(session["expires_at"].as_i64().is_some(), "{session}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&a.session)
            .expect("the session file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "session file mode {mode:o}");
    }
    b.json(pb, &["login", &bob]).json();
    b.json("a wrong password", &["login", &bob])
        .fails(3, "invalid_credentials");
    b.json("a wrong password", &["login", "nobody-at-all"])
        .fails(3, "invalid_credentials");

    // Money: deposit, transfer, a refused withdrawal.
    let deposited = a.json(pa, &["deposit", "25.50"]).json();
    assert_eq!(deposited["operation"], "deposit");
    assert_eq!(deposited["amount_cents"], 2550);
    assert_eq!(deposited["balance_cents"], 3550);
    let sent = a.json(pa, &["transfer", &bob, "12.34"]).json();
    assert_eq!(sent["to"], bob.as_str());
    assert_eq!(sent["amount_cents"], 1234);
    assert_eq!(sent["balance_cents"], 2316);
    assert_eq!(sent["balance"], "23.16");
    b.json(pb, &["withdraw", "100.00"])
        .fails(4, "insufficient_funds");
    a.json(pa, &["transfer", &alice, "1.00"])
        .fails(4, "same_account");
    a.json(pa, &["transfer", "nobody-at-all", "1.00"])
        .fails(4, "recipient_not_found");

    // History and show, as the library sees them too.
    let entries = a.json(pa, &["history"]).json();
    let entries = entries.as_array().expect("an array");
    let summary: Vec<(&str, i64, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind"),
                e["amount_cents"].as_i64().expect("amount"),
                e["counterparty"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("transfer_out", -1234, Some(bob.as_str())),
            ("deposit", 2550, None),
            ("opening", 1000, None),
        ]
    );
    assert_eq!(entries[0]["id"], sent["entry_id"]);
    assert_eq!(entries[1]["id"], deposited["entry_id"]);
    let library = server.tcp_client();
    let token = login(&library, &alice, pa);
    let ids: Vec<u64> = history(&library, token).iter().map(|e| e.id).collect();
    let cli_ids: Vec<u64> = entries
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(cli_ids, ids);
    let shown = b.json(pb, &["show"]).json();
    assert_eq!(shown["balance_cents"], 1234);
    let listed = a.json(pa, &["list"]).json();
    let names: Vec<&str> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert!(
        names.contains(&alice.as_str()) && names.contains(&bob.as_str()),
        "{names:?}"
    );

    // The same for people: tables and decimal amounts.
    let table = a.run_with(Some(pa), None, &["history"]);
    assert_eq!(table.code, 0, "{table:#?}");
    for needle in [
        "transfer out",
        "-12.34",
        "23.16",
        bob.as_str(),
        "deposit",
        "25.50",
    ] {
        assert!(
            table.stdout.contains(needle),
            "{needle} missing: {table:#?}"
        );
    }

    // Rename: the session follows the account.
    let renamed = b.json(pb, &["rename", &bobby]).json();
    assert_eq!(renamed["name"], bobby.as_str());
    assert_eq!(b.json(pb, &["show"]).json()["name"], bobby.as_str());

    // A new password: the old one no longer logs in.
    let changed = a
        .run_with(
            Some(pa),
            Some("alice's new password"),
            &["--json", "passwd"],
        )
        .json();
    assert_eq!(changed["password_changed"], true);
    a.json(pa, &["login", &alice])
        .fails(3, "invalid_credentials");
    a.json("alice's new password", &["login", &alice]).json();

    // Log out: the session file is gone and commands need a login.
    let out = a.json_no_password(&["logout"]).json();
    assert_eq!(out["logged_out"], true);
    assert!(!a.session.exists(), "logout left the session file");
    a.json_no_password(&["show"]).fails(3, "not_logged_in");

    // Close: only once empty; then the session file goes too.
    b.json_no_password(&["close"]).fails(4, "non_zero_balance");
    b.json_no_password(&["withdraw", "12.34"]).json();
    let closed = b.json_no_password(&["close"]).json();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["balance_cents"], 0);
    assert!(!b.session.exists(), "close left the session file");
    b.json(pb, &["login", &bobby]).fails(4, "account_closed");

    // The library agrees on the result (`passwd` ended its earlier session).
    let token = login(&library, &alice, "alice's new password");
    assert_eq!(balance(&library, token), 2316);
}

#[test]
fn the_cli_drives_the_server_over_tcp_and_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    script(&server, &server.tcp, Via::Flags, dir.path(), "tcp");
    script(&server, &server.unix, Via::Env, dir.path(), "unix");
    server.stop();
}

#[test]
fn the_cli_exit_codes_tell_scripts_what_went_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let user = User::new(dir.path(), "carol", &server.tcp, Via::Flags);
    user.json("carol's password", &["open", "carol"]).json();

    // Usage: malformed amounts, names and flags exit 2, and so does a missing password
    // when there is no terminal to type it at.
    for args in [
        &["deposit", "-1"][..],
        &["deposit", "1.005"],
        &["deposit", "ten"],
        &["login", &"x".repeat(33)],
        &["history", "--limit", "0"],
        &["frobnicate"],
    ] {
        let run = user.json("carol's password", args);
        assert_eq!(run.code, 2, "{run:#?}");
    }
    user.json_no_password(&["login", "carol"]).fails(2, "usage");

    // Not logged in, then logged in.
    user.json_no_password(&["deposit", "1.00"])
        .fails(3, "not_logged_in");
    user.json("carol's password", &["login", "carol"]).json();
    user.json_no_password(&["deposit", "0"])
        .fails(4, "invalid_amount");
    assert_eq!(
        user.json_no_password(&["deposit", "1.00"]).json()["balance_cents"],
        100
    );

    // Names that need escaping come back from `--json` exactly.
    let odd = "q\"uo\\te \u{e9}'s {}[]";
    let other = User::new(dir.path(), "odd", &server.tcp, Via::Flags);
    assert_eq!(
        other.json("odd password", &["open", odd]).json()["name"],
        odd
    );
    assert_eq!(
        other.json("odd password", &["login", odd]).json()["name"],
        odd
    );
    let sent = user.json_no_password(&["transfer", odd, "0.25"]).json();
    assert_eq!(sent["to"], odd);
    let listed = other.json_no_password(&["list"]).json();
    assert_eq!(listed[1]["name"], odd, "{listed}");
    let entries = other.json_no_password(&["history"]).json();
    assert_eq!(entries[0]["counterparty"], "carol", "{entries}");
    assert_eq!(entries[0]["amount"], "0.25", "{entries}");

    // No server there: exit 5, quickly.
    let nowhere = User {
        server: Endpoint::unix(dir.path().join("nothing-listens-here.sock")),
        ..User::new(dir.path(), "carol", &server.tcp, Via::Flags)
    };
    let run = nowhere.run_with(
        Some("carol's password"),
        None,
        &["--json", "--timeout", "2", "login", "carol"],
    );
    run.fails(5, "unavailable");
    server.stop();
}

/// A TCP proxy in front of a server that can swallow the server's answers: requests still go
/// through and are applied, but no answer comes back, as when a reply is lost or late.
#[derive(Debug)]
struct Proxy {
    endpoint: Endpoint,
    swallow: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy on a free port in front of the TCP endpoint `target`. Its threads end with
    /// the connections they serve; the accepting one with the test process.
    fn start(target: &Endpoint) -> Proxy {
        let Endpoint::Tcp(target) = target.clone() else {
            panic!("the proxy needs a TCP endpoint, not {target}");
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let endpoint = Endpoint::Tcp(listener.local_addr().expect("its address").to_string());
        let swallow = Arc::new(AtomicBool::new(false));
        let answers = Arc::clone(&swallow);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(&target).expect("connect to the server");
                let (Ok(client_out), Ok(server_in)) = (client.try_clone(), server.try_clone())
                else {
                    return;
                };
                pump(client, server_in, None);
                pump(server, client_out, Some(Arc::clone(&answers)));
            }
        });
        Proxy { endpoint, swallow }
    }
}

/// Copies `from` to `to` on a thread, dropping what it reads while `swallow` is set.
fn pump(mut from: TcpStream, mut to: TcpStream, swallow: Option<Arc<AtomicBool>>) {
    std::thread::spawn(move || {
        let mut buf = [0; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if swallow.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[test]
fn the_cli_finishes_an_unanswered_deposit_once_when_run_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let proxy = Proxy::start(&server.tcp);
    let user = User::new(dir.path(), "dave", &proxy.endpoint, Via::Flags);
    let pw = "dave's password";
    user.json(pw, &["open", "dave", "--deposit", "1.00"]).json();
    user.json(pw, &["login", "dave"]).json();

    // The server commits the deposit (and each retry's replay of it); no answer gets back.
    proxy.swallow.store(true, Ordering::SeqCst);
    user.json_no_password(&["--timeout", "1", "deposit", "2.50"])
        .fails(5, "timeout");
    proxy.swallow.store(false, Ordering::SeqCst);

    // The same command again: the first receipt, not a second deposit.
    let again = user.json_no_password(&["deposit", "2.50"]).json();
    assert_eq!(again["balance_cents"], 350, "{again}");
    let library = server.tcp_client();
    let token = login(&library, "dave", pw);
    let deposits: Vec<i64> = history(&library, token)
        .iter()
        .filter(|e| e.kind == EntryKind::Deposit)
        .map(|e| e.cents)
        .collect();
    assert_eq!(deposits, [250]);
    assert_eq!(balance(&library, token), 350);
    server.stop();
}
