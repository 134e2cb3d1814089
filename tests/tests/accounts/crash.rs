//! Crash safety: several clients make deposits with known keys; the server is killed with
//! SIGKILL in the middle and restarted on the same database. Every acknowledged deposit is
//! still there (balance and ledger), replaying it returns the same receipt and changes
//! nothing, the one request per client that was in flight applies at most once, and the
//! ledger balances.

use super::support::{
    HANG, Server, audit, balance, check_chain, client, history, key, login, open,
};
use account_client::api::{AmountRequest, Entry, EntryKind, IdemKey, Receipt, Token};
use rpc_runtime::CallError;
use std::collections::HashMap;
use std::sync::mpsc::channel;

const WRITERS: usize = 6;
/// Acknowledged deposits to wait for before the kill (the load goes on meanwhile).
const ACKS_BEFORE_KILL: usize = 300;
const PASSWORD: &str = "crash password";

/// One acknowledged deposit.
#[derive(Debug, Clone)]
struct Ack {
    key: IdemKey,
    cents: i64,
    receipt: Receipt,
}

/// What one client saw: its acknowledged deposits and the one in flight when the server died.
#[derive(Debug)]
struct Seen {
    acked: Vec<Ack>,
    in_flight: Option<(IdemKey, i64)>,
}

fn deposit(token: Token, key: IdemKey, cents: i64) -> AmountRequest {
    AmountRequest { token, key, cents }
}

#[test]
fn acknowledged_deposits_survive_kill_9_and_replay_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let setup = server.tcp_client();
    let tokens: Vec<Token> = (0..WRITERS)
        .map(|i| {
            let who = format!("crash-{i}");
            open(&setup, &who, PASSWORD, 0);
            login(&setup, &who, PASSWORD)
        })
        .collect();

    let (acked, acks) = channel();
    let writers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, &token)| {
            let endpoint = if i % 2 == 0 {
                &server.tcp
            } else {
                &server.unix
            };
            let c = client(endpoint);
            let acked = acked.clone();
            std::thread::spawn(move || {
                let mut seen = Seen {
                    acked: Vec::new(),
                    in_flight: None,
                };
                for n in 0..100_000_i64 {
                    let (key, cents) = (key(), 1 + n % 997);
                    match c.deposit(deposit(token, key, cents)) {
                        Ok(receipt) => {
                            seen.acked.push(Ack {
                                key,
                                cents,
                                receipt,
                            });
                            let _ = acked.send(());
                        }
                        Err(CallError::Application(e)) => panic!("deposit refused: {e:?}"),
                        Err(e) => {
                            // The server is gone: this one may or may not have been applied.
                            eprintln!("writer {i} stops: {e}");
                            seen.in_flight = Some((key, cents));
                            break;
                        }
                    }
                }
                seen
            })
        })
        .collect();
    drop(acked);
    for n in 0..ACKS_BEFORE_KILL {
        acks.recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("only {n} deposits acknowledged: {e}"));
    }
    server.kill9();
    let seen: Vec<Seen> = writers
        .into_iter()
        .map(|w| w.join().expect("a writer panicked"))
        .collect();
    let total_acked: usize = seen.iter().map(|s| s.acked.len()).sum();
    eprintln!("{total_acked} deposits acknowledged before SIGKILL");
    assert!(
        seen.iter().all(|s| s.in_flight.is_some()),
        "every writer ran until the server died"
    );

    // Restart on the same database (and over the dead server's socket file).
    let server = Server::start(dir.path());
    let c = server.unix_client();
    let mut total = 0;
    let mut ledger_total = 0;
    for (i, (token, seen)) in tokens.iter().zip(&seen).enumerate() {
        // The sessions were committed before the load, so the old tokens still work.
        let before = history(&c, *token);
        check_chain(&before, balance(&c, *token));
        let by_id: HashMap<u64, _> = before.iter().map(|e| (e.id, e)).collect();
        for ack in &seen.acked {
            let r = &ack.receipt;
            let entry = by_id.get(&r.entry_id).unwrap_or_else(|| {
                panic!("writer {i}: acknowledged deposit {ack:?} is lost after the crash")
            });
            assert_eq!(
                (entry.kind, entry.cents, entry.balance_after, entry.at),
                (EntryKind::Deposit, ack.cents, r.balance_cents, r.at),
                "writer {i}: entry of {ack:?}"
            );
        }
        // Nothing but the acknowledged deposits, and at most the one in flight.
        let unacknowledged = before.len() - seen.acked.len();
        assert!(
            unacknowledged <= 1,
            "writer {i}: {unacknowledged} deposits nobody was told about"
        );

        // Replays of acknowledged deposits return the first receipt and change nothing.
        for ack in &seen.acked {
            let replay = c
                .deposit(deposit(*token, ack.key, ack.cents))
                .expect("replay");
            assert_eq!(replay, ack.receipt, "writer {i}: replay of {ack:?}");
        }
        assert_eq!(
            history(&c, *token),
            before,
            "writer {i}: a replay changed the ledger"
        );

        // The request in flight applies at most once, however often it is retried.
        let (key, cents) = seen.in_flight.expect("in flight");
        let first = c.deposit(deposit(*token, key, cents)).expect("retry");
        let again = c.deposit(deposit(*token, key, cents)).expect("retry");
        assert_eq!(first, again);
        let after = history(&c, *token);
        let landed = after
            .iter()
            .find(|e| e.id == first.entry_id)
            .expect("the retried deposit is in the ledger");
        assert_eq!((landed.kind, landed.cents), (EntryKind::Deposit, cents));
        let others = |entries: &[Entry]| -> Vec<u64> {
            entries
                .iter()
                .filter(|e| e.id != first.entry_id)
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(others(&after), others(&before), "writer {i}");
        assert_eq!(
            after.len(),
            seen.acked.len() + 1,
            "writer {i}: applied twice"
        );
        let balance = balance(&c, *token);
        ledger_total += check_chain(&after, balance);
        total += balance;
    }
    assert_eq!(total, ledger_total);

    server.stop();
    let audit = audit(&dir.path().join("accounts.db"));
    assert!(audit.is_balanced(), "{audit:#?}");
    assert_eq!(audit.total_balance, i128::from(total));
    assert_eq!(audit.accounts, WRITERS as u64);
}
