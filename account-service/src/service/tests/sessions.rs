//! Accounts, names, sessions and logins.

use super::*;

#[test]
fn open_login_get_and_logout() {
    smol::block_on(async {
        let f = Fixture::new();
        let (info, token) = f.account("alice", 1250).await;
        assert_eq!(info.name, "alice");
        assert_eq!(info.balance_cents, 1250);
        assert_eq!(info.status, AccountStatus::Open);
        assert!(info.created_at > 1_600_000_000);
        assert_eq!(f.get(token).await, Ok(info.clone()));
        let history = f.history(token).await;
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].kind, EntryKind::Opening);
        assert_eq!((history[0].cents, history[0].balance_after), (1250, 1250));

        // An account opened with nothing has no ledger entry.
        let (empty, empty_token) = f.account("bob", 0).await;
        assert_eq!(empty.balance_cents, 0);
        assert!(f.history(empty_token).await.is_empty());

        // Sessions expire 24 hours after login by default.
        let session = f.login("alice", "password-of-alice").await.unwrap();
        assert!((86_390..=86_410).contains(&(session.expires_at - info.created_at)));
        assert_ne!(session.token, token);

        assert_eq!(f.service.logout(Auth { token }).await, Ok(()));
        assert_eq!(f.get(token).await, Err(AccountError::Unauthenticated));
        assert_eq!(
            f.service.logout(Auth { token }).await,
            Err(AccountError::Unauthenticated)
        );
        // The other session lives on.
        assert_eq!(f.get(session.token).await.unwrap().id, info.id);
        assert_eq!(f.get([7; 32]).await, Err(AccountError::Unauthenticated));
        f.assert_balanced().await;
    });
}

#[test]
fn list_pages_through_accounts_by_id() {
    smol::block_on(async {
        let f = Fixture::new();
        let mut ids = Vec::new();
        let mut token = [0; 32];
        for name in ["a", "b", "c", "d", "e"] {
            let (info, t) = f.account(name, 0).await;
            ids.push(info.id);
            token = t;
        }
        let list = |after_id, limit| {
            f.service.list(ListRequest {
                token,
                after_id,
                limit,
            })
        };
        let all = list(0, 1000).await.unwrap();
        assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
        assert_eq!(all[2].name, "c");
        assert_eq!(all[2].status, AccountStatus::Open);
        let first = list(0, 2).await.unwrap();
        assert_eq!(first, all[..2]);
        let next = list(first[1].id, 2).await.unwrap();
        assert_eq!(next, all[2..4]);
        let last = list(next[1].id, 2).await.unwrap();
        assert_eq!(last, all[4..]);
        assert!(list(ids[4], 2).await.unwrap().is_empty());
        assert!(list(u64::MAX, 2).await.unwrap().is_empty());
        assert_eq!(list(0, 0).await, Err(AccountError::InvalidPage));
        assert_eq!(list(0, 1001).await, Err(AccountError::InvalidPage));
        assert_eq!(
            f.service
                .list(ListRequest {
                    token: [1; 32],
                    after_id: 0,
                    limit: 5
                })
                .await,
            Err(AccountError::Unauthenticated)
        );
    });
}

#[test]
fn names_are_checked_and_unique() {
    smol::block_on(async {
        let f = Fixture::new();
        let (alice, a) = f.account("alice", 0).await;
        f.account("bob", 0).await;
        let open = |name: &str, password: &str, initial_cents| {
            f.service.open(OpenRequest {
                key: key(),
                name: n(name),
                password: pw(password),
                initial_cents,
            })
        };
        assert_eq!(
            open("alice", "whatever1", 0).await,
            Err(AccountError::NameTaken)
        );
        assert_eq!(
            open("", "whatever1", 0).await,
            Err(AccountError::InvalidName)
        );
        assert_eq!(
            open("a\u{7}b", "whatever1", 0).await,
            Err(AccountError::InvalidName)
        );
        assert_eq!(
            open("carol", "short", 0).await,
            Err(AccountError::InvalidPassword)
        );
        assert_eq!(
            open("carol", "whatever1", -1).await,
            Err(AccountError::InvalidAmount)
        );

        let rename = |name: &str| {
            f.service.rename(RenameRequest {
                token: a,
                key: key(),
                name: n(name),
            })
        };
        assert_eq!(rename("bob").await, Err(AccountError::NameTaken));
        assert_eq!(rename("").await, Err(AccountError::InvalidName));
        assert_eq!(
            rename("alice").await.unwrap(),
            alice,
            "renaming to itself is a no-op"
        );
        let renamed = rename("alicia").await.unwrap();
        assert_eq!(renamed.name, "alicia");
        assert_eq!(renamed.id, alice.id);
        assert_eq!(
            f.login("alice", "password-of-alice").await,
            Err(AccountError::InvalidCredentials)
        );
        assert!(f.login("alicia", "password-of-alice").await.is_ok());
        // The old name is free again.
        assert!(open("alice", "whatever1", 0).await.is_ok());
        assert_eq!(
            f.service
                .rename(RenameRequest {
                    token: [3; 32],
                    key: key(),
                    name: n("mallory")
                })
                .await,
            Err(AccountError::Unauthenticated)
        );
    });
}

#[test]
fn sql_metacharacters_in_names_are_just_names() {
    smol::block_on(async {
        let f = Fixture::new();
        let tricky = [
            "Robert'); DROP TABLE accounts;--",
            "x' OR '1'='1",
            "\"; DELETE FROM ledger; --",
            "%_\\*?[]{}",
        ];
        let (_, a) = f.account("alice", 100).await;
        for name in tricky {
            let (info, token) = f.account(name, 5).await;
            assert_eq!(info.name, name);
            assert_eq!(f.get(token).await.unwrap().name, name);
            f.transfer(a, name, 1).await.unwrap();
            assert_eq!(f.balance(token).await, 6);
        }
        // Patterns match nothing but themselves.
        assert_eq!(
            f.transfer(a, "x' OR '1'='2", 1).await,
            Err(AccountError::RecipientNotFound)
        );
        assert_eq!(
            f.login("x' OR '1'='1", "' OR '1'='1' --").await,
            Err(AccountError::InvalidCredentials)
        );
        let all = f
            .service
            .list(ListRequest {
                token: a,
                after_id: 0,
                limit: 100,
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 1 + tricky.len());
        assert_eq!(f.balance(a).await, 96);
        f.assert_balanced().await;
    });
}

#[test]
fn change_password_ends_the_other_sessions() {
    smol::block_on(async {
        let f = Fixture::new();
        let (_, a) = f.account("alice", 0).await;
        let other = f.login("alice", "password-of-alice").await.unwrap().token;
        let change = |old: &str, new: &str| {
            f.service.change_password(PasswordRequest {
                token: a,
                key: key(),
                old: pw(old),
                new: pw(new),
            })
        };
        assert_eq!(
            change("wrong-password", "new-password").await,
            Err(AccountError::InvalidCredentials)
        );
        assert_eq!(
            change("password-of-alice", "short").await,
            Err(AccountError::InvalidPassword)
        );
        assert_eq!(change("password-of-alice", "new-password").await, Ok(()));
        assert_eq!(f.get(other).await, Err(AccountError::Unauthenticated));
        assert!(f.get(a).await.is_ok(), "the session that changed it stays");
        assert_eq!(
            f.login("alice", "password-of-alice").await,
            Err(AccountError::InvalidCredentials)
        );
        assert!(f.login("alice", "new-password").await.is_ok());
        assert_eq!(
            f.service
                .change_password(PasswordRequest {
                    token: other,
                    key: key(),
                    old: pw("new-password"),
                    new: pw("newer-password"),
                })
                .await,
            Err(AccountError::Unauthenticated)
        );
    });
}

#[test]
fn failed_logins_look_alike_and_are_throttled() {
    smol::block_on(async {
        let f = Fixture::with(|c| c.login_throttle.lockout = Duration::from_secs(3600));
        f.account("alice", 0).await;
        let unknown = f.login("nobody", "password-of-alice").await;
        let wrong = f.login("alice", "not-the-password").await;
        assert_eq!(unknown, Err(AccountError::InvalidCredentials));
        assert_eq!(unknown, wrong);
        // The bytes on the wire are identical.
        assert_eq!(
            rpc_runtime::Reply::from_result(unknown),
            rpc_runtime::Reply::from_result(wrong)
        );
        assert_eq!(
            f.login("", "whatever1").await,
            Err(AccountError::InvalidCredentials)
        );
        assert_eq!(
            f.login("alice", "short").await,
            Err(AccountError::InvalidCredentials)
        );

        // A success forgets the failure so far; then five failures lock the name.
        assert!(f.login("alice", "password-of-alice").await.is_ok());
        for _ in 0..5 {
            assert_eq!(
                f.login("alice", "not-the-password").await,
                Err(AccountError::InvalidCredentials)
            );
        }
        assert_eq!(
            f.login("alice", "password-of-alice").await,
            Err(AccountError::Throttled)
        );
        // A name that does not exist is throttled the same way.
        for _ in 0..4 {
            let _ = f.login("nobody", "whatever1").await;
        }
        assert_eq!(
            f.login("nobody", "whatever1").await,
            Err(AccountError::Throttled)
        );
        // Other names are unaffected.
        assert_eq!(
            f.login("carol", "whatever1").await,
            Err(AccountError::InvalidCredentials)
        );
    });
}

#[test]
fn expired_sessions_are_refused() {
    smol::block_on(async {
        let f = Fixture::with(|c| c.session_ttl = Duration::ZERO);
        f.service
            .open(OpenRequest {
                key: key(),
                name: n("alice"),
                password: pw("password-of-alice"),
                initial_cents: 10,
            })
            .await
            .unwrap();
        let session = f.login("alice", "password-of-alice").await.unwrap();
        assert_eq!(
            f.get(session.token).await,
            Err(AccountError::Unauthenticated)
        );
        assert_eq!(
            f.deposit(session.token, 5).await,
            Err(AccountError::Unauthenticated)
        );
        assert_eq!(
            f.service
                .logout(Auth {
                    token: session.token
                })
                .await,
            Err(AccountError::Unauthenticated)
        );
    });
}

#[test]
fn concurrent_guesses_never_exceed_the_budget() {
    smol::block_on(async {
        let f = Fixture::new();
        f.account("alice", 0).await;
        // Fifty guesses at once; each is counted before its password is checked.
        let guesses: Vec<_> = (0..50)
            .map(|i| {
                let service = f.service.clone();
                smol::spawn(async move {
                    service
                        .login(LoginRequest {
                            name: n("alice"),
                            password: pw(&format!("wrong guess {i}")),
                        })
                        .await
                })
            })
            .collect();
        let mut checked = 0;
        for guess in guesses {
            match guess.await {
                Err(AccountError::InvalidCredentials) => checked += 1,
                Err(AccountError::Throttled) => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(checked <= 5, "{checked} guesses were checked");
        assert_eq!(f.service.hashing_stats().ran, 1 + 1 + checked);
    });
}

/// The same work for a real name and an unknown one, counted rather than timed: each failed
/// login runs exactly one argon2 verification (against the dummy hash, made with the same
/// parameters, when the name is unknown), so their times differ only by noise.
#[test]
fn failed_logins_hash_once_whether_or_not_the_name_exists() {
    smol::block_on(async {
        let f = Fixture::new();
        f.account("alice", 0).await;
        let hashes_for = |who: &'static str| {
            let f = &f;
            async move {
                let before = f.service.hashing_stats().ran;
                let reply = f.login(who, "a wrong password").await;
                assert_eq!(reply, Err(AccountError::InvalidCredentials), "{who}");
                f.service.hashing_stats().ran - before
            }
        };
        assert_eq!(hashes_for("alice").await, 1, "a real name");
        assert_eq!(hashes_for("nobody-here").await, 1, "an unknown name");
    });
}
