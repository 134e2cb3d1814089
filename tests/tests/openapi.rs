//! The OpenAPI documents of the calculator and account services, checked by a real validator:
//! `openapi-spec-validator` (pip), run by `python3`.
//!
//! Without the validator the test skips with a message when `CI` is unset, and fails when it is
//! set (`.ci/run` installs it).

use account_client::api::AccountsClient;
use rpc_runtime::openapi;
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Validates `doc` with openapi-spec-validator; `Err` with its report when it is invalid.
/// `Ok(false)` when the validator is not installed and the test may skip.
fn validate(doc: &Value) -> Result<bool, String> {
    let script = "import json, sys\n\
        try:\n    from openapi_spec_validator import validate\n\
        except ImportError:\n    sys.exit(3)\n\
        validate(json.load(sys.stdin))\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    let text = serde_json::to_vec(doc).expect("the document serialises");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&text)
        .map_err(|e| format!("writing to python3: {e}"))?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    match output.status.code() {
        Some(0) => Ok(true),
        Some(3) if std::env::var_os("CI").is_none() => Ok(false),
        Some(3) => Err(
            "openapi-spec-validator is not installed (pip install openapi-spec-validator)".into(),
        ),
        _ => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

fn check(doc: &Value) {
    match validate(doc) {
        Ok(true) => {}
        Ok(false) => eprintln!(
            "skipped: openapi-spec-validator is not installed for python3 (pip install openapi-spec-validator)"
        ),
        Err(report) => panic!("the OpenAPI document is invalid:\n{report}\n{doc:#}"),
    }
}

#[test]
fn calculator_document_is_valid() {
    let doc = openapi::document(
        "calculator",
        "0.1.0",
        &[&crate::protocol::CalcClient::SCHEMA],
    )
    .expect("document");
    let add = &doc["paths"]["/Calc/add"]["post"];
    assert_eq!(add["operationId"], "Calc.add");
    let request = &doc["components"]["schemas"]["Calc.add.Request"];
    assert_eq!(request["properties"]["a"]["pattern"], "^-?[0-9]+$");
    let error = &doc["components"]["schemas"]["Calc.add.Error"]["properties"]["error"]["anyOf"][0];
    assert_eq!(
        error["enum"],
        serde_json::json!(["Overflow", "DivisionByZero"])
    );
    assert!(
        doc["paths"]["/Calc/add"].get("get").is_none(),
        "add is not read-only"
    );
    assert!(doc["paths"]["/health"]["get"].is_object());
    assert!(doc["paths"]["/describe"]["get"].is_object());
    check(&doc);
}

#[test]
fn account_document_is_valid() {
    let doc = openapi::document("accounts", "0.1.0", &[&AccountsClient::SCHEMA]).expect("document");
    let paths = doc["paths"].as_object().expect("paths");
    for method in AccountsClient::SCHEMA.methods {
        let item = &paths[&format!("/Accounts/{}", method.name)];
        assert!(item["post"].is_object(), "{}", method.name);
        assert_eq!(
            item.get("get").is_some(),
            method.read_only,
            "{}",
            method.name
        );
    }
    let get = &paths["/Accounts/history"]["get"];
    let names: Vec<&str> = get["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["token", "before_id", "limit"]);
    assert_eq!(
        get["parameters"][0]["schema"]["pattern"],
        "^[0-9a-fA-F]{64}$"
    );
    check(&doc);
}

#[test]
fn a_broken_document_is_caught() {
    // The validator really runs: a document without `info` must fail.
    let mut doc = openapi::document(
        "calculator",
        "0.1.0",
        &[&crate::protocol::CalcClient::SCHEMA],
    )
    .expect("document");
    doc.as_object_mut().expect("object").remove("info");
    match validate(&doc) {
        Ok(true) => panic!("a document without info passed validation"),
        Ok(false) => eprintln!("skipped: openapi-spec-validator is not installed"),
        Err(_) => {}
    }
}

#[test]
fn the_server_serves_its_document_at_openapi_json() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = crate::accounts::support::Server::start(dir.path());
    let addr = server.tcp.to_string().replacen("tcp://", "", 1);
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET /openapi.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8(response).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let doc: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/Accounts/deposit"]["post"].is_object());
    check(&doc);
}
