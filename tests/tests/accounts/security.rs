//! Security through the real server: unknown tokens, other people's accounts, expired
//! sessions, hostile names (SQL metacharacters, control characters, invalid UTF-8, overlong),
//! hostile amounts (zero, negative, overflowing). Each gets its typed error and changes
//! nothing. Failed logins for an unknown name and for a wrong password are the same bytes on
//! the wire, and throttling treats both alike.

use super::support::{
    Raw, Server, app_err, audit, balance, check_chain, history, key, login, name, open, password,
    random_token,
};
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountsBlockingClient, AccountsClient,
    AmountRequest, Auth, CloseRequest, Entry, EntryKind, HistoryRequest, ListRequest, LoginRequest,
    Name, OpenRequest, PasswordRequest, RenameRequest, Token, TransferRequest,
};
use rpc_runtime::frame::{FrameKind, Status};
use rpc_runtime::{CallError, Wire};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An account's state as its owner sees it.
fn snapshot(c: &AccountsBlockingClient, token: Token) -> (AccountInfo, Vec<Entry>) {
    (c.get(Auth { token }).expect("get"), history(c, token))
}

/// Every request that needs a session, made with `token`; returns each method's error.
fn every_call(
    c: &AccountsBlockingClient,
    token: Token,
    to: &str,
) -> Vec<(&'static str, AccountError)> {
    let amount = AmountRequest {
        token,
        key: key(),
        cents: 1,
    };
    vec![
        ("logout", app_err(c.logout(Auth { token }))),
        ("get", app_err(c.get(Auth { token }))),
        (
            "list",
            app_err(c.list(ListRequest {
                token,
                after_id: 0,
                limit: 10,
            })),
        ),
        (
            "rename",
            app_err(c.rename(RenameRequest {
                token,
                key: key(),
                name: name("intruder"),
            })),
        ),
        (
            "change_password",
            app_err(c.change_password(PasswordRequest {
                token,
                key: key(),
                old: password("whatever it was"),
                new: password("intruder's password"),
            })),
        ),
        ("deposit", app_err(c.deposit(amount.clone()))),
        ("withdraw", app_err(c.withdraw(amount))),
        (
            "transfer",
            app_err(c.transfer(TransferRequest {
                token,
                key: key(),
                to: name(to),
                cents: 1,
            })),
        ),
        (
            "history",
            app_err(c.history(HistoryRequest {
                token,
                before_id: 0,
                limit: 10,
            })),
        ),
        (
            "close",
            app_err(c.close(CloseRequest { token, key: key() })),
        ),
    ]
}

/// Asserts every session call with `token` is refused as `Unauthenticated`.
#[track_caller]
fn all_unauthenticated(c: &AccountsBlockingClient, token: Token, to: &str) {
    for (method, error) in every_call(c, token, to) {
        assert_eq!(error, AccountError::Unauthenticated, "{method}");
    }
}

#[test]
fn an_unknown_token_is_unauthenticated_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "sec-alice", "alice's password", 1000);
    open(&c, "sec-bob", "bob's password", 1000);
    let ta = login(&c, "sec-alice", "alice's password");
    let tb = login(&c, "sec-bob", "bob's password");
    let before = (snapshot(&c, ta), snapshot(&c, tb));

    all_unauthenticated(&c, random_token(), "sec-bob");
    all_unauthenticated(&c, [0; 32], "sec-bob");
    // One bit away from a real token is no token either.
    let mut near = ta;
    near[31] ^= 1;
    all_unauthenticated(&c, near, "sec-bob");

    assert_eq!((snapshot(&c, ta), snapshot(&c, tb)), before);
    server.stop();
}

#[test]
fn a_session_acts_only_on_its_own_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    let alice = open(&c, "sec-alice", "alice's password", 1000);
    let bob = open(&c, "sec-bob", "bob's password", 5000);
    let ta = login(&c, "sec-alice", "alice's password");
    let tb = login(&c, "sec-bob", "bob's password");
    let (bob_info, bob_history) = snapshot(&c, tb);

    // Alice's token sees and moves only alice's money, whatever bob holds.
    assert_eq!(c.get(Auth { token: ta }).expect("get").id, alice.id);
    let amount = |cents| AmountRequest {
        token: ta,
        key: key(),
        cents,
    };
    assert_eq!(
        app_err(c.withdraw(amount(2000))),
        AccountError::InsufficientFunds
    );
    assert_eq!(
        c.withdraw(amount(100)).expect("withdraw").balance_cents,
        900
    );
    let to = |who: &str, cents| TransferRequest {
        token: ta,
        key: key(),
        to: name(who),
        cents,
    };
    assert_eq!(
        app_err(c.transfer(to("sec-alice", 1))),
        AccountError::SameAccount
    );
    assert_eq!(
        app_err(c.transfer(to("sec-bob", 901))),
        AccountError::InsufficientFunds
    );
    let sent = c.transfer(to("sec-bob", 100)).expect("pay bob");
    assert_eq!(sent.balance_cents, 800);
    let close = c.close(CloseRequest {
        token: ta,
        key: key(),
    });
    assert_eq!(app_err(close), AccountError::NonZeroBalance);
    let rename = c.rename(RenameRequest {
        token: ta,
        key: key(),
        name: name("sec-bob"),
    });
    assert_eq!(app_err(rename), AccountError::NameTaken);
    // Bob's password does not change alice's.
    let password_change = c.change_password(PasswordRequest {
        token: ta,
        key: key(),
        old: password("bob's password"),
        new: password("alice was here"),
    });
    assert_eq!(app_err(password_change), AccountError::InvalidCredentials);
    let ha = history(&c, ta);
    check_chain(&ha, 800);
    assert!(ha.iter().all(|e| e.counterparty != name("sec-alice")));
    c.logout(Auth { token: ta }).expect("logout");

    // Bob's account changed only by the payment he received; his session and password live.
    let (info, entries) = snapshot(&c, tb);
    assert_eq!(
        info,
        AccountInfo {
            balance_cents: 5100,
            ..bob_info
        }
    );
    assert_eq!(entries[1..], bob_history[..]);
    assert_eq!(
        (entries[0].kind, entries[0].cents, entries[0].counterparty),
        (EntryKind::TransferIn, 100, name("sec-alice"))
    );
    assert_eq!(info.id, bob.id);
    login(&c, "sec-bob", "bob's password");
    server.stop();
}

#[test]
fn an_expired_session_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(dir.path(), &["--session-ttl", "1"]);
    let c = server.tcp_client();
    open(&c, "sec-brief", "brief password", 1000);
    let login_brief = || {
        c.login(LoginRequest {
            name: name("sec-brief"),
            password: password("brief password"),
        })
        .expect("login")
    };
    // The session lives until its second is over; a login late in a second may see its
    // session expire before the next call, so try again then.
    let mut session = login_brief();
    for _ in 0..3 {
        match c.get(Auth {
            token: session.token,
        }) {
            Ok(info) => {
                assert_eq!(info.balance_cents, 1000);
                break;
            }
            Err(CallError::Application(AccountError::Unauthenticated)) => session = login_brief(),
            Err(e) => panic!("get: {e}"),
        }
    }
    // The one deliberate sleep: wait out the session's lifetime on the wall clock, which is
    // the server's clock too.
    let expiry = UNIX_EPOCH + Duration::from_secs(session.expires_at.try_into().expect("positive"));
    if let Ok(left) = expiry.duration_since(SystemTime::now()) {
        std::thread::sleep(left + Duration::from_millis(50));
    }
    let stale_key = key();
    let deposit = |token| AmountRequest {
        token,
        key: stale_key,
        cents: 250,
    };
    assert_eq!(
        app_err(c.deposit(deposit(session.token))),
        AccountError::Unauthenticated
    );
    all_unauthenticated(&c, session.token, "sec-brief");

    // Nothing happened, and the refused request's key is still free for the retry.
    let fresh = login(&c, "sec-brief", "brief password");
    let (info, entries) = snapshot(&c, fresh);
    assert_eq!((info.name, info.balance_cents), (name("sec-brief"), 1000));
    assert_eq!(entries.len(), 1);
    let receipt = c
        .deposit(deposit(fresh))
        .expect("retry with a live session");
    assert_eq!(receipt.balance_cents, 1250);
    server.stop();
}

#[test]
fn sql_metacharacters_in_names_are_plain_characters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    let names = [
        "Robert'); DROP TABLE accounts;--",
        "x' OR '1'='1",
        "O'Brien",
        "\"double\" `back` [square]",
        "%",
        "_",
        "a;b",
        "--",
        "\\",
        "*/ /*",
    ];
    let mut ids = Vec::new();
    for (i, who) in names.iter().enumerate() {
        let info = open(&c, who, "sql password", 100 + i as i64);
        assert_eq!(info.name, name(who));
        ids.push(info.id);
    }
    let robert = login(&c, names[0], "sql password");
    assert_eq!(
        c.get(Auth { token: robert }).expect("get").name,
        name(names[0])
    );
    for who in &names[1..] {
        let receipt = c
            .transfer(TransferRequest {
                token: robert,
                key: key(),
                to: name(who),
                cents: 1,
            })
            .expect("transfer");
        assert!(receipt.balance_cents > 0);
    }
    let counterparties: Vec<Name> = history(&c, robert)
        .iter()
        .filter(|e| e.kind == EntryKind::TransferOut)
        .map(|e| e.counterparty)
        .collect();
    let mut expected: Vec<Name> = names[1..].iter().map(|n| name(n)).collect();
    expected.reverse();
    assert_eq!(counterparties, expected);

    // Patterns match nothing but themselves; quoting tricks log nobody in.
    for pattern in [
        "Robert%",
        "R_bert'); DROP TABLE accounts;--",
        "%%",
        "x' OR '1'='1' --",
    ] {
        let to = c.transfer(TransferRequest {
            token: robert,
            key: key(),
            to: name(pattern),
            cents: 1,
        });
        assert_eq!(app_err(to), AccountError::RecipientNotFound, "{pattern}");
    }
    for who in ["' OR '1'='1' --", "' OR 1=1; --", "%"] {
        let attempt = c.login(LoginRequest {
            name: name(who),
            password: password("' OR '1'='1"),
        });
        assert_eq!(app_err(attempt), AccountError::InvalidCredentials, "{who}");
    }
    let renamed = c
        .rename(RenameRequest {
            token: robert,
            key: key(),
            name: name("'; DELETE FROM ledger; --"),
        })
        .expect("rename");
    assert_eq!(renamed.name, name("'; DELETE FROM ledger; --"));

    // Every table is still there and whole.
    let listed = c
        .list(ListRequest {
            token: robert,
            after_id: 0,
            limit: 100,
        })
        .expect("list");
    let listed_names: Vec<String> = listed.iter().map(|s| s.name.to_string()).collect();
    let mut expected: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    expected[0] = "'; DELETE FROM ledger; --".to_owned();
    assert_eq!(listed_names, expected);
    assert_eq!(listed.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
    check_chain(&history(&c, robert), balance(&c, robert));
    server.stop();
    let audit = audit(&dir.path().join("accounts.db"));
    assert!(audit.is_balanced(), "{audit:#?}");
    assert_eq!(audit.accounts, names.len() as u64);
}

#[test]
fn invalid_names_are_refused_and_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();

    // The longest names fit, in ASCII and in multi-byte UTF-8; one byte more cannot be built.
    let longest = "x".repeat(32);
    let accents = "é".repeat(16);
    open(&c, &longest, "long password", 0);
    open(&c, &accents, "long password", 0);
    assert!(Name::new(&"x".repeat(33)).is_err());
    assert!(Name::new(&format!("{accents}x")).is_err());
    let token = login(&c, &longest, "long password");

    // Control characters and the empty name: refused wherever a name is given.
    for bad in [
        "",
        "new\nline",
        "tab\there",
        "bell\u{7}",
        "del\u{7f}",
        "c1\u{85}",
        "\u{1b}[31mred",
    ] {
        let opened = c.open(OpenRequest {
            key: key(),
            name: name(bad),
            password: password("long password"),
            initial_cents: 0,
        });
        assert_eq!(app_err(opened), AccountError::InvalidName, "open {bad:?}");
        let renamed = c.rename(RenameRequest {
            token,
            key: key(),
            name: name(bad),
        });
        assert_eq!(
            app_err(renamed),
            AccountError::InvalidName,
            "rename {bad:?}"
        );
        let sent = c.transfer(TransferRequest {
            token,
            key: key(),
            to: name(bad),
            cents: 1,
        });
        assert_eq!(app_err(sent), AccountError::InvalidName, "transfer {bad:?}");
        let logged_in = c.login(LoginRequest {
            name: name(bad),
            password: password("long password"),
        });
        assert_eq!(
            app_err(logged_in),
            AccountError::InvalidCredentials,
            "login {bad:?}"
        );
    }

    // Bytes no `Name` can hold, sent raw: invalid UTF-8, bytes after the NUL padding, and a
    // 33rd byte in a body one byte too long. The server refuses to decode them.
    let valid = OpenRequest {
        key: key(),
        name: name("placeholder"),
        password: password("long password"),
        initial_cents: 0,
    }
    .pack();
    let valid: &[u8] = valid.as_ref();
    let with_name = |raw_name: &[u8; 32]| {
        let mut body = valid.to_vec();
        body[16..48].copy_from_slice(raw_name);
        body
    };
    let mut invalid_utf8 = [b'y'; 32];
    invalid_utf8[5] = 0xff;
    let mut truncated_utf8 = [b'z'; 32];
    truncated_utf8[31] = 0xc3;
    let mut after_nul = [0; 32];
    after_nul[..3].copy_from_slice(b"abc");
    after_nul[10] = b'd';
    let mut overlong = valid.to_vec();
    overlong.insert(48, b'x');
    overlong[16..49].fill(b'x');
    let mut raw = Raw::connect(&server.tcp);
    for (i, body) in [
        with_name(&invalid_utf8),
        with_name(&truncated_utf8),
        with_name(&after_nul),
        overlong,
    ]
    .iter()
    .enumerate()
    {
        let call_id = u32::try_from(i).expect("small") + 1;
        let reply = raw.call("open", call_id, body);
        assert_eq!(
            (reply.header.kind, reply.header.status, reply.header.call_id),
            (FrameKind::Error, Status::BadRequest, call_id),
            "raw open #{i}: {reply:?} ({})",
            String::from_utf8_lossy(&reply.body)
        );
    }

    let listed: Vec<String> = c
        .list(ListRequest {
            token,
            after_id: 0,
            limit: 100,
        })
        .expect("list")
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(listed, [longest, accents]);
    assert_eq!(
        c.get(Auth { token }).expect("get").name,
        name(&"x".repeat(32))
    );
    server.stop();
}

#[test]
fn bad_amounts_get_typed_errors_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    for cents in [-1, i64::MIN] {
        let opened = c.open(OpenRequest {
            key: key(),
            name: name("sec-negative"),
            password: password("amount password"),
            initial_cents: cents,
        });
        assert_eq!(
            app_err(opened),
            AccountError::InvalidAmount,
            "open with {cents}"
        );
    }
    open(&c, "sec-alice", "amount password", 1000);
    open(&c, "sec-rich", "amount password", i64::MAX);
    let ta = login(&c, "sec-alice", "amount password");
    let tr = login(&c, "sec-rich", "amount password");
    let before = (snapshot(&c, ta), snapshot(&c, tr));
    assert_eq!(before.1.0.balance_cents, i64::MAX);

    let amount = |token, cents| AmountRequest {
        token,
        key: key(),
        cents,
    };
    let transfer = |token, to: &str, cents| TransferRequest {
        token,
        key: key(),
        to: name(to),
        cents,
    };
    for cents in [0, -1, -1000, i64::MIN] {
        let what = format!("{cents} cents");
        assert_eq!(
            app_err(c.deposit(amount(ta, cents))),
            AccountError::InvalidAmount,
            "{what}"
        );
        assert_eq!(
            app_err(c.withdraw(amount(ta, cents))),
            AccountError::InvalidAmount,
            "{what}"
        );
        let sent = c.transfer(transfer(ta, "sec-rich", cents));
        assert_eq!(app_err(sent), AccountError::InvalidAmount, "{what}");
        let sent = c.transfer(transfer(tr, "sec-alice", cents));
        assert_eq!(app_err(sent), AccountError::InvalidAmount, "{what}");
    }
    // Past i64::MAX on either side of the movement.
    assert_eq!(
        app_err(c.deposit(amount(ta, i64::MAX))),
        AccountError::Overflow
    );
    assert_eq!(app_err(c.deposit(amount(tr, 1))), AccountError::Overflow);
    assert_eq!(
        app_err(c.transfer(transfer(ta, "sec-rich", 1))),
        AccountError::Overflow
    );
    assert_eq!(
        app_err(c.transfer(transfer(tr, "sec-alice", i64::MAX))),
        AccountError::Overflow
    );
    // More than there is.
    assert_eq!(
        app_err(c.withdraw(amount(ta, 1001))),
        AccountError::InsufficientFunds
    );
    assert_eq!(
        app_err(c.transfer(transfer(ta, "sec-rich", i64::MAX))),
        AccountError::InsufficientFunds
    );

    assert_eq!((snapshot(&c, ta), snapshot(&c, tr)), before);
    server.stop();
    let audit = audit(&dir.path().join("accounts.db"));
    assert!(audit.is_balanced(), "{audit:#?}");
    assert_eq!(audit.total_balance, i128::from(i64::MAX) + 1000);
}

#[test]
fn failed_logins_are_byte_identical_whether_or_not_the_name_exists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "sec-victim", "the right password", 0);
    let request = login_body;

    for endpoint in [&server.tcp, &server.unix] {
        let mut raw = Raw::connect(endpoint);
        let mut call_id = 0;
        let mut attempt = |who: &str, pw: &str| {
            call_id += 1;
            let mut reply = raw.call("login", call_id, &request(who, pw));
            assert_eq!(reply.header.call_id, call_id);
            reply.header.call_id = 0;
            reply
        };
        let wrong_password = attempt("sec-victim", "a wrong password");
        assert_eq!(
            (wrong_password.header.kind, wrong_password.header.status),
            (FrameKind::Response, Status::Application)
        );
        assert_eq!(
            wrong_password.body,
            AccountError::InvalidCredentials.pack().as_ref()
        );
        assert_eq!(attempt("sec-nobody", "a wrong password"), wrong_password);
        assert_eq!(attempt("sec-victim", "short"), wrong_password);
        assert_eq!(attempt("sec-nobody", "short"), wrong_password);
    }

    // Throttling does not tell them apart either: both names are throttled after the same
    // number of failures, and then even the right password gets the same reply.
    let mut raw = Raw::connect(&server.tcp);
    let mut failures_until_throttled = Vec::new();
    let mut throttled = Vec::new();
    for who in ["sec-victim", "sec-nobody"] {
        let mut failures = 0;
        let frame = loop {
            let reply = raw.call("login", 100 + failures, &request(who, "a wrong password"));
            if reply.body != AccountError::InvalidCredentials.pack().as_ref() {
                break reply;
            }
            failures += 1;
            assert!(failures < 50, "{who} is never throttled");
        };
        assert_eq!(frame.body, AccountError::Throttled.pack().as_ref(), "{who}");
        failures_until_throttled.push(failures);
        let mut right = raw.call("login", 200, &request(who, "the right password"));
        right.header.call_id = 0;
        throttled.push(right);
    }
    assert_eq!(failures_until_throttled[0], failures_until_throttled[1]);
    assert_eq!(throttled[0], throttled[1]);
    assert_eq!(throttled[0].body, AccountError::Throttled.pack().as_ref());
    server.stop();
}

#[test]
fn closed_accounts_take_no_more_money() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "sec-closing", "closing password", 0);
    open(&c, "sec-payer", "payer password", 500);
    let token = login(&c, "sec-closing", "closing password");
    let payer = login(&c, "sec-payer", "payer password");
    let closed = c.close(CloseRequest { token, key: key() }).expect("close");
    assert_eq!(closed.status, AccountStatus::Closed);
    let deposit = c.deposit(AmountRequest {
        token,
        key: key(),
        cents: 10,
    });
    assert_eq!(app_err(deposit), AccountError::AccountClosed);
    let paid = c.transfer(TransferRequest {
        token: payer,
        key: key(),
        to: name("sec-closing"),
        cents: 10,
    });
    assert_eq!(app_err(paid), AccountError::RecipientNotFound);
    assert_eq!(balance(&c, payer), 500);
    assert!(history(&c, token).is_empty());
    server.stop();
}

#[test]
fn look_alike_and_invisible_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    let opened = |who: &str| {
        c.open(OpenRequest {
            key: key(),
            name: name(who),
            password: password("look-alike password"),
            initial_cents: 0,
        })
    };
    let composed = "zo\u{eb}";
    let decomposed = "zoe\u{308}";
    let zoe = opened(decomposed).expect("open zoë");
    assert_eq!(zoe.name, name(composed), "stored in NFC");
    opened("alice").expect("open alice");
    // The same name in another normalisation form, or in other scripts' letters, is taken.
    for taken in [composed, decomposed, "\u{430}lice", "aIice"] {
        assert_eq!(app_err(opened(taken)), AccountError::NameTaken, "{taken:?}");
    }
    // Names that show as less than they hold are invalid.
    for invisible in [
        "bob\u{e0041}\u{e0042}",
        "bob\u{fe0f}",
        "\u{2800}",
        "bob\u{2800}",
        "\u{3164}",
        "\u{301}\u{302}",
    ] {
        assert_eq!(
            app_err(opened(invisible)),
            AccountError::InvalidName,
            "{invisible:?}"
        );
    }
    // Logging in and paying work with either form.
    let token = login(&c, decomposed, "look-alike password");
    login(&c, composed, "look-alike password");
    let renamed = c.rename(RenameRequest {
        token,
        key: key(),
        name: name("\u{430}lice"),
    });
    assert_eq!(app_err(renamed), AccountError::NameTaken);
    let listed: Vec<String> = c
        .list(ListRequest {
            token,
            after_id: 0,
            limit: 100,
        })
        .expect("list")
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(listed, [composed, "alice"]);
    server.stop();
}

#[test]
fn pipelined_guesses_are_counted_before_they_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "sec-target", "the right password", 0);

    // Sixty guesses at once on one connection, the right one last.
    const GUESSES: usize = 60;
    let accounts = AccountsClient::new(rpc_runtime::Client::new(server.tcp.clone()));
    let replies: Vec<Result<_, CallError<AccountError>>> = smol::block_on(async {
        let calls: Vec<_> = (0..GUESSES)
            .map(|i| {
                let accounts = accounts.clone();
                let guess = if i == GUESSES - 1 {
                    "the right password".to_owned()
                } else {
                    format!("wrong guess {i}")
                };
                smol::spawn(async move {
                    accounts
                        .login(LoginRequest {
                            name: name("sec-target"),
                            password: password(&guess),
                        })
                        .await
                })
            })
            .collect();
        let mut replies = Vec::new();
        for call in calls {
            replies.push(call.await);
        }
        replies
    });
    let throttled = replies
        .iter()
        .filter(|r| matches!(r, Err(CallError::Application(AccountError::Throttled))))
        .count();
    let checked = replies
        .iter()
        .filter(|r| {
            matches!(
                r,
                Ok(_) | Err(CallError::Application(AccountError::InvalidCredentials))
            )
        })
        .count();
    assert_eq!(throttled + checked, GUESSES, "other replies: {replies:?}");
    // The default budget is five attempts per name and address.
    assert!(checked <= 5, "{checked} guesses were checked");
    assert!(
        replies[GUESSES - 1].is_err(),
        "the right password was found"
    );

    // The attacker locked out only their own address: the owner, on the Unix socket, logs in.
    login(&server.unix_client(), "sec-target", "the right password");
    // From the attacker's address, even the right password is refused for now.
    let again = c.login(LoginRequest {
        name: name("sec-target"),
        password: password("the right password"),
    });
    assert_eq!(app_err(again), AccountError::Throttled);
    server.stop();
}

#[test]
fn many_addresses_together_are_bounded_per_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "sec-popular", "the right password", 0);
    let guess = login_body;
    let body_of =
        |reply: &super::support::Frame| AccountError::unpack(&reply.body).expect("an AccountError");

    // Ten addresses, five wrong guesses each: every one is checked (the per-address budget),
    // fifty in all (the per-name ceiling).
    for last in 2..=11u8 {
        let mut raw = Raw::connect_from(&server.tcp, [127, 0, 0, last].into());
        for call in 1..=5 {
            let reply = raw.call("login", call, &guess("sec-popular", "a wrong password"));
            assert_eq!(
                body_of(&reply),
                AccountError::InvalidCredentials,
                "guess {call} from 127.0.0.{last}"
            );
        }
    }
    // The ceiling is reached: the name is refused from a fresh address and from the Unix
    // socket, even with the right password; other names are not affected.
    let mut raw = Raw::connect_from(&server.tcp, [127, 0, 0, 12].into());
    let refused = raw.call("login", 1, &guess("sec-popular", "a wrong password"));
    assert_eq!(body_of(&refused), AccountError::Throttled);
    let owner = server.unix_client().login(LoginRequest {
        name: name("sec-popular"),
        password: password("the right password"),
    });
    assert_eq!(app_err(owner), AccountError::Throttled);
    let other = raw.call("login", 2, &guess("sec-someone-else", "a wrong password"));
    assert_eq!(body_of(&other), AccountError::InvalidCredentials);
    server.stop();
}

/// The encoded body of a `login` request, as a raw client sends it.
fn login_body(who: &str, pw: &str) -> Vec<u8> {
    LoginRequest {
        name: name(who),
        password: password(pw),
    }
    .pack()
    .as_ref()
    .to_vec()
}
