"""Read history: any topic as JSON lines (tail, replay), the roster as of a time, rebuilds.

- ``tail``: the last ``n`` messages of a topic (or all of them), optionally following new ones.
- ``replay``: a topic's committed messages from an offset or an event time, up to an event
  time, for one organisation or all, in partition order (each member's events in order).
- ``roster_as_of``: the members of every organisation as they were at a time, folded from the
  user events observed up to then with ``streams.events.apply.UserFold``.
- ``check_new_app_id`` and ``rebuild_environment``: what ``replay --rebuild`` needs to start a
  worker whose tables are built from offset 0 of every topic under an app id never used before.

Every message is read ``read_committed``, so aborted poller transactions never show. The time
of an event is its ``observed_at`` (``updated_at`` for state and directory records, the Kafka
timestamp when neither is there): the time the API reported it, which for the simulator is the
simulated time.
"""

from __future__ import annotations

import base64
import heapq
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.errors import CodecError, ConfigError, HistoryError
from streams.events.apply import UserFold
from streams.events.codec import Codec, default_codec
from streams.events.records import UserEvent
from streams.events.topics import TOPICS, USER_EVENTS
from streams.kafkaio.reader import READ_TIMEOUT_SECONDS, committed_messages, topic_ends
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

TAIL_LINES = 10


@dataclass(frozen=True, slots=True)
class Entry:
    """One message as history shows it: where it sits, its key, headers and decoded value."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    headers: dict[str, str]
    schema: str | None
    value: dict[str, Any] | None
    error: str | None = None
    raw: bytes | None = None

    @property
    def event_time(self) -> datetime:
        """``observed_at`` (or ``updated_at``) of the value, else the Kafka timestamp."""
        value = self.value or {}
        moment = value.get("observed_at") or value.get("updated_at")
        return moment if isinstance(moment, datetime) else self.timestamp

    @property
    def org_id(self) -> str | None:
        """The organisation of the value, else the part of the key before the first ``:``."""
        if self.value and isinstance(self.value.get("org_id"), str):
            return self.value["org_id"]
        return self.key.split(":", 1)[0] if self.key else None

    def to_json(self) -> bytes:
        """One JSON line (no newline); undecodable values are base64 with the error."""
        line: dict[str, Any] = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": self.timestamp,
            "key": self.key,
            "type": self.schema,
            "value": self.value,
            "headers": self.headers,
        }
        if self.error is not None:
            line["error"] = self.error
            line["value_base64"] = base64.b64encode(self.raw or b"").decode()
        return orjson.dumps(line, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def resolve_topic(name: str, prefix: str) -> str:
    """A registry suffix such as ``user-events`` under ``prefix``; any other name as given."""
    suffixes = {spec.suffix for spec in TOPICS}
    return f"{prefix}{name}" if name in suffixes else name


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_start(text: str) -> int | datetime:
    """``--from``: an offset (applied to every partition) or an ISO 8601 event time."""
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else parse_time(stripped)


def decode_record(record: ConsumerRecord, codec: Codec) -> Entry:
    """The message as an ``Entry``; a value that does not decode keeps its bytes and the error."""
    common = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": datetime.fromtimestamp(record.timestamp / 1000, UTC),
        "key": None if record.key is None else record.key.decode("utf-8", "replace"),
        "headers": {
            name: (value or b"").decode("utf-8", "replace") for name, value in record.headers
        },
    }
    if record.value is None:
        return Entry(**common, schema=None, value=None)
    try:
        schema, value = codec.decode_datum(record.value)
    except CodecError as exc:
        return Entry(
            **common, schema=None, value=None, error=f"{type(exc).__name__}: {exc}",
            raw=bytes(record.value),
        )
    return Entry(**common, schema=schema, value=value)


async def _consume(
    bootstrap: str,
    topic: str,
    *,
    start: int = 0,
    last: int | None = None,
    follow: bool = False,
    partition: int | None = None,
    timeout: float = READ_TIMEOUT_SECONDS,
    security: KafkaSecurity = PLAINTEXT,
) -> AsyncIterator[ConsumerRecord | None]:
    """Committed records from offset ``start`` (or the last ``last`` offsets) of each partition.

    It reads up to the end every partition had when reading began
    (``kafkaio.reader.committed_messages``). With ``follow`` it then yields ``None`` once
    (caught up) and goes on with new records until cancelled.
    """
    ends = await topic_ends(bootstrap, topic, security=security)
    if not ends:
        raise HistoryError(f"topic {topic} does not exist on {bootstrap}")
    if partition is not None and partition not in ends:
        raise HistoryError(f"topic {topic} has no partition {partition} (it has {len(ends)})")
    ends = {number: end for number, end in ends.items() if partition in (None, number)}
    since = {number: start if last is None else max(0, end - last) for number, end in ends.items()}
    try:
        async for record in committed_messages(
            bootstrap, topic, since=since, until=ends, timeout=timeout, security=security
        ):
            yield record
    except TimeoutError as exc:
        raise HistoryError(str(exc)) from None
    if not follow:
        return
    yield None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **security.client_options(),
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, number) for number in ends]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, ends[tp.partition])
        while True:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    yield record
    finally:
        await consumer.stop()


async def tail(
    bootstrap: str,
    topic: str,
    *,
    lines: int = TAIL_LINES,
    from_beginning: bool = False,
    follow: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> AsyncIterator[Entry]:
    """The last ``lines`` messages by time (every one with ``from_beginning``), then new ones.

    With ``follow`` it waits for new messages until cancelled.
    """
    codec = default_codec()
    # Transaction markers take offsets too: read twice as many and keep the newest ``lines``.
    last = None if from_beginning else 2 * lines + 1
    recent: list[Entry] = []
    caught_up = from_beginning
    async for record in _consume(bootstrap, topic, last=last, follow=follow, security=security):
        if record is None:
            for entry in _newest(recent, lines):
                yield entry
            caught_up = True
        elif caught_up:
            yield decode_record(record, codec)
        else:
            recent.append(decode_record(record, codec))
    if not caught_up:
        for entry in _newest(recent, lines):
            yield entry


def _newest(entries: list[Entry], count: int) -> list[Entry]:
    """The ``count`` newest entries (Kafka time, then partition and offset), oldest first."""
    newest = heapq.nlargest(count, entries, key=lambda e: (e.timestamp, e.partition, e.offset))
    return newest[::-1]


async def replay(
    bootstrap: str,
    topic: str,
    *,
    start: int | datetime | None = None,
    until: datetime | None = None,
    org: str | None = None,
    partition: int | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> AsyncIterator[Entry]:
    """Committed history of ``topic`` in partition order, filtered by offset, time and org.

    ``start`` is an offset applied to every partition, or an event time (inclusive); ``until``
    is an event time (inclusive).
    """
    codec = default_codec()
    offset = start if isinstance(start, int) else 0
    since = start if isinstance(start, datetime) else None
    async for record in _consume(
        bootstrap, topic, start=offset, partition=partition, security=security
    ):
        assert record is not None
        entry = decode_record(record, codec)
        if since is not None and entry.event_time < since:
            continue
        if until is not None and entry.event_time > until:
            continue
        if org is not None and entry.org_id != org:
            continue
        yield entry


async def records(
    bootstrap: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> AsyncIterator[tuple[int, Any]]:
    """Every committed record of ``topic`` decoded, with its partition, in partition order
    (what does not decode is left out: the worker dead-letters it)."""
    codec = default_codec()
    async for record in _consume(bootstrap, topic, security=security):
        if record is None or record.value is None:
            continue
        try:
            yield record.partition, codec.decode(record.value)
        except CodecError:
            continue


async def roster_as_of(
    bootstrap: str,
    prefix: str,
    as_of: datetime,
    *,
    org: str | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> list[dict[str, Any]]:
    """Every member at ``as_of``: user events observed up to then, folded in order.

    Rows are sorted by organisation and e-mail: ``{org_id, user_id, email, name, role,
    workspaces, added_at}``.
    """
    fold = UserFold()
    async for _, event in records(bootstrap, USER_EVENTS.name(prefix), security=security):
        if not isinstance(event, UserEvent) or event.observed_at > as_of:
            continue
        if org is None or event.org_id == org:
            fold.apply(event)
    rows = [
        {
            "org_id": org_id,
            "user_id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "workspaces": user.workspaces,
            "added_at": user.added_at,
        }
        for org_id, members in fold.rosters.items()
        for user in members.values()
    ]
    rows.sort(key=lambda row: (row["org_id"], row["email"].lower(), row["user_id"]))
    return rows


async def check_new_app_id(
    bootstrap: str, app_id: str, *, security: KafkaSecurity = PLAINTEXT
) -> None:
    """``ConfigError`` unless ``app_id`` has no committed offsets and no changelog topics.

    A worker under a used app id would resume from its offsets and changelogs instead of
    building its tables from offset 0.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security.client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(app_id)
        topics = sorted(name for name in await admin.list_topics() if name.startswith(f"{app_id}-"))
    finally:
        await admin.close()
    if offsets or topics:
        raise ConfigError(
            f"app id {app_id!r} was used before ({len(offsets)} committed offsets, "
            f"{len(topics)} topics named {app_id}-...): a rebuild needs an app id never used"
        )


def rebuild_environment(environ: Mapping[str, str], app_id: str) -> dict[str, str]:
    """The environment of a rebuilding worker: ``WORKER_APP_ID`` set, webhook deliveries off.

    A rebuild derives every alert event again; the webhook's receiver saw them already, so
    delivery is switched off.
    """
    return {**environ, "WORKER_APP_ID": app_id, "ALERT_WEBHOOK_URL": ""}
