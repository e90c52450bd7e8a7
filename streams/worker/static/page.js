"use strict";
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(1, Number(params.get("refresh")) || 10) * 1000;
const PAGE_SIZE = 25;
const LIST_LIMIT = 1000;
const IDLE_SHOWN = 8;
const TOKEN_KEY = "claude-connector-token";
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem(TOKEN_KEY), users: [], page: 0, refreshes: 0,
  reasons: {}, member: null };
let timer = null;

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has("token")) {
  state.token = fragment.get("token");
  sessionStorage.setItem(TOKEN_KEY, state.token);
  history.replaceState(null, "", location.pathname + location.search);
}

class Unauthorized extends Error {}

async function postJson(path, payload) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(payload) });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || path + ": HTTP " + response.status);
  return body;
}

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
  return iso.replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, " UTC");
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

const TRIAGE_ACTIONS = [["ack", "Ack"], ["snooze", "Snooze 1 day"], ["accept", "Accept"],
  ["reopen", "Reopen"]];

async function triage(identity, alert, action, reasonInput) {
  const payload = {
    org_id: identity.org_id, user_id: identity.user_id, alert_id: alert.alert_id, action,
    reason: reasonInput.value.trim(), severity: alert.severity, by: "page",
    reasons: identity.alerts.filter((a) => a.state === "OPENED").map((a) => a.reason),
  };
  if (action === "snooze") payload.until = "1d";
  try {
    await postJson("/decisions", payload);
    $("triage-status").textContent = action + " " + alert.reason + " of " +
      (identity.email || identity.user_id) + " sent";
    document.body.dataset.triage = action + ":" + alert.alert_id;
  } catch (error) {
    $("triage-status").textContent = "triage refused: " + error.message;
    document.body.dataset.triage = "refused";
  }
  refresh();
}

function drawIdentities(found) {
  $("identity-count").textContent = "(" + found.rows.length + ", highest severity first)";
  fill("identities", found.rows, (tr, identity) => {
    tr.dataset.identity = identity.id;
    tr.dataset.userId = identity.user_id;
    cell(tr, identity.severity, "sev sev-" + identity.severity);
    const who = cell(tr, identity.email || identity.user_id);
    who.title = identity.id;
    cell(tr, identity.reasons.join(", "));
    cell(tr, when(identity.first_seen));
    cell(tr, when(identity.last_seen));
    const td = cell(tr, "");
    const reasonInput = document.createElement("input");
    reasonInput.className = "triage-reason";
    reasonInput.placeholder = "reason (needed to accept)";
    reasonInput.value = state.reasons[identity.id] || "";
    reasonInput.addEventListener("input", () => { state.reasons[identity.id] = reasonInput.value; });
    const ul = document.createElement("ul");
    ul.className = "triage";
    for (const alert of identity.alerts) {
      const li = document.createElement("li");
      li.dataset.alertId = alert.alert_id;
      li.dataset.reason = alert.reason;
      li.dataset.triage = alert.triage;
      const label = document.createElement("span");
      label.textContent = alert.reason + " " + alert.severity + " ";
      const status = document.createElement("span");
      status.className = "triage-state";
      status.textContent = alert.triage + (alert.triage_why ? " (" + alert.triage_why + ")" : "");
      li.append(label, status);
      list(li, Object.entries(alert.evidence || {}));
      if (alert.state === "OPENED") {
        for (const [action, text] of TRIAGE_ACTIONS) {
          const button = document.createElement("button");
          button.type = "button";
          button.dataset.action = action;
          button.textContent = text;
          button.addEventListener("click", () => triage(identity, alert, action, reasonInput));
          li.append(button);
        }
      }
      ul.append(li);
    }
    td.append(reasonInput, ul);
  });
}

function identitiesPath() {
  return "/identities?state=" + ($("identity-all").checked ? "all" : "open");
}

function associations(user) {
  const connectors = (user.connectors || []).map((item) =>
    item.auth === "PERSONAL_CREDENTIAL" ? item.name + " (personal credential)" : item.name);
  return [...(user.surfaces || []), ...connectors].join(", ");
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

function drawUsers() {
  fill("users", visibleUsers(), (tr, u) => {
    tr.dataset.userId = u.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "member-link";
    open.textContent = u.email;
    open.addEventListener("click", () => { state.member = u.org_id + ":" + u.id; refresh(); });
    cell(tr, "").append(open);
    cell(tr, u.name);
    cell(tr, u.role);
    cell(tr, u.idle ? u.status + " (idle)" : u.status);
    cell(tr, associations(u));
    cell(tr, u.spend_usd.toFixed(2), "num");
    cell(tr, u.last_active_day);
    cell(tr, when(u.first_seen));
  });
}

function actorName(actor) {
  if (!actor) return "";
  return actor.email || actor.id || actor.type;
}

/* The rows of the member panel: [label, text] for each fact the worker knows. */
function memberFacts(member) {
  const facts = [["role", member.role], ["status", member.status],
    ["groups", Object.values(member.groups || {}).join(", ")],
    ["first seen", when(member.first_seen)]];
  const activity = member.activity || {};
  if (activity.last_login_at) {
    facts.push(["last sign-in", when(activity.last_login_at) + " by " + activity.last_login_method]);
  }
  const change = activity.role_change;
  if (change) {
    facts.push(["role change", (change.previous || "none") + " to " + (change.current || "none") +
      " by " + actorName(change.by) + " at " + when(change.at)]);
  }
  for (const link of activity.connectors || []) {
    facts.push(["connector " + (link.name || link.server_id),
      (link.managed_auth ? "managed auth" : "own credential") + ", connected " +
      when(link.connected_at) + (link.disconnected_at ?
        ", disconnected " + when(link.disconnected_at) : "")]);
  }
  for (const key of activity.keys_created || []) {
    facts.push(["created " + key.kind, key.key_id + " at " + when(key.created_at) +
      (key.deleted_at ? ", deleted " + when(key.deleted_at) : "")]);
  }
  for (const [period, limit] of Object.entries((member.spend_limits || {}).periods || {})) {
    facts.push(["spend limit (" + period + ")", usd(limit.spent_usd) + " of " +
      (limit.limit_usd == null ? "no limit" : usd(limit.limit_usd)) +
      (limit.increase_requested ? ", increase requested" : "")]);
  }
  for (const alert of (member.alerts || []).filter((a) => a.state === "OPENED")) {
    facts.push(["alert " + alert.reason, alert.severity]);
  }
  return facts;
}

function drawMember(member) {
  $("member").hidden = member == null;
  if (member == null) return;
  $("member-name").textContent = member.email;
  $("member").dataset.userId = member.id;
  fill("member-facts", memberFacts(member), (tr, [label, text]) => {
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    tr.append(th);
    cell(tr, text);
  });
}

function usersPath() {
  const query = new URLSearchParams({ sort: $("user-sort").value });
  if ($("user-idle").checked) query.set("idle", "true");
  return "/users?" + query;
}

function showLogin(message) {
  $("content").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  document.body.dataset.state = "login";
}

/* One entry per section of the page, drawn in this order on every refresh: ``load`` fetches
   what the section shows (a 401 leads to the login form), ``draw`` puts it on the page. A new
   section adds its markup to index.html and one entry here. */
const SECTIONS = [
  { name: "identities", load: () => listAll(identitiesPath()), draw: drawIdentities },
  { name: "status", load: () => getJson("/status"), draw: (body) => drawStatus(body.data) },
  { name: "alerts", load: () => listAll("/alerts?state=open"), draw: (found) => drawAlerts(found.rows) },
  { name: "insights", load: () => getJson(insightsPath()), draw: drawInsights },
  { name: "users", load: () => listAll(usersPath()), draw: drawUserList },
  { name: "member", load: loadMember, draw: drawMember },
];

/* The chosen member's detail, or null (none chosen, or no longer known: the panel closes). */
async function loadMember() {
  if (!state.member) return null;
  try {
    return (await getJson("/users/" + encodeURIComponent(state.member))).data;
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    state.member = null;
    return null;
  }
}

function insightsPath() {
  const query = new URLSearchParams({ days: params.get("days") || "30" });
  for (const name of ["org", "until"]) if (params.get(name)) query.set(name, params.get(name));
  return "/insights?" + query;
}

const usd = (value) => "$" + value.toFixed(2);
const count = (value) => String(Math.round(value));

function chart(name) {
  return document.querySelector('[data-chart="' + name + '"]');
}

function summaryItem(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

function drawInsights(body) {
  const data = body.data;
  const seats = data.seats;
  $("insights-window").textContent = "(" + data.first_day + " to " + data.last_day +
    (body.complete ? ")" : ", partial)");
  const spent = Object.values(data.spend_usd_by_day)
    .flatMap((series) => Object.values(series)).reduce((sum, value) => sum + value, 0);
  $("insights-summary").replaceChildren(
    summaryItem("adoption " + (data.adoption == null ? "n/a" :
      Math.round(data.adoption * 100) + "%") + " (" + seats.active + " of " + seats.members +
      " members active)"),
    summaryItem("spend " + usd(spent)),
    summaryItem(seats.idle + " idle seats (no activity for " + data.idle_days + " days)"),
  );
  $("idle-estimate").textContent = data.idle_cost_usd_per_month == null
    ? "(set SEAT_PRICE_USD for an estimate of the idle seats)"
    : "(idle seats: about " + usd(data.idle_cost_usd_per_month) + " a month)";
  Charts.stackedBars(chart("spend"), data.spend_usd_by_day,
    { label: "spend per day", format: usd, axis: (value) => "$" + Math.round(value) });
  Charts.lines(chart("active"), data.active_by_day, { label: "active members", format: count });
  Charts.bars(chart("spenders"), data.top_spenders.map((s) =>
    [(s.email || s.id) + (s.member ? "" : " (" + s.actor_type + ")"), s.spend_usd]),
    { label: "top spenders", format: usd });
  const seatBars = [["members", seats.members], ["active", seats.active], ["idle", seats.idle]];
  if (seats.pending_invites != null) seatBars.push(["pending invites", seats.pending_invites]);
  Charts.bars(chart("seats"), seatBars, { label: "seats", format: count });
  const idle = data.idle_seats.slice(0, IDLE_SHOWN);
  fill("idle-seats", idle, (tr, seat) => {
    tr.dataset.userId = seat.id;
    cell(tr, seat.email || seat.id);
    cell(tr, seat.role);
    cell(tr, seat.last_active_day || "never");
    cell(tr, seat.member_since);
  });
  $("idle-more").textContent = data.idle_seats.length > IDLE_SHOWN
    ? "and " + (data.idle_seats.length - IDLE_SHOWN) + " more (Users: idle only)" : "";
  const alerts = {};
  for (const day of Object.keys(data.tokens_by_day)) {
    alerts[day] = {};
    for (const [reason, counts] of Object.entries(data.alerts_by_day[day] || {})) {
      for (const kind of ["opened", "resolved"]) {
        if (counts[kind]) alerts[day][reason + " " + kind] = counts[kind];
      }
    }
  }
  Charts.stackedBars(chart("alerts"), alerts, { label: "alerts per day", format: count });
  $("insights-missing").textContent = data.missing.length
    ? "Not in the data yet: " + data.missing.join("; ") + "." : "";
}

function drawUserList(users) {
  state.users = users.rows;
  $("user-count").textContent = "(" + users.rows.length + " members)";
  $("coverage").textContent = users.complete ? "" :
    "partial: partitions [" + users.partitions + "] of " + users.total + " answered";
  drawUsers();
}

async function refresh() {
  try {
    const health = await getJson("/health").catch(() => ({ app_id: "", status: "starting" }));
    const loaded = await Promise.all(SECTIONS.map((section) => section.load()));
    for (const [index, section] of SECTIONS.entries()) await section.draw(loaded[index]);
    $("app").textContent = "app " + health.app_id + " (" + health.status + ")";
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

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token-input").value.trim();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("login-error").textContent = "";
  refresh();
});
$("user-filter").addEventListener("input", () => { state.page = 0; drawUsers(); });
for (const id of ["user-sort", "user-idle", "identity-all"]) {
  $(id).addEventListener("change", () => { state.page = 0; refresh(); });
}
$("prev").addEventListener("click", () => {
  state.page = Math.max(0, state.page - 1);
  drawUsers();
});
$("next").addEventListener("click", () => { state.page += 1; drawUsers(); });
$("member-close").addEventListener("click", () => { state.member = null; drawMember(null); });
refresh();
