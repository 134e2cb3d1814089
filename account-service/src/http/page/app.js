// The account page: talks to the REST API with fetch(). All text reaches the page through
// textContent, never as markup. The session token lives in this tab's sessionStorage: it
// survives a reload of the tab, is gone when the tab closes, is never sent by the browser
// on its own (no cookies), and is cleared on log out.
"use strict";

const TOKEN = "accounts.session";
const PAGE = 10;

const $ = (id) => document.getElementById(id);

let history = { before: [], current: "", next: null };

// ---- amounts -------------------------------------------------------------------------

// "1234567.50" -> "1,234,567.50"; works on the exact decimal text, never on a float.
function formatAmount(text) {
  const negative = text.startsWith("-");
  const [whole, fraction] = (negative ? text.slice(1) : text).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "\u2212" : "") + grouped + "." + (fraction || "00");
}

// What people type: "12", "12.5", "1,234.50", " 3 " -> the API's "12.34" form. Commas go
// only when they separate thousands: "12,5" stays as it is, and the server refuses it,
// rather than becoming 125.
function normaliseAmount(text) {
  const compact = text.trim().replace(/[\s_]/g, "");
  return /^\d{1,3}(,\d{3})+(\.\d*)?$/.test(compact) ? compact.replace(/,/g, "") : compact;
}

function formatTime(seconds) {
  return new Date(Number(seconds) * 1000).toLocaleString();
}

// ---- messages ------------------------------------------------------------------------

function say(text, kind) {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
}

function sayProblem(problem) {
  say(capitalise(problem.detail || problem.title || "the request failed") + ".", "error");
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- the API -------------------------------------------------------------------------

class Problem extends Error {
  constructor(status, body) {
    super(body.title || "request failed");
    this.status = status;
    this.title = body.title;
    this.detail = body.detail;
    this.error = body.error;
  }
}

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// One idempotency key per distinct operation: a resubmission of the very same request
// (after a network failure, say) reuses its key, so it cannot be applied twice.
const pending = new Map();

function keyFor(operation, body) {
  const seen = pending.get(operation);
  if (seen && seen.body === body) {
    return seen.key;
  }
  const key = randomKey();
  pending.set(operation, { body, key });
  return key;
}

async function api(method, path, body, options = {}) {
  const headers = { "Accept": "application/json" };
  const token = sessionStorage.getItem(TOKEN);
  if (token && !options.anonymous) {
    headers["Authorization"] = "Bearer " + token;
  }
  let text;
  if (body !== undefined) {
    text = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  if (options.keyed) {
    headers["Idempotency-Key"] = '"' + keyFor(method + " " + path, text) + '"';
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: text, cache: "no-store" });
  } catch (e) {
    throw new Problem(0, {
      title: "the server cannot be reached",
      detail: "check your connection; resubmitting the same form is safe",
    });
  }
  if (options.keyed) {
    pending.delete(method + " " + path);
  }
  if (response.status === 204) {
    return null;
  }
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    json = { title: "the server sent an unexpected answer", detail: "status " + response.status };
  }
  if (!response.ok) {
    if (response.status === 401 && !options.anonymous) {
      endSession();
    }
    throw new Problem(response.status, json);
  }
  return json;
}

// ---- screens -------------------------------------------------------------------------

function endSession() {
  sessionStorage.removeItem(TOKEN);
  $("dashboard").hidden = true;
  $("who").hidden = true;
  $("welcome").hidden = false;
}

async function showAccount() {
  const account = await api("GET", "/accounts/me");
  $("account-name").textContent = account.name;
  $("who-name").textContent = account.name;
  $("account-balance").textContent = formatAmount(account.balance);
  $("account-id").textContent = account.id;
  $("account-created").textContent = formatTime(account.created_at);
  $("welcome").hidden = true;
  $("dashboard").hidden = false;
  $("who").hidden = false;
}

function describeEntry(entry) {
  switch (entry.kind) {
    case "Opening": return "Opening deposit";
    case "Deposit": return "Deposit";
    case "Withdrawal": return "Withdrawal";
    case "TransferOut": return "Transfer to " + entry.counterparty;
    case "TransferIn": return "Transfer from " + entry.counterparty;
    default: return entry.kind;
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
}

async function showHistory(path) {
  const page = await api("GET", path);
  const rows = $("history-rows");
  rows.replaceChildren();
  for (const entry of page.entries) {
    const row = document.createElement("tr");
    cell(row, formatTime(entry.at));
    cell(row, describeEntry(entry));
    const sign = entry.amount.startsWith("-") ? "" : "+";
    cell(row, sign + formatAmount(entry.amount), "num " + (sign ? "in" : "out"));
    cell(row, formatAmount(entry.balance_after), "num");
    rows.appendChild(row);
  }
  $("history-empty").hidden = page.entries.length > 0;
  history.current = path;
  history.next = page.next;
  $("history-older").disabled = !page.next;
  $("history-newer").disabled = history.before.length === 0;
}

function firstHistoryPage() {
  history = { before: [], current: "", next: null };
  return showHistory("/accounts/me/history?limit=" + PAGE);
}

async function refresh() {
  await showAccount();
  await firstHistoryPage();
}

// ---- actions -------------------------------------------------------------------------

// Runs `action` for a form submission, showing its outcome; the button is disabled meanwhile.
function onSubmit(formId, action) {
  const form = $(formId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const done = await action(form);
      if (done) {
        say(done, "ok");
      }
    } catch (e) {
      if (e instanceof Problem) {
        sayProblem(e);
      } else {
        say("Something went wrong: " + e.message, "error");
      }
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

function amountField(id) {
  return normaliseAmount($(id).value);
}

onSubmit("login-form", async () => {
  const session = await api("POST", "/sessions", {
    name: $("login-name").value,
    password: $("login-password").value,
  }, { anonymous: true });
  sessionStorage.setItem(TOKEN, session.token);
  $("login-password").value = "";
  await refresh();
  return "Logged in.";
});

onSubmit("open-form", async () => {
  const name = $("open-name").value;
  const password = $("open-password").value;
  const body = { name, password };
  const amount = amountField("open-amount");
  if (amount !== "") {
    body.initial_amount = amount;
  }
  const account = await api("POST", "/accounts", body, { anonymous: true, keyed: true });
  const session = await api("POST", "/sessions", { name, password }, { anonymous: true });
  sessionStorage.setItem(TOKEN, session.token);
  $("open-name").value = "";
  $("open-password").value = "";
  $("open-amount").value = "";
  await refresh();
  return "Account " + account.name + " opened with " + formatAmount(account.balance) + ".";
});

onSubmit("deposit-form", async () => {
  const receipt = await api("POST", "/accounts/me/deposits",
    { amount: amountField("deposit-amount") }, { keyed: true });
  $("deposit-amount").value = "";
  await refresh();
  return "Deposited. The balance is now " + formatAmount(receipt.balance) + ".";
});

onSubmit("withdraw-form", async () => {
  const receipt = await api("POST", "/accounts/me/withdrawals",
    { amount: amountField("withdraw-amount") }, { keyed: true });
  $("withdraw-amount").value = "";
  await refresh();
  return "Withdrawn. The balance is now " + formatAmount(receipt.balance) + ".";
});

onSubmit("transfer-form", async () => {
  const to = $("transfer-to").value;
  const receipt = await api("POST", "/transfers",
    { to, amount: amountField("transfer-amount") }, { keyed: true });
  $("transfer-amount").value = "";
  await refresh();
  return "Sent to " + to + ". The balance is now " + formatAmount(receipt.balance) + ".";
});

onSubmit("rename-form", async () => {
  const account = await api("PUT", "/accounts/me/name",
    { name: $("rename-name").value }, { keyed: true });
  $("rename-name").value = "";
  await refresh();
  return "Renamed to " + account.name + ".";
});

onSubmit("password-form", async () => {
  await api("PUT", "/accounts/me/password", {
    current_password: $("password-current").value,
    new_password: $("password-new").value,
  }, { keyed: true });
  $("password-current").value = "";
  $("password-new").value = "";
  return "Password changed. Other sessions were logged out.";
});

onSubmit("close-form", async () => {
  const account = await api("DELETE", "/accounts/me", undefined, { keyed: true });
  await api("DELETE", "/sessions/current").catch(() => null);
  endSession();
  $("close-confirm").checked = false;
  return "Account " + account.name + " is closed.";
});

$("logout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/sessions/current");
  } catch (e) {
    // Logged out here whatever the server says.
  }
  endSession();
  say("Logged out.", "ok");
});

$("history-older").addEventListener("click", async () => {
  if (!history.next) {
    return;
  }
  history.before.push(history.current);
  const next = history.next;
  try {
    await showHistory(next);
  } catch (e) {
    sayProblem(e);
  }
});

$("history-newer").addEventListener("click", async () => {
  const previous = history.before.pop();
  if (previous === undefined) {
    return;
  }
  try {
    await showHistory(previous);
  } catch (e) {
    sayProblem(e);
  }
});

// A reload of the tab keeps the session.
if (sessionStorage.getItem(TOKEN)) {
  refresh().catch((e) => {
    endSession();
    if (e instanceof Problem) {
      sayProblem(e);
    }
  });
}
