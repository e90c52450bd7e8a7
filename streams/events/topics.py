"""The topic registry: one ``TopicSpec`` per topic, named ``TOPIC_PREFIX`` + suffix.

Event topics are kept forever (``cleanup.policy=delete``, ``retention.ms=-1``) so history can
be replayed from offset 0; state and directory topics are compacted (latest value per key).
The dead-letter topic keeps undecodable messages byte for byte, forever (see ``deadletter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from streams.events.records import (
    Activity,
    AlertDecision,
    AppAssociation,
    AvroRecord,
    ConnectorStatus,
    CredentialEvent,
    DirectoryRecord,
    InviteEvent,
    PollerState,
    ShadowItAlert,
    UsageDelta,
    UserEvent,
)


class KeyKind(StrEnum):
    """The shape of a topic's Kafka key (see ``keys``)."""

    ORG_USER = "org:user"
    ORG = "org"
    ORG_EMAIL = "org:email"
    ORG_STATE = "org:connector:kind:..."
    ORG_KEY = "org:key"
    """An organisation's API key id."""
    ORG_INVITE = "org:invite"
    """An organisation's invitation id."""
    ALERT = "alert id"
    """On the partition of the alert's member key (``org:user``)."""
    ORIGINAL = "original"
    """Dead letters keep the key of the message they carry."""


class Cleanup(StrEnum):
    """How Kafka retains a topic's messages."""

    RETAIN_FOREVER = "delete"
    COMPACT = "compact"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: name suffix, key shape, value record type and retention."""

    suffix: str
    key: KeyKind
    record: type[AvroRecord] | None
    """The value's record type; ``None`` for the dead-letter topic (raw bytes)."""
    cleanup: Cleanup
    doc: str

    def name(self, prefix: str) -> str:
        """The full topic name for a ``TOPIC_PREFIX``."""
        return f"{prefix}{self.suffix}"

    @property
    def config(self) -> dict[str, str]:
        """Topic configuration to create it with."""
        if self.cleanup is Cleanup.COMPACT:
            return {"cleanup.policy": "compact"}
        return {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}


USER_EVENTS = TopicSpec("user-events", KeyKind.ORG_USER, UserEvent, Cleanup.RETAIN_FOREVER,
                        "Member SNAPSHOT / ADDED / REMOVED / UPDATED events.")
USAGE_DELTAS = TopicSpec("usage-deltas", KeyKind.ORG_USER, UsageDelta, Cleanup.RETAIN_FOREVER,
                         "Per member, day and metric family: deltas and new totals.")
APP_ASSOCIATIONS = TopicSpec("app-associations", KeyKind.ORG_USER, AppAssociation,
                             Cleanup.RETAIN_FOREVER,
                             "First use of a Claude surface or third-party connector.")
CONNECTOR_STATUS = TopicSpec("connector-status", KeyKind.ORG, ConnectorStatus,
                             Cleanup.RETAIN_FOREVER, "Connector health changes.")
SHADOW_IT_ALERTS = TopicSpec("shadow-it-alerts", KeyKind.ORG_USER, ShadowItAlert,
                             Cleanup.RETAIN_FOREVER, "Shadow-IT alerts opened and resolved.")
POLLER_STATE = TopicSpec("poller-state", KeyKind.ORG_STATE, PollerState, Cleanup.COMPACT,
                         "The poller's committed state, one small record per entry.")
DIRECTORY = TopicSpec("directory", KeyKind.ORG_EMAIL, DirectoryRecord, Cleanup.COMPACT,
                      "Managed identities from the company directory (input).")
CREDENTIALS = TopicSpec("credentials", KeyKind.ORG_KEY, CredentialEvent, Cleanup.RETAIN_FOREVER,
                        "API key inventory: CREATED / UPDATED / REMOVED per key.")
INVITES = TopicSpec("invites", KeyKind.ORG_INVITE, InviteEvent, Cleanup.RETAIN_FOREVER,
                    "Invitations: CREATED / UPDATED / REMOVED per invitation.")
ALERT_DECISIONS = TopicSpec("alert-decisions", KeyKind.ALERT, AlertDecision, Cleanup.COMPACT,
                            "Triage decisions on alerts (ack, snooze, accept, reopen).")
ACTIVITIES = TopicSpec("activities", KeyKind.ORG_USER, Activity, Cleanup.RETAIN_FOREVER,
                       "Compliance Activity Feed rows, once per activity id.")
DEAD_LETTER = TopicSpec("dead-letter", KeyKind.ORIGINAL, None, Cleanup.RETAIN_FOREVER,
                        "Undecodable messages, unchanged, with the reason in headers.")

TOPICS: tuple[TopicSpec, ...] = (
    USER_EVENTS,
    USAGE_DELTAS,
    APP_ASSOCIATIONS,
    CONNECTOR_STATUS,
    SHADOW_IT_ALERTS,
    POLLER_STATE,
    DIRECTORY,
    CREDENTIALS,
    INVITES,
    ALERT_DECISIONS,
    ACTIVITIES,
    DEAD_LETTER,
)


def topic_for(record_type: type[AvroRecord]) -> TopicSpec:
    """The topic whose values are ``record_type`` records."""
    for spec in TOPICS:
        if spec.record is record_type:
            return spec
    raise KeyError(f"no topic carries {record_type.__name__}")


def topic_names(prefix: str) -> dict[str, str]:
    """Suffix → full topic name, for every topic."""
    return {spec.suffix: spec.name(prefix) for spec in TOPICS}
