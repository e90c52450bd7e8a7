"""One or more sample records of every top-level type, covering null and non-null branches."""

from __future__ import annotations

from datetime import UTC, date, datetime

from streams.events.records import (
    Activity,
    ActivityActor,
    AlertDecision,
    AlertReason,
    AlertState,
    AppAssociation,
    AppKind,
    AssociationState,
    AuthKind,
    AvroRecord,
    ConnectorState,
    ConnectorStatus,
    CredentialEvent,
    CredentialImage,
    CursorState,
    DecisionAction,
    DirectoryRecord,
    DirectoryStatus,
    InventoryOp,
    InviteEvent,
    InviteImage,
    MemberState,
    MetricFamily,
    PollerState,
    Severity,
    ShadowItAlert,
    Source,
    StateKind,
    UsageDelta,
    UsageTotalsState,
    UserEvent,
    UserImage,
    UserOp,
)

NOW = datetime(2026, 11, 28, 9, 15, 30, 123000, tzinfo=UTC)
ORG = "org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P"

DANA = UserImage(
    id="user_01Hq8Zx3Kd2Ma9VbT4nP7sLe",
    email="Dana.Ortiz@example.com",
    name="Dana Ortiz",
    role="user",
    workspaces={"wrkspc_01": "workspace_developer", "wrkspc_02": "workspace_user"},
    added_at=datetime(2026, 6, 12, 9, 14, 3, tzinfo=UTC),
)
DANA_ADMIN = UserImage(DANA.id, DANA.email, DANA.name, "admin", DANA.workspaces, DANA.added_at)
BARE = UserImage(id="user_02", email="lee@example.com")


def _user_event(op: UserOp, before: UserImage | None, after: UserImage | None,
                changed: tuple[str, ...] = ()) -> UserEvent:
    return UserEvent(
        event_id=f"evt-{op.lower()}", op=op, org_id=ORG, user_id=(after or before or BARE).id,
        before=before, after=after, changed_fields=changed, baseline=op is UserOp.SNAPSHOT,
        source=Source.ROSTER, connector="acme", poll_id="acme:7", observed_at=NOW,
    )


def _state(kind: StateKind, **branch: object) -> PollerState:
    values: dict[str, object] = {"member": None, "usage": None, "association": None, "cursor": None}
    values.update(branch)
    return PollerState(org_id=ORG, connector="acme", kind=kind, poll_id="acme:7", updated_at=NOW,
                       **values)  # type: ignore[arg-type]


SAMPLES: tuple[AvroRecord, ...] = (
    _user_event(UserOp.SNAPSHOT, None, DANA),
    _user_event(UserOp.ADDED, None, BARE),
    _user_event(UserOp.UPDATED, DANA, DANA_ADMIN, ("role",)),
    _user_event(UserOp.REMOVED, DANA_ADMIN, None),
    UsageDelta(
        event_id="evt-usage", org_id=ORG, user_id=DANA.id, email=DANA.email,
        day=date(2026, 11, 27), family=MetricFamily.COST,
        delta={"amount": -250_000}, totals={"amount": 8_812_500_000, "list_amount": 11_015_625_000},
        revision=3, baseline=False, source=Source.COST_REPORT, connector="acme",
        poll_id="acme:7", observed_at=NOW,
    ),
    UsageDelta(
        event_id="evt-usage-2", org_id=ORG, user_id=BARE.id, email=None, day=date(2026, 1, 1),
        family=MetricFamily.TOKENS, delta={"output": 10}, totals={"output": 10}, revision=1,
        baseline=True, source=Source.USAGE_REPORT, connector="acme", poll_id="acme:1",
        observed_at=NOW,
    ),
    AppAssociation(
        event_id="evt-assoc", org_id=ORG, user_id=DANA.id, email=DANA.email,
        kind=AppKind.CONNECTOR, name="github", display_name="GitHub",
        auth=AuthKind.PERSONAL_CREDENTIAL, first_seen=date(2026, 11, 20), baseline=False,
        source=Source.ANALYTICS, connector="acme", poll_id="acme:7", observed_at=NOW,
    ),
    AppAssociation(
        event_id="evt-assoc-2", org_id=ORG, user_id=BARE.id, email=None, kind=AppKind.SURFACE,
        name="claude_code", display_name=None, auth=AuthKind.UNKNOWN,
        first_seen=date(2026, 11, 21), baseline=True, source=Source.ANALYTICS, connector="acme",
        poll_id="acme:7", observed_at=NOW,
    ),
    ConnectorStatus(
        event_id="evt-status", org_id=ORG, connector="acme", state=ConnectorState.PARTIAL,
        previous_state=ConnectorState.HEALTHY, reason="503 on /v1/organizations/users",
        baseline_complete=True, last_success={"roster": NOW, "cost": NOW},
        failing={"roster": "truncated listing"}, poll_id="acme:7", observed_at=NOW,
    ),
    ConnectorStatus(
        event_id="evt-status-2", org_id=ORG, connector="acme", state=ConnectorState.HEALTHY,
        previous_state=None, reason=None, baseline_complete=False, last_success={}, failing={},
        poll_id="acme:1", observed_at=NOW,
    ),
    ShadowItAlert(
        event_id="evt-alert", alert_id="alert-1", org_id=ORG, user_id=DANA.id,
        email="dana@gmail.com", state=AlertState.OPENED, reason=AlertReason.PERSONAL_DOMAIN,
        severity=Severity.HIGH, evidence={"domain": "gmail.com"}, baseline=True,
        connector="acme", cause_event_id="evt-snapshot", opened_at=NOW, observed_at=NOW,
    ),
    ShadowItAlert(
        event_id="evt-alert-2", alert_id="alert-1", org_id=ORG, user_id=DANA.id, email=None,
        state=AlertState.RESOLVED, reason=AlertReason.SPEND_SPIKE, severity=Severity.LOW,
        evidence={}, baseline=False, connector=None, cause_event_id=None, opened_at=NOW,
        observed_at=NOW,
    ),
    AlertDecision(
        event_id="evt-decision", alert_id="alert-1", org_id=ORG, user_id=DANA.id,
        action=DecisionAction.SNOOZE, decided_by="sec-oncall", why="travelling",
        until=NOW, severity="HIGH", reasons=("PERSONAL_DOMAIN",), observed_at=NOW,
    ),
    AlertDecision(
        event_id="evt-decision-2", alert_id="alert-1", org_id=ORG, user_id=DANA.id,
        action=DecisionAction.ACK, decided_by="sec", why=None, until=None, severity="LOW",
        reasons=(), observed_at=NOW,
    ),
    DirectoryRecord(
        org_id=ORG, email="dana.ortiz@example.com", employee_id="E1001", name="Dana Ortiz",
        status=DirectoryStatus.DEPROVISIONED, source="directory.csv", updated_at=NOW,
    ),
    DirectoryRecord(
        org_id=ORG, email="lee@example.com", employee_id=None, name=None,
        status=DirectoryStatus.ACTIVE, source=None, updated_at=NOW,
    ),
    _state(StateKind.MEMBER, member=MemberState(DANA, pending_removal=True)),
    _state(StateKind.USAGE, usage=UsageTotalsState(
        user_id=DANA.id, email=None, day=date(2026, 11, 27), family=MetricFamily.MESSAGES,
        revision=2, totals={"chat": 41, "cowork": 9},
    )),
    _state(StateKind.ASSOCIATION, association=AssociationState(
        user_id=DANA.id, kind=AppKind.CONNECTOR, name="github", auth=AuthKind.ORG_MANAGED,
        first_seen=date(2026, 7, 1),
    )),
    _state(StateKind.CURSOR, cursor=CursorState(
        data_type="connector", cycle=7, last_success=NOW, baseline_complete=True,
        status=ConnectorState.HEALTHY, watermark="2026-11-27",
    )),
    _state(StateKind.CURSOR, cursor=CursorState(data_type="roster", cycle=0)),
    Activity(
        id="activity_01Xy", created_at=NOW, type="claude_user_role_updated", org_id=ORG,
        organization_id="org_01Wv", organization_uuid=ORG,
        actor=ActivityActor(
            type="user_actor", user_id="user_01Admin", email_address="admin@example.com",
            ip_address="192.0.2.34", user_agent="Mozilla/5.0",
        ),
        target_user_id=DANA.id, target_email="dana.ortiz@example.com",
        details_json='{"current_role":"user","previous_role":null,"user_id":"user_dana"}',
        connector="acme", poll_id="acme:3", observed_at=NOW,
    ),
    Activity(
        id="activity_01Zz", created_at=NOW, type="sso_login_succeeded", org_id=ORG,
        organization_id=None, organization_uuid=None,
        actor=ActivityActor(
            type="scim_directory_sync_actor", details_json='{"workos_event_id":"e"}'
        ),
        target_user_id=None, target_email=None, details_json="{}", connector="acme",
        poll_id="acme:3", observed_at=NOW,
    ),
)
LAPTOP_KEY = CredentialImage(
    id="apikey_01", name="dana-laptop", status="active", created_at=NOW, scope="workspace",
    workspace_id="wrkspc_01", principal_type="user_actor", principal_id=DANA.id,
    created_by_type="user", created_by_id=DANA.id, partial_key_hint="sk-ant-api03-R2D...igAA",
)
SAMPLES += (
    UsageDelta(
        event_id="evt-usage-3", org_id=ORG, user_id="apikey_01", email=None,
        day=date(2026, 11, 27), family=MetricFamily.TOKENS, delta={"total": 5},
        totals={"total": 5}, revision=1, baseline=False, source=Source.USAGE_ANALYTICS,
        connector="acme", poll_id="acme:7", observed_at=NOW, actor_type="api_actor",
    ),
    CredentialEvent(
        event_id="evt-key", op=InventoryOp.UPDATED, org_id=ORG, key_id=LAPTOP_KEY.id,
        credential=LAPTOP_KEY, changed_fields=("status",), baseline=False, connector="acme",
        poll_id="acme:7", observed_at=NOW,
    ),
    CredentialEvent(
        event_id="evt-key-2", op=InventoryOp.REMOVED, org_id=ORG, key_id="apikey_02",
        credential=CredentialImage(id="apikey_02", name="ci", status="archived"),
        changed_fields=(), baseline=True, connector="acme", poll_id="acme:1", observed_at=NOW,
    ),
    _state(StateKind.CREDENTIAL, credential=LAPTOP_KEY),
    InviteEvent(
        event_id="evt-invite", op=InventoryOp.CREATED, org_id=ORG, invite_id="invite_01",
        invite=InviteImage(id="invite_01", email="sam@gmail.com", role="user", status="pending",
                           invited_at=NOW, expires_at=NOW),
        changed_fields=(), baseline=False, connector="acme", poll_id="acme:7", observed_at=NOW,
    ),
    _state(StateKind.INVITE, invite=InviteImage(id="invite_02", email="a@example.com",
                                                 role="admin", status="accepted")),
)
