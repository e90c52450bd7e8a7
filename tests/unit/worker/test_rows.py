"""Every table row survives its codec: ``RowJson`` out (orjson's bytes), the strict msgspec
decoder back in."""

from __future__ import annotations

import tracemalloc
from dataclasses import fields
from datetime import date

import orjson
import pytest

from streams.events.records import (
    ActivityActor,
    AuthKind,
    ConnectorState,
    DecisionAction,
    DirectoryStatus,
    InventoryOp,
    InviteEvent,
    InviteImage,
    MetricFamily,
    UserOp,
)
from streams.worker.rows import DirectoryOrgRow, RowCodec, RowJson, UserRow
from streams.worker.rules import MICRO_CENTS_PER_USD, Policy
from streams.worker.state import DirectoryChange, Tables, WorkerState
from tests.fixtures.worker import (
    ORG,
    T0,
    activity,
    association,
    connector_status,
    decision,
    directory_record,
    image,
    usage_delta,
    user_event,
)

DAY = date(2026, 11, 1)


def busy_state() -> WorkerState:
    """Every table written at least once, alerts opened and resolved."""
    state = WorkerState(Tables.empty(), Policy(corporate_domains=frozenset({"acme.com"}),
                                               spend_daily_usd=100))
    record = directory_record("f@acme.com", DirectoryStatus.ACTIVE)
    state.apply_directory(DirectoryChange(ORG, "f@acme.com", record, "cause", T0), 0)
    state.apply_user_event(user_event(UserOp.ADDED, "user_f", "f@gmail.com"), 0)
    state.apply_user_event(user_event(UserOp.UPDATED, "user_f", "f@acme.com",
                                      before=image("user_f", "f@gmail.com"), poll=2), 0)
    state.apply_usage_delta(usage_delta("user_f", DAY, {"usd_micros": 500 * MICRO_CENTS_PER_USD}),
                            0)
    state.apply_usage_delta(usage_delta("user_f", DAY, {"monthly.spend_micros": 1},
                                        family=MetricFamily.SPEND_LIMIT), 0)
    state.apply_association(association("user_f", "github"), 0)
    state.apply_association(association("user_g", "github", auth=AuthKind.ORG_MANAGED), 0)
    state.apply_status(connector_status(ConnectorState.HEALTHY), 0)
    state.fold_invite(InviteEvent(
        event_id="invite-1", op=InventoryOp.CREATED, org_id=ORG, invite_id="invite_1",
        invite=InviteImage("invite_1", "n@acme.com", "user", "pending"), changed_fields=(),
        baseline=False, connector="acme", poll_id="acme:1", observed_at=T0), 0)
    state.apply_decision(decision("alert-1", "user_f", DecisionAction.ACK), 0)
    user = ActivityActor(type="user_actor", user_id="user_f", email_address="f@acme.com")
    for item in (
        activity(1, "magic_link_login_succeeded", None, user),
        activity(2, "integration_user_connected", None, user, 1, mcp_server_id="srv"),
        activity(3, "claude_user_role_updated", "user_f", user, 2, user_id="user_f",
                 previous_role="user", current_role="developer"),
        activity(4, "admin_api_key_created", None, user, 3, admin_api_key_id="k", scopes=[]),
    ):
        state.apply_activity(item, 0)
    return state


def test_every_table_row_round_trips_through_its_codec():
    state = busy_state()
    seen = set()
    for table in fields(Tables):
        rows = getattr(state.tables, table.name)
        assert rows, f"{table.name} was not written"
        for row in rows.values():
            codec = RowCodec(row_type=type(row))
            assert codec.dumps(row) == orjson.dumps(row)  # changelogs of older workers read alike
            assert codec.loads(codec.dumps(row)) == row
            seen.add(type(row).__name__)
    assert state.tables.alerts[f"{ORG}:user_f"].resolved, "a resolved alert is in the test"
    assert len(seen) == len(fields(Tables))


def test_a_row_of_another_shape_is_refused():
    codec = RowCodec(row_type=UserRow)
    good = orjson.loads(codec.dumps(busy_state().tables.users[f"{ORG}:user_f"]))
    with pytest.raises(ValueError, match="`email`"):
        codec.loads(orjson.dumps({**{k: v for k, v in good.items() if k != "email"},
                                  "emial": "x"}))
    orgs = RowCodec(row_type=DirectoryOrgRow)
    assert orgs.loads(b'{"org_id": "o", "records": 2}') == DirectoryOrgRow("o", 2)


def test_row_json_results_are_their_own_bytes():
    """One buffer is reused for every encoding: an earlier result must not change, and each
    result is only as large as its JSON."""
    encode = RowJson()
    users = busy_state().tables.users
    long_row = users[f"{ORG}:user_f"]
    first = encode(long_row)
    second = encode("org:user")
    assert first == orjson.dumps(long_row)
    assert second == b'"org:user"'
    tracemalloc.start()
    try:
        kept = [encode(long_row) for _ in range(1000)]
        held = tracemalloc.get_traced_memory()[0] / len(kept)
    finally:
        tracemalloc.stop()
    assert held < len(first) + 64, f"{held:.0f} bytes held per result of {len(first)}"
