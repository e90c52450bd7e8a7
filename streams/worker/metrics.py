"""Process-local counters of the worker, rendered as Prometheus text by the ``/metrics`` view.

Counters restart from zero with the process, as Prometheus counters do; the durable state is
in the tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

Labels = tuple[tuple[str, str], ...]

HELP: Mapping[str, str] = {
    "claude_worker_events_total": "Input messages applied, by topic.",
    "claude_worker_dead_letters_total": "Input messages dead-lettered, by topic and error.",
    "claude_worker_alert_events_total": "Alert events produced, by reason and state.",
    "claude_worker_alert_events_already_published_total": (
        "Alert events derived again (replay, restart, rebalance) and found on the alerts topic, "
        "so not published again."
    ),
    "claude_worker_webhook_deliveries_total": "Webhook deliveries, by outcome.",
}


class Metrics:
    """Named counters with labels."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, Labels]] = Counter()

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        """Add ``amount`` to the counter ``name`` with ``labels``."""
        self._counts[(name, tuple(sorted(labels.items())))] += amount

    def by_label(self, name: str, label: str) -> dict[str, int]:
        """The counter ``name`` summed per value of ``label``."""
        found: dict[str, int] = {}
        for (counter, labels), count in self._counts.items():
            value = dict(labels).get(label)
            if counter == name and value is not None:
                found[value] = found.get(value, 0) + count
        return dict(sorted(found.items()))

    def render(self, gauges: Iterable[tuple[str, str, Labels, float]] = ()) -> str:
        """Prometheus text exposition of every counter, then the given gauges."""
        lines: list[str] = []
        for name, help_text in HELP.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            for (counter, labels), count in sorted(self._counts.items()):
                if counter == name:
                    lines.append(f"{name}{_labels(labels)} {count}")
        described: set[str] = set()
        for name, help_text, labels, value in gauges:
            if name not in described:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
                described.add(name)
            lines.append(f"{name}{_labels(labels)} {value:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels
    )
    return "{" + inner + "}"


METRICS = Metrics()
"""The worker process's counters."""
