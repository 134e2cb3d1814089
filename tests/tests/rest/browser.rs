//! The web page in a real browser: Chromium, driven through chromedriver by
//! `tests/browser/e2e.py` (W3C WebDriver over the Python standard library only).
