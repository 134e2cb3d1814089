#!/usr/bin/env python3
"""Drives the account web page in headless Chromium through chromedriver (W3C WebDriver).

Standard library only. Run by the Rust test `rest::browser`:

    e2e.py --url http://127.0.0.1:PORT --chromium /usr/bin/chromium \
           --chromedriver /usr/bin/chromedriver --out target/browser-e2e

It opens two accounts, logs in with a wrong and then the right password, deposits,
transfers to the second account, tries an overdraft, and checks both histories, saving a
screenshot after each step. Exits non-zero with a message on the first failure.
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
# An account name that is also HTML.
MARKUP = "<b>mal</b><img src=x>"
# The upper bound on anything awaited; only reached when something is broken.
HANG = 30.0


class Failure(Exception):
    pass


class Driver:
    """A WebDriver session: the few commands the test needs."""

    def __init__(self, base):
        self.base = base
        self.session = None

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(req, timeout=HANG * 2) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as e:
            raise Failure(f"webdriver {method} {path}: {e.code} {e.read().decode(errors='replace')}")

    def start(self, chromium, profile):
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1200,1400",
            f"--user-data-dir={profile}",
        ]
        capabilities = {
            "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args},
            }
        }
        value = self.request("POST", "/session", {"capabilities": capabilities})
        self.session = value["sessionId"]

    def quit(self):
        if self.session:
            try:
                self.request("DELETE", f"/session/{self.session}")
            except Exception:
                pass

    def s(self, path):
        return f"/session/{self.session}{path}"

    def go(self, url):
        self.request("POST", self.s("/url"), {"url": url})

    def find(self, selector):
        value = self.request("POST", self.s("/element"), {"using": "css selector", "value": selector})
        return value[ELEMENT]

    def text(self, selector):
        return self.request("GET", self.s(f"/element/{self.find(selector)}/text"))

    def displayed(self, selector):
        return self.request("GET", self.s(f"/element/{self.find(selector)}/displayed"))

    def type(self, selector, text):
        element = self.find(selector)
        self.request("POST", self.s(f"/element/{element}/clear"), {})
        self.request("POST", self.s(f"/element/{element}/value"), {"text": text})

    def click(self, selector):
        self.request("POST", self.s(f"/element/{self.find(selector)}/click"), {})

    def script(self, source, *args):
        return self.request("POST", self.s("/execute/sync"), {"script": source, "args": list(args)})

    def screenshot(self, path):
        png = base64.b64decode(self.request("GET", self.s("/screenshot")))
        with open(path, "wb") as f:
            f.write(png)

    def wait_for(self, what, check):
        """Polls check() until it returns a true value, which it returns."""
        deadline = time.monotonic() + HANG
        last = None
        while time.monotonic() < deadline:
            try:
                last = check()
                if last:
                    return last
            except Failure as e:
                last = e
            time.sleep(0.1)
        raise Failure(f"timed out waiting for {what} (last: {last!r})")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chromedriver(path, log):
    port = free_port()
    process = subprocess.Popen(
        [path, f"--port={port}"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Failure(f"chromedriver exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/status", timeout=5) as response:
                if json.load(response)["value"].get("ready"):
                    return process, base
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    process.kill()
    raise Failure("chromedriver did not become ready")


class Page:
    """The account page, as a user sees it."""

    def __init__(self, driver, url, out):
        self.d = driver
        self.url = url
        self.out = out
        self.shots = 0

    def shot(self, name):
        self.shots += 1
        path = os.path.join(self.out, f"{self.shots:02d}-{name}.png")
        self.d.screenshot(path)
        print(f"screenshot {path}")

    def message(self):
        return self.d.text("#message")

    def expect_message(self, *parts):
        def check():
            text = self.message()
            return text if all(p in text for p in parts) else None

        return self.d.wait_for(f"a message with {parts}", check)

    def submit(self, button, fields):
        # A fresh message each time, so that waiting for one cannot see the previous.
        self.d.script("document.getElementById('message').textContent = '';")
        for selector, value in fields:
            self.d.type(selector, value)
        self.d.click(button)

    def balance_is(self, text):
        return self.d.wait_for(
            f"the balance {text}", lambda: self.d.text("#account-balance") == text
        )

    def history(self):
        return self.d.script(
            "return Array.from(document.querySelectorAll('#history-rows tr'))"
            ".map(r => Array.from(r.cells).map(c => c.textContent));"
        )

    def open_account(self, name, password, amount):
        self.submit(
            "#open-submit",
            [("#open-name", name), ("#open-password", password), ("#open-amount", amount)],
        )
        self.expect_message(f"Account {name} opened")

    def log_in(self, name, password):
        self.submit("#login-submit", [("#login-name", name), ("#login-password", password)])

    def log_out(self):
        self.d.click("#logout")
        self.expect_message("Logged out")
        self.d.wait_for("the login form", lambda: self.d.displayed("#login-form"))


def run(args):
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile, open(
        os.path.join(args.out, "chromedriver.log"), "wb"
    ) as log:
        process, base = start_chromedriver(args.chromedriver, log)
        driver = Driver(base)
        try:
            driver.start(args.chromium, profile)
            page = Page(driver, args.url, args.out)
            try:
                scenario(page)
            except Failure:
                try:
                    page.shot("failure")
                    print(f"the page said: {page.message()!r}")
                except Failure:
                    pass
                raise
        finally:
            driver.quit()
            process.terminate()
            try:
                process.wait(timeout=HANG)
            except subprocess.TimeoutExpired:
                process.kill()


def scenario(page):
    d = page.d
    d.go(page.url + "/")
    d.wait_for("the page", lambda: d.displayed("#open-form"))
    page.shot("page")

    # An account whose name is markup: it must show as text, never as markup.
    page.open_account(MARKUP, "mallory's password", "")
    if d.script("return document.querySelectorAll('#account-name *').length;") != 0:
        raise Failure("the account name was inserted as markup")
    page.log_out()

    # A second account: bob, with nothing in it.
    page.open_account("bob", "battery staple", "")
    page.balance_is("0.00")
    page.log_out()

    # Alice opens an account with 1,000.00, and logs out.
    page.open_account("alice", "correct horse", "1000")
    page.balance_is("1,000.00")
    page.shot("alice-opened")
    page.log_out()

    # A wrong password: a clear message, and still logged out.
    page.log_in("alice", "not the password")
    text = page.expect_message("The name or the password is wrong")
    if d.displayed("#dashboard"):
        raise Failure("a wrong password logged in")
    print(f"wrong password: {text}")
    page.shot("wrong-password")

    # The right one.
    page.log_in("alice", "correct horse")
    page.expect_message("Logged in")
    page.balance_is("1,000.00")
    if d.displayed("#login-form") or d.displayed("#open-form"):
        raise Failure("the login and open forms are still shown after logging in")

    # A decimal comma is refused, not read as a thousands separator.
    page.submit("#deposit-submit", [("#deposit-amount", "12,5")])
    page.expect_message("Amount must look like 12, 12.5 or 12.50")
    page.balance_is("1,000.00")

    # Deposit 234.56.
    page.submit("#deposit-submit", [("#deposit-amount", "234.56")])
    page.expect_message("Deposited", "1,234.56")
    page.balance_is("1,234.56")
    page.shot("deposited")

    # Transfer 200.50 to bob.
    page.submit("#transfer-submit", [("#transfer-to", "bob"), ("#transfer-amount", "200.50")])
    page.expect_message("Sent to bob", "1,034.06")
    page.balance_is("1,034.06")

    # An overdraft (written with a thousands separator): refused with a clear message,
    # nothing moves.
    page.submit("#withdraw-submit", [("#withdraw-amount", "5,000")])
    text = page.expect_message("The balance is too small for this withdrawal")
    print(f"overdraft: {text}")
    page.balance_is("1,034.06")
    page.shot("overdraft")

    rows = d.wait_for("three history rows", lambda: len(page.history()) == 3 and page.history())
    expected = [
        ("Transfer to bob", "\u2212200.50", "1,034.06"),
        ("Deposit", "+234.56", "1,234.56"),
        ("Opening deposit", "+1,000.00", "1,000.00"),
    ]
    check_history("alice", rows, expected)
    page.shot("alice-history")

    # Ten more entries (made through the API directly) fill a page: the pager appears.
    token = rest(page.url, "POST", "/sessions", {"name": "alice", "password": "correct horse"})["token"]
    for i in range(10):
        rest(page.url, "POST", "/accounts/me/deposits", {"cents": 1}, token=token, key=f"page-{i}")
    d.go(page.url + "/")
    page.balance_is("1,034.16")
    d.wait_for("a full first page", lambda: len(page.history()) == 10)
    d.wait_for("the Older button", lambda: d.request("GET", d.s(f"/element/{d.find('#history-older')}/enabled")))
    d.click("#history-older")
    rows = d.wait_for("the second page", lambda: len(page.history()) == 3 and page.history())
    check_history("alice", rows, expected)
    d.click("#history-newer")
    d.wait_for("the first page again", lambda: len(page.history()) == 10)
    page.log_out()

    # Bob sees the money arrive.
    page.log_in("bob", "battery staple")
    page.expect_message("Logged in")
    page.balance_is("200.50")
    rows = d.wait_for("one history row", lambda: len(page.history()) == 1 and page.history())
    check_history("bob", rows, [("Transfer from alice", "+200.50", "200.50")])

    # Bob pays the account named with markup; his history shows the name as text.
    page.submit("#transfer-submit", [("#transfer-to", MARKUP), ("#transfer-amount", "0.50")])
    page.expect_message("Sent to " + MARKUP, "200.00")
    rows = d.wait_for("two history rows", lambda: len(page.history()) == 2 and page.history())
    check_history(
        "bob",
        rows,
        [
            ("Transfer to " + MARKUP, "\u2212" + "0.50", "200.00"),
            ("Transfer from alice", "+200.50", "200.50"),
        ],
    )
    if d.script("return document.querySelectorAll('#history-rows img, #history-rows b').length;"):
        raise Failure("a name in the history was inserted as markup")
    page.shot("bob-history")

    # A reload keeps the session (sessionStorage).
    d.go(page.url + "/")
    page.balance_is("200.00")

    # Settings: rename, change the password, close (refused while money is left).
    d.click("summary")
    page.submit("#rename-submit", [("#rename-name", "robert")])
    page.expect_message("Renamed to robert")
    d.wait_for("the new name", lambda: d.text("#account-name") == "robert")
    page.submit(
        "#password-submit",
        [("#password-current", "battery staple"), ("#password-new", "staple battery")],
    )
    page.expect_message("Password changed")
    page.submit("#close-submit", [])
    d.click("#close-confirm")
    d.click("#close-submit")
    page.expect_message("Withdraw or transfer the balance before closing")
    page.submit("#withdraw-submit", [("#withdraw-amount", "200")])
    page.balance_is("0.00")
    page.shot("settings")
    d.script("document.getElementById('message').textContent = '';")
    # Still ticked from the refused attempt.
    if not d.request("GET", d.s(f"/element/{d.find('#close-confirm')}/selected")):
        raise Failure("the confirmation box was cleared by a refused close")
    d.click("#close-submit")
    page.expect_message("Account robert is closed")
    d.wait_for("the login form", lambda: d.displayed("#login-form"))
    page.shot("closed")

    # Closing logged out: nothing is left in storage, and there never were cookies.
    stored = d.script("return window.sessionStorage.length;")
    if stored != 0:
        raise Failure(f"sessionStorage still holds {stored} item(s) after logging out")
    cookies = d.request("GET", d.s("/cookie"))
    if cookies:
        raise Failure(f"the page set cookies: {cookies}")
    page.log_in("robert", "staple battery")
    page.expect_message("The account is closed")


def rest(base, method, path, body, token=None, key=None):
    """One call of the REST API, outside the browser; returns the JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    if key:
        headers["Idempotency-Key"] = f'"{key}"'
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=HANG) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise Failure(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


def check_history(who, rows, expected):
    got = [(r[1], r[2], r[3]) for r in rows]
    if got != expected:
        raise Failure(f"{who}'s history is {got}, expected {expected}")
    print(f"{who}'s history: {got}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--chromedriver", required=True)
    parser.add_argument("--out", required=True, help="where screenshots go")
    args = parser.parse_args()
    try:
        run(args)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    print("the page works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
