"""The HTML page at ``/``: open alerts, users and connector status for a security admin.

The page is static: it holds no data, so it is served without a token. Its script fetches the
JSON views (``/alerts``, ``/users``, ``/users/{id}``, ``/status``, ``/health``) and redraws
every ``?refresh=`` seconds (default 10). When ``WEB_TOKEN`` is set the views need it: open
``/#token=<token>`` (the fragment never reaches the server or its logs; the page moves it to
the tab's ``sessionStorage`` and removes it from the address bar) or type it into the prompt
the page shows when a view answers 401. Data is written with ``textContent`` only, and a
Content-Security-Policy allows exactly the page's own inline script and style.
"""

from __future__ import annotations

import base64
import hashlib

import faust
from faust.web import Request, Response, View

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #1d2330; }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap;
         border-bottom: 1px solid #d5d9e0; }
h1 { font-size: 1.3rem; margin: .8rem 0; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.muted { color: #5b6475; }
.warn { color: #9a3412; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e6e9ee;
         vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { font-weight: 600; }
.sev-CRITICAL, .sev-HIGH { color: #b91c1c; }
.sev-MEDIUM { color: #b45309; }
.state-HEALTHY, .state-RECOVERED, .state-BASELINE_COMPLETE { color: #15803d; }
.state-PARTIAL, .state-DEGRADED { color: #b45309; }
.state-RECONNECT_REQUIRED, .state-DELETED { color: #b91c1c; font-weight: 600; }
ul.evidence { margin: 0; padding-left: 1rem; }
input[type=search] { width: 18rem; padding: .25rem; }
nav button { margin-right: .4rem; }
#login { max-width: 28rem; margin-top: 2rem; }
.scroll { max-height: 55vh; overflow: auto; border-bottom: 1px solid #d5d9e0; }
.scroll th { position: sticky; top: 0; }
#alert-reasons span { margin-right: 1rem; white-space: nowrap; }
"""

BODY = """
<header>
  <h1>Claude connector</h1>
  <span id="app" class="muted"></span>
  <span id="refreshed" class="muted">loading...</span>
  <span id="coverage" class="warn"></span>
  <span id="error" class="warn"></span>
</header>
<section id="login" hidden>
  <h2>This worker needs its web token</h2>
  <form id="login-form">
    <label>Token <input id="token-input" type="password" autocomplete="current-password"></label>
    <button type="submit">Show</button>
  </form>
  <p id="login-error" class="warn"></p>
</section>
<main id="content" hidden>
  <section>
    <h2>Connectors</h2>
    <table id="status"><thead><tr><th>Connector</th><th>Organisation</th><th>State</th>
      <th>Reason</th><th>Baseline</th><th>Last success</th><th>Failing</th></tr></thead>
      <tbody></tbody></table>
  </section>
  <section>
    <h2>Open alerts <span id="alert-count" class="muted"></span></h2>
    <p id="alert-reasons"></p>
    <div class="scroll">
    <table id="alerts"><thead><tr><th>Severity</th><th>Reason</th><th>User</th>
      <th>Opened</th><th>Origin</th><th>Evidence</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
  <section>
    <h2>Users <span id="user-count" class="muted"></span></h2>
    <p><input id="user-filter" type="search" placeholder="Filter by e-mail, name or role">
       <span id="user-page" class="muted"></span></p>
    <table id="users"><thead><tr><th>E-mail</th><th>Name</th><th>Role</th><th>Status</th>
      <th>Surfaces and connectors</th><th>Spend (USD)</th><th>First seen</th></tr></thead>
      <tbody></tbody></table>
    <nav><button id="prev" type="button">Previous</button>
         <button id="next" type="button">Next</button></nav>
  </section>
</main>
"""

SCRIPT = """
"use strict";
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1, Number(params.get("refresh")) || 10) * 1000;
const PAGE_SIZE = 25;
const LIST_LIMIT = 1000;
const TOKEN_KEY = "claude-connector-token";
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem(TOKEN_KEY), users: [], page: 0, refreshes: 0 };
let timer = null;

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("token")) {
  state.token = fragment.get("token");
  sessionStorage.setItem(TOKEN_KEY, state.token);
  history.replaceState(null, "", location.pathname + location.search);
}

class Unauthorized extends Error {}

async function getJson(path) {
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const response = await fetch(path, { headers, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized(path);
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

async function listAll(path) {
  const rows = [];
  let body;
  do {
    const sep = path.includes("?") ? "&" : "?";
    body = await getJson(path + sep + "limit=" + LIST_LIMIT + "&offset=" + rows.length);
    rows.push(...body.data);
  } while (body.data.length === LIST_LIMIT);
  return { rows, complete: body.complete, partitions: body.partitions,
           total: body.partitions_total };
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function fill(tableId, items, draw) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  for (const item of items) draw(body.insertRow(), item);
}

function when(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/\\.\\d+/, "").replace(/(Z|\\+00:00)$/, " UTC");
}

function list(td, entries) {
  const ul = document.createElement("ul");
  ul.className = "evidence";
  for (const [key, value] of entries) {
    const li = document.createElement("li");
    li.textContent = key + ": " + value;
    ul.append(li);
  }
  td.append(ul);
}

function drawStatus(rows) {
  fill("status", rows, (tr, s) => {
    tr.dataset.connector = s.connector;
    cell(tr, s.connector);
    cell(tr, s.org_id);
    cell(tr, s.state, "state-" + s.state);
    cell(tr, s.reason);
    cell(tr, s.baseline_complete ? "complete" : "collecting");
    list(cell(tr, ""), Object.entries(s.last_success || {}).map(([k, v]) => [k, when(v)]));
    list(cell(tr, ""), Object.entries(s.failing || {}));
  });
}

function drawAlerts(alerts) {
  $("alert-count").textContent = "(" + alerts.length + ", newest first)";
  const reasons = {};
  for (const a of alerts) reasons[a.reason] = (reasons[a.reason] || 0) + 1;
  $("alert-reasons").replaceChildren(...Object.entries(reasons)
    .sort((x, y) => y[1] - x[1])
    .map(([reason, count]) => {
      const span = document.createElement("span");
      span.textContent = reason + ": " + count;
      return span;
    }));
  fill("alerts", alerts, (tr, a) => {
    tr.dataset.alertId = a.alert_id;
    tr.dataset.reason = a.reason;
    tr.dataset.userId = a.user_id;
    cell(tr, a.severity, "sev sev-" + a.severity);
    cell(tr, a.reason);
    const who = cell(tr, a.email || a.user_id);
    who.title = a.org_id + ":" + a.user_id;
    cell(tr, when(a.opened_at));
    cell(tr, a.baseline ? "existed at connect" : "new change");
    list(cell(tr, ""), Object.entries(a.evidence || {}));
  });
}

function spendUsd(detail) {
  const cost = ((detail.usage || {}).totals || {}).COST || {};
  const micros = cost.usd_micros ?? 0;
  return (micros / 1e8).toFixed(2);
}

function surfaces(detail) {
  return (detail.associations || []).map((item) =>
    item.auth === "PERSONAL_CREDENTIAL" ? item.name + " (personal credential)" : item.name
  ).join(", ");
}

function visibleUsers() {
  const needle = $("user-filter").value.trim().toLowerCase();
  const shown = needle
    ? state.users.filter((u) =>
        [u.email, u.name, u.role].some((v) => (v || "").toLowerCase().includes(needle)))
    : state.users;
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  $("user-page").textContent = shown.length + " shown, page " + (state.page + 1) + " of " + pages;
  return shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
}

async function drawUsers() {
  const rows = visibleUsers();
  const details = await Promise.all(rows.map((u) =>
    getJson("/users/" + encodeURIComponent(u.org_id + ":" + u.id))
      .then((body) => body.data, (error) => {
        if (error instanceof Unauthorized) throw error;
        return null;
      })));
  fill("users", rows, (tr, u) => {
    const detail = details[rows.indexOf(u)] || {};
    tr.dataset.userId = u.id;
    cell(tr, u.email);
    cell(tr, u.name);
    cell(tr, u.role);
    cell(tr, u.status);
    cell(tr, surfaces(detail));
    cell(tr, detail.usage ? spendUsd(detail) : "", "num");
    cell(tr, when(u.first_seen));
  });
}

function showLogin(message) {
  $("content").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  document.body.dataset.state = "login";
}

async function refresh() {
  try {
    const health = await getJson("/health").catch(() => ({ app_id: "", status: "starting" }));
    const [status, alerts, users] = await Promise.all([
      getJson("/status"), listAll("/alerts?state=open"), listAll("/users"),
    ]);
    state.users = users.rows;
    $("user-count").textContent = "(" + users.rows.length + " members)";
    drawStatus(status.data);
    drawAlerts(alerts.rows);
    await drawUsers();
    $("app").textContent = "app " + health.app_id + " (" + health.status + ")";
    $("coverage").textContent = users.complete ? "" :
      "partial: partitions [" + users.partitions + "] of " + users.total + " answered";
    $("error").textContent = "";
    $("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
    $("login").hidden = true;
    $("content").hidden = false;
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
    document.body.dataset.state = "ready";
  } catch (error) {
    if (error instanceof Unauthorized) {
      showLogin(state.token ? "That token was refused." : "");
    } else {
      $("error").textContent = "refresh failed: " + error.message;
    }
  } finally {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

function redrawUsers() {
  drawUsers().catch((error) => { $("error").textContent = "users: " + error.message; });
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token-input").value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("login-error").textContent = "";
  refresh();
});
$("user-filter").addEventListener("input", () => { state.page = 0; redrawUsers(); });
$("prev").addEventListener("click", () => {
  state.page = Math.max(0, state.page - 1);
  redrawUsers();
});
$("next").addEventListener("click", () => { state.page += 1; redrawUsers(); });
refresh();
"""


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Claude connector</title>"
    f"<style>{STYLE}</style></head>\n<body>{BODY}<script>{SCRIPT}</script></body></html>\n"
)

HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class DashboardPage(View):
    """The page (no data in it, so no token needed to load it)."""

    async def get(self, request: Request) -> Response:
        return self.html(PAGE, headers=dict(HEADERS))


def register_page(app: faust.App) -> None:
    """Serve the page at ``/`` on ``app``."""
    app.page("/")(DashboardPage)
