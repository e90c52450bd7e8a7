"""Collect what a connector's keys allow into plain observations (the I/O side of a snapshot).

Every fetch goes through the ``ApiClient`` and ends in an ``Outcome``; a listing that did not
complete still contributes the rows it got (additions, updates, usage) but marks its data type
incomplete, so the diff never concludes a removal from it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from streams.client import ApiClient, ApiFamily, Listing
from streams.client.models import (
    ActorCost,
    ActorUsage,
    AnalyticsUserDay,
    ConnectorUsage,
    SpendSummary,
    TokenCounts,
    UsageActor,
    UserCost,
    UserUsage,
)
from streams.errors import ApiError, ApiRequestRejected, EndpointUnavailable
from streams.events.records import (
    SPEND_METRIC,
    USER_ACTOR,
    AppKind,
    AuthKind,
    CredentialImage,
    InviteImage,
    MetricFamily,
    Source,
    product_spend_metric,
)
from streams.poller.inventory import credential_image, invite_image
from streams.poller.snapshot import (
    ObservedAssociation,
    RosterSnapshot,
    SnapshotUser,
    UsageObservation,
    cents_to_micros,
)
from streams.poller.status import Outcome

DATA_FLOOR = date(2026, 1, 1)
"""No analytics data exists before this day."""
RESTATEMENT_DAYS = 30
"""The API revises usage and cost this many days back; each such day is re-read once a day."""

Progress = Callable[[str], None]
P = TypeVar("P")
M = TypeVar("M")
R = TypeVar("R")
L = TypeVar("L", UserUsage, UserCost)
WORKSPACES = "workspaces"
"""The outcome name of the Console workspace memberships read with the roster."""
USAGE = "usage"
"""The outcome name of tokens, cost and Claude Code usage."""
GROUPS = "groups"
"""The outcome name of the Enterprise group memberships read with the roster."""
CREDENTIALS = "credentials"
"""The outcome name of the Console API key inventory read with the roster."""
INVITES = "invites"
"""The outcome name of the invitations read with the roster."""
SPEND_LIMITS = "spend_limits"
"""The outcome name of the effective spend limits (Enterprise, ``read:spend_limits``)."""


@dataclass
class Collected:
    """Everything one cycle observed, and how each fetch went."""

    roster: RosterSnapshot | None = None
    usage: list[UsageObservation] = field(default_factory=list)
    associations: list[ObservedAssociation] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    analytics_users: dict[str, SnapshotUser] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    inventories: dict[str, tuple[list[CredentialImage] | list[InviteImage], bool]] = field(
        default_factory=dict
    )
    """Inventory name (``CREDENTIALS``, ``INVITES``) → (the items listed this cycle, whether
    the listing completed); absent when the org has no such inventory."""
    unparsed_values: int = 0
    """Values left out of kept rows because they did not parse."""

    def record(self, data_type: str, listing: Listing[object]) -> bool:
        """Note a listing's outcome; True when it completed."""
        self.outcomes.append(Outcome(data_type, listing.error))
        self.unparsed_values += sum(listing.unparsed.values())
        return listing.completed


async def collect_roster(client: ApiClient, into: Collected, progress: Progress) -> None:
    """Members (and Console workspace memberships) as a ROSTER snapshot."""
    members = await client.members()
    complete = into.record("roster", members)
    workspaces = await _workspace_roles(client, into) if complete else None
    groups = await _group_memberships(client, into) if complete else None
    into.roster = RosterSnapshot.of(
        (
            SnapshotUser(
                id=member.id,
                email=member.email,
                name=member.name,
                role=member.role,
                workspaces=None if workspaces is None else workspaces.get(member.id, {}),
                added_at=member.added_at,
                groups=None if groups is None else groups.get(member.id, {}),
            )
            for member in members.rows
        ),
        complete=complete,
        source=Source.ROSTER,
    )
    progress(
        f"roster: {len(members.rows)} members in {members.pages} pages"
        + ("" if complete else f" (incomplete: {members.error})")
    )


async def collect_inventories(client: ApiClient, into: Collected, progress: Progress) -> None:
    """The organisation's API keys (Console) and invitations; an org without one of them
    (a refusal) is no failure."""
    keys = await client.api_keys()
    if not isinstance(keys.error, EndpointUnavailable):
        complete = into.record(CREDENTIALS, keys)
        into.inventories[CREDENTIALS] = ([credential_image(key) for key in keys.rows], complete)
    invites = await client.invites()
    if not isinstance(invites.error, EndpointUnavailable):
        complete = into.record(INVITES, invites)
        into.inventories[INVITES] = ([invite_image(invite) for invite in invites.rows], complete)
    progress(f"api keys: {len(keys.rows)}, invitations: {len(invites.rows)}")


async def _memberships(
    into: Collected,
    name: str,
    parents: Listing[P],
    members_of: Callable[[P], Awaitable[Listing[M]]],
    entry: Callable[[P, M], tuple[str, str, str]],
) -> dict[str, dict[str, str]] | None:
    """user id → {parent id: value} over every parent's member listing; None when unknown
    this cycle. A refused parent listing means the org or key has none (an Enterprise org has
    no workspaces, a Console org no groups): that is "none", not a failure of the roster."""
    if isinstance(parents.error, EndpointUnavailable):
        return {}
    if not into.record(name, parents):
        return None
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for parent in parents.rows:
        members = await members_of(parent)
        if not into.record(name, members):
            return None
        for member in members.rows:
            user_id, parent_id, value = entry(parent, member)
            found[user_id][parent_id] = value
    return found


async def _group_memberships(
    client: ApiClient, into: Collected
) -> dict[str, dict[str, str]] | None:
    """user id → {group id: group name} (Enterprise, ``read:rbac_groups``)."""
    return await _memberships(
        into,
        GROUPS,
        await client.rbac_groups(),
        lambda group: client.rbac_group_members(group.id),
        lambda group, member: (member.user_id, group.id, group.name),
    )


async def _workspace_roles(client: ApiClient, into: Collected) -> dict[str, dict[str, str]] | None:
    """user id → {workspace id: role} (Console)."""
    return await _memberships(
        into,
        WORKSPACES,
        await client.workspaces(),
        lambda workspace: client.workspace_members(workspace.id),
        lambda workspace, member: (member.user_id, member.workspace_id, member.workspace_role),
    )


async def latest_analytics_day(client: ApiClient, today: date, into: Collected) -> date | None:
    """The most recent day the Analytics API has published (from the summaries listing)."""
    summaries = await client.summaries(max(DATA_FLOOR, today - timedelta(days=31)))
    if not into.record("analytics", summaries) or not summaries.rows:
        return None
    return max(row.starting_date for row in summaries.rows)


def analytics_days(latest: date, window_days: int) -> list[date]:
    """The days re-read each analytics cycle: the revision window ending on ``latest``."""
    first = max(DATA_FLOOR, latest - timedelta(days=window_days - 1))
    return [first + timedelta(days=offset) for offset in range((latest - first).days + 1)]


@dataclass(frozen=True, slots=True)
class Engagement:
    """What a cycle keeps of one member's analytics day (the row itself is large)."""

    user_id: str
    email: str
    messages: int
    sessions: int
    surfaces: tuple[str, ...]
    """The Claude surfaces used that day, sorted."""

    @classmethod
    def of(cls, row: AnalyticsUserDay) -> Engagement:
        return cls(
            row.user_id,
            row.email,
            row.message_count,
            row.session_count,
            tuple(sorted(row.surfaces_used)),
        )


async def collect_analytics(
    client: ApiClient, days: Iterable[date], into: Collected, progress: Progress
) -> None:
    """Per-user engagement and connector use for each day."""
    for day in days:
        users = await client.engagement(day, Engagement.of)
        into.record("analytics", users)
        into.usage.extend(_engagement(users.rows, day))
        for row in users.rows:
            into.analytics_users[row.user_id] = SnapshotUser(id=row.user_id, email=row.email)
            into.associations.extend(
                ObservedAssociation(
                    row.user_id,
                    AppKind.SURFACE,
                    surface,
                    AuthKind.UNKNOWN,
                    day,
                    Source.ANALYTICS,
                    row.email,
                )
                for surface in row.surfaces
            )
        connectors = await client.connectors(day, by_user=True)
        into.record("analytics", connectors)
        into.associations.extend(_connector_links(connectors.rows, day))
        progress(f"analytics {day}: {len(users.rows)} active users")


def _engagement(rows: Iterable[Engagement], day: date) -> list[UsageObservation]:
    observations = []
    for row in rows:
        observations.append(
            UsageObservation(
                row.user_id,
                day,
                MetricFamily.MESSAGES,
                {"messages": row.messages},
                Source.ANALYTICS,
                row.email,
            )
        )
        observations.append(
            UsageObservation(
                row.user_id,
                day,
                MetricFamily.SESSIONS,
                {"sessions": row.sessions},
                Source.ANALYTICS,
                row.email,
            )
        )
    return observations


def _connector_links(rows: Iterable[ConnectorUsage], day: date) -> list[ObservedAssociation]:
    """One association per connector, user and auth kind the row reports."""
    links = []
    for row in rows:
        if row.user_id is None:
            continue
        kinds = [
            auth
            for auth, count in (
                (AuthKind.PERSONAL_CREDENTIAL, row.individual_auth_distinct_user_count),
                (AuthKind.ORG_MANAGED, row.managed_auth_distinct_user_count),
            )
            if count
        ] or [AuthKind.UNKNOWN]
        links.extend(
            ObservedAssociation(
                row.user_id,
                AppKind.CONNECTOR,
                row.connector_name,
                auth,
                day,
                Source.ANALYTICS,
                None,
                row.display_name,
            )
            for auth in kinds
        )
    return links


async def collect_spend(
    client: ApiClient, now: datetime, window_days: int, into: Collected, progress: Progress
) -> None:
    """Tokens and USD cost per actor and day over the last ``window_days`` days.

    The Usage & Cost Analytics API answers first (every actor: members, API keys, service
    accounts, federated identities). Where it does not exist for the org (400 for HIPAA-ready
    orgs, 404 for older ones, 403 without the scope) the legacy per-user reports answer
    instead. Members are keyed by their user id in both, so a switch of source revises the
    same series and never counts anything twice.
    """
    first_day = max(DATA_FLOOR, now.date() - timedelta(days=window_days - 1))
    start = datetime.combine(first_day, time(), tzinfo=UTC)
    usage = await client.actor_usage(start, now)
    if not _source_missing(usage.error):
        into.record(USAGE, usage)
        cost = await client.actor_cost(start, now)
        into.record(USAGE, cost)
        into.usage.extend(_actor_totals(usage.rows, cost.rows))
        for actor in (row.actor for row in (*usage.rows, *cost.rows)):
            if actor.deleted and actor.user_id is not None:
                into.deleted.add(actor.user_id)
        progress(f"usage: {len(usage.rows)} token rows, {len(cost.rows)} cost rows (by actor)")
        return
    if not client.has_key(ApiFamily.ANALYTICS):
        into.record(USAGE, usage)
        return
    legacy_usage = await client.user_usage(start, now)
    into.record(USAGE, legacy_usage)
    legacy_cost = await client.user_cost(start, now)
    into.record(USAGE, legacy_cost)
    into.usage.extend(_token_totals(legacy_usage.rows))
    into.usage.extend(_cost_totals(legacy_cost.rows))
    for row in (*legacy_usage.rows, *legacy_cost.rows):
        if row.actor.deleted:
            into.deleted.add(row.actor.user_id)
    progress(f"usage: {len(legacy_usage.rows)} token rows, {len(legacy_cost.rows)} cost rows")


async def collect_spend_limits(
    client: ApiClient, today: date, into: Collected, progress: Progress
) -> None:
    """Each member's effective spend limit, spend so far and pending increase request per
    period, as one SPEND_LIMIT observation for ``today``.

    An org or key without spend limits (Console: 400; no ``read:spend_limits``: 403) is an
    optional outcome: said, never a failure.
    """
    limits = await client.effective_spend_limits(SpendReading.of)
    if _source_missing(limits.error):
        into.outcomes.append(Outcome(SPEND_LIMITS, limits.error, optional=True))
        return
    into.record(SPEND_LIMITS, limits)
    pending = await client.spend_limit_increase_requests(statuses=("pending",))
    into.record(SPEND_LIMITS, pending)
    asked = {(row.user_id, row.period) for row in pending.rows if row.user_id is not None}
    into.usage.extend(spend_limit_observations(limits.rows, asked, today))
    progress(f"spend limits: {len(limits.rows)} rows, {len(asked)} pending increase requests")


@dataclass(frozen=True, slots=True)
class SpendReading:
    """What a cycle keeps of one member's effective spend limit for one period."""

    user_id: str | None
    email: str | None
    period: str
    spent_micros: int
    limit_micros: int | None

    @classmethod
    def of(cls, row: SpendSummary) -> SpendReading:
        return cls(
            row.user_id,
            row.email,
            sys.intern(row.period),
            cents_to_micros(row.spent),
            None if row.amount is None else cents_to_micros(row.amount),
        )


def spend_limit_observations(
    rows: Iterable[SpendReading], asked: set[tuple[str, str]], today: date
) -> list[UsageObservation]:
    """One SPEND_LIMIT observation per member: per period ``P.spend_micros``,
    ``P.limit_micros`` (absent without a limit) and ``P.increase_requested`` (1 when pending)."""
    values: dict[str, dict[str, int]] = defaultdict(dict)
    emails: dict[str, str | None] = {}
    names: dict[tuple[str, str], str] = {}

    def name(period: str, figure: str) -> str:
        """``period.figure``, one string for every member."""
        return names.setdefault((period, figure), f"{period}.{figure}")

    for row in rows:
        if row.user_id is None:
            continue
        member = values[row.user_id]
        member[name(row.period, "spend_micros")] = row.spent_micros
        if row.limit_micros is not None:
            member[name(row.period, "limit_micros")] = row.limit_micros
        if (row.user_id, row.period) in asked:
            member[name(row.period, "increase_requested")] = 1
        emails[row.user_id] = row.email
    return [
        UsageObservation(
            user, today, MetricFamily.SPEND_LIMIT, found, Source.SPEND_LIMITS, emails[user]
        )
        for user, found in values.items()
    ]


async def collect_claude_code(
    client: ApiClient,
    now: datetime,
    window_days: int,
    members: Mapping[str, str],
    into: Collected,
    progress: Progress,
) -> None:
    """Claude Code sessions, lines and estimated cost per member and day (Console orgs).

    The report names members by e-mail: ``members`` (lower-cased address → user id) maps
    them; usage of API keys is kept keyed by the key's name. An org without the report (an
    Enterprise org answers 404) costs one request and is no failure.
    """
    first_day = max(DATA_FLOOR, now.date() - timedelta(days=window_days - 1))
    sums: dict[tuple[str, date], dict[str, int]] = {}
    kinds: dict[str, str] = {}
    emails: dict[str, str | None] = {}
    unknown = 0
    for offset in range((now.date() - first_day).days + 1):
        listing = await client.claude_code_usage(first_day + timedelta(days=offset))
        if isinstance(listing.error, EndpointUnavailable) and offset == 0:
            return
        if not into.record(USAGE, listing):
            continue
        for row in listing.rows:
            if row.email is not None:
                actor = members.get(row.email.lower())
                if actor is None:
                    unknown += 1
                    continue
                kinds[actor], emails[actor] = USER_ACTOR, row.email
            else:
                actor = row.api_key_name or "unattributed"
                kinds[actor], emails[actor] = "api_actor", None
            totals = sums.setdefault((actor, row.date), defaultdict(int))
            totals["sessions"] += row.session_count
            totals["lines_added"] += row.lines_added
            totals["lines_removed"] += row.lines_removed
            totals["usd_micros"] += cents_to_micros(row.estimated_cost)
    into.usage.extend(
        UsageObservation(
            actor,
            day,
            MetricFamily.CLAUDE_CODE,
            dict(values),
            Source.CLAUDE_CODE_REPORT,
            emails[actor],
            kinds[actor],
        )
        for (actor, day), values in sums.items()
    )
    progress(
        f"claude code: {len(sums)} actor-days" + (f", {unknown} unknown e-mails" if unknown else "")
    )


def _source_missing(error: ApiError | None) -> bool:
    """Whether the Usage & Cost API is not there for this org or key (never a passing fault)."""
    return isinstance(error, EndpointUnavailable) or (
        isinstance(error, ApiRequestRejected) and error.status == 400
    )


def _token_fields(tokens: TokenCounts) -> dict[str, int]:
    return {
        "input": tokens.uncached_input_tokens,
        "cache_read": tokens.cache_read_input_tokens,
        "cache_creation": tokens.cache_creation_5m_input_tokens
        + tokens.cache_creation_1h_input_tokens,
        "output": tokens.output_tokens,
        "total": tokens.total_tokens,
    }


def _actor_totals(usage: Sequence[ActorUsage], cost: Sequence[ActorCost]) -> list[UsageObservation]:
    """TOKENS and COST per (actor, day), summed over products and models (COST also per
    product)."""
    actors: dict[str, UsageActor] = {row.actor.key: row.actor for row in (*usage, *cost)}
    tokens = _day_sums(usage, _actor_day, _add_tokens)
    micros = _day_sums(cost, _actor_day, _add_cost)
    return [
        UsageObservation(
            key, day, family, dict(values), source, actors[key].email, actors[key].type
        )
        for family, source, sums in (
            (MetricFamily.TOKENS, Source.USAGE_ANALYTICS, tokens),
            (MetricFamily.COST, Source.COST_ANALYTICS, micros),
        )
        for (key, day), values in sums.items()
    ]


def _bucket_day(row: UserUsage | UserCost, fallback: date) -> date:
    return row.starting_at.astimezone(UTC).date() if row.starting_at else fallback


def _token_totals(rows: Sequence[UserUsage]) -> list[UsageObservation]:
    return _user_totals(rows, _add_tokens, MetricFamily.TOKENS, Source.USAGE_REPORT)


def _cost_totals(rows: Sequence[UserCost]) -> list[UsageObservation]:
    return _user_totals(rows, _add_cost, MetricFamily.COST, Source.COST_REPORT)


def _user_totals(
    rows: Sequence[L],
    add: Callable[[dict[str, int], L], None],
    family: MetricFamily,
    source: Source,
) -> list[UsageObservation]:
    """``family`` per (member, day) of the legacy per-user reports."""
    emails = {row.actor.user_id: row.actor.email for row in rows}
    return [
        UsageObservation(user, day, family, dict(values), source, emails[user])
        for (user, day), values in _day_sums(rows, _user_day, add).items()
    ]


def _actor_day(row: ActorUsage | ActorCost) -> tuple[str, date]:
    return row.actor.key, row.day


def _user_day(row: UserUsage | UserCost) -> tuple[str, date]:
    return row.actor.user_id, _bucket_day(row, DATA_FLOOR)


def _day_sums(
    rows: Iterable[R],
    key: Callable[[R], tuple[str, date]],
    add: Callable[[dict[str, int], R], None],
) -> dict[tuple[str, date], dict[str, int]]:
    """Each row's values added (``add``) into the totals of its (actor, day) ``key``."""
    sums: dict[tuple[str, date], dict[str, int]] = {}
    for row in rows:
        add(sums.setdefault(key(row), defaultdict(int)), row)
    return sums


def _add_tokens(totals: dict[str, int], row: ActorUsage | UserUsage) -> None:
    for name, value in _token_fields(row.tokens).items():
        totals[name] += value


def _add_cost(totals: dict[str, int], row: ActorCost | UserCost) -> None:
    _add_spend(totals, row.product, cents_to_micros(row.amount))


def _add_spend(totals: dict[str, int], product: str | None, micros: int) -> None:
    """Add one cost row to a day's COST totals: the total, and its product's share."""
    totals[SPEND_METRIC] += micros
    if product is not None:
        totals[product_spend_metric(product)] += micros


def analytics_roster(into: Collected) -> RosterSnapshot:
    """For analytics-only connectors: members seen in engagement data; removals only explicit."""
    return RosterSnapshot(
        users=into.analytics_users,
        complete=all(o.completed for o in into.outcomes),
        source=Source.ANALYTICS,
        deleted=frozenset(into.deleted),
    )
