"""One finding per identity (pure): a member's alerts, their triage, and what they add up to.

``identity_view`` turns one member's ``alerts`` row and the decisions on its alerts into what
``GET /identities`` shows: the open reasons (alerts in the default views: open, acknowledged or
reopened), the highest severity among them, first and last seen, and every alert with its
evidence and triage state (``streams.worker.decisions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from streams.worker.decisions import ACTIVE, triage
from streams.worker.rows import AlertsRow, DecisionRow
from streams.worker.rules import severity_rank

OPEN_STATE = "open"
ALL_STATE = "all"


def identity_view(
    row: AlertsRow,
    decision_of: Callable[[str], DecisionRow | None],
    now: datetime,
    state: str = OPEN_STATE,
) -> dict[str, Any] | None:
    """The identity of one member, or None when ``state`` is open and nothing is active."""
    open_reasons = set(row.open)
    alerts: list[dict[str, Any]] = []
    for reason, alert in sorted(row.open.items()):
        decision = decision_of(alert.alert_id)
        found = triage(alert.severity, open_reasons, decision, now)
        alerts.append({
            **asdict(alert),
            "reason": reason,
            "state": "OPENED",
            "triage": found.status,
            "triage_why": found.why,
            "decision": None if decision is None else _decision_view(decision),
        })
    active = [alert for alert in alerts if alert["triage"] in ACTIVE]
    if state == OPEN_STATE and not active:
        return None
    if state == ALL_STATE:
        alerts += [
            {**asdict(alert), "state": "RESOLVED", "triage": "resolved", "triage_why": None,
             "decision": None}
            for alert in row.resolved
        ]
    if not alerts:
        return None
    seen = [alert["opened_at"] for alert in alerts] + [
        alert["resolved_at"] for alert in alerts if "resolved_at" in alert
    ]
    ranked = active or [alert for alert in alerts if alert["state"] == "OPENED"] or alerts
    highest = max(ranked, key=lambda alert: severity_rank(alert["severity"]))["severity"]
    return {
        "id": f"{row.org_id}:{row.user_id}",
        "org_id": row.org_id,
        "user_id": row.user_id,
        "email": row.email,
        "severity": highest,
        "reasons": sorted({alert["reason"] for alert in active}),
        "first_seen": min(seen),
        "last_seen": max(seen),
        "alerts": sorted(alerts, key=lambda alert: -severity_rank(alert["severity"])),
    }


def identity_order(item: dict[str, Any]) -> tuple[int, str, str]:
    """Highest severity first, then the most recently seen (used newest first)."""
    return (severity_rank(item["severity"]), item["last_seen"], item["id"])


def _decision_view(decision: DecisionRow) -> dict[str, Any]:
    shown = asdict(decision)
    del shown["partition"]
    return shown
