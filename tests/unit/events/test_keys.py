"""Kafka keys and deterministic event ids."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from streams.events.keys import (
    EVENT_ID_NAMESPACE,
    association_event_id,
    email_key,
    event_id,
    image_digest,
    org_key,
    state_key,
    status_event_id,
    usage_event_id,
    user_event_id,
    user_key,
)
from streams.events.records import AppKind, AuthKind, ConnectorState, MetricFamily, UserOp
from tests.unit.events.samples import DANA, DANA_ADMIN


def test_keys_are_utf8_with_colons() -> None:
    assert user_key("org_1", "user_1") == b"org_1:user_1"
    assert org_key("org_1") == b"org_1"
    assert email_key("org_1", "  Dana.Ortiz@Example.COM ") == b"org_1:dana.ortiz@example.com"
    assert state_key("org_1", "acme", "member", "user_1") == b"org_1:acme:member:user_1"
    assert user_key("org_é", "user_1") == "org_é:user_1".encode()


def test_event_id_is_uuid5_over_the_joined_parts() -> None:
    parts = ("user", "org_1", "user_1", "ADDED", "acme:3", "x")
    expected = str(uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(parts)))
    assert event_id(*parts) == expected
    assert uuid.UUID(expected).version == 5


def test_parts_cannot_run_into_each_other() -> None:
    assert event_id("ab", "c") != event_id("a", "bc")


def test_same_change_same_id_and_any_difference_another() -> None:
    base = user_event_id("org", DANA.id, UserOp.UPDATED, "acme:4", DANA, DANA_ADMIN)
    assert base == user_event_id("org", DANA.id, UserOp.UPDATED, "acme:4", DANA, DANA_ADMIN)
    variants = {
        user_event_id("org2", DANA.id, UserOp.UPDATED, "acme:4", DANA, DANA_ADMIN),
        user_event_id("org", "user_x", UserOp.UPDATED, "acme:4", DANA, DANA_ADMIN),
        user_event_id("org", DANA.id, UserOp.ADDED, "acme:4", DANA, DANA_ADMIN),
        user_event_id("org", DANA.id, UserOp.UPDATED, "acme:5", DANA, DANA_ADMIN),
        user_event_id("org", DANA.id, UserOp.UPDATED, "acme:4", None, DANA_ADMIN),
        user_event_id("org", DANA.id, UserOp.UPDATED, "acme:4", DANA, DANA),
    }
    assert base not in variants and len(variants) == 6


def test_image_digest_ignores_workspace_order_but_not_content() -> None:
    reordered = replace(DANA, workspaces=dict(reversed(list(DANA.workspaces.items()))))
    assert image_digest(reordered) == image_digest(DANA)
    assert image_digest(replace(DANA, workspaces={})) != image_digest(DANA)
    assert image_digest(replace(DANA, name=None)) != image_digest(replace(DANA, name=""))
    assert image_digest(replace(DANA, added_at=None)) != image_digest(DANA)


def test_other_event_ids_are_deterministic_and_distinct() -> None:
    day = date(2026, 11, 27)
    usage = usage_event_id("org", "u", day, MetricFamily.TOKENS, 2, {"b": 1, "a": 2})
    assert usage == usage_event_id("org", "u", day, MetricFamily.TOKENS, 2, {"a": 2, "b": 1})
    assert usage != usage_event_id("org", "u", day, MetricFamily.TOKENS, 3, {"a": 2, "b": 1})
    association = association_event_id(
        "org", "u", AppKind.CONNECTOR, "github", AuthKind.ORG_MANAGED)
    assert association != association_event_id(
        "org", "u", AppKind.CONNECTOR, "github", AuthKind.PERSONAL_CREDENTIAL)
    status = status_event_id("org", "acme", ConnectorState.PARTIAL, "acme:2", None)
    assert status != status_event_id("org", "acme", ConnectorState.PARTIAL, "acme:2", "503")
    assert len({usage, association, status}) == 3
