//! The service end to end, in process, on a temporary database file.

use super::*;
use account_client::api::{EntryKind, IdemKey, Name, Token};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

fn config(path: &Path) -> Config {
    let mut config = Config::new(path);
    config.password_hashing = crate::PasswordHashing::INSECURE_FAST;
    config.audit_each_batch = true;
    config
}

/// A service on a fresh database in its own temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
    service: AccountService,
}

impl Fixture {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(&dir.path().join("accounts.db"));
        adjust(&mut config);
        let service = AccountService::open(config).unwrap();
        Fixture { dir, service }
    }

    /// Stops the service and opens the same file again.
    fn restart(self) -> Self {
        self.service.shutdown().unwrap();
        let Fixture { dir, service } = self;
        drop(service);
        let service = AccountService::open(config(&dir.path().join("accounts.db"))).unwrap();
        Fixture { dir, service }
    }

    /// Opens `name` with `cents` (password "password-of-NAME") and logs in.
    async fn account(&self, name: &str, cents: i64) -> (AccountInfo, Token) {
        let info = self
            .service
            .open(OpenRequest {
                key: key(),
                name: n(name),
                password: pw(&format!("password-of-{name}")),
                initial_cents: cents,
            })
            .await
            .unwrap();
        let session = self
            .login(name, &format!("password-of-{name}"))
            .await
            .unwrap();
        assert_eq!(session.account_id, info.id);
        (info, session.token)
    }

    async fn login(&self, name: &str, password: &str) -> Result<Session, AccountError> {
        self.service
            .login(LoginRequest {
                name: n(name),
                password: pw(password),
            })
            .await
    }

    async fn get(&self, token: Token) -> Result<AccountInfo, AccountError> {
        self.service.get(Auth { token }).await
    }

    async fn balance(&self, token: Token) -> i64 {
        self.get(token).await.unwrap().balance_cents
    }

    async fn deposit(&self, token: Token, cents: i64) -> Result<Receipt, AccountError> {
        self.service.deposit(amount(token, key(), cents)).await
    }

    async fn withdraw(&self, token: Token, cents: i64) -> Result<Receipt, AccountError> {
        self.service.withdraw(amount(token, key(), cents)).await
    }

    async fn transfer(&self, token: Token, to: &str, cents: i64) -> Result<Receipt, AccountError> {
        self.service
            .transfer(transfer(token, key(), to, cents))
            .await
    }

    async fn history(&self, token: Token) -> Vec<Entry> {
        self.service
            .history(HistoryRequest {
                token,
                before_id: 0,
                limit: 1000,
            })
            .await
            .unwrap()
    }

    async fn assert_balanced(&self) -> Audit {
        let audit = self.service.audit().await.unwrap();
        assert!(audit.is_balanced(), "{audit:?}");
        audit
    }
}

fn n(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn pw(s: &str) -> Password {
    Password::new(s).unwrap()
}

/// A fresh idempotency key.
fn key() -> IdemKey {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut key = [0xAB; 16];
    key[..8].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    key
}

fn amount(token: Token, key: IdemKey, cents: i64) -> AmountRequest {
    AmountRequest { token, key, cents }
}

fn transfer(token: Token, key: IdemKey, to: &str, cents: i64) -> TransferRequest {
    TransferRequest {
        token,
        key,
        to: n(to),
        cents,
    }
}

mod money;
mod retries;
mod sessions;
