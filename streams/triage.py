"""Triage from the command line: read findings from a worker, publish decisions to Kafka.

``findings`` reads ``GET /identities`` (every page) from a worker; ``decide`` turns an action
on alert ids or on an identity's open alerts into ``AlertDecision`` events and ``publish``
writes them to the ``alert-decisions`` topic, keyed by alert id, on the partition of the
member's ``org:user`` key (the default partitioner's choice for that key), so each decision
sits with its member's alerts and tables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from streams.errors import TriageError
from streams.events.cloudevents import headers_for
from streams.events.codec import encode
from streams.events.keys import user_key
from streams.events.records import AlertDecision, DecisionAction
from streams.kafkaio.security import KafkaSecurity
from streams.worker.rules import canonical_email

PAGE = 10_000
RELATIVE = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


async def findings(url: str, token: str | None, state: str = "all") -> list[dict[str, Any]]:
    """Every identity the worker at ``url`` shows for ``state`` (open or all)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while True:
            params = {"state": state, "limit": str(PAGE), "offset": str(len(found))}
            try:
                response = await client.get("/identities", params=params)
            except httpx.HTTPError as exc:
                raise TriageError(f"worker at {url} not reachable: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise TriageError(f"worker at {url} answered HTTP {response.status_code} "
                                  f"for /identities: {response.text[:200]}")
            body = response.json()
            found += body["data"]
            if not body["data"] or len(found) >= body["total"]:
                return found


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


def targets(
    identities: Iterable[dict[str, Any]], alert_ids: Sequence[str], user: str | None
) -> list[Target]:
    """The open alerts named by id, or every open alert of the identity with ``user``'s
    address (case and ``+tag`` ignored)."""
    wanted = set(alert_ids)
    mailbox = canonical_email(user) if user else None
    found: list[Target] = []
    for identity in identities:
        same_person = mailbox is not None and canonical_email(identity["email"] or "") == mailbox
        for alert in identity["alerts"]:
            if alert["state"] == "OPENED" and (same_person or alert["alert_id"] in wanted):
                found.append(Target(alert, identity))
    missing = wanted - {target.alert["alert_id"] for target in found}
    if missing:
        raise TriageError(f"no open alert with id {', '.join(sorted(missing))}")
    if mailbox is not None and not any(
        canonical_email(t.identity["email"] or "") == mailbox for t in found
    ):
        raise TriageError(f"no open alert for {user}")
    return found


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
        raise TriageError("accept needs --reason: why this risk is accepted")
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


async def publish(
    decisions: Sequence[AlertDecision], bootstrap: str, topic: str, security: KafkaSecurity
) -> None:
    """Write ``decisions`` to ``topic`` (key: alert id; partition: the member key's)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        **security.client_options(),
    )
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        choose = DefaultPartitioner()
        for decision in decisions:
            partition = choose(user_key(decision.org_id, decision.user_id), partitions,
                               partitions)
            await producer.send(topic, key=decision.alert_id.encode(), value=encode(decision),
                                partition=partition, headers=headers_for(decision))
        await producer.flush()
    finally:
        await producer.stop()
