"""Directory files → the compacted directory topic (``claude-connector directory load``).

A directory file lists the identities the company manages, as JSON lines or CSV (chosen by the
``.csv`` suffix) with the fields ``email``, ``employee_id`` (optional), ``name`` (optional),
``status`` (``active`` or ``deprovisioned``, default ``active``) and ``org_id`` (optional when
``--org`` is given). The simulator's ``--directory-out`` writes such a file.

Loading publishes only what differs from the topic's current content (so reloading the same
file publishes nothing and keeps each record's ``updated_at``), and with ``prune`` writes a
tombstone for every address of the organisation that the file no longer lists.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from streams.errors import CodecError, DirectoryFileError
from streams.events.codec import decode, encode
from streams.events.keys import email_key
from streams.events.records import DirectoryRecord, DirectoryStatus
from streams.kafkaio import read_compacted
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

_STATUSES = {"active": DirectoryStatus.ACTIVE, "deprovisioned": DirectoryStatus.DEPROVISIONED}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load published."""

    records: int
    published: int
    unchanged: int
    tombstones: int


def _rows(path: Path) -> Iterable[tuple[int, Mapping[str, object]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot be read: {exc}") from None
    if path.suffix.lower() == ".csv":
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            yield number, {key.strip().lower(): value for key, value in row.items() if key}
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DirectoryFileError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise DirectoryFileError(f"{path}:{number}: expected a JSON object")
        yield number, row


def _text(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def read_directory_file(
    path: Path, org_id: str | None, *, now: datetime | None = None
) -> list[DirectoryRecord]:
    """The records of a directory file (later lines win for a repeated address)."""
    moment = now or datetime.now(UTC)
    records: dict[tuple[str, str], DirectoryRecord] = {}
    for number, row in _rows(path):
        email = (_text(row.get("email")) or "").lower()
        if "@" not in email:
            raise DirectoryFileError(f"{path}:{number}: 'email' is missing or not an address")
        org = _text(row.get("org_id")) or org_id
        if not org:
            raise DirectoryFileError(f"{path}:{number}: no org_id in the file; pass --org")
        status_text = (_text(row.get("status")) or "active").lower()
        if status_text not in _STATUSES:
            raise DirectoryFileError(
                f"{path}:{number}: status must be active or deprovisioned, not {status_text!r}"
            )
        records[(org, email)] = DirectoryRecord(
            org_id=org,
            email=email,
            employee_id=_text(row.get("employee_id")),
            name=_text(row.get("name")),
            status=_STATUSES[status_text],
            source=path.name,
            updated_at=moment,
        )
    return list(records.values())


def _same(a: DirectoryRecord, b: DirectoryRecord) -> bool:
    return (a.org_id, a.email, a.employee_id, a.name, a.status) == (
        b.org_id,
        b.email,
        b.employee_id,
        b.name,
        b.status,
    )


async def load_directory(
    bootstrap: str,
    topic: str,
    records: list[DirectoryRecord],
    *,
    prune: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> LoadResult:
    """Publish the records that differ from the topic (and tombstones when ``prune``)."""
    orgs = {record.org_id for record in records}
    current: dict[bytes, DirectoryRecord | None] = {}
    for key, value in (
        await read_compacted(
            bootstrap,
            topic,
            key_filter=lambda key: key.split(b":", 1)[0].decode() in orgs,
            security=security,
        )
    ).items():
        try:
            record = decode(value)
        except CodecError:
            record = None
        current[key] = record if isinstance(record, DirectoryRecord) else None
    wanted = {email_key(record.org_id, record.email): record for record in records}
    changed = {
        key: record
        for key, record in wanted.items()
        if not (isinstance(current.get(key), DirectoryRecord) and _same(current[key], record))
    }
    removed = sorted(set(current) - set(wanted)) if prune else []
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        **security.client_options(),
    )
    await producer.start()
    try:
        for key, record in changed.items():
            await producer.send(topic, key=key, value=encode(record))
        for key in removed:
            await producer.send(topic, key=key, value=None)
        await producer.flush()
    finally:
        await producer.stop()
    return LoadResult(
        records=len(records),
        published=len(changed),
        unchanged=len(wanted) - len(changed),
        tombstones=len(removed),
    )
