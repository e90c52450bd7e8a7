"""Faust topics bound to the ``streams.events.topics`` registry; values stay raw bytes.

Agents decode values with our Avro codec themselves, so an undecodable message reaches the
agent and goes to the dead-letter topic instead of failing inside Faust's deserializer.
``directory_fanout`` is the worker's internal topic: every directory record copied to each
partition of the per-member topics (see ``agents.directory``).
"""

from __future__ import annotations

import faust

from streams.app import app, settings
from streams.events.topics import (
    ACTIVITIES,
    APP_ASSOCIATIONS,
    CONNECTOR_STATUS,
    DEAD_LETTER,
    DIRECTORY,
    SHADOW_IT_ALERTS,
    USAGE_DELTAS,
    USER_EVENTS,
    TopicSpec,
)


def raw_topic(spec: TopicSpec) -> faust.TopicT:
    """The Faust topic for a registry entry, with bytes keys and values."""
    return app.topic(
        spec.name(settings.topic_prefix),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


user_events_topic = raw_topic(USER_EVENTS)
usage_deltas_topic = raw_topic(USAGE_DELTAS)
app_associations_topic = raw_topic(APP_ASSOCIATIONS)
connector_status_topic = raw_topic(CONNECTOR_STATUS)
directory_topic = raw_topic(DIRECTORY)
shadow_it_alerts_topic = raw_topic(SHADOW_IT_ALERTS)
dead_letter_topic = raw_topic(DEAD_LETTER)
activities_topic = raw_topic(ACTIVITIES)

directory_fanout_topic = app.topic(
    f"{settings.worker_app_id}-directory-fanout",
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
    partitions=settings.topic_partitions,
    internal=True,
)


def active_partitions(topic: str) -> list[int]:
    """The partitions of ``topic`` this worker actively holds (standbys excluded)."""
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)


def partition_count(topic: str) -> int:
    """How many partitions ``topic`` has, as the topics are created (no broker query): one for
    connector-status (``streams.kafkaio.admin`` keeps per-organisation topics to one),
    ``TOPIC_PARTITIONS`` for the per-member topics and the directory fan-out."""
    if topic == connector_status_topic.get_topic_name():
        return 1
    return settings.topic_partitions
