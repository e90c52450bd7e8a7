"""Scenario 1: API faults during polls. Each mode runs for several cycles while the organisation
churns; then the fault clears and one more cycle runs.

Expected: no false REMOVED (none the simulator did not do, none from an incomplete roster),
no lost or doubled change, the status moves to the mode's state as the fault hits and to
RECOVERED once it clears, and the topics then equal the simulator's ground truth. The first
cycle of a mode breaks every request; the next ones break a share of them, so faults also land
on later pages of a listing (the simulator serves small pages). No canary key in any log,
report or message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streams.client import RetryPolicy
from streams.events.topics import APP_ASSOCIATIONS, CONNECTOR_STATUS, USAGE_DELTAS, USER_EVENTS
from tests.faults.audit import (
    audit_associations,
    audit_usage,
    audit_user_events,
    injected,
    read_prefix,
    status_chain,
)
from tests.faults.ledger import leaks_in
from tests.fixtures.poller import poll_once, settings_for

pytestmark = pytest.mark.kafka

USERS = 90
PAGE_SIZE = 20
WINDOW_DAYS = 3
FAST_RETRY = RetryPolicy(
    max_attempts=3,
    max_rate_limited=3,
    backoff_base=0.01,
    backoff_max=0.05,
    rate_limit_base=0.02,
    rate_limit_max=0.1,
)
"""The production policy's shape with waits in milliseconds, so a cycle under faults is quick."""
LOGGERS = ("streams", "httpx", "httpcore")
"""Loggers that see the keys' surroundings, captured at DEBUG (aiokafka's chatter is not)."""
CLIENT_TIMEOUT = 5.0
CHURN = {"hours": 6, "add": 2, "remove": 2, "role_changes": 2}


@dataclass(frozen=True)
class Mode:
    """A fault mode: the settings of each faulty cycle, the state it must cause, and the
    client's timeout during those cycles (only the timeout mode needs a short one)."""

    cycles: tuple[dict[str, Any], ...]
    state: str
    client_timeout: float = CLIENT_TIMEOUT


MODES = {
    "5xx and 529 bursts": Mode(
        (
            {"error_rate": 1.0, "statuses": [529]},
            {"error_rate": 0.4, "statuses": [500, 502, 503]},
            {"error_rate": 0.3, "statuses": [500, 503, 529]},
        ),
        "DEGRADED",
    ),
    "429 storms with and without retry-after": Mode(
        (
            {"rate_limit_storm": True, "storm_retry_after": 0.01},
            {"rate_limit_storm": True, "storm_retry_after": None},
            {"rate_limit_storm": True, "storm_retry_after": 0},
        ),
        "DEGRADED",
    ),
    "timeouts": Mode(
        tuple({"timeout_rate": rate, "timeout_seconds": 0.3} for rate in (1.0, 0.15, 0.1)),
        "DEGRADED",
        client_timeout=0.12,
    ),
    "malformed JSON": Mode(
        tuple({"malformed_rate": r, "malformed_mode": "truncated"} for r in (1.0, 0.3, 0.2)),
        "PARTIAL",
    ),
    "wrong types and shapes in a record": Mode(
        (
            {"malformed_rate": 1.0, "malformed_mode": "types"},
            {"malformed_rate": 0.3, "malformed_mode": "shape"},
            {"malformed_rate": 0.3, "malformed_mode": "types"},
        ),
        "PARTIAL",
    ),
    "truncated pagination": Mode(
        tuple(
            {"truncate_pagination": True, "truncate_mode": mode}
            for mode in ("missing", "repeat", "bogus")
        ),
        "PARTIAL",
    ),
    "410 cursor expiry mid-listing": Mode(
        tuple({"expire_cursor_rate": rate} for rate in (1.0, 0.5, 0.3)), "PARTIAL"
    ),
    "key revoked then restored": Mode(({"revoke_keys": True},) * 3, "RECONNECT_REQUIRED"),
}


@pytest.mark.parametrize("name", MODES)
async def test_api_fault_mode(name, canary_sim, kafka_bootstrap, caplog, ledger):
    mode = MODES[name]
    for logger in LOGGERS:
        caplog.set_level(logging.DEBUG, logger)
    sim = await canary_sim(users=USERS, seed=sorted(MODES).index(name) + 1)
    settings = settings_for(sim, kafka_bootstrap, window_days=WINDOW_DAYS)

    async def poll(timeout: float = CLIENT_TIMEOUT):
        return await poll_once(settings, retry=FAST_RETRY, timeout=timeout)

    baseline = await poll()
    assert baseline.completed, baseline.reason
    await sim.stats(reset=True)
    churns, reports = [], [baseline]
    for number, faults in enumerate(mode.cycles, start=1):
        churns.append(await sim.advance(**CHURN, seed=number))
        await sim.faults(page_size=PAGE_SIZE, **faults)
        reports.append(await poll(mode.client_timeout))
    faults_injected = injected(await sim.stats())
    await sim.clear_faults()
    churns.append(await sim.advance(hours=1, add=1, remove=1, role_changes=1, seed=99))
    healed = await poll()
    reports.append(healed)

    truth = await sim.truth()
    topics, topic_leaks = await read_prefix(kafka_bootstrap, settings.topic_prefix)
    incomplete = {  # cycles that emitted nothing reuse their poll id: they cannot count
        report.poll_id
        for report in reports
        if report.events and not all(o.completed for o in report.outcomes
                                     if o.data_type == "roster")
    }
    findings = audit_user_events(topics[USER_EVENTS], truth, churns, incomplete)
    findings += audit_usage(topics[USAGE_DELTAS], truth, WINDOW_DAYS)
    findings += audit_associations(topics[APP_ASSOCIATIONS])
    leaks = topic_leaks + leaks_in([caplog.text, *(str(r.reason) for r in reports)])
    ledger.add(
        f"api: {name}",
        cycles=len(reports),
        faults_injected=faults_injected,
        leaks=leaks,
        **findings.figures(),
    )

    assert faults_injected >= len(mode.cycles), await sim.stats()
    first_fault = reports[1]
    assert not first_fault.completed and first_fault.status == mode.state, first_fault.status
    assert not findings, findings
    assert healed.completed, healed.reason
    states = status_chain(topics[CONNECTOR_STATUS])
    assert states[0] == "BASELINE_COMPLETE" and mode.state in states, states
    # After the fault: RECOVERED, then at most HEALTHY restatements of the feed's counters.
    after = states[len(states) - states[::-1].index(mode.state) :]
    assert after and after[0] == "RECOVERED" and set(after[1:]) <= {"HEALTHY"}, states
    assert leaks == 0


async def test_a_cycle_nobody_answered_keeps_the_committed_usage(canary_sim, kafka_bootstrap):
    """Regression: a cycle with no answer ran on the local clock, not the API's, and when that
    was days ahead it expired every committed usage series; the next cycle re-announced them
    all as revision 1 (ids already used, other content) and consumers' sums doubled."""
    api_today = datetime.now(UTC).date() - timedelta(days=30)
    sim = await canary_sim(users=20, seed=5, start_date=api_today)
    settings = settings_for(sim, kafka_bootstrap, window_days=WINDOW_DAYS)
    assert (await poll_once(settings, retry=FAST_RETRY)).completed
    await sim.faults(timeout_rate=1.0, timeout_seconds=0.45)
    dark = await poll_once(settings, retry=FAST_RETRY, timeout=0.25)
    await sim.clear_faults()
    healed = await poll_once(settings, retry=FAST_RETRY)
    assert not dark.completed and healed.completed, healed.reason
    assert "UsageDelta" not in healed.counts, "nothing changed at the API: nothing to announce"
