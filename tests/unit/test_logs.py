"""Kafka client errors are rate-limited in the log; everything else passes untouched."""

from __future__ import annotations

import logging

from streams.logs import RepeatFilter


def record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_repeated_kafka_error_is_shown_once_per_interval_with_the_count_held_back():
    now = [0.0]
    limit = RepeatFilter(interval=10.0, clock=lambda: now[0])
    shown = []
    for second in range(25):
        now[0] = float(second)
        for _ in range(20):
            item = record("aiokafka", "Unable connect to node with id %s: %s", 1, "refused")
            if limit.filter(item):
                shown.append(item.getMessage())
    assert shown == [
        "Unable connect to node with id 1: refused",
        "Unable connect to node with id 1: refused (199 more like this in the last 10s)",
        "Unable connect to node with id 1: refused (199 more like this in the last 10s)",
    ]


def test_distinct_messages_and_other_loggers_are_not_held_back():
    limit = RepeatFilter(interval=10.0, clock=lambda: 0.0)
    assert limit.filter(record("aiokafka.conn", "node %s down", 1))
    assert limit.filter(record("aiokafka.conn", "node %s down", 2))
    assert limit.filter(record("aiokafka.conn", "node %s down", 1, level=logging.WARNING))
    assert not limit.filter(record("aiokafka.conn", "node %s down", 1))
    for _ in range(3):
        assert limit.filter(record("streams.poller.publish", "waited %ds for Kafka", 5))
        assert limit.filter(record("aiokafkax", "not a Kafka client logger"))
