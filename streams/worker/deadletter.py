"""Undecodable or inapplicable input → the dead-letter topic, unchanged, with the reason in headers.

The worker never stops on bad input and never drops it silently: the message goes to
``<prefix>dead-letter`` with ``streams.events.deadletter`` headers and is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.events.deadletter import dead_letter_headers
from streams.worker.metrics import METRICS

log = logging.getLogger(__name__)


def message_headers(headers: Any) -> list[tuple[str, bytes | None]]:
    """A Faust message's headers as a list of pairs (Faust gives a list or a mapping)."""
    if not headers:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def dead_letter_headers_for(
    message: Any, error: Exception, *, now: datetime | None = None
) -> list[tuple[str, bytes]]:
    """Headers of the dead letter for a Faust ``message`` that failed with ``error``.

    The dead letter itself is the message's own key and value with these headers.
    """
    log.warning(
        "dead-lettering %s[%d]@%d: %s: %s",
        message.topic, message.partition, message.offset, type(error).__name__, error,
    )
    METRICS.inc(
        "claude_worker_dead_letters_total", topic=message.topic, error=type(error).__name__
    )
    headers = dead_letter_headers(
        message_headers(message.headers),
        error,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        now=now or datetime.now(UTC),
    )
    return [(name, value or b"") for name, value in headers]
