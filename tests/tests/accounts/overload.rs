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
    let mut frames = Vec::new();
    for call in 1..=CALLS {
        let body = LoginRequest {
            name: name(&format!("flood-{call}")),
            password: password("a wrong password"),
        }
        .pack();
        request_frame(&mut frames, "login", call, body.as_ref());
    }
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
