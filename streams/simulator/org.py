"""The simulated organisation: people, invites, workspaces and keys over simulated time.

Everything is drawn from the seed, so the same ``SimConfig`` always builds the same org, and
the same sequence of ``advance`` calls always applies the same churn. Per-day activity is
computed on demand (``activity.py``); only the roster itself is held in memory.

Time rules (``anthropic-api.md`` A.0): engagement for day D is published at D+1 10:00 UTC
and revised for two more days; token and cost data trail the clock by four hours (the
``data_refreshed_at`` watermark) and are restated for thirty days.
"""

from __future__ import annotations

import bisect
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from streams.simulator import activity
from streams.simulator.activity import TokenTuple, Traits

DATA_FLOOR = date(2026, 1, 1)
AGGREGATION_HOUR = 10
USAGE_LAG = timedelta(hours=4)
RESTATEMENT_AGES = (timedelta(days=2), timedelta(days=7), timedelta(days=30))
SEAT_ALLOWANCE_CENTS = Decimal(2000)

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CORPORATE_DOMAINS = ("acme.example", "labs.acme.example")
CONNECTOR_AUTH_KNOWN = date(2026, 7, 1)
"""The first day the connector analytics say how each connector was authorised."""
PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")
ADMIN_ROLES = frozenset({"primary_owner", "owner", "membership_admin"})
"""The simulated org's roles that can change members, keys or settings."""
PROMOTED_ROLES = ("owner", "membership_admin")
"""Roles ``advance(promotions=...)`` grants."""
_FIRST = [
    "Ada",
    "Alex",
    "Amara",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Dev",
    "Elena",
    "Emil",
    "Farah",
    "Felix",
    "Gita",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jade",
    "Jonas",
    "Kai",
    "Kira",
    "Lars",
    "Lea",
    "Lee",
    "Maya",
    "Milo",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Pia",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Theo",
    "Uma",
    "Vera",
    "Wen",
    "Yara",
    "Yusuf",
    "Zoe",
]
_LAST = [
    "Abe",
    "Baker",
    "Chan",
    "Costa",
    "Diaz",
    "Ekström",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Ortiz",
    "Patel",
    "Quist",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Umar",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
]
_WORKSPACE_NAMES = [
    "Prod",
    "Staging",
    "Research",
    "Data-Platform",
    "Support",
    "Growth",
    "Security",
    "Mobile",
    "Finance",
    "Legal",
    "Marketing",
    "Design",
    "Infra",
    "Search",
    "Payments",
    "Identity",
]
_GROUP_NAMES = ("Engineering", "Sales", "Legal", "Finance", "Support", "Research", "Marketing")
_KEY_USES = ("laptop", "ci", "etl")
_WORKSPACE_ROLES = ("workspace_user", "workspace_developer", "workspace_admin")
CONNECTORS = (
    ("atlassian", None),
    ("github", None),
    ("google_drive", None),
    ("linear", None),
    ("mcp_01Hk3Rb7Tz9Wq2Lp", "Internal Wiki"),
    ("notion", None),
    ("salesforce", None),
    ("slack", None),
    ("zapier", None),
)
SKILLS = (
    ("brand-guidelines", "Brand guidelines", "organization"),
    ("docx", None, "public"),
    ("pdf", None, "public"),
    ("pptx", None, "public"),
    ("skill_01Pq7Xr2", None, "private"),
    ("skill_01Zt4Mn8", None, "private"),
    ("xlsx", None, "public"),
)
_PROJECT_NAMES = (
    "Q4 pricing research",
    "Onboarding guide",
    "Incident reviews",
    "Sales playbook",
    "Hiring loop",
    "Roadmap drafts",
    "Customer FAQ",
    "Security questionnaire",
)

Plan = Literal["usage", "seat"]
Dialect = Literal["current", "legacy"]
OrgKind = Literal["enterprise", "console"]
UsageCostApi = Literal["available", "hipaa", "absent"]


@dataclass(frozen=True)
class SimConfig:
    """Everything that decides what the simulator serves. Same config, same org.

    ``start_date`` is the simulated today (the clock starts at 12:00 UTC); ``dialect``
    picks a side of the documented spelling conflicts; ``rate_window`` shortens the rate
    limit window for tests (the limit scales pro rata: 600/min over 1 s allows 10);
    ``feed_lag`` delays the Activity Feed's rows by wall-clock seconds (``feed``).
    """

    users: int = 50
    seed: int = 0
    plan: Plan = "usage"
    start_date: date | None = None
    analytics_rate: float = 60.0
    admin_rate: float = 100.0
    unmanaged_fraction: float = 0.05
    analytics_key: str = "sk-ant-api01-sim-analytics-0000000000000000"
    admin_key: str = "sk-ant-admin01-sim-admin-0000000000000000"
    directory_out: Path | None = None
    dialect: Dialect = "current"
    org_kind: OrgKind = "enterprise"
    """What the org may call (the availability table): ``enterprise`` takes scoped keys
    (``analytics_key``: read:analytics; ``admin_key``: read:members, read:rbac_groups,
    read:spend_limits); ``console`` takes one Admin key (``admin_key``) for everything."""
    rate_window: float = 60.0
    compliance_key: str = "sk-ant-api01-sim-compliance-000000000000"
    compliance_rate: float = 600.0
    feed_lag: float = 0.0
    usage_cost_api: UsageCostApi = "available"
    """The Usage & Cost Analytics API: served, refused with 400 (HIPAA-readiness orgs) or
    unknown (404, older orgs); the legacy per-user reports answer in every case."""
    unified_chat_share: float = 0.0
    """Members with Chat and Cowork unified: their chat and Cowork activity is reported under
    ``chat_cowork_unified_metrics`` instead of ``chat_metrics``/``cowork_metrics``."""
    claude_tag_share: float = 0.0
    """Members who also use Claude Tag (Slack): ``claude_tag_metrics`` on their rows."""
    groups: int = 0
    """RBAC groups of the org (Enterprise); each member belongs to one or two of them, or to
    none (``group_share`` of the members are in some group)."""
    group_share: float = 0.8
    spend_limit_share: float = 0.0
    """Members with a monthly spend limit of their own (Enterprise); the others fall under no
    limit. Some of them have spent most of it; those past it have asked for more."""
    spend_limits_rate: float = 60.0
    """Requests per minute every spend-limit endpoint shares (the documented 60)."""

    def resolved(self) -> SimConfig:
        """A copy whose ``start_date`` is set (today, UTC, when not given)."""
        if self.start_date is not None:
            return self
        return replace(self, start_date=datetime.now(UTC).date())


@dataclass(slots=True, eq=False)
class Person:
    """One identity that is or was a member of the org."""

    index: int
    id: str
    email: str
    name: str
    role: str
    added_at: datetime
    managed: bool
    deprovisioned: bool
    employee_id: str
    traits: Traits
    workspaces: tuple[tuple[int, str], ...] = ()
    removed_at: datetime | None = None
    account_deleted: bool = False
    added_text: str = ""
    """``added_at`` in RFC 3339, rendered once (roster pages serve 1000 of them)."""

    def __post_init__(self) -> None:
        self.added_text = rfc3339(self.added_at)

    def member_on(self, day: date) -> bool:
        """Whether the person was a member at any time on ``day``."""
        return self.added_at.date() <= day and (
            self.removed_at is None or self.removed_at.date() >= day
        )


class OrderedIndex:
    """Ids in a fixed order with ``after_id``/``before_id`` lookups.

    It remembers where departed ids stood, so a cursor naming a member removed mid-listing
    still resumes at the right place.
    """

    def __init__(self) -> None:
        self._key_of: dict[str, tuple[Any, ...]] = {}
        self._keys: list[tuple[Any, ...]] = []
        self.ids: list[str] = []

    def rebuild(self, entries: Iterable[tuple[tuple[Any, ...], str]]) -> None:
        ordered = sorted(entries)
        self._keys = [key for key, _ in ordered]
        self.ids = [identifier for _, identifier in ordered]
        self._key_of.update(zip(self.ids, self._keys, strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def page(
        self, limit: int, after_id: str | None = None, before_id: str | None = None
    ) -> tuple[list[str], bool]:
        """Up to ``limit`` ids after (or before) a cursor id, and whether more remain."""
        if before_id is not None:
            end = bisect.bisect_left(self._keys, self._key_of[before_id])
            start = max(0, end - limit)
            return self.ids[start:end], start > 0
        start = 0 if after_id is None else bisect.bisect_right(self._keys, self._key_of[after_id])
        chunk = self.ids[start : start + limit]
        return chunk, start + limit < len(self.ids)


def tagged_id(prefix: str, key: bytes, *parts: object) -> str:
    """An id such as ``user_01Hq8Zx3Kd2Ma9VbT4nP7sLe``: prefix, ``01`` and 24 base-62 chars."""
    raw = activity.digest(key, "id", prefix, *parts)[:24]
    chars = [_BASE62[byte % 62] for byte in raw]
    return f"{prefix}01{''.join(chars)}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass
class Churn:
    """What one ``advance`` changed."""

    added: list[Person] = field(default_factory=list)
    removed: list[Person] = field(default_factory=list)
    role_changes: list[tuple[Person, str, str]] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)
    """API key ids ``created``, ``archived`` and ``deleted`` by ``key_changes``."""


class Org:
    """The simulated organisation and its clock."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config.resolved()
        assert self.config.start_date is not None
        self.key = self.config.seed.to_bytes(8, "big", signed=True)
        self.now = day_start(self.config.start_date) + timedelta(hours=12)
        self.id = str(uuid.UUID(bytes=activity.digest(self.key, "org")[:16], version=4))
        self.name = "Acme Corp (simulated)"
        self.projects = [
            (tagged_id("claude_proj_", self.key, n), _PROJECT_NAMES[n % len(_PROJECT_NAMES)])
            for n in range(max(3, min(200, self.config.users // 100)))
        ]
        self.people: list[Person] = []
        self.by_id: dict[str, Person] = {}
        self._email_counts: dict[tuple[str, str], int] = {}
        self.roster = OrderedIndex()
        self.by_email: list[Person] = []
        self._email_keys: list[str] = []
        self.workspaces = self._draw_workspaces()
        self.workspace_members: list[OrderedIndex] = []
        self._advances = 0
        self._fractions: dict[tuple[date, datetime], float] = {}
        self._first_shortfall: dict[date, float] = {}
        rng = random.Random(self.config.seed)
        for _ in range(self.config.users):
            self._new_person(rng, self.now - timedelta(seconds=rng.randrange(1, 365 * 86400)))
        self.people[0].role = "primary_owner"
        self.invites = self._draw_invites(rng)
        self.api_keys = self._draw_api_keys(rng)
        self.groups = [
            {
                "id": tagged_id("rbac_group_", self.key, n),
                "name": _GROUP_NAMES[n % len(_GROUP_NAMES)]
                + (f" {n}" if n >= len(_GROUP_NAMES) else ""),
                "source_type": "scim" if n % 3 == 0 else "direct",
                "created_at": day_start(self.config.start_date) - timedelta(days=200 - n),
            }
            for n in range(self.config.groups)
        ]
        self._keys_drawn = len(self.api_keys)
        self.keys_version = 0
        self._reindex()

    # --- building -------------------------------------------------------------------------

    def _new_person(self, rng: random.Random, added_at: datetime) -> Person:
        index = len(self.people)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        managed = rng.random() >= self.config.unmanaged_fraction
        personal = not managed and rng.random() < 0.5
        domain = rng.choice(
            PERSONAL_DOMAINS if personal else CORPORATE_DOMAINS[:1] * 4 + CORPORATE_DOMAINS[1:]
        )
        local = f"{first}.{last}".lower()
        seen = self._email_counts.get((local, domain), 0)
        self._email_counts[(local, domain)] = seen + 1
        email = f"{local}{seen + 1 if seen else ''}@{domain}"
        roll = rng.random()
        role = (
            "owner"
            if roll < 0.01
            else "membership_admin"
            if roll < 0.02
            else ("managed" if roll < 0.12 else "user")
        )
        n_workspaces = len(self.workspaces)
        workspaces = tuple(
            sorted(
                {
                    rng.randrange(n_workspaces): rng.choice(_WORKSPACE_ROLES)
                    for _ in range(rng.choice((0, 1, 1, 1, 2)))
                }.items()
            )
        )
        person = Person(
            index=index,
            id=tagged_id("user_", self.key, index),
            email=email,
            name=f"{first} {last}",
            role=role,
            added_at=added_at.replace(microsecond=0),
            managed=managed,
            deprovisioned=managed and rng.random() < 0.02,
            employee_id=f"E{100000 + index}",
            traits=Traits.draw(self.key, index, len(CONNECTORS), len(SKILLS), len(self.projects)),
            workspaces=workspaces,
        )
        self.people.append(person)
        self.by_id[person.id] = person
        return person

    def _draw_workspaces(self) -> list[dict[str, Any]]:
        count = max(2, min(len(_WORKSPACE_NAMES), self.config.users // 200))
        created = self.now - timedelta(days=400)
        return [
            {
                "id": tagged_id("wrkspc_", self.key, n),
                "name": _WORKSPACE_NAMES[n],
                "created_at": created + timedelta(days=7 * n),
                "display_color": f"#{activity.digest(self.key, 'color', n)[:3].hex().upper()}",
                "compartment_id": str(
                    uuid.UUID(bytes=activity.digest(self.key, "compartment", n)[:16], version=4)
                ),
            }
            for n in range(count)
        ]

    def _draw_invites(self, rng: random.Random) -> list[dict[str, Any]]:
        invites = []
        for n in range(max(3, self.config.users // 50)):
            invited_at = (self.now - timedelta(seconds=rng.randrange(3600, 40 * 86400))).replace(
                microsecond=0
            )
            expires_at = invited_at + timedelta(days=21)
            personal = rng.random() < 0.3
            status = (
                "expired"
                if expires_at <= self.now
                else "accepted"
                if rng.random() < 0.4
                else "pending"
            )
            name = f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}".lower()
            domain = rng.choice(PERSONAL_DOMAINS if personal else CORPORATE_DOMAINS)
            invites.append(
                {
                    "id": tagged_id("invite_", self.key, n),
                    "email": f"{name}{n}@{domain}",
                    "role": "user",
                    "invited_at": invited_at,
                    "expires_at": expires_at,
                    "accepted_at": invited_at + timedelta(hours=5)
                    if status == "accepted"
                    else None,
                    "status": status,
                    "personal": personal,
                }
            )
        invites.sort(key=lambda invite: (invite["invited_at"], invite["id"]), reverse=True)
        return invites

    def _draw_api_keys(self, rng: random.Random) -> list[dict[str, Any]]:
        keys = []
        for n in range(max(2, self.config.users // 20)):
            owner = rng.choice(self.people)
            hint = activity.digest(self.key, "hint", n).hex()
            workspace = rng.choice([None, *[w["id"] for w in self.workspaces]])
            keys.append(
                {
                    "id": tagged_id("apikey_", self.key, n),
                    "name": f"{owner.name.split()[0].lower()}-{rng.choice(_KEY_USES)}",
                    "status": rng.choice(("active",) * 8 + ("inactive", "archived")),
                    "created_at": owner.added_at + timedelta(days=rng.randrange(0, 30)),
                    "partial_key_hint": f"sk-ant-api03-{hint[:3]}...{hint[-4:]}",
                    "workspace_id": workspace,
                    "user_id": owner.id,
                }
            )
        keys.sort(key=lambda item: (item["created_at"], item["id"]), reverse=True)
        return keys

    def _reindex(self) -> None:
        members = [p for p in self.people if p.removed_at is None]
        self.roster.rebuild(((-p.added_at.timestamp(), p.id), p.id) for p in members)
        self.by_email = sorted(self.people, key=lambda p: p.email)
        self._email_keys = [p.email for p in self.by_email]
        by_workspace: list[list[str]] = [[] for _ in self.workspaces]
        for person in members:
            for position, _ in person.workspaces:
                by_workspace[position].append(person.id)
        self.workspace_members = []
        for ids in by_workspace:
            index = OrderedIndex()
            index.rebuild(((identifier,), identifier) for identifier in ids)
            self.workspace_members.append(index)

    # --- reading --------------------------------------------------------------------------

    @cached_property
    def managed_connectors(self) -> frozenset[int]:
        """Connectors (indexes into ``CONNECTORS``) the org runs on managed auth: about half,
        drawn from the seed. Members authorise every other connector with their own
        credential; on these, a member's own credential bypasses the managed one."""
        return frozenset(
            n for n in range(len(CONNECTORS))
            if activity.digest(self.key, "managed-auth", n)[0] < 128
        )

    def individual_auth(self, connector: int, drawn_individual: bool) -> bool:
        """Whether a member uses ``connector`` with their own credential."""
        return drawn_individual or connector not in self.managed_connectors

    def risks(self, person: Person, since: date, until: date) -> list[str]:
        """The alert reasons that should hold for a member, from how it was generated: not in
        the directory, a personal mail domain, deprovisioned, or a personal credential on a
        managed connector used on a day in [since, until]."""
        found = []
        if not person.managed:
            found.append("UNMANAGED_IDENTITY")
        if person.email.rsplit("@", 1)[1] in PERSONAL_DOMAINS:
            found.append("PERSONAL_DOMAIN")
        if person.deprovisioned:
            found.append("DEPROVISIONED_ACTIVE")
        bypassing = [c for c, individual in person.traits.connectors
                     if individual and c in self.managed_connectors]
        if bypassing and self._used_connectors(person, since, until):
            found.append("PERSONAL_CREDENTIAL_CONNECTOR")
        if self.spend_limit_near(person):
            found.append("SPEND_LIMIT_NEAR")
        return sorted(found)

    def spend_limit(self, person: Person) -> tuple[Decimal | None, Decimal]:
        """(limit, month-to-date spend) in cents; the limit is None unless the member has one
        of their own. It is drawn as a share (40-120 %) of what the member spent this month
        before today, so it holds for the day; at least 10 USD."""
        b = self._own_limit_draw(person)
        today = self.now.date()
        spent_before = Decimal(0)
        spent = Decimal(0)
        for offset in range(today.day):
            day = today.replace(day=1) + timedelta(days=offset)
            cost = sum(
                (amount for amount, _ in self.costs(person, self.tokens(person, day)).values()),
                Decimal(0),
            )
            spent += cost
            if day < today:
                spent_before += cost
        if b is None:
            return None, spent
        share = Decimal(40 + b[1] % 81) / 100
        return max(Decimal(1000), (spent_before / share).quantize(Decimal(1))), spent

    def spend_limit_near(self, person: Person, share: Decimal = Decimal("0.8")) -> bool:
        """Whether the member's month-to-date spend reached ``share`` of their own limit."""
        if self._own_limit_draw(person) is None:
            return False
        limit, spent = self.spend_limit(person)
        return limit is not None and spent >= share * limit

    def _own_limit_draw(self, person: Person) -> bytes | None:
        """The member's spend-limit draw when they have a limit of their own, else None."""
        draw = activity.digest(self.key, "spend-limit", person.id)
        return draw if draw[0] < self.config.spend_limit_share * 256 else None

    def _used_connectors(self, person: Person, since: date, until: date) -> bool:
        day = max(since, CONNECTOR_AUTH_KNOWN)
        while day <= until:
            counts = self.engagement(person, day) if person.member_on(day) else None
            if counts and counts.get("chat_connectors", 0) + counts.get("cowork_connectors", 0):
                return True
            day += timedelta(days=1)
        return False

    def members(self) -> Iterator[Person]:
        """Current members, newest first."""
        return (self.by_id[identifier] for identifier in self.roster.ids)

    def people_by_email(self, after_email: str | None = None) -> Sequence[Person]:
        """Everyone who ever was a member, by e-mail, starting after ``after_email``."""
        start = 0 if after_email is None else bisect.bisect_right(self._email_keys, after_email)
        return self.by_email[start:]

    @property
    def latest_analytics_date(self) -> date:
        """The newest day whose engagement data is published."""
        return (self.now - timedelta(hours=AGGREGATION_HOUR)).date() - timedelta(days=1)

    @property
    def watermark(self) -> datetime:
        """``data_refreshed_at``: token and cost data is complete up to here."""
        return self.now.replace(minute=0, second=0, microsecond=0) - USAGE_LAG

    def engagement_shortfall(self, day: date) -> float:
        """How far below final the engagement figures of ``day`` are reported now (0 = final)."""
        published = day_start(day) + timedelta(days=1, hours=AGGREGATION_HOUR)
        revisions = (self.now - published) // timedelta(days=1)
        if revisions >= 2:
            return 0.0
        if day not in self._first_shortfall:
            byte = activity.digest(self.key, "revision", day.toordinal())[0]
            self._first_shortfall[day] = 0.02 + byte / 255 * 0.03
        first = self._first_shortfall[day]
        return first if revisions <= 0 else first / 3

    def _in_share(self, feature: str, person: Person, share: float) -> bool:
        return activity.digest(self.key, feature, person.index)[0] < share * 256

    def groups_of(self, person: Person) -> tuple[int, ...]:
        """Indexes of the RBAC groups the person belongs to (none when the org has none)."""
        count = self.config.groups
        if not count or not self._in_share("grouped", person, self.config.group_share):
            return ()
        b = activity.digest(self.key, "groups", person.index)
        first = b[0] % count
        return (first,) if b[1] < 192 or count == 1 else tuple(sorted({first, b[2] % count}))

    def on_unified_chat(self, person: Person) -> bool:
        """Whether the person has Chat and Cowork unified (``unified_chat_share``)."""
        return self._in_share("unified", person, self.config.unified_chat_share)

    def on_claude_tag(self, person: Person) -> bool:
        """Whether the person also talks to Claude in Slack (``claude_tag_share``)."""
        return self._in_share("claude_tag", person, self.config.claude_tag_share)

    def engagement(self, person: Person, day: date) -> dict[str, int] | None:
        """The person's engagement on ``day`` as the API reports it now (None: inactive)."""
        counts = activity.day_counts(self.key, person.index, person.traits, day)
        if counts is None:
            return None
        if self.on_claude_tag(person):
            counts["tag_messages"] = 1 + activity.digest(self.key, "tag", day.toordinal())[0] % 5
        return activity.revise(counts, self.engagement_shortfall(day))

    def usage_fraction(self, day: date) -> float:
        """Share of ``day``'s final token usage that the API reports now."""
        key = (day, self.now)
        if key not in self._fractions:
            self._fractions[key] = self._usage_fraction(day)
        return self._fractions[key]

    def _usage_fraction(self, day: date) -> float:
        covered = (self.watermark - day_start(day)) / timedelta(days=1)
        if covered <= 0:
            return 0.0
        age = self.now - day_start(day) - timedelta(days=1)
        revision = sum(age >= threshold for threshold in RESTATEMENT_AGES)
        shortfall = activity.digest(self.key, "restate", day.toordinal())[0] / 255 * 0.04
        return min(1.0, covered) * (1 - shortfall / 2**revision if revision < 3 else 1.0)

    def tokens(self, person: Person, day: date) -> dict[str, TokenTuple]:
        """Per-product token usage of the person on ``day``, as reported now."""
        fraction = self.usage_fraction(day)
        if fraction <= 0 or not person.member_on(day):
            return {}
        counts = activity.day_counts(self.key, person.index, person.traits, day)
        if counts is None:
            return {}
        return {
            product: scaled
            for product, tokens in activity.product_tokens(counts).items()
            if any(scaled := activity.scale_tokens(tokens, fraction))
        }

    def costs(
        self, person: Person, products: dict[str, TokenTuple]
    ) -> dict[str, tuple[Decimal, Decimal]]:
        """(amount, list amount) in cents per product for one person-day's ``products``.

        On seat plans the report reflects usage credits only: a daily allowance is used up
        product by product before any amount is reported.
        """
        allowance = SEAT_ALLOWANCE_CENTS if self.config.plan == "seat" else Decimal(0)
        result = {}
        for product, tokens in products.items():
            amount, listed = activity.cost_cents(tokens, person.traits.model)
            covered = min(allowance, amount)
            allowance -= covered
            result[product] = (amount - covered, listed)
        return result

    def api_key_usage(self, index: int, day: date) -> tuple[TokenTuple, Decimal] | None:
        """Tokens and cost (cents) of usage attributed to API key ``index`` itself (no member
        behind it; Console orgs only), as reported now; None on days the key was not used."""
        record = self.api_keys[index]
        fraction = self.usage_fraction(day)
        b = activity.digest(self.key, "api-key-usage", record["id"], day.toordinal())
        console = self.config.org_kind == "console"  # Enterprise usage is all seat members'
        if not console or fraction <= 0 or record["status"] != "active" or b[0] >= 96:
            return None
        full = (b[1] * 900, b[2] * 4000, b[3] * 90, 0, b[4] * 150, 0, 1 + b[5] % 40)
        tokens = activity.scale_tokens(full, fraction)  # type: ignore[arg-type]
        return tokens, activity.cost_cents(tokens, activity.MODELS[0])[0]

    # --- churn ----------------------------------------------------------------------------

    def advance(
        self,
        *,
        hours: float = 0,
        days: float = 0,
        add: int = 0,
        remove: int = 0,
        role_changes: int = 0,
        key_changes: int = 0,
        promotions: int = 0,
        seed: int | None = None,
    ) -> Churn:
        """Move the clock forward and apply seeded churn at the new ``now``.

        ``role_changes`` members swap between ``user`` and ``managed`` (an admin-class member
        becomes a ``user``); ``promotions`` other members without an admin-class role are
        granted one (``PROMOTED_ROLES``). ``key_changes`` API keys are each created, archived
        and deleted; members removed by ``remove`` keep the keys they created (keys outlive
        their creators).
        """
        if min(hours, days, add, remove, role_changes, key_changes, promotions) < 0:
            raise ValueError("advance takes non-negative amounts")
        self._advances += 1
        rng = random.Random(f"{self.config.seed}:{self._advances if seed is None else seed}")
        self.now += timedelta(hours=hours, days=days)
        churn = Churn()
        for _ in range(add):
            churn.added.append(self._new_person(rng, self.now))
        new = {p.id for p in churn.added}
        candidates = [p for p in self.members() if p.role != "primary_owner" and p.id not in new]
        for person in rng.sample(candidates, min(remove, len(candidates))):
            person.removed_at = self.now
            person.account_deleted = rng.random() < 0.25
            churn.removed.append(person)
        remaining = [p for p in candidates if p.removed_at is None]
        for person in rng.sample(remaining, min(role_changes, len(remaining))):
            before = person.role
            person.role = {"user": "managed", "managed": "user"}.get(before, "user")
            churn.role_changes.append((person, before, person.role))
        if promotions:
            changed = {person.id for person, _, _ in churn.role_changes}
            eligible = [p for p in remaining if p.id not in changed and p.role not in ADMIN_ROLES]
            for person in rng.sample(eligible, min(promotions, len(eligible))):
                before, person.role = person.role, rng.choice(PROMOTED_ROLES)
                churn.role_changes.append((person, before, person.role))
        if key_changes:
            churn.keys = self._change_keys(rng, key_changes)
        self._reindex()
        return churn

    def _change_keys(self, rng: random.Random, count: int) -> dict[str, list[str]]:
        active = [record for record in self.api_keys if record["status"] == "active"]
        archived = rng.sample(active, min(count, len(active)))
        for record in archived:
            record["status"] = "archived"
        deleted = rng.sample(self.api_keys, min(count, len(self.api_keys)))
        gone = {record["id"] for record in deleted}
        self.api_keys = [record for record in self.api_keys if record["id"] not in gone]
        owners = list(self.members())
        created = []
        for _ in range(count):
            owner = rng.choice(owners)
            serial = self._keys_drawn
            self._keys_drawn += 1
            hint = activity.digest(self.key, "hint", serial).hex()
            created.append(
                {
                    "id": tagged_id("apikey_", self.key, serial),
                    "name": f"{owner.name.split()[0].lower()}-{rng.choice(_KEY_USES)}",
                    "status": "active",
                    "created_at": self.now,
                    "partial_key_hint": f"sk-ant-api03-{hint[:3]}...{hint[-4:]}",
                    "workspace_id": None,
                    "user_id": owner.id,
                }
            )
        self.api_keys = created + self.api_keys
        self.keys_version += 1
        return {
            "created": [record["id"] for record in created],
            "archived": [record["id"] for record in archived if record["id"] not in gone],
            "deleted": sorted(gone),
        }

    # --- ground truth -----------------------------------------------------------------------

    def directory(self) -> list[dict[str, str]]:
        """The managed-identity directory: every managed person, departed ones deprovisioned."""
        return [
            {
                "email": p.email,
                "employee_id": p.employee_id,
                "status": "deprovisioned" if p.deprovisioned or p.removed_at else "active",
            }
            for p in self.people
            if p.managed
        ]

    def write_directory(self, path: Path) -> None:
        lines = (json.dumps(entry, sort_keys=True) for entry in self.directory())
        path.write_text("".join(f"{line}\n" for line in lines))

    def usage_truth(self, person: Person, day: date) -> dict[str, Any]:
        """What the API reports now for one person and day; empty when they were inactive."""
        figures: dict[str, Any] = {}
        if day <= self.latest_analytics_date and person.member_on(day):
            counts = self.engagement(person, day)
            if counts:
                figures.update(
                    message_count=sum(v for k, v in counts.items() if k.endswith("_messages")),
                    session_count=sum(v for k, v in counts.items() if k.endswith("_sessions")),
                    chat_message_count=counts.get("chat_messages", 0),
                    claude_code_session_count=counts.get("code_sessions", 0),
                    web_search_count=counts.get("web_searches", 0),
                )
        products = self.tokens(person, day)
        if products:
            totals = [sum(column) for column in zip(*products.values(), strict=True)]
            costs = self.costs(person, products).values()
            figures.update(
                uncached_input_tokens=totals[0],
                output_tokens=totals[4],
                total_tokens=sum(totals[:5]),
                requests=totals[6],
                cost_cents=f"{sum((amount for amount, _ in costs), Decimal(0)):.6f}",
                list_cost_cents=f"{sum((listed for _, listed in costs), Decimal(0)):.6f}",
            )
        return figures

    def truth(
        self, *, since: date | None = None, until: date | None = None, usage: bool = True
    ) -> dict[str, Any]:
        """``GET /_sim/truth``: the roster, who is managed, and usage per user per day."""
        latest = self.latest_analytics_date
        since = since or latest - timedelta(days=6)
        until = until or self.now.date()
        result: dict[str, Any] = {
            "now": rfc3339(self.now),
            "latest_analytics_date": latest.isoformat(),
            "data_refreshed_at": rfc3339(self.watermark),
            "organization_id": self.id,
            "corporate_domains": list(CORPORATE_DOMAINS),
            "managed_connectors": sorted(CONNECTORS[n][0] for n in self.managed_connectors),
            "users": [
                {
                    "id": p.id,
                    "email": p.email,
                    "name": p.name,
                    "role": p.role,
                    "added_at": rfc3339(p.added_at),
                    "workspaces": [self.workspaces[w]["id"] for w, _ in p.workspaces],
                    "managed": p.managed,
                    "deprovisioned": p.deprovisioned,
                    "personal_domain": p.email.rsplit("@", 1)[1] in PERSONAL_DOMAINS,
                    "risks": self.risks(p, since, min(until, latest)),
                }
                for p in self.members()
            ],
            "invites": [
                {
                    "id": record["id"],
                    "email": record["email"],
                    "status": record["status"],
                    "risks": ["PERSONAL_INVITE"]
                    if record["personal"] and record["status"] == "pending"
                    else [],
                }
                for record in self.invites
            ],
            "removed": [
                {
                    "id": p.id,
                    "email": None if p.account_deleted else p.email,
                    "removed_at": rfc3339(p.removed_at),
                }
                for p in self.people
                if p.removed_at is not None
            ],
        }
        if usage:
            days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
            table: dict[str, dict[str, Any]] = {}
            for person in self.people:
                per_day = {
                    day.isoformat(): figures
                    for day in days
                    if (figures := self.usage_truth(person, day))
                }
                if per_day:
                    table[person.id] = per_day
            result["usage"] = table
        return result
