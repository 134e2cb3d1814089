//! The web page in a real browser: Chromium, driven through chromedriver by
//! `tests/browser/e2e.py` (W3C WebDriver over the Python standard library only).
//!
//! The script opens two accounts, tries a wrong password, logs in, deposits, transfers to
//! the second account, tries an overdraft, checks both histories as the page shows them
//! (and pages through a longer one), renames, changes the password, closes the account, and
//! checks that names that are markup show as text and that nothing is left stored; it saves
//! screenshots under `target/browser-e2e/`. Needs the Debian packages `chromium` and `chromium-driver`
//! (`.ci/run` installs them).

use super::front::{RestServer, require, workspace};
use std::process::{Command, Stdio};

#[test]
fn the_page_works_in_chromium() {
    let Some(tools) = require(&["python3", "chromium", "chromedriver"]) else {
        return;
    };
    let [python, chromium, chromedriver] = &tools[..] else {
        unreachable!("require returns one path per program");
    };
    let out = workspace().join("target").join("browser-e2e");
    let dir = tempfile::tempdir().unwrap();
    let server = RestServer::start(dir.path());
    let output = Command::new(python)
        .arg(workspace().join("tests/browser/e2e.py"))
        .arg("--url")
        .arg(server.url())
        .arg("--chromium")
        .arg(chromium)
        .arg("--chromedriver")
        .arg(chromedriver)
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run tests/browser/e2e.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed ({}); screenshots and chromedriver.log in {}:\n{stdout}\n{stderr}",
        output.status,
        out.display()
    );
    assert!(stdout.contains("the page works"), "{stdout}");
    assert!(out.join("01-page.png").is_file());
}
