"""The worker's HTML page in a real headless Chromium: alerts, users, status, token, refresh."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.events.records import (
    ActivityActor,
    AppKind,
    AuthKind,
    ConnectorState,
    DirectoryStatus,
    MetricFamily,
    UserOp,
)
from tests.fixtures.browser import Browser, chromium_or_skip, headless_chromium
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import (
    WorkerProcess,
    activity,
    association,
    connector_status,
    directory_record,
    produce,
    usage_delta,
    user_event,
    worker_on,
)

pytestmark = pytest.mark.kafka

TOKEN = "page-token-7"
PREFIX = f"pg{uuid.uuid4().hex[:8]}."
USD = 100_000_000  # micro-cents
ALERT_ROWS = """return Array.from(document.querySelectorAll('#alerts tbody tr'))
    .map(tr => [tr.dataset.userId, tr.dataset.reason, tr.innerText]);"""
STATE = "return document.body.dataset.state || '';"
WIDER_THAN_WINDOW = """return Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                 && !e.closest('.wide, .scroll'))
    .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' '
                     + Math.round(e.getBoundingClientRect().right)
                     + '/' + document.documentElement.clientWidth);"""
IDLE_DAYS = 30  # the default
WINDOW = {"until": "2026-11-01", "days": "7"}
MARKS = """const counts = {};
    for (const chart of document.querySelectorAll('[data-chart]'))
      counts[chart.dataset.chart] = chart.querySelectorAll('.mark').length;
    return counts;"""


ALICE = ActivityActor(type="user_actor", user_id="user_alice", email_address="alice@acme.com")
ANN = ActivityActor(type="user_actor", user_id="user_ann", email_address="ann@acme.com")
MEMBER_FACTS = """return Array.from(document.querySelectorAll('#member-facts tr'))
    .map(tr => [tr.cells[0].textContent, tr.cells[1].textContent]);"""


def scenario() -> list[Any]:
    return [
        directory_record("alice@acme.com", employee_id="e1"),
        directory_record("bob@acme.com", DirectoryStatus.DEPROVISIONED, employee_id="e2"),
        user_event(UserOp.SNAPSHOT, "user_alice", "alice@acme.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_bob", "bob@acme.com", baseline=True),
        user_event(UserOp.SNAPSHOT, "user_dave", "dave@gmail.com", baseline=True),
        usage_delta("user_alice", date(2026, 11, 1), {"usd_micros": 250 * USD}),
        usage_delta("user_bob", date(2026, 10, 30), {"usd_micros": 40 * USD}),
        usage_delta("user_bob", date(2026, 10, 31), {"total": 1200}, family=MetricFamily.TOKENS),
        association("user_alice", "github"),
        association("user_alice", "chat", kind=AppKind.SURFACE, auth=AuthKind.UNKNOWN),
        connector_status(ConnectorState.HEALTHY),
        activity(1, "magic_link_login_succeeded", "user_alice", ALICE, 5),
        activity(2, "claude_user_role_updated", "user_alice", ANN, 6, user_id="user_alice",
                 previous_role="user", current_role="developer"),
        activity(3, "integration_user_connected", "user_alice", ALICE, 7,
                 mcp_server_id="mcpsrv_1", mcp_server_name="Linear"),
    ]


async def api_alerts(worker: WorkerProcess) -> set[tuple[str, str]]:
    body = (await worker.get("/alerts", state="open")).json()
    return {(alert["user_id"], alert["reason"]) for alert in body["data"]}


async def settled(worker: WorkerProcess, want: int, timeout: float = 45.0) -> set[tuple[str, str]]:
    """The open alerts once there are ``want`` of them."""
    return await eventually(lambda: api_alerts(worker), timeout,
                            until=lambda found: len(found) >= want, interval=0.5)


@pytest.fixture(scope="module")
def worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One token-protected worker for the module, on the scenario."""
    chromium_or_skip()
    with worker_on(kafka_bootstrap, PREFIX, scenario(), f"page-{uuid.uuid4().hex[:8]}",
                   tmp_path_factory.mktemp("page"), token=TOKEN,
                   env={"CORPORATE_DOMAINS": "acme.com", "MANAGED_CONNECTORS": "github"}
                   ) as process:
        yield process


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with headless_chromium(tmp_path) as session:
        yield session


async def test_the_page_shows_what_the_api_says_and_follows_new_alerts(
    worker: WorkerProcess, browser: Browser, kafka_bootstrap: str
):
    expected = await settled(worker, 4)
    assert expected == {
        ("user_alice", "PERSONAL_CREDENTIAL_CONNECTOR"),
        ("user_bob", "DEPROVISIONED_ACTIVE"),
        ("user_dave", "UNMANAGED_IDENTITY"),
        ("user_dave", "PERSONAL_DOMAIN"),
    }
    page = (await worker.get("/", token="none needed")).headers
    assert "script-src 'self';" in page["content-security-policy"]
    script = await worker.get("/static/page.js", token="none needed")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SECTIONS" in script.text

    await browser.open(f"{worker.url}/?refresh=1#token={TOKEN}")
    await browser.wait_for(STATE, lambda state: state == "ready")
    assert await browser.run("return location.hash;") == "", "the token leaves the address bar"
    rows = await browser.run(ALERT_ROWS)
    assert {(user, reason) for user, reason, _ in rows} == expected
    dave = next(text for user, reason, text in rows if reason == "PERSONAL_DOMAIN")
    assert "dave@gmail.com" in dave and "LOW" in dave and "existed at connect" in dave
    users = await browser.wait_for(
        "return Array.from(document.querySelectorAll('#users tbody tr')).map(tr => tr.innerText);",
        lambda found: any("250.00" in row for row in found),
    )
    alice = next(row for row in users if "alice@acme.com" in row)
    assert "github (personal credential)" in alice
    status = await browser.run("return document.querySelector('#status tbody').innerText;")
    assert "HEALTHY" in status and "org_test" in status

    # A member's e-mail opens what the roster and the Activity Feed say about them.
    await browser.run("document.querySelector('#users [data-user-id=user_alice] button').click();")
    facts = dict(await browser.wait_for(MEMBER_FACTS, lambda found: len(found) >= 7))
    assert facts["last sign-in"] == "2026-11-01 12:05:00 UTC by magic_link"
    assert facts["role change"] == "user to developer by ann@acme.com at 2026-11-01 12:06:00 UTC"
    assert facts["connector Linear"] == "own credential, connected 2026-11-01 12:07:00 UTC"
    alerts = (await worker.get("/alerts", state="open")).json()["data"]
    (graded,) = [a["severity"] for a in alerts if a["user_id"] == "user_alice"]
    assert facts["alert PERSONAL_CREDENTIAL_CONNECTOR"] == graded
    await browser.run("document.getElementById('member-close').click();")
    assert await browser.run("return document.getElementById('member').hidden;") is True

    await produce(kafka_bootstrap, PREFIX,
                  [user_event(UserOp.ADDED, "user_frank", "frank@yahoo.com", poll=2)])
    newer = await settled(worker, 6)
    assert newer - expected == {("user_frank", "UNMANAGED_IDENTITY"),
                                ("user_frank", "PERSONAL_DOMAIN")}
    rows = await browser.wait_for(ALERT_ROWS, lambda found: len(found) == 6)
    assert {(user, reason) for user, reason, _ in rows} == newer
    frank = [text for user, _, text in rows if user == "user_frank"]
    assert all("frank@yahoo.com" in text and "new change" in text for text in frank)


def chart_points(figures: dict[str, Any]) -> dict[str, int]:
    """How many marks each chart of the page should draw for ``/insights`` data."""
    alerts = figures["alerts_by_day"].values()
    return {
        "spend": sum(len(series) for series in figures["spend_usd_by_day"].values()),
        "active": sum(len(series) for series in figures["active_by_day"].values()),
        "spenders": len(figures["top_spenders"]),
        "seats": len(("members", "active", "idle"))
        + (figures["seats"]["pending_invites"] is not None),
        "alerts": sum(1 for day in alerts for counts in day.values()
                      for value in counts.values() if value),
    }


async def users_sort_and_filter(worker: WorkerProcess) -> None:
    """``/users`` rows carry spend, surfaces and last activity; they sort and filter by them."""
    by_spend = (await worker.get("/users", sort="spend")).json()["data"]
    spenders = [(u["id"], u["spend_usd"]) for u in by_spend]  # others spent nothing
    assert spenders[:2] == [("user_alice", 250.0), ("user_bob", 40.0)]
    assert {spend for _, spend in spenders[2:]} == {0.0} and ("user_dave", 0.0) in spenders
    alice = by_spend[0]
    assert alice["surfaces"] == ["chat"]
    assert alice["connectors"] == [{"name": "github", "auth": "PERSONAL_CREDENTIAL"}]
    by_activity = (await worker.get("/users", sort="last_active")).json()["data"]
    active = [(u["id"], u["last_active_day"]) for u in by_activity]
    assert active[:2] == [("user_alice", "2026-11-01"), ("user_bob", "2026-10-31")]
    assert {day for _, day in active[2:]} == {None}
    idle_since = (datetime.now(UTC).date() - timedelta(days=IDLE_DAYS - 1)).isoformat()
    want_idle = {u["id"] for u in by_spend
                 if u["last_active_day"] is None or u["last_active_day"] < idle_since}
    for flag, want in (("true", want_idle), ("false", {u["id"] for u in by_spend} - want_idle)):
        found = (await worker.get("/users", idle=flag)).json()["data"]
        assert {u["id"] for u in found} == want
        assert all(u["idle"] is (flag == "true") for u in found)
    assert (await worker.get("/users", sort="name")).status_code == 400


async def test_every_chart_draws_a_mark_per_point_of_the_insights(
    worker: WorkerProcess, browser: Browser
):
    await settled(worker, 4)
    figures = (await worker.get("/insights", **WINDOW)).json()["data"]
    assert figures["spend_usd_by_day"]["2026-11-01"] == {"all": 250.0}
    assert figures["spend_usd_by_day"]["2026-10-30"] == {"all": 40.0}
    assert figures["tokens_by_day"]["2026-10-31"] == 1200
    assert figures["active_by_day"]["2026-11-01"] == {"any": 1, "chat": 1}
    assert [s["id"] for s in figures["top_spenders"]] == ["user_alice", "user_bob"]
    expected = chart_points(figures)
    assert all(expected.values()), expected
    await users_sort_and_filter(worker)

    query = "&".join(f"{name}={value}" for name, value in WINDOW.items())
    await browser.open(f"{worker.url}/?refresh=1&{query}#token={TOKEN}")
    await browser.wait_for(STATE, lambda state: state == "ready")
    assert await browser.wait_for(MARKS, lambda found: found == expected) == expected
    idle_rows = await browser.run(
        "return document.querySelectorAll('#idle-seats tbody tr').length;")
    assert idle_rows == min(len(figures["idle_seats"]), 8)
    hover = await browser.run(
        "return document.querySelector('[data-chart=spenders] .mark title').textContent;")
    assert hover == "alice@acme.com: $250.00"
    fill = await browser.run(  # the stylesheet applies under the Content-Security-Policy
        "return getComputedStyle(document.querySelector('[data-chart=spend] .mark')).fill;")
    assert fill == "rgb(37, 99, 235)"
    for width in (1280, 420):
        await browser.resize(width, 900)
        wider = await browser.run(WIDER_THAN_WINDOW)
        assert not wider, f"wider than a {width} px window: {wider}"


async def test_without_the_token_the_page_asks_for_it(worker: WorkerProcess, browser: Browser):
    await browser.open(f"{worker.url}/?refresh=1")
    await browser.run("sessionStorage.clear();")
    await browser.open(f"{worker.url}/?refresh=1")
    await browser.wait_for(STATE, lambda state: state == "login")
    assert await browser.run("return document.getElementById('content').hidden;") is True
    submit = """document.getElementById('token-input').value = arguments[0];
        document.getElementById('login-form').requestSubmit();"""
    await browser.run(submit, "wrong")
    await browser.wait_for(
        "return document.getElementById('login-error').textContent;",
        lambda text: "refused" in text,
    )
    await browser.run(submit, TOKEN)
    await browser.wait_for(STATE, lambda state: state == "ready")
    rows = await browser.wait_for(ALERT_ROWS, lambda found: len(found) >= 4)
    assert {(user, reason) for user, reason, _ in rows} == await api_alerts(worker)


TRIAGE = """const [user, reason, action, text] = arguments;
    const row = document.querySelector('#identities tr[data-user-id="' + user + '"]');
    if (text !== null) {
      const input = row.querySelector('input.triage-reason');
      input.value = text;
      input.dispatchEvent(new Event('input'));
    }
    row.querySelector('li[data-reason="' + reason + '"] button[data-action="' + action + '"]')
      .click();
    return true;"""
SHOWN_TRIAGE = """return Array.from(document.querySelectorAll('#identities li[data-reason]'))
    .map(li => [li.closest('tr').dataset.userId, li.dataset.reason, li.dataset.triage]);"""


async def test_the_page_triage_buttons_send_decisions_the_worker_applies(
    worker: WorkerProcess, browser: Browser
):
    await settled(worker, 4)
    await browser.open(f"{worker.url}/?refresh=1#token={TOKEN}")
    await browser.wait_for(STATE, lambda state: state == "ready")
    shown = await browser.wait_for(SHOWN_TRIAGE, lambda found: len(found) >= 4)
    assert ("user_dave", "PERSONAL_DOMAIN", "open") in {tuple(item) for item in shown}
    first = await browser.run("return document.querySelector('#identities tbody tr').innerText;")
    assert first.startswith("HIGH"), "the highest severity leads"

    await browser.run(TRIAGE, "user_dave", "PERSONAL_DOMAIN", "ack", None)
    await browser.wait_for(SHOWN_TRIAGE, lambda found: ["user_dave", "PERSONAL_DOMAIN",
                                                        "acknowledged"] in found)
    await browser.run(TRIAGE, "user_bob", "DEPROVISIONED_ACTIVE", "accept", None)
    await browser.wait_for("return document.body.dataset.triage;", lambda s: s == "refused")
    refusal = await browser.run("return document.getElementById('triage-status').textContent;")
    assert "accept needs a reason" in refusal
    await browser.run(TRIAGE, "user_bob", "DEPROVISIONED_ACTIVE", "accept", "leaving Friday")
    await browser.wait_for(SHOWN_TRIAGE, lambda found: all(user != "user_bob"
                                                           for user, _, _ in found))
    body = (await worker.get("/identities", state="all")).json()
    bob = next(item for item in body["data"] if item["user_id"] == "user_bob")
    (accepted,) = bob["alerts"]
    assert (accepted["triage"], accepted["decision"]["why"]) == ("accepted", "leaving Friday")
    async with httpx.AsyncClient(base_url=worker.url) as client:
        wrong = await client.post("/decisions", json={"action": "ack"},
                                  headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
