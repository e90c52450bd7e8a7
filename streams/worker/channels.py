"""Faust topics bound to the ``streams.events.topics`` registry; values stay raw bytes.

Agents decode values with our Avro codec themselves, so an undecodable message reaches the
agent and goes to the dead-letter topic instead of failing inside Faust's deserializer.
``directory_fanout`` is the worker's internal topic: every directory record copied to each
partition of the per-member topics (see ``agents.directory``).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import Settings
from streams.events.topics import (
    ACTIVITIES,
    ALERT_DECISIONS,
    APP_ASSOCIATIONS,
    CONNECTOR_STATUS,
    DEAD_LETTER,
    DIRECTORY,
    INVITES,
    SHADOW_IT_ALERTS,
    USAGE_DELTAS,
    USER_EVENTS,
    TopicSpec,
)


def _raw_topic(app: faust.App, name: str, **options: object) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        **options,
    )


@dataclass(frozen=True, slots=True)
class Channels:
    """The worker's Faust topics, declared on one app."""

    user_events: faust.TopicT
    usage_deltas: faust.TopicT
    app_associations: faust.TopicT
    connector_status: faust.TopicT
    directory: faust.TopicT
    shadow_it_alerts: faust.TopicT
    dead_letter: faust.TopicT
    directory_fanout: faust.TopicT
    alert_decisions: faust.TopicT
    activities: faust.TopicT
    topic_partitions: int
    invites: faust.TopicT

    @classmethod
    def declare(cls, app: faust.App, settings: Settings) -> Channels:
        """The topics of ``settings`` (prefix, app id, partitions) on ``app``."""

        def raw(spec: TopicSpec) -> faust.TopicT:
            return _raw_topic(app, spec.name(settings.topic_prefix))

        return cls(
            user_events=raw(USER_EVENTS),
            usage_deltas=raw(USAGE_DELTAS),
            app_associations=raw(APP_ASSOCIATIONS),
            connector_status=raw(CONNECTOR_STATUS),
            directory=raw(DIRECTORY),
            shadow_it_alerts=raw(SHADOW_IT_ALERTS),
            dead_letter=raw(DEAD_LETTER),
            activities=raw(ACTIVITIES),
            directory_fanout=_raw_topic(
                app,
                f"{settings.worker_app_id}-directory-fanout",
                partitions=settings.topic_partitions,
                internal=True,
            ),
            alert_decisions=raw(ALERT_DECISIONS),
            topic_partitions=settings.topic_partitions,
            invites=raw(INVITES),
        )

    def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has, as the topics are created (no broker query): one
        for connector-status (``streams.kafkaio.admin`` keeps per-organisation topics to one),
        ``TOPIC_PARTITIONS`` for the per-member topics and the directory fan-out."""
        if topic == self.connector_status.get_topic_name():
            return 1
        return self.topic_partitions


def active_partitions(app: faust.App, topic: str) -> list[int]:
    """The partitions of ``topic`` that ``app`` actively holds (standbys excluded)."""
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)
