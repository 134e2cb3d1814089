//! `docs/HTTP.md`'s curl session, verbatim: every `sh` block, in order, in one bash process
//! with `API` pointing at a fresh server.

use super::front::{RestServer, require, workspace};
use std::process::{Command, Stdio};

/// The contents of every fenced block of `lang` in `markdown`, in order.
fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == fence => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unterminated ```{lang} block");
    blocks
}

#[test]
fn the_curl_examples_of_the_http_doc_run_as_written() {
    let Some(tools) = require(&["bash", "curl", "python3"]) else {
        return;
    };
    let doc = std::fs::read_to_string(workspace().join("docs/HTTP.md")).expect("docs/HTTP.md");
    let script = blocks(&doc, "sh").join("\n");
    assert!(
        script.contains("curl"),
        "no sh blocks with curl in docs/HTTP.md"
    );

    let dir = tempfile::tempdir().unwrap();
    let server = RestServer::start(dir.path());
    let output = Command::new(&tools[0])
        .args(["-euo", "pipefail", "-c", &script])
        .env("API", server.url())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the doc's commands failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // What the doc says each step shows.
    let expected = [
        r#""balance":"25.00","balance_cents":"2500""#,
        r#""name":"bob""#,
        "HTTP/1.1 200 OK",
        r#""balance":"37.34","balance_cents":"3734""#,
        r#""balance":"35.34""#,
        r#""balance":"14.84""#,
        r#""error":"InsufficientFunds""#,
        r#""kind":"TransferOut""#,
        r#""next":"/accounts/me/history?before="#,
        r#""kind":"Opening""#,
        "HTTP/1.1 401 Unauthorized",
        r#"www-authenticate: Bearer realm="accounts""#,
        r#""name":"alicia""#,
        r#""type":"/problems#unauthenticated""#,
        r#""status":"Closed""#,
    ];
    let mut rest = stdout.as_ref();
    for text in expected {
        let at = rest
            .find(text)
            .unwrap_or_else(|| panic!("expected {text} (in this order) in the output:\n{stdout}"));
        rest = &rest[at + text.len()..];
    }
    // The receipt of the retried deposit is the first one, word for word.
    let receipts: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(r#""balance":"37.34""#))
        .collect();
    assert_eq!(receipts.len(), 2, "{stdout}");
    assert_eq!(receipts[0], receipts[1]);
}
