"""The dead-letter contract: the failed message unchanged, the reason in headers.

A dead letter keeps the original key, value and headers byte for byte (so it can be inspected
or re-driven by producing it to ``dlq.topic`` again) and adds:

================== ==========================================================
``dlq.error``      the error class, e.g. ``MalformedMessage``, ``UnknownSchema``
``dlq.reason``     the error message (one line; never contains secrets)
``dlq.topic``      the topic the message was read from
``dlq.partition``  its partition (decimal)
``dlq.offset``     its offset (decimal)
``dlq.time``       when it was dead-lettered (RFC 3339 UTC)
================== ==========================================================

Earlier ``dlq.*`` headers of the original (a message dead-lettered twice) are replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from streams.events.cloudevents import format_time

PREFIX = "dlq."


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """Why and from where a message was dead-lettered, read back from its headers."""

    error: str
    reason: str
    topic: str
    partition: int
    offset: int
    time: str


def dead_letter_headers(
    original: Iterable[tuple[str, bytes | None]],
    error: Exception,
    *,
    topic: str,
    partition: int,
    offset: int,
    now: datetime,
) -> list[tuple[str, bytes | None]]:
    """The original headers (minus old ``dlq.*``) followed by the dead-letter headers."""
    reason = " ".join(str(error).split()) or type(error).__name__
    kept = [(name, value) for name, value in original if not name.startswith(PREFIX)]
    return [
        *kept,
        (f"{PREFIX}error", type(error).__name__.encode()),
        (f"{PREFIX}reason", reason.encode()),
        (f"{PREFIX}topic", topic.encode()),
        (f"{PREFIX}partition", str(partition).encode()),
        (f"{PREFIX}offset", str(offset).encode()),
        (f"{PREFIX}time", format_time(now).encode()),
    ]


def read_dead_letter(headers: Iterable[tuple[str, bytes | None]]) -> DeadLetterInfo:
    """The dead-letter headers of a message on the dead-letter topic."""
    values = {
        name[len(PREFIX):]: (value or b"").decode("utf-8", "replace")
        for name, value in headers
        if name.startswith(PREFIX)
    }
    return DeadLetterInfo(
        error=values.get("error", ""),
        reason=values.get("reason", ""),
        topic=values.get("topic", ""),
        partition=int(values.get("partition") or -1),
        offset=int(values.get("offset") or -1),
        time=values.get("time", ""),
    )
