"""The worker's table updates and alert decisions, on plain dicts (no broker)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from streams.events.records import (
    ActivityActor,
    AlertReason,
    AlertState,
    AuthKind,
    ConnectorState,
    DirectoryStatus,
    InventoryOp,
    InviteEvent,
    InviteImage,
    MetricFamily,
    UserEvent,
    UserOp,
)
from streams.insights import Window
from streams.worker.rows import IdentityRow
from streams.worker.rules import MICRO_CENTS_PER_USD, Policy
from streams.worker.state import DirectoryChange, Tables, WorkerState
from streams.worker.views import in_group, member_row
from tests.fixtures.worker import (
    ORG,
    T0,
    activity,
    association,
    connector_status,
    directory_record,
    image,
    usage_delta,
    user_event,
)

POLICY = Policy(corporate_domains=frozenset({"acme.com"}), spend_daily_usd=100,
                managed_connectors=frozenset({"github", "notion"}))
DAY = date(2026, 11, 1)


def change(email: str, status: DirectoryStatus | None = DirectoryStatus.ACTIVE, n: int = 1):
    record = None if status is None else directory_record(email, status)
    return DirectoryChange(ORG, email, record, f"dir-{email}-{n}", T0)


def reasons(events) -> set[tuple[str, AlertReason, AlertState]]:
    return {(e.user_id, e.reason, e.state) for e in events}


def state_with_directory(*emails: str) -> WorkerState:
    state = WorkerState(Tables.empty(), POLICY)
    for email in emails:
        assert state.apply_directory(change(email), 0) == []
    return state


def test_case_spaces_and_tags_match_the_directory():
    state = state_with_directory("alice@acme.com")
    event = user_event(UserOp.SNAPSHOT, "user_a", "  Alice+Claude@ACME.com ", baseline=True)
    assert state.apply_user_event(event, 0) == []
    assert state.tables.users[f"{ORG}:user_a"].email == "  Alice+Claude@ACME.com "


def test_exact_tagged_directory_entry_wins_over_the_untagged_one():
    state = state_with_directory("bob@acme.com")
    state.apply_directory(change("bob+x@acme.com", DirectoryStatus.DEPROVISIONED), 0)
    events = state.apply_user_event(user_event(UserOp.ADDED, "user_b", "Bob+X@acme.com"), 0)
    assert reasons(events) == {("user_b", AlertReason.DEPROVISIONED_ACTIVE, AlertState.OPENED)}


def test_directory_record_after_the_user_resolves_unmanaged():
    state = state_with_directory("someone@acme.com")
    opened = state.apply_user_event(user_event(UserOp.ADDED, "user_c", "carol@acme.com"), 0)
    assert reasons(opened) == {("user_c", AlertReason.UNMANAGED_IDENTITY, AlertState.OPENED)}
    resolved = state.apply_directory(change("CAROL@acme.com"), 0)
    assert reasons(resolved) == {("user_c", AlertReason.UNMANAGED_IDENTITY, AlertState.RESOLVED)}
    assert resolved[0].alert_id == opened[0].alert_id
    assert state.apply_directory(change("carol@acme.com", None, 2), 0)[0].state is AlertState.OPENED


def test_first_directory_record_of_an_org_evaluates_its_members():
    state = WorkerState(Tables.empty(), POLICY)
    member = user_event(UserOp.SNAPSHOT, "user_d", "dan@acme.com", baseline=True)
    assert state.apply_user_event(member, 0) == [], "no directory yet: nobody is unmanaged"
    events = state.apply_directory(change("other@acme.com"), 0)
    assert [(e.user_id, e.reason, e.baseline) for e in events] == [
        ("user_d", AlertReason.UNMANAGED_IDENTITY, True)
    ]
    assert state.apply_directory(change("other@acme.com"), 1) == [], "other partition: no member"


def test_removed_and_readded_member():
    state = state_with_directory("x@acme.com")
    added = state.apply_user_event(user_event(UserOp.SNAPSHOT, "user_e", "e@gmail.com",
                                              baseline=True), 0)
    assert {e.baseline for e in added} == {True} and len(added) == 2
    removed = state.apply_user_event(
        user_event(UserOp.REMOVED, "user_e", before=image("user_e", "e@gmail.com"), poll=2), 0
    )
    assert {e.state for e in removed} == {AlertState.RESOLVED}
    assert state.tables.users[f"{ORG}:user_e"].status == "removed"
    assert all("user_e" not in row.users for row in state.tables.identities.values())
    readded = state.apply_user_event(user_event(UserOp.ADDED, "user_e", "e@gmail.com", poll=3), 0)
    assert {e.state for e in readded} == {AlertState.OPENED}
    assert {e.baseline for e in readded} == {False}
    assert {e.alert_id for e in readded}.isdisjoint({e.alert_id for e in added})
    row = state.tables.users[f"{ORG}:user_e"]
    assert (row.status, row.first_seen) == ("member", (T0 + timedelta(minutes=1)).isoformat())
    assert state.tables.identities[f"0/{ORG}:e@gmail.com"] == IdentityRow(("user_e",))


def test_duplicates_and_replays_change_nothing():
    state = state_with_directory("f@acme.com")
    events = [
        user_event(UserOp.ADDED, "user_f", "f@gmail.com"),
        user_event(UserOp.UPDATED, "user_f", "f@acme.com", before=image("user_f", "f@gmail.com"),
                   poll=2),
        usage_delta("user_f", DAY, {"usd_micros": 500 * MICRO_CENTS_PER_USD}),
        association("user_f", "github"),
    ]
    apply = {
        "UserEvent": state.apply_user_event,
        "UsageDelta": state.apply_usage_delta,
        "AppAssociation": state.apply_association,
    }
    emitted = [alert for event in events for alert in apply[type(event).__name__](event, 0)]
    snapshot = {name: dict(getattr(state.tables, name)) for name in ("users", "usage", "alerts",
                                                                      "usage_days", "associations")}
    for event in events:
        assert apply[type(event).__name__](event, 0) == []
    assert snapshot == {name: dict(getattr(state.tables, name)) for name in snapshot}
    final = {(e.reason, e.state) for e in emitted}
    assert (AlertReason.PERSONAL_DOMAIN, AlertState.RESOLVED) in final
    assert set(state.tables.alerts[f"{ORG}:user_f"].open) == {
        "SPEND_SPIKE", "PERSONAL_CREDENTIAL_CONNECTOR"
    }


def test_usage_keeps_the_highest_revision_and_sums_days():
    state = WorkerState(Tables.empty(), POLICY)
    key = f"{ORG}:user_g"
    state.apply_usage_delta(usage_delta("user_g", DAY, {"chat": 3},
                                        family=MetricFamily.MESSAGES), 0)
    state.apply_usage_delta(usage_delta("user_g", DAY, {"chat": 5}, family=MetricFamily.MESSAGES,
                                        revision=2), 0)
    state.apply_usage_delta(usage_delta("user_g", DAY, {"chat": 4}, family=MetricFamily.MESSAGES,
                                        revision=1), 0)
    state.apply_usage_delta(usage_delta("user_g", DAY + timedelta(days=2), {"chat": 1},
                                        family=MetricFamily.MESSAGES), 0)
    assert state.usage_totals(key) == {"MESSAGES": {"chat": 6}}
    row = state.tables.usage[key]
    assert (row.first_day, row.last_day, row.last_active_day) == (
        "2026-11-01", "2026-11-03", "2026-11-03")


def test_spend_restated_down_resolves_the_spike():
    state = state_with_directory("h@acme.com")
    state.apply_user_event(user_event(UserOp.ADDED, "user_h", "h@acme.com"), 0)
    spike = state.apply_usage_delta(usage_delta("user_h", DAY, {"usd_micros": 200 * 10**8}), 0)
    assert reasons(spike) == {("user_h", AlertReason.SPEND_SPIKE, AlertState.OPENED)}
    restated = state.apply_usage_delta(usage_delta("user_h", DAY, {"usd_micros": 50 * 10**8},
                                                   revision=2), 0)
    assert reasons(restated) == {("user_h", AlertReason.SPEND_SPIKE, AlertState.RESOLVED)}


def test_a_spike_on_a_new_day_ranks_the_open_baseline_spike_as_new():
    state = state_with_directory("h@acme.com")
    state.apply_user_event(user_event(UserOp.ADDED, "user_h", "h@acme.com"), 0)
    (old,) = state.apply_usage_delta(
        usage_delta("user_h", DAY, {"usd_micros": 150 * 10**8}, baseline=True), 0)
    assert (old.baseline, old.severity.value) == (True, "LOW")
    assert state.apply_usage_delta(
        usage_delta("user_h", DAY + timedelta(days=1), {"usd_micros": 150 * 10**8}), 0) == []
    stored = state.tables.alerts[f"{ORG}:user_h"].open["SPEND_SPIKE"]
    assert (stored.alert_id, stored.baseline, stored.severity) == (old.alert_id, False, "MEDIUM")
    assert stored.evidence["day"] == (DAY + timedelta(days=1)).isoformat()


def test_org_managed_connectors_and_surfaces_raise_nothing():
    state = state_with_directory("i@acme.com")
    state.apply_user_event(user_event(UserOp.ADDED, "user_i", "i@acme.com"), 0)
    managed = association("user_i", "slack", auth=AuthKind.ORG_MANAGED)
    assert state.apply_association(managed, 0) == []
    items = state.tables.associations[f"{ORG}:user_i"].items
    assert list(items) == ["CONNECTOR/slack/ORG_MANAGED"]


def test_status_keeps_the_latest_and_drops_duplicates():
    state = WorkerState(Tables.empty(), POLICY)
    healthy = connector_status(ConnectorState.HEALTHY)
    key = f"{ORG}:test"
    assert state.apply_status(healthy, 0) == []
    assert (state.tables.status[key].state, state.tables.status[key].applied) == (
        "HEALTHY", (healthy.event_id,))
    partial = connector_status(ConnectorState.PARTIAL, poll=2)
    assert state.apply_status(partial, 0) == []
    latest = state.tables.status[key]
    assert (latest.state, latest.applied) == ("PARTIAL", (healthy.event_id, partial.event_id))
    assert state.apply_status(healthy, 0) == []
    assert state.tables.status[key] == latest, "a duplicate changes nothing"


def test_alert_ids_do_not_depend_on_the_order_of_their_causes():
    """A replay may apply a member's user event and association in either order."""
    member = user_event(UserOp.SNAPSHOT, "user_j", "j@gmail.com", baseline=True)
    link = association("user_j", "github", baseline=True)
    opened = []
    for first, second in ((member, link), (link, member)):
        state = WorkerState(Tables.empty(), POLICY)
        events = [*apply_record(state, first), *apply_record(state, second)]
        opened.append(sorted((e.reason, e.event_id) for e in events))
    assert opened[0] == opened[1]
    assert {reason for reason, _ in opened[0]} == {
        AlertReason.PERSONAL_DOMAIN, AlertReason.PERSONAL_CREDENTIAL_CONNECTOR
    }


def apply_record(state: WorkerState, record):
    if isinstance(record, UserEvent):
        return state.apply_user_event(record, 0)
    return state.apply_association(record, 0)



def applied(state: WorkerState, *records) -> list:
    """The alert events of applying user events and associations in this order."""
    events = []
    for record in records:
        apply = state.apply_user_event if isinstance(record, UserEvent) else state.apply_association
        events += apply(record, 0)
    return events


def test_an_alert_event_already_published_is_kept_as_published():
    """Re-derived in another order (same id, another cause and evidence): the published wins."""
    member = user_event(UserOp.SNAPSHOT, "user_p", "pat@acme.com", baseline=True)
    github = association("user_p", "github", auth=AuthKind.PERSONAL_CREDENTIAL, baseline=True)
    notion = association("user_p", "notion", auth=AuthKind.PERSONAL_CREDENTIAL, baseline=True)
    (original,) = applied(WorkerState(Tables.empty(), POLICY), member, github, notion)
    (other_order,) = applied(WorkerState(Tables.empty(), POLICY), github, notion, member)
    assert other_order.event_id == original.event_id
    assert (other_order.cause_event_id, other_order.evidence) != (
        original.cause_event_id, original.evidence)

    replay = WorkerState(Tables.empty(), POLICY, {original.event_id: original}.get)
    assert applied(replay, github, notion, member) == [original]
    stored = replay.tables.alerts[f"{ORG}:user_p"].open["PERSONAL_CREDENTIAL_CONNECTOR"]
    assert stored.cause_event_id == original.cause_event_id
    assert original.evidence["connectors"] == "github"
    assert stored.evidence["connectors"] == "github,notion", "evidence follows the member"
    assert stored.opened_at == original.opened_at.isoformat()


def test_managed_auth_seen_later_turns_a_personal_credential_into_an_alert():
    state = WorkerState(Tables.empty(), Policy(corporate_domains=frozenset({"acme.com"})))
    state.apply_directory(change("quinn@acme.com"), 0)
    state.apply_user_event(user_event(UserOp.SNAPSHOT, "user_q", "quinn@acme.com"), 0)
    assert state.apply_association(association("user_q", "linear"), 0) == [], "no managed auth"
    managed = association("user_r", "linear", auth=AuthKind.ORG_MANAGED)
    events = state.apply_association(managed, 0)
    assert reasons(events) == {
        ("user_q", AlertReason.PERSONAL_CREDENTIAL_CONNECTOR, AlertState.OPENED)
    }
    assert state.apply_association(managed, 0) == [], "a duplicate changes nothing"
    assert state.apply_association(managed, 1) == [], "another partition's members only"


def test_open_alert_severity_follows_a_role_change_without_a_new_event():
    state = state_with_directory("other@acme.com")
    (opened,) = state.apply_user_event(user_event(UserOp.ADDED, "user_s", "sam@acme.com"), 0)
    assert opened.severity.value == "MEDIUM"
    promoted = user_event(UserOp.UPDATED, "user_s", "sam@acme.com", role="owner",
                          before=image("user_s", "sam@acme.com"), poll=2)
    assert state.apply_user_event(promoted, 0) == []
    stored = state.tables.alerts[f"{ORG}:user_s"].open["UNMANAGED_IDENTITY"]
    assert (stored.alert_id, stored.severity) == (opened.alert_id, "HIGH")
    assert stored.evidence["role"] == "owner"


def test_removed_and_re_added_member_gets_new_alerts_ranked_as_new():
    state = state_with_directory("someone@acme.com")
    (first,) = state.apply_user_event(
        user_event(UserOp.SNAPSHOT, "user_t", "Tom+Work@ACME.com", baseline=True), 0)
    assert (first.baseline, first.severity.value) == (True, "LOW")
    tom = image("user_t", "Tom+Work@ACME.com")
    (resolved,) = state.apply_user_event(
        user_event(UserOp.REMOVED, "user_t", before=tom, poll=2), 0)
    assert (resolved.state, resolved.alert_id) == (AlertState.RESOLVED, first.alert_id)
    (again,) = state.apply_user_event(user_event(UserOp.ADDED, "user_t", "tom@acme.com", poll=3), 0)
    assert again.alert_id != first.alert_id, "a re-raised alert has a new id"
    assert (again.baseline, again.severity.value) == (False, "MEDIUM"), "new ranks above baseline"
    assert state.apply_directory(change("TOM@acme.com"), 0)[0].state is AlertState.RESOLVED


def test_sso_bypass_login_once_the_org_uses_sso_even_before_the_roster_knows_the_member():
    state = state_with_directory("uma@acme.com", "vic@acme.com")
    uma = ActivityActor(type="user_actor", user_id="user_u", email_address="uma@acme.com")
    vic = ActivityActor(type="user_actor", user_id="user_v", email_address="vic@acme.com")
    magic = activity(10, "magic_link_login_succeeded", None, uma, 1)
    assert state.apply_activity(magic, 0) == [], "the roster does not know her yet"
    assert state.apply_user_event(user_event(UserOp.ADDED, "user_u", "Uma@ACME.com"), 0) == [], (
        "nobody signed in with SSO yet: a magic link is how this org signs in")
    assert state.apply_user_event(user_event(UserOp.ADDED, "user_v", "vic@acme.com"), 0) == []
    events = state.apply_activity(activity(11, "sso_login_succeeded", None, vic, 2), 0)
    assert [(e.user_id, e.reason, e.severity.value) for e in events] == [
        ("user_u", AlertReason.SSO_BYPASS_LOGIN, "MEDIUM")]
    assert events[0].evidence["login_method"] == "magic_link"
    again = state.apply_activity(activity(12, "sso_login_succeeded", None, uma, 3), 0)
    assert reasons(again) == {("user_u", AlertReason.SSO_BYPASS_LOGIN, AlertState.RESOLVED)}


def test_privilege_granted_names_who_granted_it_and_ranks_by_the_identity():
    state = state_with_directory("ann@acme.com", "wes@acme.com")
    ann = ActivityActor(type="user_actor", user_id="user_a", email_address="ann@acme.com")
    state.apply_user_event(user_event(UserOp.SNAPSHOT, "user_w", "wes@acme.com",
                                      baseline=True), 0)
    state.apply_user_event(user_event(UserOp.SNAPSHOT, "user_x", "xan@gmail.com",
                                      baseline=True), 0)
    for number, user, email in ((20, "user_w", "wes@acme.com"), (21, "user_x", "xan@gmail.com")):
        grant = activity(number, "claude_user_role_updated", user, ann, 5, user_id=user,
                         previous_role="user", current_role="admin")
        assert state.apply_activity(grant, 0) == [], "the roster has not shown the role yet"
        promoted = user_event(UserOp.UPDATED, user, email, role="admin",
                              before=image(user, email), poll=2)
        events = state.apply_user_event(promoted, 0)
        granted = [e for e in events if e.reason is AlertReason.PRIVILEGE_GRANTED]
        assert len(granted) == 1 and granted[0].evidence["granted_by"] == "ann@acme.com"
    alerts = state.tables.alerts
    assert alerts[f"{ORG}:user_w"].open["PRIVILEGE_GRANTED"].severity == "MEDIUM"
    assert alerts[f"{ORG}:user_x"].open["PRIVILEGE_GRANTED"].severity == "HIGH", "unmanaged"
    demoted = user_event(UserOp.UPDATED, "user_w", "wes@acme.com", role="user",
                         before=image("user_w", "wes@acme.com", role="admin"), poll=3)
    assert reasons(state.apply_user_event(demoted, 0)) == {
        ("user_w", AlertReason.PRIVILEGE_GRANTED, AlertState.RESOLVED)}


def test_key_alerts_live_with_the_key_and_orphan_when_its_creator_leaves():
    state = state_with_directory("kay@acme.com")
    kay = ActivityActor(type="user_actor", user_id="user_k", email_address="kay@acme.com")
    state.apply_user_event(user_event(UserOp.SNAPSHOT, "user_k", "kay@acme.com",
                                      baseline=True), 0)
    created = activity(30, "admin_api_key_created", None, kay, 1, admin_api_key_id="adminkey_1")
    events = state.apply_activity(created, 0)
    assert [(e.user_id, e.reason, e.severity.value) for e in events] == [
        ("adminkey_1", AlertReason.ADMIN_CREDENTIAL_CREATED, "HIGH")]
    assert events[0].evidence["created_by"] == "kay@acme.com"
    assert state.apply_activity(created, 0) == [], "a redelivered activity changes nothing"
    platform = activity(31, "platform_api_key_created", None, kay, 2, api_key_id="key_2")
    assert state.apply_activity(platform, 0) == [], "a plain API key is no admin credential"
    leaves = user_event(UserOp.REMOVED, "user_k", before=image("user_k", "kay@acme.com"), poll=2)
    orphaned = reasons(state.apply_user_event(leaves, 0))
    assert orphaned == {("adminkey_1", AlertReason.ORPHANED_CREDENTIAL, AlertState.OPENED),
                        ("key_2", AlertReason.ORPHANED_CREDENTIAL, AlertState.OPENED)}
    assert state.tables.alerts[f"{ORG}:adminkey_1"].open["ORPHANED_CREDENTIAL"].severity == (
        "CRITICAL")
    deleted = activity(32, "admin_api_key_deleted", None, kay, 3, admin_api_key_id="adminkey_1")
    assert reasons(state.apply_activity(deleted, 0)) == {
        ("adminkey_1", AlertReason.ADMIN_CREDENTIAL_CREATED, AlertState.RESOLVED),
        ("adminkey_1", AlertReason.ORPHANED_CREDENTIAL, AlertState.RESOLVED)}


def _limit(spent_usd: float, limit_usd: float | None, **more: int) -> dict[str, int]:
    totals = {"monthly.spend_micros": int(spent_usd * MICRO_CENTS_PER_USD), **more}
    if limit_usd is not None:
        totals["monthly.limit_micros"] = int(limit_usd * MICRO_CENTS_PER_USD)
    return totals


def test_spend_limit_near_follows_the_newest_reading_and_never_sums_days():
    state = state_with_directory("a@acme.com")
    state.apply_user_event(user_event(UserOp.ADDED, "user_a", "a@acme.com"), 0)

    def limit(day: date, totals: dict[str, int], revision: int = 1):
        return state.apply_usage_delta(usage_delta(
            "user_a", day, totals, family=MetricFamily.SPEND_LIMIT, revision=revision
        ), 0)

    assert limit(DAY, _limit(70, 100)) == []
    (opened,) = limit(DAY, _limit(85, 100), revision=2)
    assert (opened.reason, opened.state, opened.severity.value) == (
        AlertReason.SPEND_LIMIT_NEAR, AlertState.OPENED, "LOW"
    )
    assert opened.evidence == {"period": "monthly", "spent_usd": "85.00", "limit_usd": "100.00",
                               "share": "0.85"}
    assert limit(DAY, _limit(10, 100)) == [], "an older revision changes nothing"
    assert limit(DAY - timedelta(days=1), _limit(0, 100), revision=9) == []
    assert not state.usage_totals(f"{ORG}:user_a"), "a limit is no usage"
    assert state.tables.usage.get(f"{ORG}:user_a") is None, "nor an active day"

    limit(DAY + timedelta(days=1), _limit(120, 100, **{"monthly.increase_requested": 1}))
    alert = state.tables.alerts[f"{ORG}:user_a"].open["SPEND_LIMIT_NEAR"]
    assert alert.severity == "MEDIUM" and alert.evidence["increase_requested"] == "pending"
    (resolved,) = limit(DAY + timedelta(days=2), _limit(5, None))
    assert resolved.state is AlertState.RESOLVED

    off = WorkerState(Tables.empty(), Policy(disabled=frozenset({AlertReason.SPEND_LIMIT_NEAR})))
    off.apply_user_event(user_event(UserOp.ADDED, "user_a", "a@acme.com"), 0)
    assert off.apply_usage_delta(usage_delta(
        "user_a", DAY, _limit(99, 100), family=MetricFamily.SPEND_LIMIT
    ), 0) == []


def _invite(status: str, email: str, *, op: InventoryOp = InventoryOp.CREATED, n: int = 1,
            role: str = "user", baseline: bool = False) -> InviteEvent:
    return InviteEvent(
        event_id=f"invite-{n}", op=op, org_id=ORG, invite_id="invite_1",
        invite=InviteImage("invite_1", email, role, status, invited_at=T0),
        changed_fields=(), baseline=baseline, connector="acme", poll_id=f"acme:{n}",
        observed_at=T0,
    )


def test_a_pending_invite_to_a_personal_address_is_an_alert_until_it_is_no_longer_pending():
    state = WorkerState(Tables.empty(), POLICY)
    assert state.apply_invite(_invite("pending", "new@acme.com"), 3) == []
    (opened,) = state.apply_invite(_invite("pending", "Someone@Gmail.com", n=2), 3)
    assert (opened.user_id, opened.reason, opened.severity.value) == (
        "invite_1", AlertReason.PERSONAL_INVITE, "MEDIUM"
    )
    assert opened.evidence["email"] == "someone@gmail.com"
    assert state.apply_invite(_invite("pending", "Someone@Gmail.com", n=2), 3) == [], "replay"
    assert state.tables.alerts[f"{ORG}:invite_1"].partition == 3
    (resolved,) = state.apply_invite(_invite("accepted", "someone@gmail.com", n=3), 3)
    assert resolved.state is AlertState.RESOLVED

    admin = WorkerState(Tables.empty(), POLICY)
    (high,) = admin.apply_invite(_invite("pending", "x@example.org", role="admin"), 0)
    assert high.severity.value == "HIGH"
    assert admin.apply_invite(_invite("pending", "x@example.org", n=2, baseline=True), 0) == []
    regraded = admin.tables.alerts[f"{ORG}:invite_1"].open["PERSONAL_INVITE"]
    assert regraded.severity == "LOW", "another domain, a user role, before the connection"
    off = WorkerState(Tables.empty(), Policy(disabled=frozenset({AlertReason.PERSONAL_INVITE})))
    assert off.apply_invite(_invite("pending", "x@gmail.com"), 0) == []


def test_a_members_groups_are_on_the_row_in_the_views_and_in_alert_evidence():
    state = WorkerState(Tables.empty(), POLICY)
    event = user_event(UserOp.ADDED, "user_g", "g@gmail.com")
    groups = {"rbac_group_1": "Engineering", "rbac_group_2": "Admins"}
    event = replace(event, after=replace(event.after, groups=groups))
    (opened,) = state.apply_user_event(event, 0)
    assert opened.evidence["groups"] == "Admins,Engineering"
    key = f"{ORG}:user_g"
    row = state.tables.users[key]
    assert row.groups == groups
    assert in_group(row, "Engineering") and in_group(row, "rbac_group_2")
    assert not in_group(row, "Sales")
    shown = member_row(state.tables, key, row, Window(DAY, 1, 30))
    assert shown["groups"] == groups and shown["spend_limits"] == {}
    removed = replace(user_event(UserOp.REMOVED, "user_g", poll=2), before=event.after)
    state.apply_user_event(removed, 0)
    assert state.tables.users[key].groups == groups, "a removed member keeps what was known"
