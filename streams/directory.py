"""Directory files → the compacted directory topic (``claude-connector directory load``).

A directory file lists the identities the company manages, as JSON lines or CSV (chosen by the
``.csv`` suffix) with the fields ``email``, ``employee_id`` (optional), ``name`` (optional),
``status`` (``active`` or ``deprovisioned``, default ``active``) and ``org_id`` (optional when
``--org`` is given). The simulator's ``--directory-out`` writes such a file.

A file is read whole before anything is published: a malformed line (an unbalanced quote, a
field longer than ``MAX_FIELD_CHARS``, a CSV line with another number of fields than the header,
an address that is not an address) is one error naming the line, and nothing is published. A
UTF-8 byte order mark (as Excel writes) is accepted.

Loading publishes only what differs from the topic's current content (so reloading the same
file publishes nothing and keeps each record's ``updated_at``), and with ``prune`` writes a
tombstone for every address of the organisation that the file no longer lists, unless that is
more than ``prune_fraction`` of the organisation's identities and ``force`` is not given.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from streams.errors import CodecError, DirectoryFileError, OrganisationNeeded, PruneRefused
from streams.events.codec import decode, encode
from streams.events.keys import email_key
from streams.events.records import DirectoryRecord, DirectoryStatus
from streams.kafkaio import read_compacted
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

_STATUSES = {"active": DirectoryStatus.ACTIVE, "deprovisioned": DirectoryStatus.DEPROVISIONED}
MAX_FIELD_CHARS = 1024
"""Longest field a directory line may hold (an e-mail address is at most 254 characters)."""
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_ADDRESS = re.compile(rf"[^@\s\"<>,;]+@{_LABEL}(?:\.{_LABEL})+")
"""An address as a directory holds it: a local part, ``@`` and a domain with a dot."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load published."""

    records: int
    published: int
    unchanged: int
    tombstones: int


def _csv_rows(path: Path, text: str) -> Iterable[tuple[int, Mapping[str, object]]]:
    """Rows of a CSV file by line number; every malformed line is an error naming it."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    while True:
        number = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc):
                reason = "unbalanced quote (the quoted field never ends)"
            elif "field limit" in str(exc):
                reason = f"a field is longer than {MAX_FIELD_CHARS} characters"
            else:
                reason = f"not valid CSV: {exc}"
            raise DirectoryFileError(f"{path}:{number}: {reason}") from None
        if reader.line_num > number:
            raise DirectoryFileError(
                f"{path}:{number}: a quoted field spans several lines (unbalanced quote?)"
            )
        if not fields:
            continue
        if any(len(field) > MAX_FIELD_CHARS for field in fields):
            raise DirectoryFileError(
                f"{path}:{number}: a field is longer than {MAX_FIELD_CHARS} characters"
            )
        if header is None:
            header = [name.strip().lower() for name in fields]
            continue
        if len(fields) != len(header):
            raise DirectoryFileError(
                f"{path}:{number}: {len(fields)} fields, but the header has {len(header)}"
            )
        yield number, dict(zip(header, fields, strict=True))


def _rows(path: Path) -> Iterable[tuple[int, Mapping[str, object]]]:
    try:
        # utf-8-sig: a byte order mark (Excel writes one) is read as the start of the file.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot be read: {exc}") from None
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path, text)
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
        if any(len(str(value)) > MAX_FIELD_CHARS for value in row.values()):
            raise DirectoryFileError(
                f"{path}:{number}: a field is longer than {MAX_FIELD_CHARS} characters"
            )
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
        if not _ADDRESS.fullmatch(email):
            shown = f" ({email[:80]!r})" if email else ""
            raise DirectoryFileError(
                f"{path}:{number}: 'email' is missing or not an address{shown}"
            )
        org = _text(row.get("org_id")) or org_id
        if not org:
            raise OrganisationNeeded(f"{path}:{number}: no org_id in the file; pass --org")
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


def _org_of(key: bytes) -> str:
    return key.split(b":", 1)[0].decode()


def _check_prune_share(
    current: Mapping[bytes, object], removed: list[bytes], fraction: float
) -> None:
    """``PruneRefused`` when ``removed`` is more than ``fraction`` of an org's identities."""
    for org in sorted({_org_of(key) for key in removed}):
        held = sum(1 for key in current if _org_of(key) == org)
        dropped = sum(1 for key in removed if _org_of(key) == org)
        if dropped > fraction * held:
            raise PruneRefused(
                f"--prune would remove {dropped} of the {held} identities of {org} "
                f"(more than {fraction:.0%}, DIRECTORY_PRUNE_FRACTION); nothing was published. "
                "Check the file, or pass --force"
            )


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
    prune_fraction: float = 1.0,
    force: bool = False,
    security: KafkaSecurity = PLAINTEXT,
) -> LoadResult:
    """Publish the records that differ from the topic (and tombstones when ``prune``).

    ``PruneRefused`` (nothing published) when the tombstones would remove more than
    ``prune_fraction`` of an organisation's identities, unless ``force``.
    """
    orgs = {record.org_id for record in records}
    current: dict[bytes, DirectoryRecord | None] = {}
    for key, value in (
        await read_compacted(
            bootstrap,
            topic,
            key_filter=lambda key: _org_of(key) in orgs,
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
    if not force:
        _check_prune_share(current, removed, prune_fraction)
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
