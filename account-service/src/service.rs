//! [`AccountService`]: the implementation of the `Accounts` RPC service over a [`Store`].
//!
//! Each method validates its request, does the CPU-heavy password work on blocking threads,
//! and leaves everything that touches the database to the store. Every method acts on the
//! session's own account; `transfer` names the recipient, and `list` shows other accounts'
//! names and status only.

use crate::auth::{self, Client, HashingStats, Passwords, Throttle};
use crate::config::Config;
use crate::db::{Audit, SqliteStore, WriterStats};
use crate::error::Error;
use crate::store::{
    Answer, Fingerprint, Keyed, LoginOutcome, NewAccount, NewName, NewPassword, NewSession,
    Payment, Replay, Store, TokenHash,
};
use crate::validate;
use account_client::api::{
    AccountError, AccountInfo, AccountStatus, AccountSummary, Accounts, AmountRequest, Auth,
    CloseRequest, Entry, HistoryRequest, ListRequest, LoginRequest, OpenRequest, Password,
    PasswordRequest, Receipt, RenameRequest, Session, TransferRequest,
};
use rpc_runtime::Wire;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The account service: implements [`Accounts`] on a [`Store`] (by default SQLite).
///
/// Cheap to clone: clones share the store, the writer and the login throttle. Serve it with
/// [`ServeAccounts`](crate::ServeAccounts):
///
/// ```no_run
/// use account_service::{AccountService, Config, ServeAccounts};
/// use rpc_runtime::Server;
///
/// let service = AccountService::open(Config::new("./accounts.db"))?;
/// let server = Server::builder()
///     .listen("tcp://127.0.0.1:7878".parse()?)
///     .serve(ServeAccounts::new(service.clone()))
///     .bind()?;
/// server.run()?;
/// service.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AccountService<S = SqliteStore> {
    inner: Arc<Inner<S>>,
}

#[derive(Debug)]
struct Inner<S> {
    store: S,
    passwords: Arc<Passwords>,
    throttle: Throttle,
    session_ttl: Duration,
}

impl<S> Clone for AccountService<S> {
    fn clone(&self) -> Self {
        AccountService {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl AccountService<SqliteStore> {
    /// Opens (creating and migrating as needed) the SQLite database of `config` and starts
    /// its writer.
    ///
    /// It blocks while it opens the file, migrates and makes one argon2 hash: call it before
    /// serving, not from async code.
    ///
    /// # Errors
    ///
    /// See [`SqliteStore::open`]; also [`Error::PasswordHashing`] for bad argon2 parameters.
    pub fn open(config: Config) -> Result<Self, Error> {
        let store = SqliteStore::open(&config)?;
        Self::with_store(store, &config)
    }

    /// Checks that the ledger balances: every balance is the sum of its account's entries, and
    /// the sum of all balances is the sum of the whole ledger.
    ///
    /// # Errors
    ///
    /// When the database cannot be read.
    pub async fn audit(&self) -> Result<Audit, Error> {
        self.inner.store.audit().await
    }

    /// How many transactions the writer ran and how many requests they held.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.store.writer_stats()
    }

    /// Stops the writer once it has committed every request already queued. Later writes
    /// fail with `StorageFailure`; reads keep working. Blocks until the writer is done: call
    /// it after the server has stopped.
    ///
    /// # Errors
    ///
    /// [`Error::WriterPanicked`] when the writer thread panicked.
    pub fn shutdown(&self) -> Result<(), Error> {
        self.inner.store.shutdown()
    }
}

impl<S: Store> AccountService<S> {
    /// Serves `store` with the session, hashing and throttling settings of `config` (its
    /// database settings are the store's business).
    ///
    /// # Errors
    ///
    /// [`Error::PasswordHashing`] for bad argon2 parameters, [`Error::Random`] when the OS has
    /// no randomness to give.
    pub fn with_store(store: S, config: &Config) -> Result<Self, Error> {
        Ok(AccountService {
            inner: Arc::new(Inner {
                store,
                passwords: Passwords::new(
                    config.password_hashing,
                    config.hashing_threads,
                    config.hashing_queue,
                )?,
                throttle: Throttle::new(config.login_throttle),
                session_ttl: config.session_ttl,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// What the password-hashing pool has done so far: hashes run, and jobs skipped (their
    /// caller gave up first) or refused (the queue was full).
    pub fn hashing_stats(&self) -> HashingStats {
        self.inner.passwords.stats()
    }

    /// The answer to a keyed request; a replay of a request that set a password holds only
    /// if the retry carries the same password.
    async fn settle<T>(
        &self,
        answer: Answer<T>,
        password: Option<Password>,
    ) -> Result<T, AccountError> {
        match answer {
            Answer::Fresh(result) => result,
            Answer::Replayed(replay) => self.replay(replay, password).await,
        }
    }

    async fn replay<T>(
        &self,
        replay: Replay<T>,
        password: Option<Password>,
    ) -> Result<T, AccountError> {
        if let (Some(secret), Some(password)) = (replay.secret, password)
            && !self.inner.passwords.verify(password, Some(secret)).await?
        {
            return Err(AccountError::IdempotencyConflict);
        }
        replay.result
    }
}

/// A session token is never part of a fingerprint.
const NO_TOKEN: [u8; 32] = [0; 32];

impl<S: Store> Accounts for AccountService<S> {
    async fn open(&self, r: OpenRequest) -> Result<AccountInfo, AccountError> {
        let (name, skeleton) = validate::new_name(&r.name)?;
        validate::password(&r.password)?;
        validate::opening_amount(r.initial_cents)?;
        let canonical = OpenRequest {
            name,
            password: Password::EMPTY,
            ..r.clone()
        };
        let fingerprint = Fingerprint::of("open", &canonical.pack());
        let password_hash = self.inner.passwords.hash(r.password).await?;
        let answer = self
            .inner
            .store
            .open_account(NewAccount {
                key: r.key,
                fingerprint,
                name,
                skeleton,
                password_hash,
                initial_cents: r.initial_cents,
            })
            .await;
        self.settle(answer, Some(r.password)).await
    }

    async fn login(&self, r: LoginRequest) -> Result<Session, AccountError> {
        // Only valid while the server polls this call: read before the first await.
        let client = Client::current();
        // No account can have an invalid name or password, so these fail like a wrong one.
        let Ok(name) = validate::name(&r.name) else {
            return Err(AccountError::InvalidCredentials);
        };
        if validate::password(&r.password).is_err() {
            return Err(AccountError::InvalidCredentials);
        }
        let inner = &self.inner;
        // Counted now, before the check: attempts sent together cannot all get through.
        let attempt = inner.throttle.begin(&name, client, Instant::now())?;
        // Then where every server counts (a no-op for a store only this server uses).
        let shared = match inner.store.login_attempt(name, client_key(client)).await {
            Ok(shared) => shared,
            Err(e) => {
                attempt.refund();
                return Err(e);
            }
        };
        let settle_shared = async |outcome| {
            if let Some(shared) = shared.clone() {
                inner.store.login_settled(shared, outcome).await;
            }
        };
        let checked = async {
            let mut credentials = inner.store.credentials(name).await?;
            if name != r.name {
                // A name stored before names were normalised, whose NFC form another account
                // has. Looked up whether or not the NFC form was found, so that the time
                // taken says nothing about which names exist.
                let legacy = inner.store.credentials(r.name).await?;
                credentials = credentials.or(legacy);
            }
            // An unknown name is verified against a dummy hash: same work, same reply.
            let hash = credentials.as_ref().map(|c| c.password_hash.clone());
            let verified = inner.passwords.verify(r.password, hash).await?;
            Ok(credentials.filter(|_| verified))
        };
        let credentials = match checked.await {
            Ok(Some(credentials)) => {
                attempt.succeeded();
                settle_shared(LoginOutcome::Succeeded).await;
                credentials
            }
            Ok(None) => {
                attempt.failed();
                settle_shared(LoginOutcome::Failed).await;
                return Err(AccountError::InvalidCredentials);
            }
            // Never checked (storage failed, or the hashing queue was full).
            Err(e) => {
                attempt.refund();
                settle_shared(LoginOutcome::Refunded).await;
                return Err(e);
            }
        };
        if credentials.status == AccountStatus::Closed {
            return Err(AccountError::AccountClosed);
        }
        let token = auth::new_token()?;
        let expires_at = inner
            .store
            .start_session(NewSession {
                account_id: credentials.account_id,
                password_hash: credentials.password_hash,
                token: TokenHash::of(&token),
                ttl: inner.session_ttl,
            })
            .await?;
        Ok(Session {
            token,
            account_id: credentials.account_id,
            expires_at,
        })
    }

    async fn logout(&self, r: Auth) -> Result<(), AccountError> {
        self.inner.store.end_session(TokenHash::of(&r.token)).await
    }

    async fn get(&self, r: Auth) -> Result<AccountInfo, AccountError> {
        self.inner.store.account(TokenHash::of(&r.token)).await
    }

    async fn list(&self, r: ListRequest) -> Result<Vec<AccountSummary>, AccountError> {
        validate::page(r.limit)?;
        let token = TokenHash::of(&r.token);
        self.inner.store.list(token, r.after_id, r.limit).await
    }

    async fn rename(&self, r: RenameRequest) -> Result<AccountInfo, AccountError> {
        let (name, skeleton) = validate::new_name(&r.name)?;
        let canonical = RenameRequest {
            token: NO_TOKEN,
            key: r.key,
            name,
        };
        let request = Keyed {
            token: TokenHash::of(&r.token),
            key: r.key,
            fingerprint: Fingerprint::of("rename", &canonical.pack()),
            args: NewName { name, skeleton },
        };
        let answer = self.inner.store.rename(request).await;
        self.settle(answer, None).await
    }

    async fn change_password(&self, r: PasswordRequest) -> Result<(), AccountError> {
        validate::password(&r.new)?;
        let canonical = PasswordRequest {
            token: NO_TOKEN,
            key: r.key,
            old: Password::EMPTY,
            new: Password::EMPTY,
        };
        let fingerprint = Fingerprint::of("change_password", &canonical.pack());
        let token = TokenHash::of(&r.token);
        let inner = &self.inner;
        // The replay check comes first: after the first attempt, the old password no longer
        // verifies.
        let (credentials, replay) = inner
            .store
            .password_context(token, r.key, fingerprint)
            .await?;
        if let Some(replay) = replay {
            return self.replay(replay, Some(r.new)).await;
        }
        if credentials.status == AccountStatus::Closed {
            return Err(AccountError::AccountClosed);
        }
        let old_hash = credentials.password_hash;
        if !inner
            .passwords
            .verify(r.old, Some(old_hash.clone()))
            .await?
        {
            return Err(AccountError::InvalidCredentials);
        }
        let new_hash = inner.passwords.hash(r.new).await?;
        let request = Keyed {
            token,
            key: r.key,
            fingerprint,
            args: NewPassword { old_hash, new_hash },
        };
        let answer = inner.store.change_password(request).await;
        self.settle(answer, Some(r.new)).await
    }

    async fn deposit(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        validate::amount(r.cents)?;
        let answer = self
            .inner
            .store
            .deposit(amount_request("deposit", &r))
            .await;
        self.settle(answer, None).await
    }

    async fn withdraw(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        validate::amount(r.cents)?;
        let answer = self
            .inner
            .store
            .withdraw(amount_request("withdraw", &r))
            .await;
        self.settle(answer, None).await
    }

    async fn transfer(&self, r: TransferRequest) -> Result<Receipt, AccountError> {
        let to = validate::name(&r.to)?;
        validate::amount(r.cents)?;
        let canonical = TransferRequest {
            token: NO_TOKEN,
            to,
            ..r.clone()
        };
        let request = Keyed {
            token: TokenHash::of(&r.token),
            key: r.key,
            fingerprint: Fingerprint::of("transfer", &canonical.pack()),
            args: Payment { to, cents: r.cents },
        };
        let answer = self.inner.store.transfer(request).await;
        self.settle(answer, None).await
    }

    async fn history(&self, r: HistoryRequest) -> Result<Vec<Entry>, AccountError> {
        validate::page(r.limit)?;
        let token = TokenHash::of(&r.token);
        self.inner.store.history(token, r.before_id, r.limit).await
    }

    async fn close(&self, r: CloseRequest) -> Result<AccountInfo, AccountError> {
        let canonical = CloseRequest {
            token: NO_TOKEN,
            key: r.key,
        };
        let request = Keyed {
            token: TokenHash::of(&r.token),
            key: r.key,
            fingerprint: Fingerprint::of("close", &canonical.pack()),
            args: (),
        };
        let answer = self.inner.store.close(request).await;
        self.settle(answer, None).await
    }
}

/// How the shared login throttle names a client: its IP address, or the transport.
fn client_key(client: Client) -> String {
    match client {
        Client::Ip(ip) => format!("ip:{ip}"),
        Client::Unix => "unix".to_owned(),
        Client::Local => "local".to_owned(),
    }
}

fn amount_request(method: &str, r: &AmountRequest) -> Keyed<i64> {
    let canonical = AmountRequest {
        token: NO_TOKEN,
        ..r.clone()
    };
    Keyed {
        token: TokenHash::of(&r.token),
        key: r.key,
        fingerprint: Fingerprint::of(method, &canonical.pack()),
        args: r.cents,
    }
}

#[cfg(test)]
mod tests;
