//! The REST API end to end, in process: [`RestApi`] over [`ServeAccounts`] on a temporary
//! database, one test per route family and per class of error.

use super::*;
use crate::{AccountService, Config, PasswordHashing};
use http::{HeaderMap, Method, header};
use serde_json::{Value, json};

/// A service on a fresh database, served through the REST API.
struct Fixture {
    _dir: tempfile::TempDir,
    service: AccountService,
    backend: ServeAccounts,
    api: RestApi,
    keys: std::cell::Cell<u32>,
}

/// One answer, with its body parsed as JSON when it has one.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    /// Asserts that this is the problem `slug` with `status`, and returns it.
    #[track_caller]
    fn problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status, status, "{:?}", self.json);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(
            self.json["type"],
            format!("/problems#{slug}"),
            "{:?}",
            self.json
        );
        assert_eq!(self.json["status"], status);
        assert!(self.json["title"].is_string() && self.json["detail"].is_string());
        &self.json
    }
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(|_| {})
    }

    fn with(adjust: impl FnOnce(&mut Config)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path().join("accounts.db"));
        config.password_hashing = PasswordHashing::INSECURE_FAST;
        config.audit_each_batch = true;
        adjust(&mut config);
        let service = AccountService::open(config).unwrap();
        Fixture {
            _dir: dir,
            backend: ServeAccounts::new(service.clone()),
            service,
            api: RestApi::new(),
            keys: std::cell::Cell::new(0),
        }
    }

    /// Sends a request; `None` when the API does not serve the path.
    fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Answer> {
        let mut request = http::Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body.to_vec()).unwrap();
        let response = smol::block_on(self.api.handle(&self.backend, request))?;
        let (head, body) = response.into_parts();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        // Every answer carries the security headers.
        assert_eq!(
            head.headers[header::CONTENT_SECURITY_POLICY],
            page::CONTENT_SECURITY_POLICY
        );
        assert_eq!(head.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        Some(Answer {
            status: head.status.as_u16(),
            headers: head.headers,
            body,
            json,
        })
    }

    #[track_caller]
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.try_send(method, path, headers, body)
            .expect("an account route")
    }

    /// A fresh idempotency key header value.
    fn key(&self) -> String {
        self.keys.set(self.keys.get() + 1);
        format!("\"key-{}\"", self.keys.get())
    }

    /// Sends JSON, with a bearer `token` (unless empty) and an idempotency `key` (unless
    /// empty).
    #[track_caller]
    fn json(&self, method: &str, path: &str, token: &str, key: &str, body: Value) -> Answer {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("content-type", "application/json")];
        if !token.is_empty() {
            headers.push(("authorization", &auth));
        }
        if !key.is_empty() {
            headers.push(("idempotency-key", key));
        }
        self.send(method, path, &headers, body.to_string().as_bytes())
    }

    #[track_caller]
    fn get(&self, path: &str, token: &str) -> Answer {
        let auth = format!("Bearer {token}");
        self.send("GET", path, &[("authorization", &auth)], b"")
    }

    /// Opens `name` with `amount` (password `pw-of-NAME!`) and logs in: (account id, token).
    #[track_caller]
    fn account(&self, name: &str, amount: &str) -> (String, String) {
        let password = format!("pw-of-{name}!");
        let body = json!({"name": name, "password": password, "initial_amount": amount});
        let opened = self.json("POST", "/accounts", "", &self.key(), body);
        assert_eq!(opened.status, 201, "{:?}", opened.json);
        let token = self.login(name, &password);
        (opened.json["id"].as_str().unwrap().to_owned(), token)
    }

    #[track_caller]
    fn login(&self, name: &str, password: &str) -> String {
        let session = self.json(
            "POST",
            "/sessions",
            "",
            "",
            json!({"name": name, "password": password}),
        );
        assert_eq!(session.status, 201, "{:?}", session.json);
        session.json["token"].as_str().unwrap().to_owned()
    }

    fn balance(&self, token: &str) -> Value {
        self.get("/accounts/me", token).json["balance_cents"].clone()
    }
}

#[test]
fn opening_an_account_creates_it_once_per_idempotency_key() {
    let f = Fixture::new();
    let body = json!({"name": "alice", "password": "correct horse", "initial_cents": "1250"});
    let opened = f.json("POST", "/accounts", "", "\"k1\"", body.clone());
    assert_eq!(opened.status, 201);
    assert_eq!(opened.header("location"), "/accounts/1");
    assert_eq!(opened.header("cache-control"), "no-store");
    assert_eq!(opened.json["name"], "alice");
    assert_eq!(opened.json["balance"], "12.50");
    assert_eq!(opened.json["balance_cents"], "1250");
    assert_eq!(opened.json["status"], "Open");
    assert!(
        opened.json["created_at"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );

    // A retry with the same key and body gets the first answer.
    let again = f.json("POST", "/accounts", "", "\"k1\"", body);
    assert_eq!((again.status, again.json), (201, opened.json));
    // The same key for another request is refused, as the draft says: 422.
    let other = json!({"name": "bob", "password": "correct horse"});
    let reused = f.json("POST", "/accounts", "", "\"k1\"", other.clone());
    assert_eq!(
        reused.problem(422, "idempotency-key-reused")["error"],
        "IdempotencyConflict"
    );
    // No key: a 400 that says what to send.
    let missing = f.json("POST", "/accounts", "", "", other);
    missing.problem(400, "idempotency-key-missing");
    // A taken name.
    let taken = json!({"name": "alice", "password": "another one"});
    let conflict = f.json("POST", "/accounts", "", &f.key(), taken);
    assert_eq!(conflict.problem(409, "name-taken")["error"], "NameTaken");
}

#[test]
fn opening_refuses_bad_names_passwords_and_amounts() {
    let f = Fixture::new();
    let cases = [
        (
            json!({"name": "", "password": "correct horse"}),
            "invalid-name",
        ),
        (
            json!({"name": "x".repeat(33), "password": "correct horse"}),
            "invalid-name",
        ),
        (
            json!({"name": "a\u{0}b", "password": "correct horse"}),
            "invalid-name",
        ),
        (
            json!({"name": "carol", "password": "short"}),
            "invalid-password",
        ),
        (
            json!({"name": "carol", "password": "p".repeat(65)}),
            "invalid-password",
        ),
        (
            json!({"name": "carol", "password": "correct horse", "initial_amount": "1.001"}),
            "invalid-amount",
        ),
        (
            json!({"name": "carol", "password": "correct horse", "initial_cents": -5}),
            "invalid-amount",
        ),
    ];
    for (body, slug) in cases {
        f.json("POST", "/accounts", "", &f.key(), body)
            .problem(422, slug);
    }
}

#[test]
fn sessions_are_created_read_and_ended() {
    let f = Fixture::new();
    let (id, token) = f.account("alice", "10");
    assert_eq!(token.len(), 64);

    let me = f.get("/accounts/me", &token);
    assert_eq!(me.status, 200);
    assert_eq!(me.json["id"], id.as_str());
    assert_eq!(me.json["balance"], "10.00");
    assert_eq!(f.get(&format!("/accounts/{id}"), &token).json, me.json);

    // HEAD: answered like GET (the server sends the head only, with the body's length).
    let auth = format!("Bearer {token}");
    let head = f.send("HEAD", "/accounts/me", &[("authorization", &auth)], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), "application/json");
    assert_eq!(head.body.len(), me.body.len());

    // Someone else's account: 403.
    let (bob, _) = f.account("bob", "0");
    f.get(&format!("/accounts/{bob}"), &token)
        .problem(403, "forbidden");

    let ended = f.send(
        "DELETE",
        "/sessions/current",
        &[("authorization", &auth)],
        b"",
    );
    assert_eq!(ended.status, 204);
    assert!(ended.body.is_empty());
    let after = f.get("/accounts/me", &token);
    assert_eq!(
        after.problem(401, "unauthenticated")["error"],
        "Unauthenticated"
    );
    assert_eq!(
        after.header("www-authenticate"),
        "Bearer realm=\"accounts\", error=\"invalid_token\""
    );
}

#[test]
fn missing_or_malformed_tokens_get_401_with_a_challenge() {
    let f = Fixture::new();
    let none = f.send("GET", "/accounts/me", &[], b"");
    none.problem(401, "unauthenticated");
    assert_eq!(none.header("www-authenticate"), "Bearer realm=\"accounts\"");
    for value in [
        "Bearer nope",
        "Basic YWxpY2U6eA==",
        &format!("Bearer {}", "0".repeat(64)),
    ] {
        let answer = f.send("GET", "/accounts/me", &[("authorization", value)], b"");
        answer.problem(401, "unauthenticated");
        assert!(
            answer.header("www-authenticate").contains("invalid_token"),
            "{value}"
        );
    }
    // Every route that needs a session says so before looking at the body.
    let routes = [
        ("GET", "/accounts"),
        ("PUT", "/accounts/me/name"),
        ("PUT", "/accounts/me/password"),
        ("POST", "/accounts/me/deposits"),
        ("POST", "/accounts/me/withdrawals"),
        ("POST", "/transfers"),
        ("GET", "/accounts/me/history"),
        ("DELETE", "/accounts/me"),
        ("DELETE", "/sessions/current"),
        ("GET", "/accounts/1"),
    ];
    for (method, path) in routes {
        f.send(method, path, &[], b"{")
            .problem(401, "unauthenticated");
    }
}

#[test]
fn wrong_passwords_are_401_and_repeated_ones_429_with_retry_after() {
    let f = Fixture::with(|c| c.login_throttle.max_failures = 2);
    f.account("alice", "0");
    let wrong = json!({"name": "alice", "password": "not the password"});
    let unknown = json!({"name": "nobody", "password": "not the password"});
    let answer = f.json("POST", "/sessions", "", "", wrong.clone());
    assert_eq!(
        answer.problem(401, "invalid-credentials")["error"],
        "InvalidCredentials"
    );
    assert_eq!(
        answer.header("www-authenticate"),
        "Bearer realm=\"accounts\""
    );
    // An unknown name gets the very same answer.
    let other = f.json("POST", "/sessions", "", "", unknown);
    assert_eq!(other.json, answer.json);
    // Too long to be anyone's: the same again.
    let long = json!({"name": "n".repeat(40), "password": "not the password"});
    assert_eq!(f.json("POST", "/sessions", "", "", long).json, answer.json);

    let _ = f.json("POST", "/sessions", "", "", wrong.clone());
    let throttled = f.json("POST", "/sessions", "", "", wrong);
    throttled.problem(429, "login-throttled");
    assert_eq!(throttled.header("retry-after"), "30");
}

#[test]
fn deposits_and_withdrawals_take_decimal_text_or_cents_and_apply_once() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "0");
    let key = f.key();
    let deposit = json!({"amount": "12.34"});
    let first = f.json(
        "POST",
        "/accounts/me/deposits",
        &token,
        &key,
        deposit.clone(),
    );
    assert_eq!(first.status, 200, "{:?}", first.json);
    assert_eq!(first.json["balance"], "12.34");
    assert_eq!(first.json["balance_cents"], "1234");
    let retry = f.json("POST", "/accounts/me/deposits", &token, &key, deposit);
    assert_eq!(retry.json, first.json);
    assert_eq!(f.balance(&token), "1234");

    for cents in [json!(100), json!("100")] {
        let body = json!({ "cents": cents });
        let answer = f.json("POST", "/accounts/me/deposits", &token, &f.key(), body);
        assert_eq!(answer.status, 200, "{:?}", answer.json);
    }
    assert_eq!(f.balance(&token), "1434");

    let out = json!({"amount": "4.34"});
    let withdrawn = f.json("POST", "/accounts/me/withdrawals", &token, &f.key(), out);
    assert_eq!(withdrawn.json["balance"], "10.00");

    // An overdraft: 409, nothing moves.
    let too_much = json!({"amount": "10.01"});
    let refused = f.json(
        "POST",
        "/accounts/me/withdrawals",
        &token,
        &f.key(),
        too_much,
    );
    assert_eq!(
        refused.problem(409, "insufficient-funds")["error"],
        "InsufficientFunds"
    );
    assert_eq!(f.balance(&token), "1000");

    // Without a key, money never moves.
    let unkeyed = f.json(
        "POST",
        "/accounts/me/deposits",
        &token,
        "",
        json!({"cents": 1}),
    );
    unkeyed.problem(400, "idempotency-key-missing");
    // A balance that would overflow.
    let max = json!({"cents": i64::MAX.to_string()});
    let overflow = f.json("POST", "/accounts/me/deposits", &token, &f.key(), max);
    overflow.problem(409, "balance-overflow");
}

#[test]
fn amounts_that_are_not_amounts_are_refused_clearly() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "1");
    let cases = [
        (json!({}), 400, "invalid-request"),
        (json!({"amount": 12.34}), 400, "invalid-request"),
        (json!({"cents": 1.5}), 400, "invalid-request"),
        (
            json!({"cents": 9_007_199_254_740_992_i64}),
            400,
            "invalid-request",
        ),
        (json!({"amount": "1", "cents": 100}), 400, "invalid-request"),
        (
            json!({"amount": "1", "extra": true}),
            400,
            "invalid-request",
        ),
        (json!({"amount": "0"}), 422, "invalid-amount"),
        (json!({"amount": "-1"}), 422, "invalid-amount"),
        (json!({"amount": "1.234"}), 422, "invalid-amount"),
        (json!({"cents": -1}), 422, "invalid-amount"),
        (
            json!({"amount": "99999999999999999999"}),
            422,
            "invalid-amount",
        ),
    ];
    for (body, status, slug) in cases {
        let answer = f.json("POST", "/accounts/me/deposits", &token, &f.key(), body);
        answer.problem(status, slug);
    }
    assert_eq!(f.balance(&token), "100");
}

#[test]
fn transfers_move_money_between_two_accounts_and_show_in_both_histories() {
    let f = Fixture::new();
    let (_, alice) = f.account("alice", "50");
    let (_, bob) = f.account("bob", "0");
    let body = json!({"to": "bob", "amount": "20.50"});
    let sent = f.json("POST", "/transfers", &alice, &f.key(), body);
    assert_eq!(sent.status, 200, "{:?}", sent.json);
    assert_eq!(sent.json["balance"], "29.50");
    assert_eq!(f.balance(&bob), "2050");

    let history = f.get("/accounts/me/history", &alice);
    let entries = history.json["entries"].as_array().unwrap();
    assert_eq!(entries[0]["kind"], "TransferOut");
    assert_eq!(entries[0]["amount"], "-20.50");
    assert_eq!(entries[0]["amount_cents"], "-2050");
    assert_eq!(entries[0]["counterparty"], "bob");
    assert_eq!(entries[1]["kind"], "Opening");
    assert_eq!(entries[1]["counterparty"], Value::Null);
    assert_eq!(history.json["next"], Value::Null);
    let theirs = f.get("/accounts/me/history", &bob);
    assert_eq!(theirs.json["entries"][0]["kind"], "TransferIn");
    assert_eq!(theirs.json["entries"][0]["counterparty"], "alice");
    assert_eq!(theirs.json["entries"][0]["balance_after"], "20.50");

    let cases = [
        (
            json!({"to": "nobody", "amount": "1"}),
            422,
            "recipient-not-found",
        ),
        (json!({"to": "alice", "amount": "1"}), 422, "same-account"),
        (
            json!({"to": "bob", "amount": "100"}),
            409,
            "insufficient-funds",
        ),
        (
            json!({"to": "b".repeat(33), "amount": "1"}),
            422,
            "invalid-name",
        ),
        (json!({"amount": "1"}), 400, "invalid-request"),
    ];
    for (body, status, slug) in cases {
        f.json("POST", "/transfers", &alice, &f.key(), body)
            .problem(status, slug);
    }
}

#[test]
fn listings_and_histories_are_paged_by_their_next_links() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "1");
    for name in ["bob", "carol", "dave"] {
        f.account(name, "0");
    }
    for _ in 0..4 {
        f.json(
            "POST",
            "/accounts/me/deposits",
            &token,
            &f.key(),
            json!({"cents": 1}),
        );
    }

    let mut names = Vec::new();
    let mut path = "/accounts?limit=3".to_owned();
    loop {
        let page = f.get(&path, &token);
        assert_eq!(page.status, 200, "{:?}", page.json);
        for account in page.json["accounts"].as_array().unwrap() {
            names.push(account["name"].as_str().unwrap().to_owned());
            assert!(
                account.get("balance").is_none(),
                "others' balances are private"
            );
        }
        match page.json["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);

    let mut kinds = Vec::new();
    let mut path = "/accounts/me/history?limit=2".to_owned();
    loop {
        let page = f.get(&path, &token);
        for entry in page.json["entries"].as_array().unwrap() {
            kinds.push(entry["kind"].as_str().unwrap().to_owned());
        }
        match page.json["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        kinds,
        ["Deposit", "Deposit", "Deposit", "Deposit", "Opening"]
    );

    for (query, status) in [
        ("?limit=0", 422),
        ("?limit=1001", 422),
        ("?limit=99999999999999999999999", 400),
        ("?limit=ten", 400),
        ("?after=-1", 400),
        ("?page=2", 400),
    ] {
        let answer = f.get(&format!("/accounts{query}"), &token);
        assert_eq!(answer.status, status, "{query}: {:?}", answer.json);
    }
    let answer = f.get("/accounts/me/history?limit=5000", &token);
    answer.problem(422, "invalid-page");
}

#[test]
fn renaming_changing_the_password_and_closing() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "5");
    let renamed = f.json(
        "PUT",
        "/accounts/me/name",
        &token,
        "",
        json!({"name": "alicia"}),
    );
    assert_eq!(renamed.status, 200, "{:?}", renamed.json);
    assert_eq!(renamed.json["name"], "alicia");
    f.account("bob", "0");
    let taken = f.json(
        "PUT",
        "/accounts/me/name",
        &token,
        "",
        json!({"name": "bob"}),
    );
    taken.problem(409, "name-taken");

    let wrong = json!({"current_password": "not it at all", "new_password": "brand new pw"});
    let refused = f.json("PUT", "/accounts/me/password", &token, "", wrong);
    assert!(
        refused.problem(403, "invalid-credentials")["detail"]
            .as_str()
            .unwrap()
            .contains("current password")
    );
    let right = json!({"current_password": "pw-of-alice!", "new_password": "brand new pw"});
    let changed = f.json("PUT", "/accounts/me/password", &token, "", right);
    assert_eq!(changed.status, 204, "{:?}", changed.json);
    let token = f.login("alicia", "brand new pw");

    // Money left: 409. Empty: closed, and closed accounts cannot log in (403).
    f.send(
        "DELETE",
        "/accounts/me",
        &[("authorization", &format!("Bearer {token}"))],
        b"",
    )
    .problem(409, "non-zero-balance");
    f.json(
        "POST",
        "/accounts/me/withdrawals",
        &token,
        &f.key(),
        json!({"amount": "5"}),
    );
    let key = f.key();
    let auth = format!("Bearer {token}");
    let headers = [
        ("authorization", auth.as_str()),
        ("idempotency-key", key.as_str()),
    ];
    let closed = f.send("DELETE", "/accounts/me", &headers, b"");
    assert_eq!(closed.status, 200, "{:?}", closed.json);
    assert_eq!(closed.json["status"], "Closed");
    // A retry with the same key gets the same answer.
    assert_eq!(
        f.send("DELETE", "/accounts/me", &headers, b"").json,
        closed.json
    );
    let login = json!({"name": "alicia", "password": "brand new pw"});
    f.json("POST", "/sessions", "", "", login)
        .problem(403, "account-closed");
}

#[test]
fn methods_paths_and_media_types_outside_the_api_get_their_status() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "0");
    let auth = format!("Bearer {token}");

    let wrong = f.send("PATCH", "/accounts/me", &[("authorization", &auth)], b"");
    wrong.problem(405, "method-not-allowed");
    assert_eq!(wrong.header("allow"), "GET, HEAD, DELETE");
    assert_eq!(
        f.send("GET", "/transfers", &[], b"").header("allow"),
        "POST"
    );

    f.send("GET", "/accounts/me/nothing", &[], b"")
        .problem(404, "not-found");
    f.send("GET", "/transfers/3", &[], b"")
        .problem(404, "not-found");
    assert!(f.try_send("GET", "/health", &[], b"").is_none());
    assert!(f.try_send("POST", "/Accounts/get", &[], b"").is_none());

    let form = [
        ("authorization", auth.as_str()),
        ("idempotency-key", "\"form\""),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let answer = f.send("POST", "/accounts/me/deposits", &form, b"amount=1");
    answer.problem(415, "unsupported-media-type");
    assert_eq!(answer.header("accept"), "application/json");
}

#[test]
fn hostile_bodies_and_headers_get_problems_never_panics() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "1");
    let auth = format!("Bearer {token}");
    let routes = [
        ("POST", "/accounts"),
        ("POST", "/sessions"),
        ("PUT", "/accounts/me/name"),
        ("PUT", "/accounts/me/password"),
        ("POST", "/accounts/me/deposits"),
        ("POST", "/accounts/me/withdrawals"),
        ("POST", "/transfers"),
    ];
    let bodies: [&[u8]; 10] = [
        b"",
        b"null",
        b"[]",
        b"{",
        b"\"just a string\"",
        b"{\"name\": \"\xc3\x28\"}",
        b"{\"name\": {\"nested\": [1, 2, 3]}}",
        b"{\"amount\": \"\\u0000\"}",
        &[0xff; 64],
        b"{\"to\": \"bob\", \"amount\": \"1\", \"amount\": \"2\"}",
    ];
    let key_headers = ["\"k\"", "\"\"", "a b", "\"\t\""];
    for (method, path) in routes {
        for body in bodies {
            for key in key_headers {
                let headers = [
                    ("authorization", auth.as_str()),
                    ("content-type", "application/json"),
                    ("idempotency-key", key),
                ];
                let answer = f.send(method, path, &headers, body);
                assert!(
                    (400..500).contains(&answer.status),
                    "{method} {path} {body:?} {key}: {} {:?}",
                    answer.status,
                    answer.json
                );
                assert_eq!(answer.header("content-type"), "application/problem+json");
            }
        }
    }
    // Pseudo-random bytes as bodies of every route.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..200 {
        let body: Vec<u8> = (0..(round % 40))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let (method, path) = routes[round % routes.len()];
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", "\"fuzz\""),
        ];
        let answer = f.send(method, path, &headers, &body);
        assert!(answer.status >= 400, "{body:?}");
    }
    assert_eq!(f.balance(&token), "100");
}

#[test]
fn a_failed_ledger_is_503_with_retry_after() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "1");
    f.service.shutdown().unwrap();
    let answer = f.json(
        "POST",
        "/accounts/me/deposits",
        &token,
        &f.key(),
        json!({"amount": "1"}),
    );
    assert_eq!(
        answer.problem(503, "storage-failure")["error"],
        "StorageFailure"
    );
    assert_eq!(answer.header("retry-after"), "1");
}

#[test]
fn serves_names_exactly_the_paths_handle_answers() {
    let f = Fixture::new();
    let paths = [
        "/",
        "/app.js",
        "/app.css",
        "/problems",
        "/accounts",
        "/accounts/me/x",
        "/sessions",
        "/transfers",
        "/health",
        "/describe",
        "/Accounts/get",
        "/favicon.ico",
        "/accountsx",
        "/openapi.json",
    ];
    for path in paths {
        let answered = f.try_send("GET", path, &[], b"").is_some();
        assert_eq!(f.api.serves(path), answered, "{path}");
    }
}

#[test]
fn a_request_can_be_answered_from_a_static_send_future() {
    // The shape a server's routing hook needs: the API and the backend moved into a
    // 'static future that another thread may poll.
    fn spawnable<F: core::future::Future + Send + 'static>(future: F) -> F {
        future
    }
    let f = Fixture::new();
    let (api, backend) = (f.api.clone(), f.backend.clone());
    let request = http::Request::get("/accounts/me").body(Vec::new()).unwrap();
    let future = spawnable(async move { api.handle(&backend, request).await });
    let response = smol::block_on(future).unwrap();
    assert_eq!(response.status(), 401);
}

#[test]
fn concurrent_requests_with_one_key_apply_once_and_get_the_same_answer() {
    let f = Fixture::new();
    let (_, token) = f.account("alice", "0");
    let auth = format!("Bearer {token}");
    let request = || {
        http::Request::post("/accounts/me/deposits")
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .header("idempotency-key", "\"same\"")
            .body(br#"{"amount": "5"}"#.to_vec())
            .unwrap()
    };
    let answers = smol::block_on(async {
        let calls = (0..8).map(|_| f.api.handle(&f.backend, request()));
        let mut answers = Vec::new();
        for response in futures_join(calls.collect()).await {
            let response = response.unwrap();
            assert_eq!(response.status(), 200);
            answers.push(response.into_body());
        }
        answers
    });
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(f.balance(&token), "500");
}

/// Polls every future until all are done (they run concurrently on this thread).
async fn futures_join<F: core::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(Box::pin).map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    core::future::poll_fn(|cx| {
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot
                && let core::task::Poll::Ready(value) = future.as_mut().poll(cx)
            {
                *output = Some(value);
                *slot = None;
            }
        }
        if pending.iter().all(Option::is_none) {
            core::task::Poll::Ready(())
        } else {
            core::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
