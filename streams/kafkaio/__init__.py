"""Thin Kafka I/O shared by the poller, the worker tools and the history commands."""

from streams.kafkaio.admin import ensure_topics
from streams.kafkaio.compacted import read_compacted
from streams.kafkaio.messages import Outgoing

__all__ = ["Outgoing", "ensure_topics", "read_compacted"]
