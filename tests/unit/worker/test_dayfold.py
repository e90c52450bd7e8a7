"""The insight figures folded as usage is applied equal the figures summed from every day.

Deltas arrive out of order and revised (also to zero), surfaces are first seen before days
already counted, and the folded ``/insights`` and ``/users`` figures must equal
``streams.insights.compute`` over each member's days read from ``usage_days``.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from streams.events.records import (
    AppKind,
    AuthKind,
    InventoryOp,
    InviteEvent,
    InviteImage,
    MetricFamily,
    UserOp,
)
from streams.insights import MemberFacts, Window, compute
from streams.worker.insightfacts import member_facts, table_insights
from streams.worker.rules import Policy, spend_of
from streams.worker.state import Tables, WorkerState, day_usage, usage_totals
from tests.fixtures.worker import ORG, T0, association, usage_delta, user_event

USD = 100_000_000
START = date(2026, 11, 1)
DAYS = 12
WINDOWS = [Window(START + timedelta(days=last), days, 5) for last, days in
           ((DAYS - 1, 7), (DAYS - 1, DAYS), (5, 3), (DAYS + 3, 30))]


def summed_from_days(tables: Tables, key: str, facts: MemberFacts) -> MemberFacts:
    """``facts`` with every day read back from ``usage_days`` (the unfolded way)."""
    days = {}
    for n in range(DAYS):
        day = (START + timedelta(days=n)).isoformat()
        row = tables.usage_days.get(f"{key}:{day}")
        if row is not None:
            days[day] = day_usage(row)
    return replace(facts, days=days)


def test_folded_figures_equal_the_figures_of_every_day():
    chance = random.Random(14)
    tables = Tables.empty()
    state = WorkerState(tables, Policy())
    users = [f"user_{n}" for n in range(8)]
    for user in users[:6]:  # the last two are known only from usage
        state.apply_user_event(user_event(UserOp.SNAPSHOT, user, f"{user}@acme.com"), 0)
    revisions: dict[tuple[str, int, MetricFamily], int] = {}
    for step in range(400):
        user = chance.choice(users)
        day = chance.randrange(DAYS)
        if step % 40 == 39:
            surface = replace(
                association(user, chance.choice(("chat", "claude_code")), kind=AppKind.SURFACE,
                            auth=chance.choice(tuple(AuthKind))),
                first_seen=START + timedelta(days=chance.randrange(DAYS)))
            state.apply_association(surface, 0)
            continue
        family = chance.choice((MetricFamily.COST, MetricFamily.TOKENS))
        revision = revisions[user, day, family] = revisions.get((user, day, family), 0) + 1
        value = chance.choice((0, 1, 3, 250))
        totals = {"total": value}
        if family is MetricFamily.COST:  # some of the spend split by product, the rest not
            totals = {"usd_micros": value * USD, "usd_micros.claude_code": value * USD // 2,
                      "usd_micros.chat": value * USD // 4 * (step % 2)}
        state.apply_usage_delta(usage_delta(user, START + timedelta(days=day), totals,
                                            family=family, revision=revision), 0)

    members = [
        summed_from_days(tables, key, member_facts(tables, key, tables.users.get(key),
                                                   tables.usage.get(key)))
        for key in sorted({*tables.users, *tables.usage})
    ]
    for window in WINDOWS:
        folded = table_insights(tables, ORG, {0}, window, alerts=())
        assert folded.seats.pending_invites == 0  # counted: there are none
        unfolded = compute(ORG, members, (), window)
        assert folded == replace(unfolded, seats=replace(unfolded.seats, pending_invites=0))
        assert table_insights(tables, None, None, window, alerts=()) == replace(folded, org_id=None)
    for key, usage in tables.usage.items():
        cost = usage_totals(tables.usage, tables.usage_days, key).get(MetricFamily.COST.value, {})
        assert usage.spend_micros == spend_of(cost)


def test_top_spenders_name_the_actor_type_of_their_usage():
    tables = Tables.empty()
    state = WorkerState(tables, Policy())
    state.apply_user_event(user_event(UserOp.SNAPSHOT, "alice", "alice@acme.com"), 0)
    key_usage = replace(usage_delta("apikey_01", START, {"usd_micros": 9 * USD}),
                        actor_type="api_actor")
    for delta in (
        usage_delta("alice", START, {"usd_micros": 2 * USD}),
        key_usage,
        usage_delta("apikey_01", START + timedelta(days=1), {"usd_micros": USD}),  # no type
    ):
        state.apply_usage_delta(delta, 0)
    figures = table_insights(tables, ORG, {0}, WINDOWS[1], alerts=())
    assert [(s.id, s.actor_type, s.member, s.spend_usd) for s in figures.top_spenders] == [
        ("apikey_01", "api_actor", False, 10.0), ("alice", "user_actor", True, 2.0)]


def test_spend_is_split_by_product_where_the_cost_data_names_it():
    tables = Tables.empty()
    state = WorkerState(tables, Policy())
    for revision, split in ((1, {"usd_micros.claude_code": 6 * USD}),
                            (2, {"usd_micros.claude_code": 5 * USD, "usd_micros.chat": 3 * USD})):
        state.apply_usage_delta(usage_delta("alice", START, {"usd_micros": 10 * USD, **split},
                                            revision=revision), 0)
    state.apply_usage_delta(usage_delta("bob", START, {"usd_micros": 4 * USD}), 0)
    figures = table_insights(tables, ORG, {0}, Window(START, 1, 5), alerts=())
    assert figures.spend_usd_by_day == {
        START.isoformat(): {"all": 6.0, "chat": 3.0, "claude_code": 5.0}}


def invitation(invite_id: str, status: str, n: int, op: InventoryOp = InventoryOp.CREATED
               ) -> InviteEvent:
    return InviteEvent(
        event_id=f"invite-{invite_id}-{n}", op=op, org_id=ORG, invite_id=invite_id,
        invite=InviteImage(invite_id, f"{invite_id}@acme.com", "user", status, invited_at=T0),
        changed_fields=(), baseline=False, connector="acme", poll_id=f"acme:{n}", observed_at=T0,
    )


def test_seats_count_the_invitations_pending_now_on_every_worker():
    tables = Tables.empty()
    state = WorkerState(tables, Policy())
    for event, partition in (
        (invitation("a", "pending", 1), 0),
        (invitation("b", "pending", 1), 1),
        (invitation("c", "pending", 1), 1),
        (invitation("b", "accepted", 2, InventoryOp.UPDATED), 1),
        (invitation("c", "pending", 2, InventoryOp.REMOVED), 1),
        (invitation("d", "pending", 1), 1),
    ):
        assert state.apply_invite(event, partition) == []
    window = WINDOWS[0]
    left = table_insights(tables, ORG, {0}, window, alerts=())
    right = table_insights(tables, ORG, {1}, window, alerts=())
    assert (left.seats.pending_invites, right.seats.pending_invites) == (1, 1)
    assert left.merge(right).seats.pending_invites == 2
    assert table_insights(tables, "another", None, window, alerts=()).seats.pending_invites == 0
