//! Idempotency through the real server: every mutating request, replayed with its key, returns
//! the first answer and changes nothing, before and after a graceful restart (SIGTERM), from
//! the same session or a new one. The same key with a different request is
//! `IdempotencyConflict`, and keys belong to an account: another account's key is a new key.
//! (Replays after `kill -9` are in the `crash` test.)

use super::support::{Server, app_err, history, key, login, name, password};
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountsBlockingClient, AmountRequest, Auth,
    CloseRequest, Entry, OpenRequest, PasswordRequest, Receipt, RenameRequest, Token,
    TransferRequest,
};

/// Every account's state as its owner sees it.
fn state(c: &AccountsBlockingClient, tokens: &[Token]) -> Vec<(AccountInfo, Vec<Entry>)> {
    tokens
        .iter()
        .map(|&token| (c.get(Auth { token }).expect("get"), history(c, token)))
        .collect()
}

/// The requests made once, and their first answers.
struct First {
    open: (OpenRequest, AccountInfo),
    deposit: (AmountRequest, Receipt),
    withdraw: (AmountRequest, Receipt),
    transfer: (TransferRequest, Receipt),
    refused: AmountRequest,
    rename: (RenameRequest, AccountInfo),
    password: PasswordRequest,
    close: (CloseRequest, AccountInfo),
}

impl First {
    /// Replays everything with `alice` (a session of alice's account) and checks each
    /// answer is the first one; then tries each key with a different request.
    fn replay(&self, c: &AccountsBlockingClient, alice: Token) {
        let (open, info) = &self.open;
        assert_eq!(&c.open(open.clone()).expect("replay open"), info);
        let (deposit, receipt) = &self.deposit;
        let deposit = AmountRequest {
            token: alice,
            ..deposit.clone()
        };
        assert_eq!(
            &c.deposit(deposit.clone()).expect("replay deposit"),
            receipt
        );
        let (withdraw, receipt) = &self.withdraw;
        let withdraw = AmountRequest {
            token: alice,
            ..withdraw.clone()
        };
        assert_eq!(
            &c.withdraw(withdraw.clone()).expect("replay withdraw"),
            receipt
        );
        let (transfer, receipt) = &self.transfer;
        let transfer = TransferRequest {
            token: alice,
            ..transfer.clone()
        };
        assert_eq!(
            &c.transfer(transfer.clone()).expect("replay transfer"),
            receipt
        );
        // A refusal is an answer too: the retry is refused, though the money is there now.
        let refused = AmountRequest {
            token: alice,
            ..self.refused.clone()
        };
        assert_eq!(
            app_err(c.withdraw(refused)),
            AccountError::InsufficientFunds
        );
        let (rename, info) = &self.rename;
        assert_eq!(&c.rename(rename.clone()).expect("replay rename"), info);
        let change = PasswordRequest {
            token: alice,
            ..self.password.clone()
        };
        c.change_password(change.clone())
            .expect("replay change_password");
        let (close, info) = &self.close;
        assert_eq!(&c.close(close.clone()).expect("replay close"), info);

        // The same key with anything else in the request is a conflict.
        let conflicts = [
            c.open(OpenRequest {
                name: name("idem-mallory"),
                ..open.clone()
            })
            .map(drop),
            c.open(OpenRequest {
                initial_cents: open.initial_cents + 1,
                ..open.clone()
            })
            .map(drop),
            c.open(OpenRequest {
                password: password("some other password"),
                ..open.clone()
            })
            .map(drop),
            c.deposit(AmountRequest {
                cents: deposit.cents + 1,
                ..deposit.clone()
            })
            .map(drop),
            c.withdraw(deposit.clone()).map(drop),
            c.deposit(withdraw.clone()).map(drop),
            c.transfer(TransferRequest {
                cents: transfer.cents + 1,
                ..transfer.clone()
            })
            .map(drop),
            c.transfer(TransferRequest {
                to: name("idem-alice"),
                ..transfer.clone()
            })
            .map(drop),
            c.rename(RenameRequest {
                name: name("idem-bobby"),
                ..rename.clone()
            })
            .map(drop),
            c.change_password(PasswordRequest {
                new: password("yet another password"),
                ..change
            })
            .map(drop),
        ];
        for (i, conflict) in conflicts.into_iter().enumerate() {
            assert_eq!(
                app_err(conflict),
                AccountError::IdempotencyConflict,
                "conflict #{i}"
            );
        }
    }
}

#[test]
fn replays_apply_once_even_across_a_graceful_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.tcp_client();

    let open = OpenRequest {
        key: key(),
        name: name("idem-alice"),
        password: password("alice's password"),
        initial_cents: 5000,
    };
    let alice = c.open(open.clone()).expect("open alice");
    let bob = c
        .open(OpenRequest {
            key: key(),
            name: name("idem-bob"),
            password: password("bob's password"),
            initial_cents: 0,
        })
        .expect("open bob");
    c.open(OpenRequest {
        key: key(),
        name: name("idem-carol"),
        password: password("carol's password"),
        initial_cents: 0,
    })
    .expect("open carol");
    let ta = login(&c, "idem-alice", "alice's password");
    let tb = login(&c, "idem-bob", "bob's password");
    let tc = login(&c, "idem-carol", "carol's password");

    let deposit = AmountRequest {
        token: ta,
        key: key(),
        cents: 700,
    };
    let deposited = c.deposit(deposit.clone()).expect("deposit");
    let withdraw = AmountRequest {
        token: ta,
        key: key(),
        cents: 200,
    };
    let withdrawn = c.withdraw(withdraw.clone()).expect("withdraw");
    let transfer = TransferRequest {
        token: ta,
        key: key(),
        to: name("idem-bob"),
        cents: 1500,
    };
    let transferred = c.transfer(transfer.clone()).expect("transfer");
    let refused = AmountRequest {
        token: ta,
        key: key(),
        cents: 1_000_000,
    };
    assert_eq!(
        app_err(c.withdraw(refused.clone())),
        AccountError::InsufficientFunds
    );
    let rename = RenameRequest {
        token: tb,
        key: key(),
        name: name("idem-robert"),
    };
    let renamed = c.rename(rename.clone()).expect("rename");
    let change = PasswordRequest {
        token: ta,
        key: key(),
        old: password("alice's password"),
        new: password("alice's new password"),
    };
    c.change_password(change.clone()).expect("change password");
    let close = CloseRequest {
        token: tc,
        key: key(),
    };
    let closed = c.close(close.clone()).expect("close carol");
    assert_eq!(closed.status, AccountStatus::Closed);
    // Enough money for the refused withdrawal now: its replay must still be refused.
    c.deposit(AmountRequest {
        token: ta,
        key: key(),
        cents: 2_000_000,
    })
    .expect("deposit");

    // Keys belong to an account: bob's request under alice's deposit key is new, and his.
    let bobs = c
        .deposit(AmountRequest {
            token: tb,
            ..deposit.clone()
        })
        .expect("bob's deposit under alice's key");
    assert_ne!(bobs.entry_id, deposited.entry_id);
    assert_eq!(bobs.balance_cents, 1500 + 700);

    let first = First {
        open: (open, alice.clone()),
        deposit: (deposit, deposited),
        withdraw: (withdraw, withdrawn),
        transfer: (transfer, transferred),
        refused,
        rename: (rename, renamed),
        password: change,
        close: (close, closed),
    };
    let tokens = [ta, tb, tc];
    let before = state(&c, &tokens);
    assert_eq!(
        before[0].0.balance_cents,
        5000 + 700 - 200 - 1500 + 2_000_000
    );
    assert_eq!(before[1].0.balance_cents, 1500 + 700);
    assert_eq!(before[1].0.id, bob.id);

    first.replay(&c, ta);
    assert_eq!(state(&c, &tokens), before, "a replay changed something");

    // A graceful restart keeps the records (and the sessions).
    server.stop();
    let server = Server::start(dir.path());
    let c = server.unix_client();
    assert_eq!(state(&c, &tokens), before, "the restart changed something");
    first.replay(&c, ta);
    // From a new session of the same account too.
    let again = login(&c, "idem-alice", "alice's new password");
    first.replay(&c, again);
    assert_eq!(
        state(&c, &tokens),
        before,
        "a replay after the restart changed something"
    );
    server.stop();
}
