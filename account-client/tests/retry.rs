//! The retrying clients against a real runtime connection: a mutation sent while the server
//! is down is resent, with the same key, once it is up; one whose answer comes too late is
//! resent with the same key and applied once.

#[allow(dead_code)]
#[path = "common/fake.rs"]
mod fake;

use account_client::retry::{RetryPolicy, retry_unanswered, retry_unanswered_blocking};
use account_client::{
    AccountError, AccountsBlockingClient, AccountsClient, AmountRequest, EntryKind, HistoryRequest,
    LoginRequest, RetryingBlockingClient, RetryingClient, ServeAccounts, Servers, new_idem_key,
};
use fake::{Fake, Hold};
use rpc_runtime::frame::Status;
use rpc_runtime::server::RunningServer;
use rpc_runtime::{BlockingClient, CallError, Client, ClientOptions, Endpoint, Server};
use std::time::Duration;

const PASSWORD: &str = "correct horse";

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(10),
    }
}

fn serve(endpoint: Endpoint) -> RunningServer {
    serve_holding(endpoint).0
}

/// A server on a fake whose answers can be held back.
fn serve_holding(endpoint: Endpoint) -> (RunningServer, Hold) {
    let fake = Fake::default();
    let hold = fake.hold_replies();
    let server = Server::builder()
        .listen(endpoint)
        .serve(ServeAccounts::new(fake))
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    (server, hold)
}

/// Client options whose calls give up after half a second: long enough for the fake to
/// answer on a loaded machine, short against the minute it holds an answer.
fn impatient() -> ClientOptions {
    let mut options = ClientOptions::default();
    options.timeout = Some(Duration::from_millis(500));
    options
}

/// The amounts of the deposits in the session's ledger.
fn deposits(accounts: &AccountsBlockingClient, token: [u8; 32]) -> Vec<i64> {
    let request = HistoryRequest {
        token,
        before_id: 0,
        limit: 100,
    };
    let entries = accounts.history(request).unwrap();
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Deposit)
        .map(|e| e.cents)
        .collect()
}

/// Opens `alice` with `cents` and logs in.
fn alice(accounts: &RetryingBlockingClient, cents: i64) -> [u8; 32] {
    let name = "alice".parse().unwrap();
    let password = PASSWORD.parse().unwrap();
    accounts.open(name, password, cents).unwrap();
    let login = LoginRequest { name, password };
    accounts.inner().login(login).unwrap().token
}

#[test]
fn blocking_client_keys_each_mutation() {
    let server = serve("tcp://127.0.0.1:0".parse().unwrap());
    let client = BlockingClient::new(server.endpoints()[0].clone());
    let accounts =
        RetryingBlockingClient::with_policy(AccountsBlockingClient::new(client), quick());
    let token = alice(&accounts, 100);
    // The fake refuses a replayed key, so two successes mean two different keys.
    assert_eq!(accounts.deposit(token, 50).unwrap().balance_cents, 150);
    assert_eq!(accounts.deposit(token, 50).unwrap().balance_cents, 200);
    assert_eq!(accounts.withdraw(token, 25).unwrap().balance_cents, 175);
    // A service error is the answer, not retried.
    let refused = accounts.withdraw(token, 1_000).unwrap_err();
    assert_eq!(
        refused.application(),
        Some(&AccountError::InsufficientFunds)
    );
}

#[test]
fn blocking_client_resends_a_timed_out_mutation_with_the_same_key() {
    let (server, hold) = serve_holding("tcp://127.0.0.1:0".parse().unwrap());
    let client = BlockingClient::with_options(server.endpoints()[0].clone(), impatient());
    let accounts =
        RetryingBlockingClient::with_policy(AccountsBlockingClient::new(client), quick());
    let token = alice(&accounts, 100);

    // The first attempt is applied but its answer comes too late; the retry carries the same
    // key, so the fake answers it with the first receipt instead of paying in again.
    hold.next(1);
    let receipt = accounts.deposit(token, 50).unwrap();
    assert_eq!(receipt.balance_cents, 150);
    assert_eq!(deposits(accounts.inner(), token), [50]);

    // Every answer too late: the outcome stays unknown, and it was still applied only once.
    hold.next(u64::MAX);
    let error = accounts.withdraw(token, 30).unwrap_err();
    assert_eq!(error.status(), Status::DeadlineExceeded);
    hold.next(0);
    let info = accounts
        .inner()
        .get(account_client::Auth { token })
        .unwrap();
    assert_eq!(info.balance_cents, 120);
}

#[test]
fn async_client_resends_a_timed_out_mutation_with_the_same_key() {
    let (server, hold) = serve_holding("tcp://127.0.0.1:0".parse().unwrap());
    let endpoint = server.endpoints()[0].clone();
    let blocking = RetryingBlockingClient::new(AccountsBlockingClient::new(BlockingClient::new(
        endpoint.clone(),
    )));
    let token = alice(&blocking, 0);
    let accounts = RetryingClient::with_policy(
        AccountsClient::new(Client::with_options(endpoint, impatient())),
        quick(),
    );
    hold.next(2);
    let receipt = smol::block_on(accounts.deposit(token, 1250)).unwrap();
    assert_eq!(receipt.balance_cents, 1250);
    assert_eq!(deposits(blocking.inner(), token), [1250]);
}

#[test]
fn unreachable_server_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = BlockingClient::new(format!("tcp://127.0.0.1:{port}").parse().unwrap());
    let accounts =
        RetryingBlockingClient::with_policy(AccountsBlockingClient::new(client), quick());
    let error = accounts.deposit([0; 32], 1).unwrap_err();
    assert_eq!(error.status(), Status::Unavailable);
}

#[cfg(unix)]
#[test]
fn mutation_is_resent_with_the_same_key_once_the_server_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::unix(dir.path().join("account.sock"));
    let accounts = AccountsBlockingClient::new(BlockingClient::new(endpoint.clone()));

    // Attempt 1 finds no server; attempt 2 starts it first, opens the account and sends the
    // very same request again.
    let request = account_client::OpenRequest {
        key: new_idem_key().unwrap(),
        name: "alice".parse().unwrap(),
        password: PASSWORD.parse().unwrap(),
        initial_cents: 700,
    };
    let mut server = None;
    let mut sent = Vec::new();
    let opened = retry_unanswered_blocking(&quick(), &request, |r| {
        if !sent.is_empty() && server.is_none() {
            server = Some(serve(endpoint.clone()));
        }
        sent.push(r.key);
        accounts.open(r)
    })
    .unwrap();
    assert_eq!(opened.balance_cents, 700);
    assert_eq!(sent, [request.key, request.key]);
}

#[cfg(unix)]
#[test]
fn async_retry_resends_once_the_server_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::unix(dir.path().join("account.sock"));
    let accounts = AccountsClient::new(Client::new(endpoint.clone()));
    let blocking = RetryingBlockingClient::new(AccountsBlockingClient::new(BlockingClient::new(
        endpoint.clone(),
    )));

    let mut server = None;
    let mut token = None;
    let mut attempts = 0;
    let key = new_idem_key().unwrap();
    let receipt = smol::block_on(retry_unanswered(&quick(), &key, |key| {
        attempts += 1;
        if attempts == 2 {
            server = Some(serve(endpoint.clone()));
            token = Some(alice(&blocking, 0));
        }
        let request = AmountRequest {
            token: token.unwrap_or([0; 32]),
            key,
            cents: 1250,
        };
        let accounts = accounts.clone();
        async move { accounts.deposit(request).await }
    }))
    .unwrap();
    assert_eq!(receipt.balance_cents, 1250);
    assert_eq!(attempts, 2);
}

#[test]
fn other_runtime_errors_are_not_retried() {
    // A server without the account service answers `unknown method`: final, not retried.
    let server = Server::builder()
        .listen("tcp://127.0.0.1:0".parse().unwrap())
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    let accounts = AccountsBlockingClient::new(BlockingClient::new(server.endpoints()[0].clone()));
    let mut calls = 0;
    let request = AmountRequest {
        token: [0; 32],
        key: new_idem_key().unwrap(),
        cents: 1,
    };
    let error = retry_unanswered_blocking(&quick(), &request, |r| {
        calls += 1;
        accounts.deposit(r)
    })
    .unwrap_err();
    assert!(matches!(error, CallError::Rpc(_)));
    assert_ne!(error.status(), Status::Unavailable);
    assert_eq!(calls, 1);
}

#[test]
fn a_balanced_retrying_client_keeps_the_key_across_servers() {
    // One fake (one ledger) behind two endpoints, as two servers share one database, and a
    // third endpoint that is down.
    let fake = Fake::default();
    let hold = fake.hold_replies();
    let server = Server::builder()
        .listen("memory://retry-balanced-a".parse().unwrap())
        .listen("memory://retry-balanced-b".parse().unwrap())
        .serve(ServeAccounts::new(fake))
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    let servers: Servers =
        "memory://retry-balanced-a,memory://retry-balanced-down,memory://retry-balanced-b"
            .parse()
            .unwrap();
    let accounts =
        RetryingBlockingClient::with_policy(servers.accounts_blocking(impatient()), quick());
    let token = alice(&accounts, 100);
    // Applied, answer lost: the retry, wherever it goes, carries the same key.
    hold.next(1);
    assert_eq!(accounts.deposit(token, 50).unwrap().balance_cents, 150);
    for _ in 0..10 {
        accounts.deposit(token, 1).unwrap();
    }
    let mut amounts = deposits(accounts.inner(), token);
    amounts.sort_unstable();
    assert_eq!(amounts, [[1; 10].as_slice(), &[50]].concat());
    drop(server);
}
