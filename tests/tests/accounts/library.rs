//! The real `account-server`, driven through the typed blocking client over TCP and over its
//! Unix socket: every operation, its effect on balances and histories, and a clean stop.

use super::support::{
    Server, app_err, balance, check_chain, history, history_paged, key, login, name, open, password,
};
use account_client::api::{
    AccountError, AccountStatus, AccountSummary, AccountsBlockingClient, AmountRequest, Auth,
    CloseRequest, EntryKind, ListRequest, LoginRequest, Name, OpenRequest, PasswordRequest,
    RenameRequest, Token, TransferRequest,
};
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit i64")
}

/// Asserts `t` is a timestamp from this test run, give or take clock granularity.
#[track_caller]
fn recent(t: i64, start: i64) {
    assert!(
        (start - 1..=now() + 1).contains(&t),
        "timestamp {t} is not between {start} and now"
    );
}

/// Every account, read page by page with `limit` per page.
fn list_all(c: &AccountsBlockingClient, token: Token, limit: u32) -> Vec<AccountSummary> {
    let mut all: Vec<AccountSummary> = Vec::new();
    loop {
        let after_id = all.last().map_or(0, |a| a.id);
        let page = c
            .list(ListRequest {
                token,
                after_id,
                limit,
            })
            .expect("list");
        assert!(page.len() <= limit as usize, "a page longer than its limit");
        if page.is_empty() {
            break;
        }
        all.extend(page);
    }
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "list is not in id order: {all:?}"
    );
    all
}

fn amount(token: Token, cents: i64) -> AmountRequest {
    AmountRequest {
        token,
        key: key(),
        cents,
    }
}

fn transfer(token: Token, to: &str, cents: i64) -> TransferRequest {
    TransferRequest {
        token,
        key: key(),
        to: name(to),
        cents,
    }
}

/// The whole life of two accounts, through `c`. Names carry `tag` so that several runs can
/// share a server.
fn lifecycle(c: &AccountsBlockingClient, tag: &str) {
    let start = now();
    let (alice, bob, bobby) = (
        format!("alice-{tag}"),
        format!("bob-{tag}"),
        format!("bobby-{tag}"),
    );

    // Open two accounts; a taken name stays taken.
    let a = open(c, &alice, "alice's password", 1000);
    assert_eq!(
        (a.name, a.balance_cents, a.status),
        (name(&alice), 1000, AccountStatus::Open)
    );
    recent(a.created_at, start);
    let b = open(c, &bob, "bob's password", 0);
    assert_eq!((b.balance_cents, b.status), (0, AccountStatus::Open));
    assert_ne!(a.id, b.id);
    let taken = c.open(OpenRequest {
        key: key(),
        name: name(&alice),
        password: password("another password"),
        initial_cents: 5,
    });
    assert_eq!(app_err(taken), AccountError::NameTaken);

    // Log in; the session is for the right account and expires in the future.
    let session = c
        .login(LoginRequest {
            name: name(&alice),
            password: password("alice's password"),
        })
        .expect("login alice");
    assert_eq!(session.account_id, a.id);
    assert!(session.expires_at > now(), "{session:?} already expired");
    let ta = session.token;
    let tb = login(c, &bob, "bob's password");
    assert_ne!(ta, tb);
    assert_eq!(c.get(Auth { token: ta }).expect("get alice"), a);

    // Deposit, transfer, withdraw.
    let deposit = c.deposit(amount(ta, 2550)).expect("deposit");
    assert_eq!(deposit.balance_cents, 3550);
    recent(deposit.at, start);
    let sent = c.transfer(transfer(ta, &bob, 1234)).expect("transfer");
    assert_eq!(sent.balance_cents, 3550 - 1234);
    assert!(sent.entry_id > deposit.entry_id);
    let withdrawn = c.withdraw(amount(tb, 234)).expect("withdraw");
    assert_eq!(withdrawn.balance_cents, 1000);
    assert_eq!(balance(c, ta), 2316);
    assert_eq!(balance(c, tb), 1000);

    // History, newest first, with counterparties; the same in pages of one.
    let ha = history(c, ta);
    let summary: Vec<_> = ha
        .iter()
        .map(|e| (e.kind, e.cents, e.balance_after, e.counterparty.to_string()))
        .collect();
    assert_eq!(
        summary,
        [
            (EntryKind::TransferOut, -1234, 2316, bob.clone()),
            (EntryKind::Deposit, 2550, 3550, String::new()),
            (EntryKind::Opening, 1000, 1000, String::new()),
        ]
    );
    assert_eq!((ha[0].id, ha[0].at), (sent.entry_id, sent.at));
    assert_eq!((ha[1].id, ha[1].at), (deposit.entry_id, deposit.at));
    assert_eq!(history_paged(c, ta, 1), ha);
    check_chain(&ha, 2316);
    let hb = history(c, tb);
    let summary: Vec<_> = hb
        .iter()
        .map(|e| (e.kind, e.cents, e.balance_after, e.counterparty.to_string()))
        .collect();
    assert_eq!(
        summary,
        [
            (EntryKind::Withdrawal, -234, 1000, String::new()),
            (EntryKind::TransferIn, 1234, 1234, alice.clone()),
        ]
    );
    assert_eq!(hb[0].id, withdrawn.entry_id);
    assert_eq!(hb[1].at, sent.at);
    check_chain(&hb, 1000);

    // Both accounts are listed, in pages of one as in one page.
    let listed = list_all(c, ta, 1);
    assert_eq!(list_all(c, tb, 1000), listed);
    for (id, who) in [(a.id, &alice), (b.id, &bob)] {
        let row = listed.iter().find(|s| s.id == id).expect("listed");
        assert_eq!((row.name, row.status), (name(who), AccountStatus::Open));
    }

    // Rename bob: the old name is free and unknown, the new one receives money and shows up
    // in alice's history.
    let renamed = c
        .rename(RenameRequest {
            token: tb,
            key: key(),
            name: name(&bobby),
        })
        .expect("rename");
    assert_eq!((renamed.id, renamed.name), (b.id, name(&bobby)));
    assert_eq!(c.get(Auth { token: tb }).expect("get").name, name(&bobby));
    let to_old = c.transfer(transfer(ta, &bob, 100));
    assert_eq!(app_err(to_old), AccountError::RecipientNotFound);
    c.transfer(transfer(ta, &bobby, 100))
        .expect("transfer to the new name");
    assert_eq!(history(c, ta)[0].counterparty, name(&bobby));
    let old_login = c.login(LoginRequest {
        name: name(&bob),
        password: password("bob's password"),
    });
    assert_eq!(app_err(old_login), AccountError::InvalidCredentials);
    let tb = login(c, &bobby, "bob's password");

    // Change alice's password: the session that did it lives on, every other one ends, and
    // only the new password logs in.
    let other = login(c, &alice, "alice's password");
    let wrong_old = c.change_password(PasswordRequest {
        token: ta,
        key: key(),
        old: password("not alice's password"),
        new: password("alice's new password"),
    });
    assert_eq!(app_err(wrong_old), AccountError::InvalidCredentials);
    c.change_password(PasswordRequest {
        token: ta,
        key: key(),
        old: password("alice's password"),
        new: password("alice's new password"),
    })
    .expect("change password");
    assert_eq!(balance(c, ta), 2216);
    assert_eq!(
        app_err(c.get(Auth { token: other })),
        AccountError::Unauthenticated
    );
    let old_password = c.login(LoginRequest {
        name: name(&alice),
        password: password("alice's password"),
    });
    assert_eq!(app_err(old_password), AccountError::InvalidCredentials);
    let fresh = login(c, &alice, "alice's new password");

    // Log out: that token is dead, the other session is not.
    c.logout(Auth { token: ta }).expect("logout");
    assert_eq!(
        app_err(c.get(Auth { token: ta })),
        AccountError::Unauthenticated
    );
    assert_eq!(
        app_err(c.logout(Auth { token: ta })),
        AccountError::Unauthenticated
    );
    assert_eq!(balance(c, fresh), 2216);

    // Close bob: only once empty. Then nobody can log in, pay in or send money there.
    let full = c.close(CloseRequest {
        token: tb,
        key: key(),
    });
    assert_eq!(app_err(full), AccountError::NonZeroBalance);
    c.withdraw(amount(tb, 1100)).expect("empty the account");
    let closed = c
        .close(CloseRequest {
            token: tb,
            key: key(),
        })
        .expect("close");
    assert_eq!(
        (closed.id, closed.balance_cents, closed.status),
        (b.id, 0, AccountStatus::Closed)
    );
    assert_eq!(
        app_err(c.deposit(amount(tb, 1))),
        AccountError::AccountClosed
    );
    let to_closed = c.transfer(transfer(fresh, &bobby, 1));
    assert_eq!(app_err(to_closed), AccountError::RecipientNotFound);
    let closed_login = c.login(LoginRequest {
        name: name(&bobby),
        password: password("bob's password"),
    });
    assert_eq!(app_err(closed_login), AccountError::AccountClosed);
    let listed = list_all(c, fresh, 1000);
    let row = listed.iter().find(|s| s.id == b.id).expect("still listed");
    assert_eq!(
        (row.name, row.status),
        (name(&bobby), AccountStatus::Closed)
    );

    // Nothing was lost on the way.
    assert_eq!(balance(c, fresh), 2216);
    check_chain(&history(c, fresh), 2216);
}

#[test]
fn the_library_drives_the_server_over_tcp_and_a_unix_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    lifecycle(&server.tcp_client(), "tcp");
    lifecycle(&server.unix_client(), "unix");

    // One server, one database: what was done over TCP is seen over the socket.
    let unix = server.unix_client();
    let token = login(&unix, "alice-tcp", "alice's new password");
    assert_eq!(balance(&unix, token), 2216);
    let names: Vec<Name> = list_all(&unix, token, 1000)
        .into_iter()
        .map(|s| s.name)
        .collect();
    let expected = ["alice-tcp", "bobby-tcp", "alice-unix", "bobby-unix"].map(name);
    assert_eq!(names, expected);
    server.stop();
}

#[test]
fn a_bad_page_size_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();
    open(&c, "pager", "pager password", 1);
    let token = login(&c, "pager", "pager password");
    for limit in [0, 1001, u32::MAX] {
        let list = c.list(ListRequest {
            token,
            after_id: 0,
            limit,
        });
        assert_eq!(
            app_err(list),
            AccountError::InvalidPage,
            "list limit {limit}"
        );
        let history = c.history(account_client::api::HistoryRequest {
            token,
            before_id: 0,
            limit,
        });
        assert_eq!(
            app_err(history),
            AccountError::InvalidPage,
            "history limit {limit}"
        );
    }
    assert_eq!(history_paged(&c, token, 1000).len(), 1);
    server.stop();
}

#[test]
fn the_server_takes_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_from_env(dir.path(), &[("ACCOUNT_SESSION_TTL", "3600")]);
    let c = server.unix_client();
    open(&c, "from-env", "env password", 42);
    let session = c
        .login(LoginRequest {
            name: name("from-env"),
            password: password("env password"),
        })
        .expect("login");
    let start = now();
    assert!(
        (start + 3598..=start + 3601).contains(&session.expires_at),
        "ACCOUNT_SESSION_TTL=3600 ignored: the session expires at {}, now is {start}",
        session.expires_at
    );
    assert_eq!(balance(&server.tcp_client(), session.token), 42);
    server.stop();
    assert!(dir.path().join("env.db").is_file(), "ACCOUNT_DB ignored");
    assert!(!dir.path().join("accounts.db").exists());
}
