//! Many clients at once: sixteen connections, logged into four accounts, send random transfers
//! to each other concurrently. Afterwards no money was made or lost, every acknowledged
//! transfer is on both sides' ledgers exactly once, and nothing else is.

use super::support::{
    Rng, Server, audit, balance, check_chain, client, history, key, login, multiset, name, open,
    random_u64,
};
use account_client::api::{AccountError, EntryKind, Receipt, TransferRequest};
use rpc_runtime::CallError;
use std::sync::{Arc, Barrier};

const ACCOUNTS: usize = 4;
const CLIENTS: usize = 16;
const TRANSFERS: usize = 40;
const START: i64 = 20_000;
const PASSWORD: &str = "shared password";

/// One acknowledged transfer.
#[derive(Debug, Clone)]
struct Sent {
    from: usize,
    to: usize,
    cents: i64,
    receipt: Receipt,
}

fn account_name(i: usize) -> String {
    format!("concurrent-{i}")
}

#[test]
fn concurrent_transfers_conserve_money_and_all_reach_both_ledgers() {
    let seed = random_u64();
    eprintln!("random seed {seed:#x}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let setup = server.tcp_client();
    for i in 0..ACCOUNTS {
        open(&setup, &account_name(i), PASSWORD, START);
    }

    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|t| {
            // Half the clients over TCP, half over the Unix socket, each on its own connection.
            let endpoint = if t % 2 == 0 {
                &server.tcp
            } else {
                &server.unix
            };
            let c = client(endpoint);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let me = t % ACCOUNTS;
                let token = login(&c, &account_name(me), PASSWORD);
                let mut rng = Rng::new(seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                barrier.wait();
                let mut sent = Vec::new();
                let mut refused = 0;
                for _ in 0..TRANSFERS {
                    let to = (me + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                    let cents = 1 + rng.below(5_000) as i64;
                    let request = TransferRequest {
                        token,
                        key: key(),
                        to: name(&account_name(to)),
                        cents,
                    };
                    match c.transfer(request) {
                        Ok(receipt) => sent.push(Sent {
                            from: me,
                            to,
                            cents,
                            receipt,
                        }),
                        Err(CallError::Application(AccountError::InsufficientFunds)) => {
                            refused += 1;
                        }
                        Err(e) => panic!("client {t}: transfer of {cents} to {to} failed: {e}"),
                    }
                }
                (sent, refused)
            })
        })
        .collect();
    let mut sent: Vec<Sent> = Vec::new();
    let mut refused = 0;
    for thread in threads {
        let (s, r) = thread.join().expect("a client thread panicked");
        sent.extend(s);
        refused += r;
    }
    eprintln!("{} transfers acknowledged, {refused} refused", sent.len());
    assert!(
        sent.len() > CLIENTS * TRANSFERS / 2,
        "too few transfers went through to test anything"
    );
    let ids = multiset(sent.iter().map(|s| s.receipt.entry_id));
    assert_eq!(ids.len(), sent.len(), "two transfers got the same entry id");

    let mut total = 0;
    for i in 0..ACCOUNTS {
        let token = login(&setup, &account_name(i), PASSWORD);
        let balance = balance(&setup, token);
        let entries = history(&setup, token);
        check_chain(&entries, balance);
        total += balance;

        // Exactly the acknowledged transfers out, each as its receipt says.
        let mut out: Vec<_> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::TransferOut)
            .map(|e| {
                (
                    e.id,
                    -e.cents,
                    e.balance_after,
                    e.counterparty.to_string(),
                    e.at,
                )
            })
            .collect();
        let mut expected: Vec<_> = sent
            .iter()
            .filter(|s| s.from == i)
            .map(|s| {
                let r = &s.receipt;
                (
                    r.entry_id,
                    s.cents,
                    r.balance_cents,
                    account_name(s.to),
                    r.at,
                )
            })
            .collect();
        out.sort();
        expected.sort();
        assert_eq!(out, expected, "transfers out of account {i}");

        // Exactly the acknowledged transfers in (the receipt names only the sender's entry,
        // so these are matched by sender, amount and time).
        let incoming = multiset(
            entries
                .iter()
                .filter(|e| e.kind == EntryKind::TransferIn)
                .map(|e| (e.counterparty.to_string(), e.cents, e.at)),
        );
        let expected = multiset(
            sent.iter()
                .filter(|s| s.to == i)
                .map(|s| (account_name(s.from), s.cents, s.receipt.at)),
        );
        assert_eq!(incoming, expected, "transfers into account {i}");

        let opening: Vec<_> = entries
            .iter()
            .filter(|e| !matches!(e.kind, EntryKind::TransferIn | EntryKind::TransferOut))
            .map(|e| (e.kind, e.cents))
            .collect();
        assert_eq!(opening, [(EntryKind::Opening, START)], "account {i}");
    }
    assert_eq!(total, START * ACCOUNTS as i64, "money was made or lost");

    server.stop();
    let audit = audit(&dir.path().join("accounts.db"));
    assert!(audit.is_balanced(), "{audit:#?}");
    assert_eq!(audit.total_balance, i128::from(START) * ACCOUNTS as i128);
    assert_eq!(audit.accounts, ACCOUNTS as u64);
    assert_eq!(audit.entries, (ACCOUNTS + 2 * sent.len()) as u64);
}
