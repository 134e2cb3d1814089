//! Password hashing under a flood: a fixed pool of hashing threads with a bounded queue. Calls
//! that find the queue full are answered `resource exhausted` at once instead of piling up
//! argon2 memory.

use super::support::{Raw, Server, login, name, open, password, request_frame};
use account_client::api::{AccountError, LoginRequest};
use rpc_runtime::Wire;
use rpc_runtime::frame::{FrameKind, Status};

#[test]
fn a_full_hashing_queue_answers_resource_exhausted_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One hashing thread and room for one waiting job, at the production argon2 cost.
    let server = Server::start_with(dir.path(), &["--hash-threads", "1", "--hash-queue", "1"]);
    let c = server.tcp_client();
    open(&c, "flood-owner", "the owner's password", 0);

    // Twelve logins for twelve names, in one write: one runs, one may wait, and the rest
    // find the queue full.
    const CALLS: u32 = 12;
    let frames = wrong_logins(CALLS);
    let mut raw = Raw::connect(&server.tcp);
    raw.write(&frames);
    let (mut refused, mut checked) = (0, 0);
    for _ in 0..CALLS {
        let reply = raw.read_frame();
        match (reply.header.kind, reply.header.status) {
            (FrameKind::Error, Status::ResourceExhausted) => refused += 1,
            (FrameKind::Response, Status::Application) => {
                assert_eq!(
                    AccountError::unpack(&reply.body),
                    Ok(AccountError::InvalidCredentials)
                );
                checked += 1;
            }
            other => panic!("unexpected reply {other:?}: {reply:?}"),
        }
    }
    assert!(refused >= 1, "nothing was refused ({checked} checked)");
    assert!(
        checked >= 2,
        "the running and the queued logins are answered"
    );
    assert_eq!(refused + checked, CALLS);

    // Once the flood is over, logins work again.
    login(&c, "flood-owner", "the owner's password");
    server.stop();
}

#[test]
fn a_login_from_another_address_gets_through_a_flood_from_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One hashing thread and room for two waiting jobs, at the production argon2 cost.
    let server = Server::start_with(dir.path(), &["--hash-threads", "1", "--hash-queue", "2"]);
    let c = server.tcp_client();
    open(&c, "flood-victim", "the victim's password", 0);

    // A flood from 127.0.0.2: twelve logins in one write. One runs, two wait, the rest are
    // refused at once.
    const CALLS: u32 = 12;
    let frames = wrong_logins(CALLS);
    let mut flood = Raw::connect_from(&server.tcp, [127, 0, 0, 2].into());
    flood.write(&frames);
    // The first refusal says the queue is full of the flood's checks.
    let first = flood.read_frame();
    assert_eq!(
        (first.header.kind, first.header.status),
        (FrameKind::Error, Status::ResourceExhausted),
        "{first:?}"
    );

    // The victim, from 127.0.0.1, takes the place of the flood's newest check and gets in.
    login(&c, "flood-victim", "the victim's password");

    let (mut refused, mut checked) = (1, 0);
    for _ in 1..CALLS {
        let reply = flood.read_frame();
        match (reply.header.kind, reply.header.status) {
            (FrameKind::Error, Status::ResourceExhausted) => refused += 1,
            (FrameKind::Response, Status::Application) => checked += 1,
            other => panic!("unexpected reply {other:?}: {reply:?}"),
        }
    }
    assert_eq!(refused + checked, CALLS);
    assert!(checked >= 1, "the flood's running check is answered");
    server.stop();
}

/// Logins with a wrong password for `flood-1` to `flood-{calls}`, as calls 1 to `calls`, in
/// one buffer of frames.
fn wrong_logins(calls: u32) -> Vec<u8> {
    let mut frames = Vec::new();
    for call in 1..=calls {
        let body = LoginRequest {
            name: name(&format!("flood-{call}")),
            password: password("a wrong password"),
        }
        .pack();
        request_frame(&mut frames, "login", call, body.as_ref());
    }
    frames
}
