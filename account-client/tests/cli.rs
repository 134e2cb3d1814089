//! The `account` binary end to end, against an in-memory fake of the service served over TCP
//! and a Unix socket.

#[path = "common/fake.rs"]
mod fake;

use account_client::ServeAccounts;
use fake::{EPOCH, Fake, Hold};
use rpc_runtime::server::RunningServer;
use rpc_runtime::{Endpoint, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const PASSWORD: &str = "correct horse";

/// A fake server and a private directory for session files.
struct Fixture {
    _server: RunningServer,
    endpoint: String,
    dir: TempDir,
    hold: Hold,
}

/// A finished run of the binary.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }

    #[track_caller]
    fn fails(self, code: i32, message: &str) -> Run {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.contains(message), "{message:?} not in {self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        self
    }

    /// Exit 2 from clap's argument checks, whose report spans a few lines.
    #[track_caller]
    fn misused(self, message: &str) -> Run {
        assert_eq!(self.code, 2, "{self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        assert!(self.stderr.contains(message), "{message:?} not in {self:?}");
        self
    }
}

impl Fixture {
    fn tcp() -> Fixture {
        Fixture::serve(
            "tcp://127.0.0.1:0".parse().unwrap(),
            tempfile::tempdir().unwrap(),
        )
    }

    #[cfg(unix)]
    fn unix() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        Fixture::serve(Endpoint::unix(dir.path().join("account.sock")), dir)
    }

    fn serve(endpoint: Endpoint, dir: TempDir) -> Fixture {
        let fake = Fake::default();
        let hold = fake.hold_replies();
        let server = Server::builder()
            .listen(endpoint)
            .serve(ServeAccounts::new(fake))
            .bind()
            .unwrap()
            .spawn()
            .unwrap();
        Fixture {
            endpoint: server.endpoints()[0].to_string(),
            _server: server,
            dir,
            hold,
        }
    }

    fn session(&self, user: &str) -> PathBuf {
        self.dir.path().join(format!("{user}.session"))
    }

    /// `account ARGS` as `user` (own session file), with `ACCOUNT_PASSWORD` set to `password`.
    fn run(&self, user: &str, password: Option<&str>, args: &[&str]) -> Run {
        let mut command = account(&self.dir);
        command
            .env("ACCOUNT_SERVER", &self.endpoint)
            .env("ACCOUNT_SESSION", self.session(user))
            .args(args);
        if let Some(password) = password {
            command.env("ACCOUNT_PASSWORD", password);
        }
        run(command)
    }

    /// Opens `name` with `deposit` and logs it in.
    fn open_and_login(&self, name: &str, deposit: &str) {
        self.run(name, Some(PASSWORD), &["open", name, "--deposit", deposit])
            .ok();
        self.run(name, Some(PASSWORD), &["login", name]).ok();
    }
}

/// The binary with a clean environment: no inherited ACCOUNT_* variables, HOME in `dir`, and
/// stdin that is not a terminal.
fn account(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_account"));
    for var in [
        "ACCOUNT_SERVER",
        "ACCOUNT_SESSION",
        "ACCOUNT_PASSWORD",
        "ACCOUNT_NEW_PASSWORD",
    ] {
        command.env_remove(var);
    }
    command.env("HOME", dir.path()).stdin(Stdio::null());
    command
}

fn run(mut command: Command) -> Run {
    let output = command.output().expect("run the account binary");
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn open_login_deposit_transfer_history_logout() {
    let f = Fixture::tcp();
    let opened = f
        .run(
            "alice",
            Some(PASSWORD),
            &["open", "alice", "--deposit", "10"],
        )
        .ok();
    assert_eq!(
        opened.stdout,
        "opened account 1 (alice) with balance 10.00; log in with `account login alice`\n"
    );
    f.run("bob", Some(PASSWORD), &["open", "bob"]).ok();

    let login = f.run("alice", Some(PASSWORD), &["login", "alice"]).ok();
    assert!(
        login
            .stdout
            .starts_with("logged in as alice (account 1) until "),
        "{login:?}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&f.session("alice")), 0o600);

    let deposit = f.run("alice", None, &["deposit", "12.50"]).ok();
    assert_eq!(
        deposit.stdout,
        format!(
            "deposited 12.50; balance 22.50 (entry 2, {} UTC)\n",
            "2023-11-14 22:13:22"
        )
    );
    let transfer = f.run("alice", None, &["transfer", "bob", "3"]).ok();
    assert!(
        transfer
            .stdout
            .starts_with("sent 3.00 to bob; balance 19.50 (entry 4, ")
    );
    f.run("alice", None, &["withdraw", "0.5"]).ok();

    let history = f.run("alice", None, &["history"]).ok();
    let expected = "\
ID  TIME (UTC)           KIND          AMOUNT  BALANCE  COUNTERPARTY
 5  2023-11-14 22:13:25  withdrawal     -0.50    19.00
 4  2023-11-14 22:13:24  transfer out   -3.00    19.50  bob
 2  2023-11-14 22:13:22  deposit        12.50    22.50
 1  2023-11-14 22:13:21  opening        10.00    10.00
";
    assert_eq!(history.stdout, expected);

    let list = f.run("alice", None, &["list"]).ok();
    assert_eq!(
        list.stdout,
        "ID  NAME   STATUS\n 1  alice  open\n 2  bob    open\n"
    );
    let show = f.run("alice", None, &["show"]).ok();
    assert!(show.stdout.contains("balance  19.00\n"), "{show:?}");

    f.run("alice", None, &["logout"]).ok();
    assert!(!f.session("alice").exists());
    f.run("alice", None, &["show"])
        .fails(3, "not logged in: run `account login NAME`");
}

#[test]
fn json_output_parses_back() {
    let f = Fixture::tcp();
    let open = f.run(
        "alice",
        Some(PASSWORD),
        &["--json", "open", "alice", "--deposit", "1"],
    );
    let open = open.ok().json();
    assert_eq!(open["id"], 1);
    assert_eq!(open["name"], "alice");
    assert_eq!(open["balance_cents"], 100);
    assert_eq!(open["balance"], "1.00");
    assert_eq!(open["status"], "open");
    assert_eq!(open["created_at"], EPOCH);
    assert_eq!(open["created_at_utc"], "2023-11-14T22:13:20Z");
    f.run("bob", Some(PASSWORD), &["open", "bob \"the\" builder\\"])
        .ok();

    let login = f
        .run("alice", Some(PASSWORD), &["login", "alice", "--json"])
        .ok()
        .json();
    assert_eq!(login["account_id"], 1);
    assert_eq!(login["server"], f.endpoint.as_str());
    assert!(login["expires_at"].as_i64().unwrap() > EPOCH);
    assert!(
        login.get("token").is_none(),
        "the token stays in the session file"
    );

    let deposit = f
        .run("alice", None, &["--json", "deposit", "12.5"])
        .ok()
        .json();
    assert_eq!(deposit["operation"], "deposit");
    assert_eq!(deposit["amount_cents"], 1250);
    assert_eq!(deposit["amount"], "12.50");
    assert_eq!(deposit["balance_cents"], 1350);
    assert_eq!(deposit["balance"], "13.50");
    assert_eq!(deposit["to"], Value::Null);

    let args = ["--json", "transfer", "bob \"the\" builder\\", "0.05"];
    let transfer = f.run("alice", None, &args).ok().json();
    assert_eq!(transfer["to"], "bob \"the\" builder\\");
    assert_eq!(transfer["amount_cents"], 5);

    let history = f.run("alice", None, &["--json", "history"]).ok().json();
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["kind"], "transfer_out");
    assert_eq!(entries[0]["amount_cents"], -5);
    assert_eq!(entries[0]["amount"], "-0.05");
    assert_eq!(entries[0]["balance_after"], "13.45");
    assert_eq!(entries[0]["counterparty"], "bob \"the\" builder\\");
    assert_eq!(entries[2]["kind"], "opening");
    assert_eq!(entries[2]["counterparty"], Value::Null);

    let list = f.run("alice", None, &["--json", "list"]).ok().json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob \"the\" builder\\"]);

    let show = f.run("alice", None, &["--json", "show"]).ok().json();
    assert_eq!(show["balance_cents"], 1345);

    let logout = f.run("alice", None, &["--json", "logout"]).ok().json();
    assert_eq!(logout["logged_out"], true);

    // Failures with --json are one JSON object on stderr.
    let failed = f
        .run("alice", None, &["--json", "show"])
        .fails(3, "not_logged_in");
    let error: Value = serde_json::from_str(&failed.stderr).unwrap();
    assert_eq!(error["error"], "not_logged_in");
    assert_eq!(error["exit_code"], 3);
}

#[test]
fn exit_codes_for_each_error_class() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "5");
    f.run("bob", Some(PASSWORD), &["open", "bob"]).ok();

    // 2: usage.
    f.run("alice", None, &["deposit", "12.505"])
        .misused("at most 2 are allowed");
    f.run("alice", None, &["deposit", "-3"])
        .misused("unexpected argument '-3'");
    f.run("alice", None, &["deposit", "--", "-3"])
        .misused("must not be negative");
    f.run("alice", None, &["frobnicate"])
        .misused("unrecognized subcommand");
    f.run("alice", None, &["login", "alice"])
        .fails(2, "no password: set ACCOUNT_PASSWORD");

    // 3: authentication.
    f.run("carol", None, &["show"]).fails(3, "not logged in");
    f.run("eve", Some("wrong password"), &["login", "alice"])
        .fails(3, "invalid name or password");
    f.run("eve", Some(PASSWORD), &["login", "nobody"])
        .fails(3, "invalid name or password");

    // 4: business rules, and nothing changes.
    f.run("alice", None, &["withdraw", "5.01"])
        .fails(4, "insufficient funds");
    f.run("alice", None, &["transfer", "nobody", "1"])
        .fails(4, "no open account has that name");
    f.run("alice", None, &["transfer", "alice", "1"])
        .fails(4, "your own account");
    f.run("alice", None, &["deposit", "0"])
        .fails(4, "invalid amount");
    f.run("bob", Some(PASSWORD), &["open", "alice"])
        .fails(4, "already taken");
    f.run("bob", Some("short"), &["open", "bobby"])
        .fails(4, "invalid password");
    f.run("alice", None, &["close"])
        .fails(4, "still holds money");
    let show = f.run("alice", None, &["--json", "show"]).ok().json();
    assert_eq!(show["balance_cents"], 500);

    // 6: a server that does not serve the account service.
    let other = Server::builder()
        .listen("tcp://127.0.0.1:0".parse().unwrap())
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    let wrong = other.endpoints()[0].to_string();
    f.run("alice", None, &["--server", &wrong, "show"])
        .fails(6, "another version of the account protocol");
}

#[test]
fn unreachable_server_fails_fast_with_5() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "1");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("tcp://127.0.0.1:{port}");

    let start = Instant::now();
    f.run(
        "eve",
        Some(PASSWORD),
        &["--server", &dead, "login", "alice"],
    )
    .fails(5, "server unavailable");
    // A mutation is retried a few times before giving up, and is still quick.
    f.run("alice", None, &["--server", &dead, "deposit", "1"])
        .fails(5, "server unavailable");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // The session is untouched and still works against the real server.
    f.run("alice", None, &["deposit", "1"]).ok();
}

#[test]
fn silent_server_times_out_with_5() {
    // The kernel completes the connection, but nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut command = account(&dir);
    command.env("ACCOUNT_PASSWORD", PASSWORD).args([
        "--server",
        &endpoint,
        "--timeout",
        "0.2",
        "login",
        "alice",
    ]);
    let start = Instant::now();
    run(command).fails(5, "did not answer in time");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn expired_or_revoked_sessions_exit_with_3() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "1");
    let path = f.session("alice");
    let text = std::fs::read_to_string(&path).unwrap();

    let revoked = text
        .lines()
        .map(|l| {
            if l.starts_with("token=") {
                format!("token={}", "ab".repeat(32))
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, revoked).unwrap();
    f.run("alice", None, &["show"]).fails(
        3,
        "the session of alice expired or was ended: run `account login alice`",
    );

    let expired: String = text
        .lines()
        .map(|l| {
            if l.starts_with("expires_at=") {
                "expires_at=1000\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, expired).unwrap();
    f.run("alice", None, &["deposit", "1"])
        .fails(3, "the session of alice expired at 1970-01-01 00:16:40 UTC");
    // Logging out of an expired session just forgets it.
    f.run("alice", None, &["logout"]).ok();
    assert!(!path.exists());
}

#[test]
fn passwd_reads_both_passwords_from_env() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "1");
    let mut command = account(&f.dir);
    command
        .env("ACCOUNT_SERVER", &f.endpoint)
        .env("ACCOUNT_SESSION", f.session("alice"))
        .env("ACCOUNT_PASSWORD", PASSWORD)
        .env("ACCOUNT_NEW_PASSWORD", "battery staple")
        .arg("passwd");
    let changed = run(command).ok();
    assert_eq!(
        changed.stdout,
        "password changed; every other session was logged out\n"
    );
    f.run("eve", Some(PASSWORD), &["login", "alice"])
        .fails(3, "invalid name or password");
    f.run("eve", Some("battery staple"), &["login", "alice"])
        .ok();
    // Without the new password and no terminal, passwd refuses instead of waiting.
    f.run("alice", Some(PASSWORD), &["passwd"])
        .fails(2, "ACCOUNT_NEW_PASSWORD");
}

#[test]
fn rename_list_pages_and_close() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "2");
    for name in ["bob", "carol"] {
        f.run(name, Some(PASSWORD), &["open", name]).ok();
    }
    let first = f.run("alice", None, &["list", "--limit", "2"]).ok();
    assert_eq!(
        first.stdout,
        "ID  NAME   STATUS\n 1  alice  open\n 2  bob    open\n"
    );
    assert_eq!(first.stderr, "more: account list --after 2\n");
    let rest = f
        .run("alice", None, &["list", "--after", "2", "--limit", "2"])
        .ok();
    assert_eq!(rest.stdout, "ID  NAME   STATUS\n 3  carol  open\n");
    assert!(rest.stderr.is_empty());

    f.run("alice", None, &["rename", "alicia"]).ok();
    let session = std::fs::read_to_string(f.session("alice")).unwrap();
    assert!(session.contains("\nname=alicia\n"), "{session}");
    f.run("alice", None, &["rename", "bob"])
        .fails(4, "already taken");

    f.run("alice", None, &["withdraw", "2"]).ok();
    let closed = f.run("alice", None, &["--json", "close"]).ok().json();
    assert_eq!(closed["status"], "closed");
    assert!(!f.session("alice").exists());
    f.run("eve", Some(PASSWORD), &["login", "alicia"])
        .fails(3, "invalid name or password");
}

#[cfg(unix)]
#[test]
fn unix_socket_endpoint_is_remembered_by_the_session() {
    let f = Fixture::unix();
    assert!(f.endpoint.starts_with("unix://"), "{}", f.endpoint);
    f.open_and_login("alice", "4.20");
    assert_eq!(mode(&f.session("alice")), 0o600);
    // Later commands go to the session's server without --server or ACCOUNT_SERVER.
    let mut command = account(&f.dir);
    command
        .env("ACCOUNT_SESSION", f.session("alice"))
        .args(["withdraw", "0.20"]);
    let receipt = run(command).ok();
    assert!(
        receipt.stdout.starts_with("withdrew 0.20; balance 4.00 "),
        "{receipt:?}"
    );
}

#[test]
fn session_file_defaults_to_home() {
    let f = Fixture::tcp();
    f.run("alice", Some(PASSWORD), &["open", "alice"]).ok();
    let mut command = account(&f.dir);
    command
        .env("ACCOUNT_SERVER", &f.endpoint)
        .env("ACCOUNT_PASSWORD", PASSWORD)
        .args(["login", "alice"]);
    run(command).ok();
    let path = f.dir.path().join(".account-session");
    assert!(path.exists());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn help_documents_commands_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = account(&dir);
    command.arg("--help");
    let help = run(command).ok();
    for needle in [
        "Exit codes:",
        "transfer",
        "history",
        "--session <FILE>",
        "ACCOUNT_SERVER",
        "--json",
        "--timeout <SECS>",
    ] {
        assert!(
            help.stdout.contains(needle),
            "{needle:?} not in:\n{}",
            help.stdout
        );
    }
}

/// The session file of `user` as text ("" when there is none).
fn session_text(f: &Fixture, user: &str) -> String {
    std::fs::read_to_string(f.session(user)).unwrap_or_default()
}

/// The amounts of `user`'s deposits, newest first.
fn deposits(f: &Fixture, user: &str) -> Vec<i64> {
    let history = f.run(user, None, &["--json", "history"]).ok().json();
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deposit")
        .map(|e| e["amount_cents"].as_i64().unwrap())
        .collect()
}

#[test]
fn an_unanswered_change_is_finished_by_running_it_again() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "1");

    // The server applies the deposit but every answer comes too late.
    f.hold.next(u64::MAX);
    let first = f
        .run("alice", None, &["--timeout", "0.5", "deposit", "1.00"])
        .fails(5, "did not answer in time");
    assert!(
        first
            .stderr
            .contains("`account deposit 1.00` may or may not have been applied: run it again"),
        "{first:?}"
    );
    assert!(session_text(&f, "alice").contains("\npending_command=deposit 1.00\n"));

    // The same command (1 is 1.00; other flags do not count) reuses the key: the server
    // answers with the first receipt and applies nothing more.
    f.hold.next(0);
    let again = f
        .run("alice", None, &["deposit", "1", "--json"])
        .ok()
        .json();
    assert_eq!(again["balance_cents"], 200);
    assert!(!session_text(&f, "alice").contains("pending"));
    assert_eq!(deposits(&f, "alice"), [100]);

    // Answered and forgotten: the next deposit of the same amount is a new one.
    let next = f
        .run("alice", None, &["--json", "deposit", "1.00"])
        .ok()
        .json();
    assert_eq!(next["balance_cents"], 300);
    assert_eq!(deposits(&f, "alice"), [100, 100]);
}

#[test]
fn reads_keep_an_unanswered_change_and_another_change_replaces_it() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "5");
    f.run("bob", Some(PASSWORD), &["open", "bob"]).ok();

    f.hold.next(u64::MAX);
    f.run("alice", None, &["--timeout", "0.5", "transfer", "bob", "2"])
        .fails(5, "may or may not have been applied");
    f.hold.next(0);

    // A read shows the state and reminds of the change; it stays pending.
    let show = f.run("alice", None, &["show"]).ok();
    assert!(show.stdout.contains("balance  3.00\n"), "{show:?}");
    assert!(
        show.stderr
            .contains("note: `account transfer \"bob\" 2.00` (sent "),
        "{show:?}"
    );
    assert!(session_text(&f, "alice").contains("pending_command=transfer \"bob\" 2.00"));
    let resent = f.run("alice", None, &["transfer", "bob", "2.00"]).ok();
    assert!(
        resent
            .stderr
            .starts_with("resending `account transfer \"bob\" 2.00` (first sent "),
        "{resent:?}"
    );
    assert!(resent.stdout.contains("balance 3.00 "), "{resent:?}");

    // A different change in between: the unanswered one is forgotten, and the same command
    // afterwards is a new transfer.
    f.hold.next(u64::MAX);
    f.run("alice", None, &["--timeout", "0.5", "transfer", "bob", "1"])
        .fails(5, "may or may not have been applied");
    f.hold.next(0);
    f.run("alice", None, &["withdraw", "0.50"]).ok();
    assert!(!session_text(&f, "alice").contains("pending"));
    let again = f
        .run("alice", None, &["--json", "transfer", "bob", "1"])
        .ok()
        .json();
    assert_eq!(again["balance_cents"], 50);
}

#[test]
fn a_login_during_an_unanswered_change_is_kept() {
    let f = Fixture::tcp();
    f.open_and_login("alice", "1");
    let token_line = |text: &str| {
        let line = text.lines().find(|l| l.starts_with("token="));
        line.map(str::to_owned)
    };
    let first_token = token_line(&session_text(&f, "alice"));

    // A deposit waits for an answer that the fake holds back ...
    f.hold.next(u64::MAX);
    let mut deposit = account(&f.dir);
    deposit
        .env("ACCOUNT_SERVER", &f.endpoint)
        .env("ACCOUNT_SESSION", f.session("alice"))
        .args(["--timeout", "3", "deposit", "2"]);
    let deposit = std::thread::spawn(move || run(deposit));
    let start = Instant::now();
    while !session_text(&f, "alice").contains("pending_key=") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no pending change"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // ... while the same user logs in again from another shell.
    f.run("alice", Some(PASSWORD), &["login", "alice"]).ok();
    let second_token = token_line(&session_text(&f, "alice"));
    assert_ne!(second_token, first_token);
    f.hold.next(0);

    // The deposit is answered on a retry; forgetting it keeps the newer login.
    let done = deposit.join().unwrap().ok();
    assert!(
        done.stdout.starts_with("deposited 2.00; balance 3.00 "),
        "{done:?}"
    );
    let text = session_text(&f, "alice");
    assert_eq!(token_line(&text), second_token, "{text}");
    assert!(!text.contains("pending"), "{text}");
}

#[test]
fn an_unanswered_open_is_finished_without_a_login() {
    let f = Fixture::tcp();
    f.hold.next(u64::MAX);
    f.run(
        "carol",
        Some(PASSWORD),
        &["--timeout", "0.5", "open", "carol", "--deposit", "7"],
    )
    .fails(
        5,
        "`account open \"carol\" --deposit 7.00` may or may not have been applied",
    );
    assert!(session_text(&f, "carol").starts_with("# account session"));
    f.hold.next(0);
    // Not "name taken": the first answer, and then nothing left to keep.
    let opened = f
        .run(
            "carol",
            Some(PASSWORD),
            &["--json", "open", "carol", "--deposit", "7.00"],
        )
        .ok()
        .json();
    assert_eq!(opened["balance_cents"], 700);
    assert!(!f.session("carol").exists());
}

/// One command of a transcript: the command line, exit code, stdout and stderr.
fn transcript_entry(args: &[&str], run: &Run) -> String {
    format!(
        "$ account {}\nexit {}\nstdout: {}stderr: {}\n",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    )
}

#[test]
fn json_output_keeps_its_shape() {
    let f = Fixture::tcp();
    let odd = "bob \"the\" builder\\ 名前 🦀";
    let steps: [(&str, Option<&str>, &[&str]); 16] = [
        (
            "alice",
            Some(PASSWORD),
            &["open", "alice", "--deposit", "10"],
        ),
        ("bob", Some(PASSWORD), &["open", odd]),
        ("alice", Some(PASSWORD), &["login", "alice"]),
        ("alice", None, &["deposit", "12.50"]),
        ("alice", None, &["withdraw", "0.05"]),
        ("alice", None, &["transfer", odd, "3"]),
        ("alice", None, &["show"]),
        ("alice", None, &["list"]),
        ("alice", None, &["history"]),
        ("alice", None, &["rename", "alicia"]),
        ("alice", None, &["withdraw", "1000"]),
        ("carol", None, &["show"]),
        ("alice", Some(PASSWORD), &["passwd"]),
        ("alice", None, &["withdraw", "19.45"]),
        ("alice", None, &["close"]),
        ("bob", Some(PASSWORD), &["login", odd]),
    ];
    let mut transcript = String::new();
    let mut expires = Vec::new();
    for (user, password, args) in steps {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let mut command = account(&f.dir);
        command
            .env("ACCOUNT_SERVER", &f.endpoint)
            .env("ACCOUNT_SESSION", f.session(user))
            .env("ACCOUNT_NEW_PASSWORD", "battery staple")
            .args(&all);
        if let Some(password) = password {
            command.env("ACCOUNT_PASSWORD", password);
        }
        let run = run(command);
        if let Ok(value) = serde_json::from_str::<Value>(&run.stdout)
            && let Some(at) = value["expires_at"].as_i64()
        {
            let utc = value["expires_at_utc"].as_str().unwrap().to_owned();
            expires.push((at.to_string(), utc));
        }
        transcript.push_str(&transcript_entry(&all, &run));
    }
    let logout = ["--json", "logout"];
    let run = f.run("bob", None, &logout);
    transcript.push_str(&transcript_entry(&logout, &run));

    // What changes from run to run: the server's port and the sessions' expiry.
    let mut transcript = transcript.replace(&f.endpoint, "tcp://127.0.0.1:PORT");
    for (secs, utc) in expires {
        transcript = transcript
            .replace(&secs, "EXPIRES_AT")
            .replace(&utc, "EXPIRES_AT_UTC");
    }
    insta::assert_snapshot!(transcript);
}
