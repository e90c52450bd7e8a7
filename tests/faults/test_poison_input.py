"""Scenario 4: poison and hostile input on the topics a worker reads.

Random bytes, truncated Avro, an unknown fingerprint, tombstones, a record of the wrong type,
keys with odd bytes (or none), large values; then, on a worker of their own, a value as large
as the broker takes by default and (on a topic raised to take it) a 10 MB value. Expected:
every bad message lands on the dead-letter topic once, byte for byte, with the reason; the
worker keeps applying what follows; its memory stays bounded; no secret in the dead letters.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.events.codec import encode
from streams.events.deadletter import read_dead_letter
from streams.events.records import UserOp
from streams.events.topics import (
    APP_ASSOCIATIONS,
    CONNECTOR_STATUS,
    DEAD_LETTER,
    DIRECTORY,
    USAGE_DELTAS,
    USER_EVENTS,
)
from streams.kafkaio import ensure_topics
from tests.faults.harness import crashes, fault_worker, rss_mib
from tests.faults.ledger import leaks_in, raw_records, record_bytes
from tests.fixtures.waiting import eventually
from tests.fixtures.worker import ORG, T0, usage_delta, user_event

pytestmark = pytest.mark.kafka

ONE_MB = 1_000_000
LARGE = 900_000
"""A large value whose dead letter (value, key, headers) still fits a default producer request."""
BROKER_DEFAULT_MAX = 1_040_000
"""About the largest value a topic takes by default (``max.message.bytes`` 1 048 588 with the
batch and record overhead), more than a Faust producer sends by default (1 000 000)."""
TEN_MB = 10 * 1024 * 1024
MEMORY_BOUND_MIB = 96.0
"""How much a worker may grow while it handles every poison here (the big values included)."""


@dataclass(frozen=True)
class Poison:
    """One hostile message and the dead-letter error it must cause."""

    name: str
    topic: str
    key: bytes | None
    value: bytes | None
    error: str


def poisons(prefix: str, rng: random.Random) -> list[Poison]:
    good = encode(user_event(UserOp.ADDED, "user_p", "p@acme.com"))
    header = good[:10]  # magic + the UserEvent fingerprint
    user_events = USER_EVENTS.name(prefix)
    return [
        Poison("random bytes", user_events, b"org_test:user_r", rng.randbytes(300),
               "MalformedMessage"),
        Poison("truncated Avro", user_events, b"org_test:user_t", good[: len(good) // 2],
               "MalformedMessage"),
        Poison("unknown fingerprint", USAGE_DELTAS.name(prefix), b"org_test:user_f",
               b"\xc3\x01" + rng.randbytes(8) + b"body", "UnknownSchema"),
        Poison("tombstone", user_events, b"org_test:user_x", None, "MalformedMessage"),
        Poison("no key", user_events, None, rng.randbytes(40), "MalformedMessage"),
        Poison("odd key bytes", user_events, b"\xff\xfe\x00\x1b[31m\n\xc3\x01",
               rng.randbytes(64), "MalformedMessage"),
        Poison("record of another type", APP_ASSOCIATIONS.name(prefix), b"org_test:user_w",
               encode(usage_delta("user_w", T0.date(), {"amount": 1})), "MalformedMessage"),
        Poison("junk status", CONNECTOR_STATUS.name(prefix), ORG.encode(), rng.randbytes(90),
               "MalformedMessage"),
        Poison("directory key not UTF-8", DIRECTORY.name(prefix), b"org_test:\xff\xfe@acme.com",
               rng.randbytes(30), "MalformedMessage"),
        *(
            Poison(f"900 kB value #{n}", user_events, f"org_test:user_big{n}".encode(),
                   header + rng.randbytes(LARGE - len(header)), "MalformedMessage")
            for n in range(3)
        ),
    ]


async def send_all(bootstrap: str, items: list[Poison], max_request_size: int) -> dict:
    """Produce every poison; its (topic, partition, offset) → the poison."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", max_request_size=max_request_size
    )
    await producer.start()
    placed = {}
    try:
        for item in items:
            meta = await producer.send_and_wait(item.topic, key=item.key, value=item.value)
            placed[(item.topic, meta.partition, meta.offset)] = item
    finally:
        await producer.stop()
    return placed


@dataclass
class DeadLetters:
    """How the dead letters of some poison turned out."""

    missing: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)
    """Key or value not byte for byte, or not the expected error with a reason."""
    leaks: int = 0


async def audit_dead_letters(bootstrap: str, prefix: str, placed: dict) -> DeadLetters:
    """The dead letters of the ``placed`` poison, by the coordinates they name."""
    found: dict[tuple[str, int, int], list] = {}
    audit = DeadLetters()
    for record in await raw_records(bootstrap, DEAD_LETTER.name(prefix)):
        info = read_dead_letter(record.headers)
        found.setdefault((info.topic, info.partition, info.offset), []).append((record, info))
        audit.leaks += leaks_in(record_bytes(record))
    for where, item in placed.items():
        letters = found.get(where, [])
        if not letters:
            audit.missing.append(item.name)
            continue
        record, info = letters[0]
        if len(letters) > 1:
            audit.doubled.append(f"{item.name}: dead-lettered {len(letters)} times")
        if (record.key, record.value) != (item.key, item.value):
            audit.altered.append(f"{item.name}: key or value changed on the dead-letter topic")
        if info.error != item.error or not info.reason:
            audit.altered.append(f"{item.name}: {info.error} {info.reason!r}, want {item.error}")
    return audit


async def test_poison_is_dead_lettered_with_its_reason_and_the_worker_goes_on(
    shared_worker, ledger
):
    worker, bootstrap, prefix = shared_worker.process, shared_worker.bootstrap, shared_worker.prefix
    rss_before = rss_mib(worker)
    items = poisons(prefix, random.Random(4))
    placed = await send_all(bootstrap, items, 2 * ONE_MB)
    after = user_event(UserOp.ADDED, "user_after_poison", "after@acme.com", poll=9)
    await send_all(bootstrap, [Poison("good", USER_EVENTS.name(prefix),
                                      b"org_test:user_after_poison", encode(after), "")], ONE_MB)

    async def settled() -> bool:
        shown = (await worker.get("/users/user_after_poison")).status_code == 200
        return shown and not (await audit_dead_letters(bootstrap, prefix, placed)).missing

    try:
        await eventually(settled)
    finally:
        audit = await audit_dead_letters(bootstrap, prefix, placed)
        grown = rss_mib(worker) - rss_before
        ledger.add("poison: hostile input, shared worker", cycles=1, faults_injected=len(items),
                   lost_changes=len(audit.missing) + len(audit.altered),
                   duplicate_effects=len(audit.doubled), leaks=audit.leaks)
    assert audit == DeadLetters(), audit
    assert worker.alive() and not crashes(worker), crashes(worker)
    assert grown < MEMORY_BOUND_MIB, f"the worker grew by {grown:.0f} MiB"
    metrics = (await worker.get("/metrics")).text
    assert 'claude_worker_dead_letters_total{error="UnknownSchema"' in metrics


async def test_a_record_under_a_key_that_is_not_its_own_is_dead_lettered(shared_worker, ledger):
    """The key decides the partition, and the partition which worker and table row own the
    member; a record under another key is on the wrong partition, and applying it splits one
    member across partitions (two workers, two rows). It must be dead-lettered, not applied."""
    worker, bootstrap, prefix = shared_worker.process, shared_worker.bootstrap, shared_worker.prefix
    record = user_event(UserOp.ADDED, "user_odd_key", "odd@acme.com", poll=9)
    item = Poison("valid record, odd key", USER_EVENTS.name(prefix), b"\xff\xfe\x00odd\n",
                  encode(record), "MalformedMessage")
    placed = await send_all(bootstrap, [item], ONE_MB)

    async def settled():
        audit = await audit_dead_letters(bootstrap, prefix, placed)
        shown = (await worker.get("/users/user_odd_key")).status_code == 200
        return None if audit.missing and not shown else (audit, shown)

    audit, shown = await eventually(settled, timeout=20)
    ledger.add("poison: valid record under a foreign key", cycles=1, faults_injected=1,
               lost_changes=0 if shown else len(audit.missing) + len(audit.altered),
               duplicate_effects=len(audit.doubled) + shown)  # a row on the wrong partition
    assert audit == DeadLetters() and not shown, (audit, shown)


async def test_values_as_large_as_the_broker_takes_are_dead_lettered_and_the_worker_goes_on(
    kafka_bootstrap, tmp_path, ledger
):
    """A ~1 MB value on a topic with the broker's default limit, and a 10 MB value on a topic
    raised to take it: each dead-lettered (the dead letter may carry less than the value, with
    the reason), and the records after each applied."""
    prefix = f"fb{uuid.uuid4().hex[:8]}."
    users, usage = USER_EVENTS.name(prefix), USAGE_DELTAS.name(prefix)
    await ensure_topics(kafka_bootstrap, prefix, 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, users, configs={"max.message.bytes": str(2 * TEN_MB)}
        )])
    finally:
        await admin.close()
    worker = fault_worker(kafka_bootstrap, prefix, f"big-{uuid.uuid4().hex[:8]}", tmp_path,
                          TOPIC_PARTITIONS="1")
    try:
        await worker.wait_ready()
        rss_before = rss_mib(worker)
        header = encode(user_event(UserOp.ADDED, "user_p", "p@acme.com"))[:10]
        rng = random.Random(10)
        member = user_event(UserOp.ADDED, "user_u", "u@acme.com")
        await send_all(kafka_bootstrap, [Poison("member", users, b"org_test:user_u",
                                                encode(member), "")], ONE_MB)
        items = [
            Poison("10 MB value", users, b"org_test:user_huge", header + rng.randbytes(TEN_MB),
                   "MalformedMessage"),
            Poison("value at the broker's default limit", usage, b"org_test:user_u",
                   header + rng.randbytes(BROKER_DEFAULT_MAX - len(header)), "MalformedMessage"),
        ]
        placed = await send_all(kafka_bootstrap, items, 2 * TEN_MB)
        after = user_event(UserOp.ADDED, "user_after_huge", "huge@acme.com", poll=9)
        spend = usage_delta("user_u", T0.date(), {"amount": 7})
        await send_all(kafka_bootstrap, [
            Poison("after", users, b"org_test:user_after_huge", encode(after), ""),
            Poison("spend", usage, b"org_test:user_u", encode(spend), ""),
        ], ONE_MB)

        async def settled():
            if crashes(worker):
                return crashes(worker)
            shown = (await worker.get("/users/user_after_huge")).status_code == 200
            detail = (await worker.get("/users/user_u")).json().get("data", {})
            return shown and detail["usage"]["totals"].get("COST") == {"amount": 7}

        outcome = await eventually(settled, timeout=30)
        audit = await audit_dead_letters(kafka_bootstrap, prefix, placed)
        grown = rss_mib(worker) - rss_before
        lost = len(audit.missing) + (outcome is not True)
        ledger.add("poison: values at and over the broker's limit", cycles=1,
                   faults_injected=len(items), lost_changes=lost,
                   duplicate_effects=len(audit.doubled), leaks=audit.leaks)
        assert outcome is True, outcome
        assert not audit.missing and not audit.doubled, audit  # a shortened value is allowed
        assert grown < MEMORY_BOUND_MIB, f"the worker grew by {grown:.0f} MiB"
    finally:
        worker.stop()
