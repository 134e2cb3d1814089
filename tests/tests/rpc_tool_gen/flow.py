"""Drives a real account-server through the module `rpc gen python` wrote (accounts.py).

usage: flow.py ENDPOINT RUN    (RUN keeps account names apart between runs on one server)
Prints one line per step; any failed check raises, which exits non-zero.
"""
import os
import sys

import accounts as a

endpoint, run = sys.argv[1], sys.argv[2]
key = lambda: os.urandom(16)  # noqa: E731 - one idempotency key per mutation
alice, bob = f'alice-{run}', f'bob-{run}'
client = a.AccountsClient(endpoint, timeout=30.0)

# Open two accounts and log in.
opened = client.open(key(), alice, 'alice password 1', 1000)
assert (opened.name, opened.balance_cents, opened.status) == (alice, 1000, a.AccountStatus.Open), opened
client.open(key(), bob, 'bob password 22', 0)
session = client.login(alice, 'alice password 1')
token = session.token
assert len(token) == 32 and session.account_id == opened.id, session
print('opened and logged in')

# Deposit, transfer, and the balance they leave.
deposit = client.deposit(token, key(), 500)
assert deposit.balance_cents == 1500, deposit
transfer = client.transfer(token, key(), bob, 300)
assert transfer.balance_cents == 1200, transfer
assert client.get(token).balance_cents == 1200
bob_token = client.login(bob, 'bob password 22').token
assert client.get(bob_token).balance_cents == 300
print('deposit and transfer')

# History, newest first, two entries a page, until a short page.
for cents in (1, 2, 3):
    client.deposit(token, key(), cents)
pages, before = [], 0
while True:
    page = client.history(token, before, 2)
    pages.append(page)
    if len(page) < 2:
        break
    before = page[-1].id
entries = [e for page in pages for e in page]
assert [len(p) for p in pages] == [2, 2, 2, 0], [len(p) for p in pages]
D = a.EntryKind.Deposit
assert [e.kind for e in entries] == [D, D, D, a.EntryKind.TransferOut, D, a.EntryKind.Opening]
assert [e.cents for e in entries] == [3, 2, 1, -300, 500, 1000]
assert entries[3].counterparty == bob and entries[0].balance_after == 1206
print('history in', len(pages), 'pages')


def fails(call, error):
    try:
        call()
    except error as e:
        return e
    raise AssertionError(f'expected {error.__name__}')


# Typed errors: each variant has its class, and carries the enum value.
e = fails(lambda: client.login(alice, 'wrong password'), a.InvalidCredentials)
assert e.error is a.AccountError.InvalidCredentials and e.status == 1
assert isinstance(e, a.ApplicationError) and isinstance(e, a.RpcError)
e = fails(lambda: client.transfer(token, key(), bob, 10**9), a.InsufficientFunds)
assert e.error == a.AccountError.InsufficientFunds
fails(lambda: client.transfer(token, key(), f'nobody-{run}', 1), a.RecipientNotFound)
fails(lambda: client.get(os.urandom(32)), a.Unauthenticated)
fails(lambda: client.deposit(token, key(), -5), a.InvalidAmount)
# A value that does not fit is refused before anything is sent.
fails(lambda: client.deposit(token, key(), 2**63), a.WireError)
fails(lambda: client.open(key(), 'x' * 33, 'password 12345', 0), a.WireError)
assert client.get(token).balance_cents == 1206  # nothing above changed the balance
print('typed errors')

# A pipelined batch: ten requests in one write, replies matched by call id.
with client.pipeline() as batch:
    deposits = [batch.deposit(token, key(), 10) for _ in range(5)]
    reads = [batch.get(token) for _ in range(3)]
    bad = batch.transfer(token, key(), bob, 10**9)
    history = batch.history(token, 0, 100)
ids = [p.call_id for p in deposits + reads + [bad, history]]
assert len(set(ids)) == 10, ids
assert sorted(d.result().balance_cents for d in deposits) == [1216, 1226, 1236, 1246, 1256]
assert all(r.result().name == alice for r in reads)
fails(bad.result, a.InsufficientFunds)
assert len(history.result()) >= 6
assert client.get(token).balance_cents == 1256
# replies() hands out calls as they are answered.
batch = client.pipeline()
queued = [batch.get(token) for _ in range(4)]
seen = [p.call_id for p in batch.replies()]
assert sorted(seen) == sorted(p.call_id for p in queued), (seen, queued)
print('pipelined batch')

# A deadline that expires: opening an account hashes its password, which takes longer than a
# millisecond. The server drops the call at its deadline, or this side gives up first and sends
# a Cancel; either way the call fails with DeadlineExceeded, and the connection goes on serving.
expired = 0
for i in range(10):
    try:
        client.open(key(), f'late-{run}-{i}', 'late password 1', 0, timeout=0.001)
    except a.DeadlineExceeded:
        expired += 1
assert expired > 0, 'all 10 opens finished within 1 ms'
assert client.get(token, timeout=30).balance_cents == 1256
print('deadline exceeded', expired, 'times')

client.connection.close()
print('ok')
