"""What the topics hold against what the simulator did: false removals, lost and doubled changes.

Consumers drop duplicates by ``event_id``, so the audits do too; one id with two different
contents is itself a duplicate effect. Each audit returns ``Findings``: lists of one-line
descriptions, so a failing assertion says what went wrong, and counts for the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from streams.events.topics import (
    APP_ASSOCIATIONS,
    CONNECTOR_STATUS,
    TOPICS,
    USAGE_DELTAS,
    USER_EVENTS,
    TopicSpec,
)
from tests.faults.ledger import leaks_in, raw_records, record_bytes
from tests.fixtures.poller import VOLATILE, truth_roster
from tests.fixtures.topics import Message, plain_decode

EVENT_TOPICS = (USER_EVENTS, USAGE_DELTAS, APP_ASSOCIATIONS, CONNECTOR_STATUS)
INJECTED_PREFIXES = ("malformed:", "truncated:")
INJECTED_KEYS = ("timeouts", "expired_cursors")


@dataclass
class Findings:
    false_removals: list[str] = field(default_factory=list)
    lost_changes: list[str] = field(default_factory=list)
    duplicate_effects: list[str] = field(default_factory=list)

    def __iadd__(self, other: Findings) -> Findings:
        self.false_removals += other.false_removals
        self.lost_changes += other.lost_changes
        self.duplicate_effects += other.duplicate_effects
        return self

    def figures(self) -> dict[str, int]:
        return {
            "false_removals": len(self.false_removals),
            "lost_changes": len(self.lost_changes),
            "duplicate_effects": len(self.duplicate_effects),
        }

    def __bool__(self) -> bool:
        return any(self.figures().values())


def injected(stats: Mapping[str, float]) -> int:
    """Faults the simulator injected, from its ``/_sim/stats`` counters."""
    total = 0
    for key, count in stats.items():
        refused = key.startswith("status:") and key != "status:200"
        if refused or key.startswith(INJECTED_PREFIXES) or key in INJECTED_KEYS:
            total += int(count)
    return total


async def read_prefix(bootstrap: str, prefix: str) -> tuple[dict[TopicSpec, list[Message]], int]:
    """The event topics of ``prefix`` decoded plainly, and the secrets found in all its topics."""
    events: dict[TopicSpec, list[Message]] = {}
    leaks = 0
    for spec in TOPICS:
        records = await raw_records(bootstrap, spec.name(prefix))
        leaks += sum(leaks_in(record_bytes(record)) for record in records)
        if spec in EVENT_TOPICS:
            events[spec] = [
                Message(r.key.decode(), plain_decode(r.value), dict(r.headers), r.offset)
                for r in records
            ]
    return events, leaks


def unique_events(messages: Iterable[Message], findings: Findings) -> list[Message]:
    """The first message of every event id, in the given order; two contents for one id noted."""
    seen: dict[str, dict[str, Any]] = {}
    kept = []
    for message in messages:
        value = {k: v for k, v in message.value.items() if k not in VOLATILE}
        first = seen.setdefault(value["event_id"], value)
        if first is value:
            kept.append(message)
        elif first != value:
            findings.duplicate_effects.append(f"event id {value['event_id']} has two contents")
    return kept


def audit_user_events(
    events: Iterable[Message],
    truth: Mapping[str, Any],
    churns: Iterable[Mapping[str, Any]] = (),
    incomplete_polls: Collection[str] = (),
) -> Findings:
    """User events against the truth roster and the churn the simulator applied.

    A REMOVED is false when the simulator never removed the member, or when a listing concluded
    it in a poll whose roster listing did not complete (``incomplete_polls``); a removal from
    the Activity Feed is an explicit signal and needs no complete listing.
    """
    findings = Findings()
    truly_removed = {user["id"] for user in truth["removed"]}
    members: dict[str, tuple[str, str]] = {}
    ops: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    ordered = sorted(events, key=lambda m: (m.value["observed_at"], m.offset))
    for event in unique_events(ordered, findings):
        value = event.value
        user, op = value["user_id"], value["op"]
        after = value["after"]
        ops[user].add((op, after["role"] if after else None))
        if op == "REMOVED":
            from_listing = value["source"] != "ACTIVITY_FEED"  # the feed's are explicit signals
            if user not in truly_removed or (from_listing and value["poll_id"] in incomplete_polls):
                findings.false_removals.append(f"{user} removed in {value['poll_id']}")
            elif user not in members:
                findings.duplicate_effects.append(f"{user} removed twice")
            members.pop(user, None)
            continue
        if op in ("SNAPSHOT", "ADDED") and user in members:
            findings.duplicate_effects.append(f"{user} {op} while already a member")
        if op == "UPDATED" and user not in members:
            findings.lost_changes.append(f"{user} updated but never added")
        members[user] = (after["email"], after["role"])

    want = truth_roster(truth)
    lost: set[str] = set()
    for step in churns:
        # A change undone before any poll could see it leaves nothing to announce.
        for user in (added["id"] for added in step["added"]):
            if user in want and not any(op == "ADDED" for op, _ in ops[user]):
                lost.add(user)
        for user in step["removed"]:
            announced = any(op in ("SNAPSHOT", "ADDED") for op, _ in ops[user])
            if announced and not any(op == "REMOVED" for op, _ in ops[user]):
                lost.add(user)
        for change in step["role_changes"]:
            user, role = change["id"], change["after"]
            if user in want and want[user][1] == role and (
                not any(seen == role for op, seen in ops[user] if op != "REMOVED")
            ):
                lost.add(user)
    lost |= {user for user in want.keys() | members.keys() if want.get(user) != members.get(user)}
    findings.lost_changes += [f"{user}: topic {members.get(user)}, truth {want.get(user)}"
                              for user in sorted(lost)]
    return findings


def _micros(cents: str) -> int:
    return int(Decimal(cents) * 1_000_000)


def audit_usage(deltas: Iterable[Message], truth: Mapping[str, Any], window_days: int) -> Findings:
    """Summed deltas against the API's figures for every day the last poll re-read.

    Engagement (MESSAGES, SESSIONS) covers the window ending at the latest published analytics
    day; tokens and cost the window ending today. A sum below the truth is a lost change, one
    above it a duplicate effect.
    """
    findings = Findings()
    sums: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for message in unique_events(deltas, findings):
        value = message.value
        key = (value["user_id"], value["day"].isoformat(), value["family"])
        for metric, delta in value["delta"].items():
            sums[key][metric] += delta
    today = date.fromisoformat(truth["now"][:10])
    latest = date.fromisoformat(truth["latest_analytics_date"])
    engagement_days = {(latest - timedelta(days=n)).isoformat() for n in range(window_days)}
    spend_days = {(today - timedelta(days=n)).isoformat() for n in range(window_days)}
    expected: dict[tuple[str, str, str], tuple[str, int]] = {}
    for user, days in truth["usage"].items():
        for day, figures in days.items():
            if day in engagement_days:
                expected[(user, day, "MESSAGES")] = ("messages", figures.get("message_count", 0))
                expected[(user, day, "SESSIONS")] = ("sessions", figures.get("session_count", 0))
            if day in spend_days:
                expected[(user, day, "TOKENS")] = ("total", figures.get("total_tokens", 0))
                cost = _micros(figures.get("cost_cents", "0"))
                expected[(user, day, "COST")] = ("usd_micros", cost)
    for key, (metric, want) in sorted(expected.items()):
        got = sums.get(key, {}).get(metric, 0)
        if got < want:
            findings.lost_changes.append(f"{key} {metric}: deltas sum to {got}, API says {want}")
        elif got > want:
            findings.duplicate_effects.append(f"{key} {metric}: deltas sum to {got} > {want}")
    in_window = {"MESSAGES": engagement_days, "SESSIONS": engagement_days,
                 "TOKENS": spend_days, "COST": spend_days}
    for key, metrics in sums.items():
        # Only usage families are sums of deltas (SPEND_LIMIT holds readings of a period).
        days = in_window.get(key[2], set())
        if key not in expected and key[1] in days and any(metrics.values()):
            findings.duplicate_effects.append(f"{key}: deltas {dict(metrics)} for no API figure")
    return findings


def audit_associations(associations: Iterable[Message]) -> Findings:
    """One association event per member, application and authorisation kind."""
    findings = Findings()
    seen: set[tuple[str, str, str, str]] = set()
    for message in unique_events(associations, findings):
        value = message.value
        key = (value["user_id"], value["kind"], value["name"], value["auth"])
        if key in seen:
            findings.duplicate_effects.append(f"association {key} announced twice")
        seen.add(key)
    return findings


def status_chain(statuses: Iterable[Message]) -> list[str]:
    """The connector states in order; fails when one event's ``previous_state`` is not the last."""
    states: list[str] = []
    for message in unique_events(sorted(statuses, key=lambda m: m.offset), Findings()):
        value = message.value
        if states:
            assert value["previous_state"] == states[-1], (states, value)
        states.append(value["state"])
    return states
