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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from streams.events.records import DecisionAction
from streams.worker.rows import DecisionRow
from streams.worker.rules import severity_rank

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
SNOOZED = "snoozed"
ACCEPTED = "accepted"
REOPENED = "reopened"
ACTIVE = frozenset({OPEN, ACKNOWLEDGED, REOPENED})
"""Triage states shown in the default views."""


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
