"""Thin Kafka I/O shared by the poller, the worker tools and the history commands."""

from streams.kafkaio.admin import ensure_topics
from streams.kafkaio.messages import Outgoing
from streams.kafkaio.reader import committed_messages, read_compacted

__all__ = ["Outgoing", "committed_messages", "ensure_topics", "read_compacted"]
