"""Triage from the command line: read findings from a worker, publish decisions to Kafka.

``findings`` reads ``GET /identities`` (every page) from a worker; ``decide`` turns an action
on alert ids or on an identity's open alerts into ``AlertDecision`` events and ``publish``
writes them to the ``alert-decisions`` topic, keyed by alert id, on the partition of the
member's ``org:user`` key (the default partitioner's choice for that key), so each decision
sits with its member's alerts and tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from streams.errors import TriageError
from streams.events.cloudevents import headers_for
from streams.events.codec import encode
from streams.events.records import AlertDecision
from streams.kafkaio.security import KafkaSecurity
from streams.worker.decisions import Target, decision_partition
from streams.worker.rules import canonical_email

PAGE = 10_000


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
        partitions = len(await producer.partitions_for(topic))
        for decision in decisions:
            partition = decision_partition(decision, partitions)
            await producer.send(topic, key=decision.alert_id.encode(), value=encode(decision),
                                partition=partition, headers=headers_for(decision))
        await producer.flush()
    finally:
        await producer.stop()
