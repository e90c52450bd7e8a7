"""Triage: what the latest decision on an alert means now (pure).

A decision (``AlertDecision`` on the ``alert-decisions`` topic, kept per alert in the
``decisions`` table) is history like every other input; the triage state is derived from it
and the alert's current evidence whenever a view asks, so a restart, a replay or a rebuild
under a new app id shows the same state.

=============== ===========================================================================
``open``        no decision, a ``REOPEN``, or a snooze whose time has come
``acknowledged`` ``ACK``: seen and being handled; stays in the default views
``snoozed``     ``SNOOZE`` until its ``until``: out of the default views until then
``accepted``    ``ACCEPT``: a known risk, out of the default views while the evidence is no
                worse than when it was accepted
``reopened``    an accepted alert whose severity rose, or whose member has a new open reason
                since; ``why`` says which
=============== ===========================================================================
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.partitioner import murmur2

from streams.errors import TriageError
from streams.events.keys import user_key
from streams.events.records import AlertDecision, DecisionAction
from streams.worker.rows import DecisionRow
from streams.worker.rules import severity_rank

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
SNOOZED = "snoozed"
ACCEPTED = "accepted"
REOPENED = "reopened"
ACTIVE = frozenset({OPEN, ACKNOWLEDGED, REOPENED})
"""Triage states shown in the default views."""
RELATIVE = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Triage:
    """An alert's triage state, the decision it comes from and, when reopened, why."""

    status: str
    decision: DecisionRow | None = None
    why: str | None = None

    @property
    def active(self) -> bool:
        """True when the alert belongs in the default views."""
        return self.status in ACTIVE


def triage(
    severity: str,
    open_reasons: Collection[str],
    decision: DecisionRow | None,
    now: datetime,
) -> Triage:
    """The triage state of an open alert at ``severity`` whose member has ``open_reasons``."""
    if decision is None:
        return Triage(OPEN)
    action = DecisionAction(decision.action)
    if action is DecisionAction.ACK:
        return Triage(ACKNOWLEDGED, decision)
    if action is DecisionAction.SNOOZE:
        until = decision.until
        if until is not None and now < datetime.fromisoformat(until):
            return Triage(SNOOZED, decision)
        return Triage(OPEN, decision, f"snooze ended {until}")
    if action is DecisionAction.ACCEPT:
        if severity_rank(severity) > severity_rank(decision.severity):
            return Triage(REOPENED, decision,
                          f"severity rose from {decision.severity} to {severity}")
        new = sorted(set(open_reasons) - set(decision.reasons))
        if new:
            return Triage(REOPENED, decision, f"new reason {', '.join(new)}")
        return Triage(ACCEPTED, decision)
    return Triage(OPEN, decision, decision.why)


# --- making decisions (the CLI and the page's triage actions) ---


def parse_until(raw: str, now: datetime) -> datetime:
    """``--until``: an ISO 8601 time (UTC when it names no zone) or ``30m``, ``4h``, ``2d``,
    ``1w`` from now."""
    relative = RELATIVE.match(raw.strip())
    if relative:
        amount, unit = relative.groups()
        return now + timedelta(**{UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise TriageError(f"--until {raw!r}: give an ISO 8601 time or 30m, 4h, 2d, 1w") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise TriageError(f"--until {raw!r} is not in the future")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Target:
    """An open alert to decide on, with what its member had open at that moment."""

    alert: dict[str, Any]
    identity: dict[str, Any]

    @property
    def open_reasons(self) -> tuple[str, ...]:
        return tuple(sorted(a["reason"] for a in self.identity["alerts"]
                            if a["state"] == "OPENED"))


def decide(
    found: Iterable[Target],
    action: DecisionAction,
    *,
    by: str,
    why: str | None,
    until: datetime | None,
    now: datetime,
) -> list[AlertDecision]:
    """One decision per target alert."""
    if action is DecisionAction.ACCEPT and not (why and why.strip()):
        raise TriageError("accept needs a reason (--reason): why this risk is accepted")
    if action is DecisionAction.SNOOZE and until is None:
        raise TriageError("snooze needs --until")
    return [
        AlertDecision(
            event_id=str(uuid.uuid4()),
            alert_id=target.alert["alert_id"],
            org_id=target.identity["org_id"],
            user_id=target.identity["user_id"],
            action=action,
            decided_by=by,
            why=why,
            until=until if action is DecisionAction.SNOOZE else None,
            severity=target.alert["severity"],
            reasons=target.open_reasons,
            observed_at=now,
        )
        for target in found
    ]


def decision_partition(decision: AlertDecision, partitions: int) -> int:
    """The partition of the decision's member key ``org:user`` among ``partitions`` (Kafka's
    default partitioner), where the member's alerts and tables are."""
    return (murmur2(user_key(decision.org_id, decision.user_id)) & 0x7FFFFFFF) % partitions
