"""The fault suite's ledger: per scenario, what ran, what was injected, and what went wrong.

Every scenario records its figures before it asserts them, so a failing run still shows the
numbers. The conftest prints the table at the end of the session and, when ``FAULTS_REPORT``
names a file, writes it as JSON there (``claude-connector bench faults`` reads that file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

from aiokafka import ConsumerRecord

from streams.kafkaio import committed_messages
from streams.kafkaio.security import PLAINTEXT, KafkaSecurity

CANARY_ANALYTICS_KEY = "canary-analytics-key-7Hq2Zx9Lw4"
CANARY_ADMIN_KEY = "canary-admin-key-Rk5Nv8Tp3Yd6"
CANARY_WEB_TOKEN = "canary-web-token-Jm4Wq7Bc2Xs9"
CANARY_WEBHOOK_SECRET = "canary-webhook-secret-Gf6Pz1Lk8Vn3"
SECRETS = (CANARY_ANALYTICS_KEY, CANARY_ADMIN_KEY, CANARY_WEB_TOKEN, CANARY_WEBHOOK_SECRET)
"""Recognisable secrets every scenario runs with. They are not shaped like Anthropic keys
(``sk-ant-...``), so only redaction by value, not the key-shaped pattern, can hide them."""


@dataclass
class Tally:
    """The figures of one scenario (all but the first two should be zero)."""

    cycles: int = 0
    faults_injected: int = 0
    false_removals: int = 0
    lost_changes: int = 0
    duplicate_effects: int = 0
    leaks: int = 0

    @property
    def failures(self) -> int:
        return self.false_removals + self.lost_changes + self.duplicate_effects + self.leaks


FIGURES = tuple(item.name for item in fields(Tally))


class Ledger:
    """Tallies by scenario name, in the order scenarios first reported."""

    def __init__(self) -> None:
        self.scenarios: dict[str, Tally] = {}

    def add(self, scenario: str, **figures: int) -> Tally:
        """Add ``figures`` (any of ``FIGURES``) to ``scenario``'s tally and return the tally."""
        tally = self.scenarios.setdefault(scenario, Tally())
        for name, value in figures.items():
            setattr(tally, name, getattr(tally, name) + value)
        return tally

    def merge(self, other: dict[str, dict[str, int]]) -> None:
        """Add the tallies of another ledger's ``to_json()``."""
        for scenario, figures in other.items():
            self.add(scenario, **figures)

    def to_json(self) -> dict[str, Any]:
        return {name: asdict(tally) for name, tally in self.scenarios.items()}

    def table(self) -> list[str]:
        """The ledger as aligned text lines."""
        width = max([len("scenario"), *map(len, self.scenarios)])
        header = "scenario".ljust(width) + "".join(f"  {name:>17}" for name in FIGURES)
        rows = [
            name.ljust(width) + "".join(f"  {getattr(tally, f):>17}" for f in FIGURES)
            for name, tally in self.scenarios.items()
        ]
        return [header, *rows]


LEDGER = Ledger()


def leaks_in(texts: Iterable[str | bytes], secrets: Iterable[str] = SECRETS) -> int:
    """How many times any secret occurs in ``texts`` (str or bytes)."""
    needles = list(secrets)
    found = 0
    for text in texts:
        haystack = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        found += sum(haystack.count(secret) for secret in needles)
    return found


async def topic_leaks(
    bootstrap: str,
    topics: Iterable[str],
    secrets: Iterable[str] = SECRETS,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> int:
    """Secrets in the keys, values and headers of every committed message of ``topics``."""
    needles = list(secrets)
    return sum(
        [
            leaks_in(record_bytes(r), needles)
            for t in topics
            for r in await raw_records(bootstrap, t, security=security)
        ]
    )


async def raw_records(
    bootstrap: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> list[ConsumerRecord[Any, Any]]:
    """Every committed record of ``topic``, undecoded."""
    return [
        record async for record in committed_messages(bootstrap, topic, security=security)
    ]


def record_bytes(record: ConsumerRecord[Any, Any]) -> list[bytes]:
    """Everything a record carries: key, value, header names and values."""
    parts = [record.key or b"", record.value or b""]
    return parts + [name.encode() + (value or b"") for name, value in record.headers]
