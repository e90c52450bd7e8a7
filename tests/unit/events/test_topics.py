"""The topic registry matches design.md's table."""

from __future__ import annotations

from streams.events.records import (
    Activity,
    AlertDecision,
    AppAssociation,
    ConnectorStatus,
    CredentialEvent,
    DirectoryRecord,
    InviteEvent,
    PollerState,
    ShadowItAlert,
    UsageDelta,
    UserEvent,
)
from streams.events.topics import DEAD_LETTER, TOPICS, Cleanup, KeyKind, topic_for, topic_names

DESIGN_TABLE = {
    "claude.user-events": (KeyKind.ORG_USER, UserEvent, Cleanup.RETAIN_FOREVER),
    "claude.usage-deltas": (KeyKind.ORG_USER, UsageDelta, Cleanup.RETAIN_FOREVER),
    "claude.app-associations": (KeyKind.ORG_USER, AppAssociation, Cleanup.RETAIN_FOREVER),
    "claude.connector-status": (KeyKind.ORG, ConnectorStatus, Cleanup.RETAIN_FOREVER),
    "claude.shadow-it-alerts": (KeyKind.ORG_USER, ShadowItAlert, Cleanup.RETAIN_FOREVER),
    "claude.poller-state": (KeyKind.ORG_STATE, PollerState, Cleanup.COMPACT),
    "claude.directory": (KeyKind.ORG_EMAIL, DirectoryRecord, Cleanup.COMPACT),
    "claude.alert-decisions": (KeyKind.ALERT, AlertDecision, Cleanup.COMPACT),
    "claude.activities": (KeyKind.ORG_USER, Activity, Cleanup.RETAIN_FOREVER),
    "claude.credentials": (KeyKind.ORG_KEY, CredentialEvent, Cleanup.RETAIN_FOREVER),
    "claude.invites": (KeyKind.ORG_INVITE, InviteEvent, Cleanup.RETAIN_FOREVER),
    "claude.dead-letter": (KeyKind.ORIGINAL, None, Cleanup.RETAIN_FOREVER),
}


def test_default_names_keys_records_and_policies() -> None:
    actual = {spec.name("claude."): (spec.key, spec.record, spec.cleanup) for spec in TOPICS}
    assert actual == DESIGN_TABLE


def test_prefix_applies_to_every_topic() -> None:
    names = topic_names("acme.")
    assert names["user-events"] == "acme.user-events"
    assert DEAD_LETTER.name("acme.") == "acme.dead-letter"
    assert len(set(names.values())) == len(TOPICS)


def test_retention_configs() -> None:
    for spec in TOPICS:
        if spec.cleanup is Cleanup.COMPACT:
            assert spec.config == {"cleanup.policy": "compact"}
        else:
            assert spec.config["cleanup.policy"] == "delete"
            assert spec.config["retention.ms"] == "-1"


def test_topic_for_each_record_type() -> None:
    for spec in TOPICS:
        if spec.record is not None:
            assert topic_for(spec.record) is spec
    assert all(spec.doc for spec in TOPICS)
