"""CloudEvents 1.0 binary-mode Kafka headers, out and in.

Every event record travels as the Avro single-object-encoded value plus these headers
(UTF-8 values), per the CloudEvents Kafka protocol binding:

============== =====================================================================
``ce_specversion`` ``1.0``
``ce_id``          the record's ``event_id``
``ce_type``        the record's full Avro name, e.g. ``com.claudeconnector.events.UserEvent``
``ce_source``      ``/claude-connector/orgs/{org_id}`` (org id percent-encoded)
``ce_time``        ``observed_at`` as RFC 3339 UTC with milliseconds
``ce_subject``     the user id for per-member events, the connector name for status
``content-type``   ``application/avro`` (the value is Avro single-object encoding)
============== =====================================================================

An ``Activity`` carries the feed's own id and ``created_at``, and as subject its target user,
else its actor's user id, else the org id.

Poller-state and directory records are not events and carry no CloudEvents headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from streams.errors import MalformedMessage
from streams.events.records import (
    Activity,
    AlertDecision,
    AppAssociation,
    ConnectorStatus,
    CredentialEvent,
    InviteEvent,
    ShadowItAlert,
    UsageDelta,
    UserEvent,
)

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"

EventRecord = (
    UserEvent
    | UsageDelta
    | AppAssociation
    | ConnectorStatus
    | ShadowItAlert
    | CredentialEvent
    | InviteEvent
    | AlertDecision
)

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class CloudEventAttributes:
    """The CloudEvents attributes read back from a message's headers."""

    id: str
    type: str
    source: str
    time: datetime | None
    subject: str | None
    content_type: str
    specversion: str = SPEC_VERSION


def source_for(org_id: str) -> str:
    """``ce_source`` for events about an organisation."""
    return f"/claude-connector/orgs/{quote(org_id, safe='')}"


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def headers_for(record: EventRecord | Activity) -> Headers:
    """The binary-mode headers for one event record (an activity: the feed's id and time)."""
    if isinstance(record, Activity):
        event_id, moment = record.id, record.created_at
        subject = record.target_user_id or record.actor.user_id or record.org_id
    else:
        event_id, moment = record.event_id, record.observed_at
        if isinstance(record, ConnectorStatus):
            subject = record.connector
        elif isinstance(record, CredentialEvent):
            subject = record.key_id
        elif isinstance(record, InviteEvent):
            subject = record.invite_id
        else:
            subject = record.user_id
    return [
        ("ce_specversion", _SPEC_VERSION),
        ("ce_id", event_id.encode()),
        ("ce_type", _encoded(record.SCHEMA)),
        ("ce_source", _source_header(record.org_id)),
        ("ce_time", _time_header(moment)),
        ("ce_subject", subject.encode()),
        ("content-type", _CONTENT_TYPE),
    ]


# A poll cycle's events share their organisation and time: each header value is made once.
_SPEC_VERSION = SPEC_VERSION.encode()
_CONTENT_TYPE = CONTENT_TYPE.encode()


@lru_cache(maxsize=256)
def _encoded(text: str) -> bytes:
    return text.encode()


@lru_cache(maxsize=256)
def _source_header(org_id: str) -> bytes:
    return source_for(org_id).encode()


@lru_cache(maxsize=256)
def _time_header(moment: datetime) -> bytes:
    return format_time(moment).encode()


_REQUIRED = ("ce_specversion", "ce_id", "ce_type", "ce_source")


def parse_headers(headers: Iterable[tuple[str, bytes | None]]) -> CloudEventAttributes:
    """The CloudEvents attributes in ``headers``; ``MalformedMessage`` when required ones lack."""
    values: dict[str, str] = {}
    for name, raw in headers:
        if raw is None:
            continue
        try:
            values[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage(f"header {name} is not UTF-8") from None
    missing = [name for name in _REQUIRED if not values.get(name)]
    if missing:
        raise MalformedMessage(f"missing CloudEvents headers: {', '.join(missing)}")
    if values["ce_specversion"] != SPEC_VERSION:
        raise MalformedMessage(f"unsupported CloudEvents specversion {values['ce_specversion']!r}")
    try:
        moment = datetime.fromisoformat(values["ce_time"]) if values.get("ce_time") else None
    except ValueError:
        raise MalformedMessage(f"ce_time is not RFC 3339: {values['ce_time']!r}") from None
    return CloudEventAttributes(
        id=values["ce_id"],
        type=values["ce_type"],
        source=values["ce_source"],
        time=moment,
        subject=values.get("ce_subject"),
        content_type=values.get("content-type", ""),
        specversion=values["ce_specversion"],
    )
