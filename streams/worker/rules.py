"""Pure shadow-IT rules: (member, directory entry, usage, associations) → findings → alert events.

``evaluate`` looks at the whole current state of one member and returns what holds now, one
``Finding`` per reason. ``reconcile`` compares that with the member's open alerts and returns
the OPENED / RESOLVED events that make the two agree, so at most one alert is open per member
and reason, and evaluating the same state twice emits nothing.

E-mail addresses are compared after ``normalize_email`` (surrounding spaces removed,
lower-cased). A ``+tag`` in the local part is kept in the address but ignored for the
directory match: ``alice+claude@acme.com`` is managed when the directory lists
``alice@acme.com`` (the same mailbox), while an exact directory entry always wins.

Rules (each can hold or not for a member; non-members have no open alerts; a rule listed in
``Policy.disabled`` never holds). Severity follows the evidence (``SEVERITY_MODEL`` below):
an *exposed* member (an admin-class role, ``ADMIN_ROLES``, or real spend: at least
``Policy.real_spend_usd`` in the recent cost days) ranks one level above one who is not, and a
finding that predates the connection (``baseline``) ranks one level below a new one of the same
kind (never below LOW; DEPROVISIONED_ACTIVE is never lowered).

- ``UNMANAGED_IDENTITY``: the organisation has a directory and the address is not in it
  (a tombstoned entry counts as absent). Organisations with no directory get no such alert.
  MEDIUM; HIGH when exposed.
- ``PERSONAL_DOMAIN``: with ``CORPORATE_DOMAINS`` set, a domain that is neither a corporate
  domain nor a subdomain of one; without it, only the built-in list of personal mail domains.
  MEDIUM for a known personal mail provider (LOW for another domain, or no domain); one level
  higher when exposed.
- ``DEPROVISIONED_ACTIVE``: the directory marks the address DEPROVISIONED and the person is still
  a member (HIGH), CRITICAL when they also used Claude on or after the day of that record.
- ``PERSONAL_CREDENTIAL_CONNECTOR``: a connector authorised with the member's own credential
  while the organisation runs that connector on managed auth (``Policy.managed_connectors``,
  or some member seen using it with ORG_MANAGED auth). Elsewhere a personal credential is an
  association, shown with the member, not an alert. MEDIUM; HIGH when exposed.
- ``SSO_BYPASS_LOGIN``: the member's last sign-in (Activity Feed) was a social login or a magic
  link while the organisation uses SSO (some member seen signing in with SSO). MEDIUM; HIGH
  when exposed.
- ``PRIVILEGE_GRANTED``: the member's last role change (Activity Feed) granted an admin-class
  role they did not have, and they still hold it; evidence says who granted it. MEDIUM; HIGH
  when the member is unmanaged or on a personal domain; CRITICAL when deprovisioned.
- ``ADMIN_CREDENTIAL_CREATED`` (a key, not a member: ``evaluate_key``): an Admin API key
  (HIGH) or a scoped API key (MEDIUM) was created (Activity Feed) and not deleted.
- ``ORPHANED_CREDENTIAL`` (a key): a key not deleted whose creator left the organisation or is
  deprovisioned in the directory. HIGH; CRITICAL for an Admin key.
- ``SPEND_LIMIT_NEAR``: in some period (daily, weekly, monthly) the member's spend so far is at
  or above ``Policy.spend_limit_near_share`` of their effective spend limit (Spend Limits API;
  the period with the highest share is named). LOW; MEDIUM once the limit is reached (the
  member is stopped, and may have asked for more: ``increase_requested``).
- ``PERSONAL_INVITE`` (an invitation, not a member: ``evaluate_invite``): a pending invitation
  to an address outside the corporate domains (the same test as PERSONAL_DOMAIN). MEDIUM for a
  known personal mail provider, LOW for another domain; HIGH when it invites an admin-class
  role; one level lower when it predates the connection.
- ``SPEND_SPIKE``: within the 7 days ending at the member's newest day with cost data,
  a day whose spend is above the absolute threshold, or above ``factor`` times the mean of the
  up to 7 earlier days with data (at least 3 such days and at least $10 that day). MEDIUM;
  HIGH when the day is above twice the absolute threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from streams.events.keys import event_id
from streams.events.records import AlertReason, AlertState, DirectoryStatus, Severity, ShadowItAlert
from streams.insights import MICRO_CENTS_PER_USD
from streams.worker.rows import AssociationItem, OpenAlert

PERSONAL_DOMAINS: frozenset[str] = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "t-online.de",
        "tutanota.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)
"""Common personal mail providers: the hint used when no corporate domain is configured."""

SPIKE_WINDOW_DAYS = 7
SPEND_HISTORY_DAYS = 2 * SPIKE_WINDOW_DAYS
"""Days of spend before a member's newest day that the spike rule can look at."""
RELATIVE_MIN_HISTORY_DAYS = 3
RELATIVE_MIN_SPEND_USD = 10.0
REAL_SPEND_USD = 50.0
"""Default recent spend (USD) from which a member counts as exposed."""
ADMIN_ROLES: frozenset[str] = frozenset(
    {"admin", "membership_admin", "owner", "primary_owner"}
)
"""Organisation roles that can change members, keys or settings."""
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.UNKNOWN, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL
)
SPEND_METRIC = "usd_micros"
"""The COST family's metric that holds the spend (``schemas/usage_delta.avsc``)."""


def spend_of(totals: Mapping[str, int]) -> int:
    """A day's spend in USD micro-cents from its COST totals."""
    return totals.get(SPEND_METRIC, 0)


def normalize_email(raw: str) -> str:
    """The address as compared everywhere: surrounding spaces removed, lower-cased."""
    return raw.strip().lower()


def canonical_email(raw: str) -> str:
    """``normalize_email`` without a ``+tag`` in the local part (the mailbox it delivers to)."""
    address = normalize_email(raw)
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0] or local}@{domain}"


def email_domain(raw: str) -> str:
    """The domain part of an address (empty when there is none)."""
    local, at, domain = normalize_email(raw).rpartition("@")
    return domain if at and local else ""


@dataclass(frozen=True, slots=True)
class Policy:
    """The rule settings: corporate domains and spend thresholds."""

    corporate_domains: frozenset[str] = frozenset()
    personal_domains: frozenset[str] = PERSONAL_DOMAINS
    spend_daily_usd: float = 0.0
    """Absolute daily threshold in USD; 0 turns it off."""
    spend_factor: float = 0.0
    """Relative threshold (multiple of the trailing mean); 0 turns it off."""
    managed_connectors: frozenset[str] = frozenset()
    """Connectors the organisation runs on managed auth, whatever the data says."""
    disabled: frozenset[AlertReason] = frozenset()
    """Rules turned off."""
    real_spend_usd: float = REAL_SPEND_USD
    """Recent spend (USD) from which a member counts as exposed; 0: spend never exposes."""
    spend_limit_near_share: float = 0.8
    """Share of the effective spend limit from which SPEND_LIMIT_NEAR holds."""


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One directory identity as the rules need it."""

    email: str
    status: DirectoryStatus
    employee_id: str | None = None
    updated_day: date | None = None


@dataclass(frozen=True, slots=True)
class Login:
    """A sign-in: its method (``sso``, ``social``, ``magic_link``, with ``:provider``) and time."""

    method: str
    at: str


@dataclass(frozen=True, slots=True)
class RoleChange:
    """A role change: before, after, who made it (e-mail or id) and when."""

    previous: str | None
    current: str | None
    by: str
    at: str


BYPASS_METHODS = ("social", "magic_link")
"""Sign-in methods that do not go through the organisation's SSO."""


@dataclass(frozen=True, slots=True)
class SpendLimitFact:
    """A member's effective spend limit in one period and what they spent in it (USD
    micro-cents; ``limit`` None: no limit applies)."""

    period: str
    spent: int
    limit: int | None
    increase_requested: bool = False


def spend_limit_facts(totals: Mapping[str, int]) -> tuple[SpendLimitFact, ...]:
    """The periods of SPEND_LIMIT totals (``P.spend_micros``, ``P.limit_micros``,
    ``P.increase_requested``), by period name."""
    periods = sorted({name.partition(".")[0] for name in totals if "." in name})
    return tuple(
        SpendLimitFact(
            period,
            totals.get(f"{period}.spend_micros", 0),
            totals.get(f"{period}.limit_micros"),
            bool(totals.get(f"{period}.increase_requested", 0)),
        )
        for period in periods
    )


@dataclass(frozen=True, slots=True)
class Subject:
    """Everything the rules look at for one member."""

    email: str
    member: bool
    baseline: bool
    """True when the member was first seen in the baseline (existed before we connected)."""
    directory_known: bool
    """True once the member's organisation has a directory (at least one record seen)."""
    directory: DirectoryEntry | None
    daily_spend: Mapping[date, int] = field(default_factory=dict)
    """Spend per UTC day in USD micro-cents (``spend_of`` the COST totals)."""
    baseline_spend_days: frozenset[date] = frozenset()
    """Days whose spend was observed in the baseline."""
    last_active_day: date | None = None
    """The newest day with any usage."""
    personal_connectors: Mapping[str, bool] = field(default_factory=dict)
    """Connectors used with the member's own credential → observed in the baseline."""
    role: str | None = None
    org_managed_connectors: frozenset[str] = frozenset()
    """Connectors seen on managed auth in the member's organisation."""
    last_login: Login | None = None
    """The member's last sign-in, from the Activity Feed."""
    org_uses_sso: bool = False
    """True once some member of the organisation was seen signing in with SSO."""
    role_change: RoleChange | None = None
    """The member's last role change, from the Activity Feed."""
    spend_limits: tuple[SpendLimitFact, ...] = ()
    """The member's effective spend limits per period, from the Spend Limits API."""


@dataclass(frozen=True, slots=True)
class KeySubject:
    """An API or Admin key the Activity Feed saw created, and what became of its creator."""

    key_id: str
    kind: str
    """``admin_api_key``, ``api_key`` (scoped) or ``platform_api_key``."""
    created_by: str
    created_at: str
    deleted: bool
    creator_gone: str | None = None
    """``removed`` or ``deprovisioned`` when the creator is no longer a managed member."""


ADMIN_KEY = "admin_api_key"
SCOPED_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that holds: severity, what it saw, and whether all of it predates the connection.

    ``baseline`` depends on the evidence, not on which input happened to trigger the
    evaluation: identity rules take the member's flag, SPEND_SPIKE the spiking day's and
    PERSONAL_CREDENTIAL_CONNECTOR those of the connectors it names.
    """

    severity: Severity
    evidence: dict[str, str]
    baseline: bool = False


def evaluate(subject: Subject, policy: Policy) -> dict[AlertReason, Finding]:
    """The reasons that hold for ``subject`` now, each with its severity."""
    if not subject.member:
        return {}
    findings = {
        reason: finding
        for reason, finding in _raw_findings(subject, policy).items()
        if reason not in policy.disabled
    }
    exposure = _exposure(subject, policy)
    return {
        reason: _graded(reason, finding, exposure) for reason, finding in findings.items()
    }


def _raw_findings(subject: Subject, policy: Policy) -> dict[AlertReason, Finding]:
    """The reasons that hold, at their base severity."""
    findings: dict[AlertReason, Finding] = {}
    address = normalize_email(subject.email)
    domain = email_domain(address)
    entry = subject.directory
    baseline = subject.baseline
    if subject.directory_known and (entry is None):
        findings[AlertReason.UNMANAGED_IDENTITY] = Finding(
            Severity.MEDIUM, {"email": address, "directory": "not listed"}, baseline
        )
    personal = _personal_domain(domain, policy)
    if personal is not None:
        findings[AlertReason.PERSONAL_DOMAIN] = replace(personal, baseline=baseline)
    if entry is not None and entry.status is DirectoryStatus.DEPROVISIONED:
        findings[AlertReason.DEPROVISIONED_ACTIVE] = replace(
            _deprovisioned(subject, entry), baseline=baseline
        )
    managed = policy.managed_connectors | subject.org_managed_connectors
    bypassing = {
        name: seen_in_baseline
        for name, seen_in_baseline in subject.personal_connectors.items()
        if name in managed
    }
    if bypassing:
        findings[AlertReason.PERSONAL_CREDENTIAL_CONNECTOR] = Finding(
            Severity.MEDIUM,
            {"connectors": ",".join(sorted(bypassing)), "org_auth": "managed"},
            all(bypassing.values()),
        )
    login = subject.last_login
    if subject.org_uses_sso and login is not None and login.method.startswith(BYPASS_METHODS):
        findings[AlertReason.SSO_BYPASS_LOGIN] = Finding(
            Severity.MEDIUM, {"login_method": login.method, "login_at": login.at}
        )
    granted = _privilege_granted(subject, findings)
    if granted is not None:
        findings[AlertReason.PRIVILEGE_GRANTED] = granted
    near = spend_limit_near(subject.spend_limits, policy.spend_limit_near_share)
    if near is not None:
        findings[AlertReason.SPEND_LIMIT_NEAR] = near
    spike = spend_spike(subject.daily_spend, policy)
    if spike is not None:
        day = date.fromisoformat(spike.evidence["day"])
        findings[AlertReason.SPEND_SPIKE] = replace(
            spike, baseline=day in subject.baseline_spend_days
        )
    return findings


def evaluate_key(key: KeySubject, policy: Policy) -> dict[AlertReason, Finding]:
    """The reasons that hold for a key now (none once it is deleted)."""
    if key.deleted:
        return {}
    evidence = {"key_id": key.key_id, "kind": key.kind, "created_by": key.created_by,
                "created_at": key.created_at}
    admin = key.kind == ADMIN_KEY
    findings: dict[AlertReason, Finding] = {}
    if key.kind in (ADMIN_KEY, SCOPED_KEY):
        findings[AlertReason.ADMIN_CREDENTIAL_CREATED] = Finding(
            Severity.HIGH if admin else Severity.MEDIUM, evidence
        )
    if key.creator_gone is not None:
        findings[AlertReason.ORPHANED_CREDENTIAL] = Finding(
            Severity.CRITICAL if admin else Severity.HIGH,
            {**evidence, "creator": key.creator_gone},
        )
    return {reason: found for reason, found in findings.items() if reason not in policy.disabled}


def spend_limit_near(facts: Iterable[SpendLimitFact], share: float) -> Finding | None:
    """SPEND_LIMIT_NEAR for the period whose spend is the highest share (at least ``share``)
    of its limit; a zero limit (included usage only) is never near."""
    shares = [
        (fact.spent / fact.limit, fact)
        for fact in facts
        if fact.limit and fact.spent >= share * fact.limit
    ]
    if not shares:
        return None
    used, fact = max(shares, key=lambda pair: (pair[0], pair[1].period))
    evidence = {
        "period": fact.period,
        "spent_usd": f"{fact.spent / MICRO_CENTS_PER_USD:.2f}",
        "limit_usd": f"{(fact.limit or 0) / MICRO_CENTS_PER_USD:.2f}",
        "share": f"{used:.2f}",
    }
    if fact.increase_requested:
        evidence["increase_requested"] = "pending"
    return Finding(Severity.MEDIUM if used >= 1 else Severity.LOW, evidence)


@dataclass(frozen=True, slots=True)
class InviteSubject:
    """An invitation as the invites topic last said it."""

    invite_id: str
    email: str
    role: str
    status: str
    invited_at: str | None
    removed: bool = False
    baseline: bool = False


def evaluate_invite(invite: InviteSubject, policy: Policy) -> dict[AlertReason, Finding]:
    """PERSONAL_INVITE while the invitation is pending to a non-corporate address."""
    pending = not invite.removed and invite.status == "pending"
    if not pending or AlertReason.PERSONAL_INVITE in policy.disabled:
        return {}
    address = normalize_email(invite.email)
    personal = _personal_domain(email_domain(address), policy)
    if personal is None:
        return {}
    evidence = {**personal.evidence, "email": address, "role": invite.role,
                "invited_at": invite.invited_at or ""}
    severity = Severity.HIGH if invite.role in ADMIN_ROLES else personal.severity
    found = Finding(severity, evidence, invite.baseline)
    return {AlertReason.PERSONAL_INVITE: _graded(AlertReason.PERSONAL_INVITE, found, {})}


def _privilege_granted(
    subject: Subject, findings: Mapping[AlertReason, Finding]
) -> Finding | None:
    """PRIVILEGE_GRANTED when the last role change granted an admin-class role still held."""
    change = subject.role_change
    if (
        change is None
        or change.current not in ADMIN_ROLES
        or change.previous in ADMIN_ROLES
        or subject.role != change.current
    ):
        return None
    evidence = {
        "previous_role": change.previous or "(not a member)",
        "current_role": change.current,
        "granted_by": change.by,
        "granted_at": change.at,
    }
    if AlertReason.DEPROVISIONED_ACTIVE in findings:
        return Finding(Severity.CRITICAL, {**evidence, "identity": "deprovisioned"})
    unmanaged = [
        reason.value
        for reason in (AlertReason.UNMANAGED_IDENTITY, AlertReason.PERSONAL_DOMAIN)
        if reason in findings
    ]
    if unmanaged:
        return Finding(Severity.HIGH, {**evidence, "identity": ",".join(unmanaged)})
    return Finding(Severity.MEDIUM, evidence)


def _exposure(subject: Subject, policy: Policy) -> dict[str, str]:
    """Why a member counts as exposed (empty when not): an admin-class role, real spend."""
    why: dict[str, str] = {}
    if subject.role in ADMIN_ROLES:
        why["role"] = subject.role
    spent = sum(subject.daily_spend.values()) / MICRO_CENTS_PER_USD
    if policy.real_spend_usd and spent >= policy.real_spend_usd:
        why["recent_spend_usd"] = f"{spent:.2f}"
    return why


EXPOSURE_RAISES = frozenset(
    {
        AlertReason.UNMANAGED_IDENTITY,
        AlertReason.PERSONAL_DOMAIN,
        AlertReason.PERSONAL_CREDENTIAL_CONNECTOR,
        AlertReason.SSO_BYPASS_LOGIN,
    }
)
"""Rules whose severity rises one level for an exposed member."""


def _graded(reason: AlertReason, finding: Finding, exposure: Mapping[str, str]) -> Finding:
    """``finding`` at the severity the model gives it (see the module docstring)."""
    if reason in (AlertReason.DEPROVISIONED_ACTIVE, AlertReason.PRIVILEGE_GRANTED):
        return finding
    level = SEVERITY_ORDER.index(finding.severity)
    evidence = dict(finding.evidence)
    if reason in EXPOSURE_RAISES and exposure:
        level += 1
        evidence.update(exposure)
    if finding.baseline:
        level -= 1
    level = max(SEVERITY_ORDER.index(Severity.LOW), min(level, len(SEVERITY_ORDER) - 1))
    return replace(finding, severity=SEVERITY_ORDER[level], evidence=evidence)


def severity_rank(severity: Severity | str) -> int:
    """How urgent a severity is (higher is more urgent)."""
    return SEVERITY_ORDER.index(Severity(severity))


def _personal_domain(domain: str, policy: Policy) -> Finding | None:
    if not domain:
        return Finding(Severity.LOW, {"domain": "", "why": "address has no domain"})
    known_personal = domain in policy.personal_domains
    if policy.corporate_domains:
        corporate = any(
            domain == allowed or domain.endswith(f".{allowed}")
            for allowed in policy.corporate_domains
        )
        if corporate:
            return None
        severity = Severity.MEDIUM if known_personal else Severity.LOW
        return Finding(severity, {"domain": domain, "why": "not a corporate domain"})
    if known_personal:
        return Finding(Severity.MEDIUM, {"domain": domain, "why": "personal mail provider"})
    return None


def _deprovisioned(subject: Subject, entry: DirectoryEntry) -> Finding:
    evidence = {"directory_status": entry.status.value}
    if entry.employee_id:
        evidence["employee_id"] = entry.employee_id
    last = subject.last_active_day
    if last is not None and (entry.updated_day is None or last >= entry.updated_day):
        evidence["last_usage_day"] = last.isoformat()
        return Finding(Severity.CRITICAL, evidence)
    return Finding(Severity.HIGH, evidence)


def spend_spike(daily_spend: Mapping[date, int], policy: Policy) -> Finding | None:
    """The newest spiking day within the spike window, if any (see the module docstring)."""
    if not daily_spend or not (policy.spend_daily_usd or policy.spend_factor):
        return None
    newest = max(daily_spend)
    window_start = newest - timedelta(days=SPIKE_WINDOW_DAYS - 1)
    for day in sorted((d for d in daily_spend if d >= window_start), reverse=True):
        spend = daily_spend[day] / MICRO_CENTS_PER_USD
        if policy.spend_daily_usd and spend > policy.spend_daily_usd:
            far_above = spend > 2 * policy.spend_daily_usd
            return Finding(
                Severity.HIGH if far_above else Severity.MEDIUM,
                {
                    "day": day.isoformat(),
                    "spend_usd": f"{spend:.2f}",
                    "threshold_usd": f"{policy.spend_daily_usd:.2f}",
                },
            )
        earlier = [
            daily_spend[d] / MICRO_CENTS_PER_USD
            for d in daily_spend
            if day - timedelta(days=SPIKE_WINDOW_DAYS) <= d < day
        ]
        if (
            policy.spend_factor
            and len(earlier) >= RELATIVE_MIN_HISTORY_DAYS
            and spend >= RELATIVE_MIN_SPEND_USD
        ):
            mean = sum(earlier) / len(earlier)
            if spend > policy.spend_factor * mean:
                return Finding(
                    Severity.MEDIUM,
                    {
                        "day": day.isoformat(),
                        "spend_usd": f"{spend:.2f}",
                        "trailing_mean_usd": f"{mean:.2f}",
                        "factor": f"{policy.spend_factor:g}",
                    },
                )
    return None


@dataclass(frozen=True, slots=True)
class Cause:
    """What triggered an evaluation: its id (for deterministic alert ids) and time."""

    event_id: str
    observed_at: datetime
    connector: str | None = None


def alert_id_for(org_id: str, user_id: str, reason: AlertReason, occurrence: int) -> str:
    """Deterministic id of a member's ``occurrence``-th alert (0, 1, ...) for ``reason``.

    It does not depend on which input happened to open the alert, so a replay or a restart
    that applies a member's inputs in another order across topics raises the same alert ids.
    """
    return event_id("alert", org_id, user_id, reason.value, str(occurrence))


def alert_event_id(alert_id: str, state: AlertState) -> str:
    """Deterministic id of the OPENED or RESOLVED event of an alert."""
    return event_id("alert-event", alert_id, state.value)


def reconcile(
    open_alerts: Mapping[str, OpenAlert],
    findings: Mapping[AlertReason, Finding],
    *,
    org_id: str,
    user_id: str,
    email: str | None,
    cause: Cause,
    raised: Mapping[str, int] | None = None,
) -> list[ShadowItAlert]:
    """The events that turn ``open_alerts`` (reason → stored alert) into ``findings``.

    Opens an alert for each finding without one, resolves each open alert whose reason no
    longer holds; an alert already open for a reason that still holds emits nothing.
    ``raised`` counts the alerts opened so far per reason (it numbers the new ones).
    """
    events: list[ShadowItAlert] = []
    for reason, finding in sorted(findings.items()):
        if reason.value in open_alerts:
            continue
        alert_id = alert_id_for(org_id, user_id, reason, (raised or {}).get(reason.value, 0))
        events.append(
            ShadowItAlert(
                event_id=alert_event_id(alert_id, AlertState.OPENED),
                alert_id=alert_id,
                org_id=org_id,
                user_id=user_id,
                email=email,
                state=AlertState.OPENED,
                reason=reason,
                severity=finding.severity,
                evidence=dict(finding.evidence),
                baseline=finding.baseline,
                connector=cause.connector,
                cause_event_id=cause.event_id,
                opened_at=cause.observed_at,
                observed_at=cause.observed_at,
            )
        )
    for reason_name, stored in sorted(open_alerts.items()):
        reason = AlertReason(reason_name)
        if reason in findings:
            continue
        events.append(
            ShadowItAlert(
                event_id=alert_event_id(stored.alert_id, AlertState.RESOLVED),
                alert_id=stored.alert_id,
                org_id=org_id,
                user_id=user_id,
                email=email,
                state=AlertState.RESOLVED,
                reason=reason,
                severity=Severity(stored.severity),
                evidence=dict(stored.evidence),
                baseline=bool(stored.baseline),
                connector=cause.connector,
                cause_event_id=cause.event_id,
                opened_at=datetime.fromisoformat(stored.opened_at),
                observed_at=cause.observed_at,
            )
        )
    return events


def managed_connectors(associations: Iterable[AssociationItem]) -> set[str]:
    """Connectors in stored associations used with an org-managed credential."""
    return {
        item.name
        for item in associations
        if item.kind == "CONNECTOR" and item.auth == "ORG_MANAGED"
    }


def personal_connectors(associations: Iterable[AssociationItem]) -> dict[str, bool]:
    """Connectors in stored associations used with a personal credential → baseline flag."""
    found: dict[str, bool] = {}
    for item in associations:
        if item.kind == "CONNECTOR" and item.auth == "PERSONAL_CREDENTIAL":
            found[item.name] = found.get(item.name, True) and item.baseline
    return found
