//! Idempotent retries, restarts and shutdown.

use super::*;

#[test]
fn a_retry_returns_the_first_answer_and_changes_nothing() {
    smol::block_on(async {
        let f = Fixture::new();
        let (_, a) = f.account("alice", 100).await;
        let (_, b) = f.account("bob", 0).await;

        let k = key();
        let first = f.service.deposit(amount(a, k, 50)).await.unwrap();
        let again = f.service.deposit(amount(a, k, 50)).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(f.balance(a).await, 150);
        assert_eq!(f.history(a).await.len(), 2);

        // The same key with another request is refused, whatever the method.
        assert_eq!(
            f.service.deposit(amount(a, k, 51)).await,
            Err(AccountError::IdempotencyConflict)
        );
        assert_eq!(
            f.service.withdraw(amount(a, k, 50)).await,
            Err(AccountError::IdempotencyConflict)
        );
        assert_eq!(
            f.service.transfer(transfer(a, k, "bob", 50)).await,
            Err(AccountError::IdempotencyConflict)
        );

        // A refusal is an answer too: the retry repeats it even though it would now succeed.
        let k = key();
        assert_eq!(
            f.service.withdraw(amount(a, k, 200)).await,
            Err(AccountError::InsufficientFunds)
        );
        f.deposit(a, 100).await.unwrap();
        assert_eq!(
            f.service.withdraw(amount(a, k, 200)).await,
            Err(AccountError::InsufficientFunds)
        );
        assert_eq!(f.balance(a).await, 250);

        // Transfers apply once.
        let k = key();
        let sent = f.service.transfer(transfer(a, k, "bob", 30)).await.unwrap();
        assert_eq!(
            f.service.transfer(transfer(a, k, "bob", 30)).await,
            Ok(sent.clone())
        );
        assert_eq!(f.balance(b).await, 30);
        assert_eq!(
            f.service.transfer(transfer(a, k, "carol", 30)).await,
            Err(AccountError::IdempotencyConflict)
        );

        // The retry may come from a new session of the same account...
        let relogged = f.login("alice", "password-of-alice").await.unwrap().token;
        assert_eq!(
            f.service.transfer(transfer(relogged, k, "bob", 30)).await,
            Ok(sent.clone())
        );
        // ...but keys belong to their account: bob's use of the same key is his own request.
        f.deposit(b, 100).await.unwrap();
        let bobs = f
            .service
            .transfer(transfer(b, k, "alice", 30))
            .await
            .unwrap();
        assert_ne!(bobs, sent);
        assert_eq!(f.balance(b).await, 100);

        // Keys of rename and close too.
        let k = key();
        let renamed = f
            .service
            .rename(RenameRequest {
                token: b,
                key: k,
                name: n("robert"),
            })
            .await
            .unwrap();
        f.service
            .rename(RenameRequest {
                token: b,
                key: key(),
                name: n("bob"),
            })
            .await
            .unwrap();
        let replayed = f
            .service
            .rename(RenameRequest {
                token: b,
                key: k,
                name: n("robert"),
            })
            .await
            .unwrap();
        assert_eq!(replayed, renamed, "the first answer, not the current state");
        assert_eq!(f.get(b).await.unwrap().name, "bob");
        f.assert_balanced().await;
    });
}

#[test]
fn retries_of_password_requests_must_carry_the_same_password() {
    smol::block_on(async {
        let f = Fixture::new();
        let open = |k, password: &str| {
            f.service.open(OpenRequest {
                key: k,
                name: n("alice"),
                password: pw(password),
                initial_cents: 10,
            })
        };
        let k = key();
        let first = open(k, "password-one").await.unwrap();
        assert_eq!(open(k, "password-one").await, Ok(first.clone()));
        assert_eq!(
            open(k, "password-two").await,
            Err(AccountError::IdempotencyConflict)
        );
        assert_eq!(
            f.service
                .open(OpenRequest {
                    key: k,
                    name: n("alice"),
                    password: pw("password-one"),
                    initial_cents: 11,
                })
                .await,
            Err(AccountError::IdempotencyConflict)
        );
        // A new key for the same name is a new request: the name is taken.
        assert_eq!(
            open(key(), "password-one").await,
            Err(AccountError::NameTaken)
        );

        let token = f.login("alice", "password-one").await.unwrap().token;
        let change = |k, old: &str, new: &str| {
            f.service.change_password(PasswordRequest {
                token,
                key: k,
                old: pw(old),
                new: pw(new),
            })
        };
        let k = key();
        assert_eq!(change(k, "password-one", "password-two").await, Ok(()));
        // The old password no longer verifies, yet the retry gets the first answer.
        assert_eq!(change(k, "password-one", "password-two").await, Ok(()));
        assert_eq!(
            change(k, "password-one", "password-three").await,
            Err(AccountError::IdempotencyConflict)
        );
        assert!(f.login("alice", "password-two").await.is_ok());
        assert_eq!(f.history(token).await.len(), 1);
        // A wrong old password is not recorded: the same key may try again.
        let k = key();
        assert_eq!(
            change(k, "wrong-password", "password-three").await,
            Err(AccountError::InvalidCredentials)
        );
        assert_eq!(change(k, "password-two", "password-three").await, Ok(()));
    });
}

#[test]
fn retries_and_sessions_survive_a_restart() {
    let f = Fixture::new();
    let (a, k, first) = smol::block_on(async {
        let (_, a) = f.account("alice", 100).await;
        let k = key();
        let first = f.service.deposit(amount(a, k, 50)).await.unwrap();
        (a, k, first)
    });
    let f = f.restart();
    smol::block_on(async {
        assert_eq!(f.get(a).await.unwrap().balance_cents, 150);
        assert_eq!(f.service.deposit(amount(a, k, 50)).await, Ok(first));
        assert_eq!(
            f.service.deposit(amount(a, k, 60)).await,
            Err(AccountError::IdempotencyConflict)
        );
        assert_eq!(f.balance(a).await, 150);
        assert_eq!(f.history(a).await.len(), 2);
        f.assert_balanced().await;
    });
}

#[test]
fn writes_after_shutdown_fail_and_reads_go_on() {
    smol::block_on(async {
        let f = Fixture::new();
        let (_, a) = f.account("alice", 100).await;
        f.service.shutdown().unwrap();
        assert_eq!(f.deposit(a, 1).await, Err(AccountError::StorageFailure));
        assert_eq!(f.balance(a).await, 100);
    });
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", crate::SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = AccountService::open(config(&path)).unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err:?}");
}

#[test]
fn one_database_serves_one_service_at_a_time() {
    let f = Fixture::new();
    let path = f.dir.path().join("accounts.db");
    let err = AccountService::open(config(&path)).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("in use by another"), "{err}");
    // The first goes on; once it is gone, the database opens again.
    smol::block_on(f.account("alice", 1));
    let f = f.restart();
    assert!(smol::block_on(f.login("alice", "password-of-alice")).is_ok());
}

#[test]
fn the_database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    smol::block_on(f.account("alice", 1));
    for file in ["accounts.db", "accounts.db-wal", "accounts.db-shm"] {
        let path = f.dir.path().join(file);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
}
