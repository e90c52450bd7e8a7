"""Member and key facts folded from Activity events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from streams.events.activity_facts import (
    KeyFacts,
    MemberFacts,
    facts_of,
    facts_row,
    fold_keys,
    fold_member,
)
from streams.events.records import Activity, ActivityActor

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
ANA = ActivityActor(type="user_actor", user_id="user_ana", email_address="ana@x.example")
ADMIN = ActivityActor(type="admin_api_key_actor", admin_api_key_id="apikey_admin")


def activity(n: int, kind: str, seconds: int, actor: ActivityActor = ANA, **fields) -> Activity:
    return Activity(
        id=f"activity_{n}",
        created_at=T0 + timedelta(seconds=seconds),
        type=kind,
        org_id="org",
        organization_id=None,
        organization_uuid=None,
        actor=actor,
        target_user_id="user_ana",
        target_email=None,
        details_json=json.dumps(fields),
        connector="acme",
        poll_id="acme:1",
        observed_at=T0,
    )


def test_member_facts_keep_the_latest_login_connectors_and_role_change() -> None:
    stream = [
        activity(1, "social_login_succeeded", 10, provider="google", auth_method="social"),
        activity(
            2,
            "integration_user_connected",
            20,
            mcp_server_id="srv_1",
            mcp_server_name="GitHub",
            integration_type="mcp",
        ),
        activity(
            3,
            "mcp_server_managed_auth_token_exchanged",
            21,
            mcp_server_id="srv_1",
            managed_auth_mode="sso",
            outcome="success",
        ),
        activity(4, "integration_user_connected", 30, mcp_server_id="srv_2"),
        activity(5, "integration_user_disconnected", 40, mcp_server_id="srv_2"),
        activity(
            6,
            "claude_user_role_updated",
            50,
            ADMIN,
            user_id="user_ana",
            previous_role="user",
            current_role="managed",
        ),
        activity(7, "sso_login_succeeded", 5, auth_method="sso"),  # late, older
    ]
    facts = MemberFacts()
    for item in [*stream, *stream]:  # replayed: nothing changes the second time
        facts = fold_member(facts, item)
    assert (facts.last_login_method, facts.last_login_at) == (
        "social:google",
        T0 + timedelta(seconds=10),
    )
    assert facts.connectors["srv_1"].managed_auth and facts.connectors["srv_1"].name == "GitHub"
    assert facts.connectors["srv_1"].disconnected_at is None
    assert facts.connectors["srv_2"].disconnected_at == T0 + timedelta(seconds=40)
    change = facts.role_change
    assert change and (change.previous, change.current) == ("user", "managed")
    assert (change.by.type, change.by.id) == ("admin_api_key_actor", "apikey_admin")


def test_key_facts_say_who_created_each_key_and_when_it_went() -> None:
    stream = (
        activity(1, "api_key_created", 1, api_key_id="k1", scopes=["read:members"]),
        activity(2, "admin_api_key_created", 2, admin_api_key_id="k2", scopes=[]),
        activity(3, "admin_api_key_deleted", 3, admin_api_key_id="k2"),
        # k3's deletion is folded before its creation (same second, or the creation late).
        activity(4, "scoped_api_key_deleted", 4, api_key_id="k3"),
        activity(5, "api_key_created", 4, ADMIN, api_key_id="k3", scopes=[]),
    )
    facts = KeyFacts()
    for item in (*stream, *stream):  # replayed: nothing changes the second time
        facts = fold_keys(facts, item)
    assert set(facts.keys) == {"k1", "k2", "k3"}
    assert facts.keys["k1"].kind == "api_key" and facts.keys["k1"].created_by.id == "user_ana"
    assert facts.keys["k1"].deleted_at is None
    assert facts.keys["k2"].deleted_at == T0 + timedelta(seconds=3)
    late = facts.keys["k3"]
    assert (late.kind, late.created_by.id, late.deleted_at) == (
        "api_key", "apikey_admin", T0 + timedelta(seconds=4))
    assert facts.deleted == {}


def test_a_deletion_whose_creation_never_comes_names_no_key_created() -> None:
    """Someone else's key deleted: its creation is folded into its creator's facts, so these
    facts keep the deletion aside (across a stored row too) and list no key created."""
    facts = fold_keys(KeyFacts(), activity(1, "admin_api_key_deleted", 5, admin_api_key_id="k9"))
    assert facts.keys == {} and facts.deleted == {"k9": T0 + timedelta(seconds=5)}
    _, stored = facts_of(json.loads(json.dumps(facts_row(MemberFacts(), facts))))
    assert stored == facts
    older = facts_row(MemberFacts(), KeyFacts())
    del older["keys_deleted"]  # a row stored before deletions were kept aside
    assert facts_of(older)[1] == KeyFacts()
    created = fold_keys(stored, activity(2, "admin_api_key_created", 3, admin_api_key_id="k9"))
    assert created.keys["k9"].deleted_at == T0 + timedelta(seconds=5)
    assert created.deleted == {}
