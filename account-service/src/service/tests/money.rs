//! Money movements, closing, concurrency, and where argon2 runs.

use super::*;

#[test]
fn deposit_withdraw_transfer_and_history() {
    smol::block_on(async {
        let f = Fixture::new();
        let (alice, a) = f.account("alice", 1000).await;
        let (bob, b) = f.account("bob", 0).await;

        let r = f.deposit(a, 250).await.unwrap();
        assert_eq!(r.balance_cents, 1250);
        let r = f.withdraw(a, 50).await.unwrap();
        assert_eq!(r.balance_cents, 1200);
        let r = f.transfer(a, "bob", 200).await.unwrap();
        assert_eq!(r.balance_cents, 1000);
        assert_eq!(f.balance(a).await, 1000);
        assert_eq!(f.balance(b).await, 200);

        let history = f.history(a).await;
        let kinds: Vec<_> = history
            .iter()
            .map(|e| (e.kind, e.cents, e.balance_after))
            .collect();
        assert_eq!(
            kinds,
            [
                (EntryKind::TransferOut, -200, 1000),
                (EntryKind::Withdrawal, -50, 1200),
                (EntryKind::Deposit, 250, 1250),
                (EntryKind::Opening, 1000, 1000),
            ]
        );
        assert_eq!(history[0].id, r.entry_id);
        assert_eq!(history[0].counterparty, "bob");
        assert_eq!(history[1].counterparty, "");
        assert!(
            history.windows(2).all(|w| w[0].id > w[1].id),
            "newest first"
        );

        let theirs = f.history(b).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].kind, EntryKind::TransferIn);
        assert_eq!((theirs[0].cents, theirs[0].balance_after), (200, 200));
        assert_eq!(theirs[0].counterparty, "alice");

        // Paging: two at a time, then what comes before the last one seen.
        let page = |before_id, limit| {
            f.service.history(HistoryRequest {
                token: a,
                before_id,
                limit,
            })
        };
        let first = page(0, 2).await.unwrap();
        assert_eq!(first, history[..2]);
        let second = page(first[1].id, 2).await.unwrap();
        assert_eq!(second, history[2..]);
        assert!(page(history[3].id, 2).await.unwrap().is_empty());
        assert_eq!(page(0, 0).await, Err(AccountError::InvalidPage));
        assert_eq!(page(0, 1001).await, Err(AccountError::InvalidPage));
        assert_eq!(
            f.service
                .history(HistoryRequest {
                    token: [9; 32],
                    before_id: 0,
                    limit: 10
                })
                .await,
            Err(AccountError::Unauthenticated)
        );
        assert_ne!(alice.id, bob.id);
        f.assert_balanced().await;
    });
}

#[test]
fn closed_accounts_keep_their_history_but_nothing_else() {
    smol::block_on(async {
        let f = Fixture::new();
        let (_, a) = f.account("alice", 100).await;
        let (_, b) = f.account("bob", 0).await;
        let close = |token| f.service.close(CloseRequest { token, key: key() });
        assert_eq!(close(a).await, Err(AccountError::NonZeroBalance));
        f.transfer(a, "bob", 100).await.unwrap();
        let closed = close(a).await.unwrap();
        assert_eq!(closed.status, AccountStatus::Closed);
        assert_eq!(closed.balance_cents, 0);

        assert_eq!(close(a).await, Err(AccountError::AccountClosed));
        assert_eq!(f.deposit(a, 1).await, Err(AccountError::AccountClosed));
        assert_eq!(f.withdraw(a, 1).await, Err(AccountError::AccountClosed));
        assert_eq!(
            f.transfer(a, "bob", 1).await,
            Err(AccountError::AccountClosed)
        );
        assert_eq!(
            f.service
                .rename(RenameRequest {
                    token: a,
                    key: key(),
                    name: n("zombie")
                })
                .await,
            Err(AccountError::AccountClosed)
        );
        assert_eq!(
            f.service
                .change_password(PasswordRequest {
                    token: a,
                    key: key(),
                    old: pw("password-of-alice"),
                    new: pw("another-password"),
                })
                .await,
            Err(AccountError::AccountClosed)
        );
        assert_eq!(
            f.transfer(b, "alice", 1).await,
            Err(AccountError::RecipientNotFound)
        );
        assert_eq!(
            f.login("alice", "password-of-alice").await,
            Err(AccountError::AccountClosed)
        );
        assert_eq!(
            f.login("alice", "wrong-password").await,
            Err(AccountError::InvalidCredentials)
        );
        // The owner's session can still read the account and its statement.
        assert_eq!(f.get(a).await.unwrap().status, AccountStatus::Closed);
        assert_eq!(f.history(a).await.len(), 2);
        f.assert_balanced().await;
    });
}

#[test]
fn refused_money_movements_change_nothing() {
    smol::block_on(async {
        let f = Fixture::new();
        let (_, a) = f.account("alice", 100).await;
        let (_, b) = f.account("bob", i64::MAX - 10).await;
        let before = f.assert_balanced().await;

        for cents in [0, -1, -100, i64::MIN] {
            assert_eq!(f.deposit(a, cents).await, Err(AccountError::InvalidAmount));
            assert_eq!(f.withdraw(a, cents).await, Err(AccountError::InvalidAmount));
            assert_eq!(
                f.transfer(a, "bob", cents).await,
                Err(AccountError::InvalidAmount)
            );
        }
        assert_eq!(
            f.withdraw(a, 101).await,
            Err(AccountError::InsufficientFunds)
        );
        assert_eq!(
            f.transfer(a, "bob", 101).await,
            Err(AccountError::InsufficientFunds)
        );
        assert_eq!(f.deposit(b, 11).await, Err(AccountError::Overflow));
        assert_eq!(f.deposit(b, i64::MAX).await, Err(AccountError::Overflow));
        assert_eq!(f.transfer(a, "bob", 11).await, Err(AccountError::Overflow));
        assert_eq!(
            f.transfer(a, "alice", 1).await,
            Err(AccountError::SameAccount)
        );
        assert_eq!(
            f.transfer(a, "nobody", 1).await,
            Err(AccountError::RecipientNotFound)
        );
        assert_eq!(f.transfer(a, "", 1).await, Err(AccountError::InvalidName));

        assert_eq!(f.balance(a).await, 100);
        assert_eq!(f.balance(b).await, i64::MAX - 10);
        assert_eq!(f.history(a).await.len(), 1);
        assert_eq!(f.history(b).await.len(), 1);
        let after = f.assert_balanced().await;
        assert_eq!(after, before);
        assert_eq!(after.total_balance, 100 + i128::from(i64::MAX - 10));

        // Up to the limit works.
        assert_eq!(f.deposit(b, 10).await.unwrap().balance_cents, i64::MAX);
        assert_eq!(f.withdraw(a, 100).await.unwrap().balance_cents, 0);
        f.assert_balanced().await;
    });
}

#[test]
fn concurrent_transfers_keep_the_total_and_the_ledger() {
    const ACCOUNTS: usize = 8;
    const TASKS: usize = 32;
    const TRANSFERS: usize = 20;
    smol::block_on(async {
        let f = Fixture::new();
        let mut tokens = Vec::new();
        for i in 0..ACCOUNTS {
            tokens.push(f.account(&format!("acct{i}"), 1000).await.1);
        }
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let service = f.service.clone();
                let tokens = tokens.clone();
                smol::spawn(async move {
                    // A small deterministic generator per task.
                    let mut seed = (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let mut next = move || {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed
                    };
                    let mut sent = 0u32;
                    for _ in 0..TRANSFERS {
                        let from = next() as usize % ACCOUNTS;
                        let to = (from + 1 + next() as usize % (ACCOUNTS - 1)) % ACCOUNTS;
                        let cents = (next() % 300) as i64 + 1;
                        let request = transfer(tokens[from], key(), &format!("acct{to}"), cents);
                        match service.transfer(request).await {
                            Ok(_) => sent += 1,
                            Err(AccountError::InsufficientFunds) => {}
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    sent
                })
            })
            .collect();
        let mut sent = 0;
        for task in tasks {
            sent += task.await;
        }
        assert!(sent > 0);
        let mut total = 0;
        let mut outs = 0;
        for token in &tokens {
            total += f.balance(*token).await;
            outs += f
                .history(*token)
                .await
                .iter()
                .filter(|e| e.kind == EntryKind::TransferOut)
                .count();
        }
        assert_eq!(total, 1000 * ACCOUNTS as i64);
        assert_eq!(
            outs, sent as usize,
            "every acknowledged transfer is in the ledger"
        );
        let audit = f.assert_balanced().await;
        assert_eq!(audit.total_ledger, 1000 * ACCOUNTS as i128);
        let stats = f.service.writer_stats();
        assert!(stats.requests >= (TASKS * TRANSFERS) as u64);
        assert!(stats.batches <= stats.requests);
    });
}

#[test]
fn argon2_runs_off_the_executor_and_the_writer() {
    smol::block_on(async {
        let f = Fixture::with(|c| {
            c.hashing_threads = 2;
            // Sixteen logins at once from one client would otherwise be throttled.
            c.login_throttle.max_failures = 100;
        });
        let (_, a) = f.account("alice", 0).await;
        let logins: Vec<_> = (0..16)
            .map(|_| {
                let service = f.service.clone();
                smol::spawn(async move {
                    service
                        .login(LoginRequest {
                            name: n("alice"),
                            password: pw("password-of-alice"),
                        })
                        .await
                })
            })
            .collect();
        let deposits: Vec<_> = (0..16)
            .map(|_| {
                let service = f.service.clone();
                smol::spawn(async move { service.deposit(amount(a, key(), 1)).await })
            })
            .collect();
        for login in logins {
            login.await.unwrap();
        }
        for deposit in deposits {
            deposit.await.unwrap();
        }
        assert_eq!(f.balance(a).await, 16);
        // This service's argon2 runs (recorded by the code that calls argon2, on the thread it
        // runs on) all happened on its two hashing threads: never on the writer, never on the
        // thread driving the executor, never on smol's blocking pool.
        let threads = std::mem::take(&mut *f.service.inner.passwords.threads.lock().unwrap());
        assert_eq!(threads.len(), 18, "one hash and seventeen verifications");
        for name in &threads {
            assert!(
                name == "argon2-0" || name == "argon2-1",
                "argon2 ran on {name:?}"
            );
            assert_ne!(name, crate::db::WRITER_THREAD);
        }
        assert_eq!(f.service.hashing_stats().ran, 18);
    });
}
