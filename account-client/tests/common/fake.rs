//! An in-memory stand-in for the account service: the same rules as the real one, kept in a
//! `HashMap` behind a mutex, so the CLI can be tested without SQLite.
//!
//! Like the real service it answers a repeated idempotency key with the first answer (and a
//! key reused for another request with `IdempotencyConflict`). [`Fake::hold_replies`] makes
//! it commit a mutation and then sit on the answer, as a server under load whose reply comes
//! too late for the client.

use account_client::api::*;
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Timestamps are fixed so output can be compared exactly: entry `n` happens at `EPOCH + n`.
pub const EPOCH: i64 = 1_700_000_000;

/// The fake service.
#[derive(Debug, Default)]
pub struct Fake {
    state: Mutex<State>,
    hold: Hold,
}

/// How many of the next answers to mutations the fake holds back after applying them.
#[derive(Debug, Clone, Default)]
pub struct Hold(Arc<AtomicU64>);

impl Hold {
    /// Holds each of the next `answers` answers to a mutation for a minute, far longer than
    /// any client in these tests waits; 0 answers promptly again.
    pub fn next(&self, answers: u64) {
        self.0.store(answers, Ordering::SeqCst);
    }

    /// Whether to hold this answer (and count it).
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Fake {
    /// The switch that makes this fake hold its answers.
    pub fn hold_replies(&self) -> Hold {
        self.hold.clone()
    }

    /// Applies a keyed mutation once: a repeated key with the same `request` gets the first
    /// answer, with another request `IdempotencyConflict`. Like the real service, an
    /// `Unauthenticated` answer is not recorded (nothing happened; the key stays unused).
    async fn keyed<T: Clone + Send + 'static>(
        &self,
        key: IdemKey,
        request: String,
        body: impl FnOnce(&mut State) -> Result<T, AccountError>,
    ) -> Result<T, AccountError> {
        let reply = {
            let mut s = self.state.lock().unwrap();
            match s.keys.get(&key) {
                Some(first) if first.request == request => first
                    .reply
                    .downcast_ref::<Result<T, AccountError>>()
                    .cloned()
                    .unwrap_or(Err(AccountError::IdempotencyConflict)),
                Some(_) => Err(AccountError::IdempotencyConflict),
                None => {
                    let reply = body(&mut s);
                    if !matches!(reply, Err(AccountError::Unauthenticated)) {
                        let reply = Box::new(reply.clone());
                        s.keys.insert(key, Recorded { request, reply });
                    }
                    reply
                }
            }
        };
        if self.hold.take() {
            // The client gives up long before; its `Cancel` drops this wait.
            smol::Timer::after(Duration::from_secs(60)).await;
        }
        reply
    }
}

#[derive(Debug, Default)]
struct State {
    accounts: HashMap<u64, Account>,
    sessions: HashMap<Token, u64>,
    ledger: Vec<(u64, Entry)>,
    keys: HashMap<IdemKey, Recorded>,
    issued: u64,
}

/// What the fake remembers of a keyed request: what was asked, and the first answer.
#[derive(Debug)]
struct Recorded {
    request: String,
    reply: Box<dyn Any + Send>,
}

#[derive(Debug)]
struct Account {
    name: String,
    password: String,
    balance: i64,
    status: AccountStatus,
}

impl State {
    fn auth(&self, token: &Token) -> Result<u64, AccountError> {
        self.sessions
            .get(token)
            .copied()
            .ok_or(AccountError::Unauthenticated)
    }

    fn by_name(&self, name: &str) -> Option<u64> {
        self.accounts
            .iter()
            .find(|(_, a)| a.name == name && a.status == AccountStatus::Open)
            .map(|(id, _)| *id)
    }

    fn info(&self, id: u64) -> AccountInfo {
        let a = &self.accounts[&id];
        AccountInfo {
            id,
            name: Name::new(&a.name).unwrap(),
            balance_cents: a.balance,
            status: a.status,
            created_at: EPOCH,
        }
    }

    fn record(&mut self, account: u64, kind: EntryKind, cents: i64, other: &str) -> Receipt {
        let id = self.ledger.len() as u64 + 1;
        let balance_after = self.accounts[&account].balance;
        let entry = Entry {
            id,
            kind,
            cents,
            balance_after,
            counterparty: Name::new(other).unwrap(),
            at: EPOCH + id as i64,
        };
        self.ledger.push((account, entry));
        Receipt {
            entry_id: id,
            balance_cents: balance_after,
            at: EPOCH + id as i64,
        }
    }

    fn adjust(&mut self, account: u64, cents: i64) -> Result<(), AccountError> {
        let balance = &mut self.accounts.get_mut(&account).unwrap().balance;
        let after = balance.checked_add(cents).ok_or(AccountError::Overflow)?;
        if after < 0 {
            return Err(AccountError::InsufficientFunds);
        }
        *balance = after;
        Ok(())
    }
}

fn valid_name(name: &str) -> Result<(), AccountError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(AccountError::InvalidName);
    }
    Ok(())
}

fn valid_password(password: &str) -> Result<(), AccountError> {
    if password.len() < 8 {
        return Err(AccountError::InvalidPassword);
    }
    Ok(())
}

fn valid_amount(cents: i64) -> Result<(), AccountError> {
    if cents <= 0 {
        return Err(AccountError::InvalidAmount);
    }
    Ok(())
}

impl Accounts for Fake {
    async fn open(&self, r: OpenRequest) -> Result<AccountInfo, AccountError> {
        let request = format!("open {:?} {:?} {}", r.name, r.password, r.initial_cents);
        self.keyed(r.key, request, |s| {
            valid_name(&r.name)?;
            valid_password(&r.password)?;
            if r.initial_cents < 0 {
                return Err(AccountError::InvalidAmount);
            }
            if s.accounts.values().any(|a| a.name == r.name.as_str()) {
                return Err(AccountError::NameTaken);
            }
            let id = s.accounts.len() as u64 + 1;
            let account = Account {
                name: r.name.to_string(),
                password: r.password.to_string(),
                balance: r.initial_cents,
                status: AccountStatus::Open,
            };
            s.accounts.insert(id, account);
            if r.initial_cents > 0 {
                s.record(id, EntryKind::Opening, r.initial_cents, "");
            }
            Ok(s.info(id))
        })
        .await
    }

    async fn login(&self, r: LoginRequest) -> Result<Session, AccountError> {
        let mut s = self.state.lock().unwrap();
        let id = s
            .by_name(&r.name)
            .filter(|id| s.accounts[id].password == r.password.as_str())
            .ok_or(AccountError::InvalidCredentials)?;
        s.issued += 1;
        let mut token = [0xa5; 32];
        token[..8].copy_from_slice(&s.issued.to_be_bytes());
        s.sessions.insert(token, id);
        Ok(Session {
            token,
            account_id: id,
            expires_at: now() + 3600,
        })
    }

    async fn logout(&self, r: Auth) -> Result<(), AccountError> {
        let mut s = self.state.lock().unwrap();
        s.auth(&r.token)?;
        s.sessions.remove(&r.token);
        Ok(())
    }

    async fn get(&self, r: Auth) -> Result<AccountInfo, AccountError> {
        let s = self.state.lock().unwrap();
        let id = s.auth(&r.token)?;
        Ok(s.info(id))
    }

    async fn list(&self, r: ListRequest) -> Result<Vec<AccountSummary>, AccountError> {
        let s = self.state.lock().unwrap();
        s.auth(&r.token)?;
        if r.limit == 0 || r.limit > 1000 {
            return Err(AccountError::InvalidPage);
        }
        let mut ids: Vec<u64> = s
            .accounts
            .keys()
            .copied()
            .filter(|id| *id > r.after_id)
            .collect();
        ids.sort_unstable();
        ids.truncate(r.limit as usize);
        Ok(ids
            .into_iter()
            .map(|id| {
                let info = s.info(id);
                AccountSummary {
                    id,
                    name: info.name,
                    status: info.status,
                }
            })
            .collect())
    }

    async fn rename(&self, r: RenameRequest) -> Result<AccountInfo, AccountError> {
        self.keyed(r.key, format!("rename {:?}", r.name), |s| {
            let id = s.auth(&r.token)?;
            valid_name(&r.name)?;
            if s.accounts.values().any(|a| a.name == r.name.as_str()) {
                return Err(AccountError::NameTaken);
            }
            s.accounts.get_mut(&id).unwrap().name = r.name.to_string();
            Ok(s.info(id))
        })
        .await
    }

    async fn change_password(&self, r: PasswordRequest) -> Result<(), AccountError> {
        let request = format!("passwd {:?} {:?}", r.old, r.new);
        self.keyed(r.key, request, |s| {
            let id = s.auth(&r.token)?;
            if s.accounts[&id].password != r.old.as_str() {
                return Err(AccountError::InvalidCredentials);
            }
            valid_password(&r.new)?;
            s.accounts.get_mut(&id).unwrap().password = r.new.to_string();
            s.sessions
                .retain(|token, owner| *owner != id || *token == r.token);
            Ok(())
        })
        .await
    }

    async fn deposit(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        self.keyed(r.key, format!("deposit {}", r.cents), |s| {
            let id = s.auth(&r.token)?;
            valid_amount(r.cents)?;
            s.adjust(id, r.cents)?;
            Ok(s.record(id, EntryKind::Deposit, r.cents, ""))
        })
        .await
    }

    async fn withdraw(&self, r: AmountRequest) -> Result<Receipt, AccountError> {
        self.keyed(r.key, format!("withdraw {}", r.cents), |s| {
            let id = s.auth(&r.token)?;
            valid_amount(r.cents)?;
            s.adjust(id, -r.cents)?;
            Ok(s.record(id, EntryKind::Withdrawal, -r.cents, ""))
        })
        .await
    }

    async fn transfer(&self, r: TransferRequest) -> Result<Receipt, AccountError> {
        self.keyed(r.key, format!("transfer {:?} {}", r.to, r.cents), |s| {
            let from = s.auth(&r.token)?;
            valid_amount(r.cents)?;
            let to = s.by_name(&r.to).ok_or(AccountError::RecipientNotFound)?;
            if to == from {
                return Err(AccountError::SameAccount);
            }
            s.adjust(from, -r.cents)?;
            if let Err(e) = s.adjust(to, r.cents) {
                s.adjust(from, r.cents)?;
                return Err(e);
            }
            let (from_name, to_name) = (s.accounts[&from].name.clone(), r.to.to_string());
            s.record(to, EntryKind::TransferIn, r.cents, &from_name);
            Ok(s.record(from, EntryKind::TransferOut, -r.cents, &to_name))
        })
        .await
    }

    async fn history(&self, r: HistoryRequest) -> Result<Vec<Entry>, AccountError> {
        let s = self.state.lock().unwrap();
        let id = s.auth(&r.token)?;
        if r.limit == 0 || r.limit > 1000 {
            return Err(AccountError::InvalidPage);
        }
        Ok(s.ledger
            .iter()
            .rev()
            .filter(|(owner, e)| *owner == id && (r.before_id == 0 || e.id < r.before_id))
            .take(r.limit as usize)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn close(&self, r: CloseRequest) -> Result<AccountInfo, AccountError> {
        self.keyed(r.key, "close".to_owned(), |s| {
            let id = s.auth(&r.token)?;
            if s.accounts[&id].balance != 0 {
                return Err(AccountError::NonZeroBalance);
            }
            s.accounts.get_mut(&id).unwrap().status = AccountStatus::Closed;
            s.sessions.retain(|_, owner| *owner != id);
            Ok(s.info(id))
        })
        .await
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
