"""Read-only web views over the tables (JSON via orjson), on Faust's web server.

=================== ===============================================================
``/health``         ``{status: ready|starting, app_id, url, partitions, partitions_total,
                    events}`` (``url``: where the other workers reach this one; ``events``:
                    input messages this worker process applied, by topic)
                    (200 when ready, 503 while starting or recovering; never needs a token)
``/users``          members with ``surfaces``, ``connectors``, ``spend_usd``,
                    ``last_active_day`` and ``idle``: ``?org=&role=&status=member|removed|all
                    &sort=email|spend|last_active&idle=true|false&limit=&offset=``
``/users/{id}``     one member (``id`` is ``user_...`` or ``org:user_...``) with ``usage``
                    (totals per family and the last 31 days),
                    ``associations``, ``directory``, ``alerts`` and ``activity`` (last login
                    and method, connectors, last role change and who made it)
``/alerts``         ``?state=open|resolved|all`` (default open) ``&reason=&org=&user_id=``
``/decisions``      POST: a triage decision from the page (``streams.worker.triageview``)
``/identities``     one finding per member: ``?state=open|all`` (default open: members with an
                    alert open, acknowledged or reopened) ``&org=&email=``; highest severity
                    first (``streams.worker.identities``)
``/keys``           API and Admin keys created (Activity Feed), newest first: ``?org=``
``/status``         the latest status of every connector
``/metrics``        Prometheus text: counters plus table and alert gauges
``/insights``       adoption, spend, idle seats and alerts over N days
                    (``streams.worker.insightsview``)
=================== ===============================================================

List views answer ``{"data": [...], "count": n, "total": t, "partitions": [...],
"partitions_total": N, "ready": bool, "complete": bool}`` (``count`` items on this page of
``total`` that match, see ``limit`` and ``offset``). A worker holds only the partitions
assigned to it; it asks the other workers of its app id for theirs (``streams.worker.peers``)
and merges, unless asked with ``scope=local``. ``partitions`` says which partitions of the
per-member topics answered; ``complete`` is true when that is all of them and every worker
that answered had its tables recovered (``ready``). ``/users/{id}`` asks the other workers
when the member is not on this one. A bad query parameter is a 400 with ``{"error": ...}``.
When ``WEB_TOKEN`` is set every view but ``/health`` needs ``Authorization: Bearer <token>``
(else 401); a worker sends its token on only to workers of its app id (``Peers``).

Every view but ``/health`` refuses (403) a request whose ``Host`` is not a name the worker is
known by (``allowed_hosts``: the bind address, the advertised URL's host, the loopback names
and ``WEB_ALLOWED_HOSTS``), so a web page in a browser cannot read the views through DNS
rebinding. Every answer carries ``Cache-Control: no-store`` and
``X-Content-Type-Options: nosniff``. A list's ``offset + limit`` is at most ``MAX_WINDOW``:
no request sorts or sends more items than that per worker. Without a token the worker serves
its views on a loopback address only, unless asked to with ``--insecure-no-token``
(``check_exposure``).
"""

from __future__ import annotations

import heapq
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import faust
import orjson
from faust.web import Request, Response, View

from streams.config import Settings
from streams.errors import ConfigError
from streams.events.records import AlertReason, AppKind
from streams.insights import MICRO_CENTS_PER_USD, Window, is_idle
from streams.worker.channels import active_partitions
from streams.worker.context import WorkerContext
from streams.worker.faustseam import recovery_completed
from streams.worker.identities import ALL_STATE, OPEN_STATE, identity_order, identity_view
from streams.worker.insightfacts import member_facts
from streams.worker.metrics import METRICS
from streams.worker.peers import LOCAL, Peers, peer_urls
from streams.worker.rows import MEMBER, REMOVED, ActivityRow, AlertsRow, UsageRow, UserRow
from streams.worker.rules import spend_limit_facts
from streams.worker.state import Tables, lookup_directory, usage_totals
from streams.worker_process import WILDCARD_HOSTS

MAX_WINDOW = 10_000
"""The most items one list request may reach (``offset + limit``)."""
DAYS_SHOWN = 31
DEFAULT_LIMIT = 1_000
SORTS = ("email", "spend", "last_active")
USER_FIELDS = (
    "id", "org_id", "email", "name", "role", "workspaces", "added_at", "status",
    "first_seen", "last_seen", "baseline", "connector", "source", "groups",
)


class PartitionedRow(Protocol):
    """A per-member row: it knows its partition."""

    @property
    def partition(self) -> int: ...


class BadRequest(ValueError):
    """A query parameter the view cannot use."""


def user_view(row: UserRow) -> dict[str, Any]:
    """A ``users`` row as the views show it (``id`` is the user id)."""
    return {name: row.user_id if name == "id" else getattr(row, name) for name in USER_FIELDS}


def spend_limit_view(tables: Tables, key: str) -> dict[str, Any]:
    """A member's effective spend limits per period (USD; ``limit_usd`` None: no limit) and
    the day they were read on (empty without the Spend Limits API)."""
    row = tables.spend_limits.get(key)
    if row is None:
        return {}
    return {
        "day": row.day,
        "periods": {
            fact.period: {
                "spent_usd": round(fact.spent / MICRO_CENTS_PER_USD, 2),
                "limit_usd": None if fact.limit is None
                else round(fact.limit / MICRO_CENTS_PER_USD, 2),
                "increase_requested": fact.increase_requested,
            }
            for fact in spend_limit_facts(row.totals)
        },
    }


def alert_views(row: AlertsRow, state: str) -> list[dict[str, Any]]:
    """The alerts of one ``alerts`` row in ``state`` (open, resolved or all), as shown."""
    common = {"org_id": row.org_id, "user_id": row.user_id, "email": row.email}
    found: list[dict[str, Any]] = []
    if state in ("open", "all"):
        found += [
            {**common, **asdict(alert), "reason": reason, "state": "OPENED"}
            for reason, alert in sorted(row.open.items())
        ]
    if state in ("resolved", "all"):
        found += [{**common, **asdict(alert), "state": "RESOLVED"} for alert in row.resolved]
    return found


def usage_view(tables: Tables, key: str, usage: UsageRow | None) -> dict[str, Any]:
    """A member's usage: totals per family, and per-day aggregates of the last ``DAYS_SHOWN``."""
    days: dict[str, Any] = {}
    if usage is not None:
        last = date.fromisoformat(usage.last_day)
        for back in range(DAYS_SHOWN):
            day = (last - timedelta(days=back)).isoformat()
            if day < usage.first_day:
                break
            entry = tables.usage_days.get(f"{key}:{day}")
            if entry is not None:
                days[day] = entry.families
    return {
        "totals": usage_totals(tables.usage, tables.usage_days, key),
        "first_day": usage and usage.first_day,
        "last_day": usage and usage.last_day,
        "last_active_day": usage and usage.last_active_day,
        "days": dict(sorted(days.items())),
    }


def choice(query: Mapping[str, str], name: str, allowed: Iterable[str], default: str) -> str:
    """A query parameter that must be one of ``allowed``."""
    value = query.get(name, default)
    options = list(allowed)
    if value not in options:
        raise BadRequest(f"{name} must be one of {', '.join(options)}; got {value!r}")
    return value


def bounded_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer; got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}; got {value}")
    return value


def authorized(header: str | None, token: str | None) -> bool:
    """True when no token is configured or ``header`` is ``Bearer <token>`` (constant time)."""
    if not token:
        return True
    scheme, _, given = (header or "").partition(" ")
    try:
        presented = given.strip().encode()
    except UnicodeEncodeError:  # bytes that are not UTF-8 arrive as surrogates: not our token
        return False
    return scheme.lower() == "bearer" and hmac.compare_digest(presented, token.encode())


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, insecure_no_token: bool) -> None:
    """Refuse to serve the views beyond this host without ``WEB_TOKEN`` (unless insisted)."""
    if settings.web_token or insecure_no_token or is_loopback(settings.web_host):
        return
    raise ConfigError(
        f"WEB_HOST={settings.web_host} serves the views beyond this host but WEB_TOKEN is "
        "not set: set WEB_TOKEN, bind a loopback address, or pass --insecure-no-token"
    )


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The ``Host`` names (without port) a request may carry: the loopback names, the bind
    address unless it is a wildcard, the advertised URL's host and ``WEB_ALLOWED_HOSTS``
    (``*``: any)."""
    names = set(LOOPBACK_NAMES) | set(settings.web_allowed_hosts)
    bind = settings.web_host.strip().strip("[]").lower()
    if bind and bind not in WILDCARD_HOSTS:
        names.add(bind)
    advertised = urlsplit(settings.advertised_web_url() or "").hostname
    if advertised:
        names.add(advertised.lower())
    return frozenset(names)


def host_name(header: str | None) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:80`` → ``::1``)."""
    text = (header or "").strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    return text.rpartition(":")[0] if text.count(":") == 1 else text


def _rows(table: Mapping[str, PartitionedRow], partitions: set[int]) -> Iterator[PartitionedRow]:
    return (row for row in table.values() if row.partition in partitions)


def ready(app: faust.App) -> bool:
    """True once the worker has its partitions and its tables are recovered."""
    return recovery_completed(app) and not app.rebalancing and not app.in_recovery


class JsonView(View):
    """Host and token checks, JSON encoding, 400s for bad parameters, and the security headers
    on every answer.

    ``register_views`` serves each view with its app's ``context``, the ``Host`` names it
    takes and the ``peers`` client.
    """

    needs_token = True
    context: ClassVar[WorkerContext]
    hosts: ClassVar[frozenset[str]]
    peers: ClassVar[Peers]

    @property
    def tables(self) -> Tables:
        return self.context.tables.core

    def active_partitions(self, topic: faust.TopicT) -> list[int]:
        """This worker's partitions of ``topic``."""
        return active_partitions(self.context.app, topic.get_topic_name())

    def partition_count(self, topic: faust.TopicT) -> int:
        return self.context.channels.partition_count(topic.get_topic_name())

    def respond(self, body: Any, status: int = 200) -> Response:
        return self.bytes(orjson.dumps(body), content_type="application/json", status=status)

    async def get(self, request: Request, **match: str) -> Response:
        response = await self.checked_answer(request, **match)
        response.headers.update(SECURITY_HEADERS)
        return response

    def known_host(self, request: Request) -> bool:
        """True when the request's ``Host`` names this worker (or any name is taken)."""
        return "*" in self.hosts or host_name(request.headers.get("Host")) in self.hosts

    async def checked_answer(self, request: Request, **match: str) -> Response:
        if self.needs_token:
            if not self.known_host(request):
                return self.respond({"error": "unknown Host: use the worker's configured name"},
                                    403)
            web_token = self.context.settings.web_token
            token = web_token.reveal() if web_token else None
            if not authorized(request.headers.get("Authorization"), token):
                return self.respond({"error": "missing or wrong bearer token"}, 401)
        try:
            return await self.answer(request, **match)
        except BadRequest as exc:
            return self.respond({"error": str(exc)}, 400)

    async def ask_peers(self, request: Request, params: Mapping[str, str]
                        ) -> list[tuple[int, Any]]:
        """The other workers' ``scope=local`` answers to this request's path."""
        urls = peer_urls(self.context.app)
        return await self.peers.ask(urls, request.url.raw_path, params) if urls else []

    async def answer(self, request: Request, **match: str) -> Response:
        raise NotImplementedError


def scope_of(query: Mapping[str, str]) -> str:
    """``all`` (default: this worker asks the others too) or ``local`` (its partitions only)."""
    return choice(query, "scope", ("all", LOCAL), "all")


class ListView(JsonView):
    """A list over this worker's partitions of ``topic()``, merged with the other workers'.

    Subclasses give ``items`` (every match on the given partitions) and ``order`` (the sort
    key; ``newest_first`` reverses it). Each other worker is asked for its first
    ``offset + limit`` items, so the merged page is exact; only those are sorted. An item
    may hold just what the order needs: ``render`` completes the first ``offset + limit``.
    """

    newest_first = False

    def topic(self) -> faust.TopicT:
        return self.context.channels.user_events

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def order(self, item: dict[str, Any]) -> Any:
        raise NotImplementedError

    def ordering(self, query: Mapping[str, str]) -> tuple[Callable[[dict[str, Any]], Any], bool]:
        """The sort key and whether the largest come first (default: ``order``,
        ``newest_first``)."""
        return self.order, self.newest_first

    def render(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items as shown (by default as ``items`` made them)."""
        return items

    def first(self, items: list[dict[str, Any]], count: int, query: Mapping[str, str]
              ) -> list[dict[str, Any]]:
        """The first ``count`` of ``items`` in the order ``query`` asks for."""
        key, largest_first = self.ordering(query)
        pick = heapq.nlargest if largest_first else heapq.nsmallest
        return pick(count, items, key=key)

    async def answer(self, request: Request, **match: str) -> Response:
        query = request.query
        scope = scope_of(query)
        limit = bounded_int(query, "limit", DEFAULT_LIMIT, 1, MAX_WINDOW)
        offset = bounded_int(query, "offset", 0, 0, MAX_WINDOW - limit)
        window = offset + limit
        topic = self.topic()
        answered = self.active_partitions(topic)
        matches = self.items(query, set(answered))
        items = self.render(self.first(matches, window, query))
        total, all_ready = len(matches), ready(self.context.app)
        if scope == "all":
            asked = {k: v for k, v in query.items() if k not in ("limit", "offset", "scope")}
            asked["limit"] = str(window)
            for _, body in await self.ask_peers(request, asked):
                items += body.get("data", [])[:window]
                total += body.get("total", 0)
                answered += body.get("partitions", [])
                all_ready = all_ready and body.get("ready", False)
        shown = self.first(items, window, query)[offset:]
        partitions = self.partition_count(topic)
        return self.respond(
            {
                "data": shown,
                "count": len(shown),
                "total": total,
                "partitions": sorted(set(answered)),
                "partitions_total": partitions,
                "ready": all_ready,
                "complete": set(range(partitions)) <= set(answered) and all_ready,
            }
        )


class HealthView(JsonView):
    """Readiness: 200 once partitions are assigned and tables recovered, 503 before."""

    needs_token = False

    async def answer(self, request: Request, **match: str) -> Response:
        app = self.context.app
        is_ready = ready(app)
        topic = self.context.channels.user_events
        return self.respond(
            {
                "status": "ready" if is_ready else "starting",
                "app_id": app.conf.id,
                "url": str(app.conf.canonical_url),
                "partitions": self.active_partitions(topic),
                "partitions_total": self.partition_count(topic),
                "events": METRICS.by_label("claude_worker_events_total", "topic"),
            },
            200 if is_ready else 503,
        )


class UsersView(ListView):
    """Members (by default only current ones) with their surfaces, connectors, spend and last
    active day; sorted by org and e-mail, or ``sort=spend`` (highest first) or
    ``sort=last_active`` (most recent first); ``idle=true|false`` keeps idle members (no
    activity for ``IDLE_DAYS``) or the others; ``group=NAME_OR_ID`` keeps the members of an
    RBAC group."""

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        status = choice(query, "status", (MEMBER, REMOVED, "all"), MEMBER)
        choice(query, "sort", SORTS, "email")
        idle = choice(query, "idle", ("true", "false", "any"), "any")
        org, role, group = query.get("org"), query.get("role"), query.get("group")
        window = self.window()
        found = []
        for key, row in self.tables.users.items():
            if (
                row.partition in partitions
                and (status == "all" or row.status == status)
                and (org is None or row.org_id == org)
                and (role is None or row.role == role)
                and (group is None or in_group(row, group))
            ):
                if idle == "any":
                    found.append(MemberSummary(key, row, self.tables.usage.get(key)))
                    continue
                item = member_row(self.tables, key, row, window)
                if item["idle"] == (idle == "true"):
                    found.append(item)
        return found

    def window(self) -> Window:
        """The days that make a member idle, up to today."""
        return Window(datetime.now(UTC).date(), 1, self.context.settings.idle_days)

    def render(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        window = self.window()
        return [member_row(self.tables, item.key, item.row, window)
                if isinstance(item, MemberSummary) else item for item in items]

    def order(self, item: dict[str, Any]) -> Any:
        return (item["org_id"], (item["email"] or "").lower(), item["id"])

    def ordering(self, query: Mapping[str, str]) -> tuple[Callable[[dict[str, Any]], Any], bool]:
        sort = query.get("sort", "email")
        if sort == "spend":
            return (lambda item: (-item["spend_usd"], self.order(item))), False
        if sort == "last_active":
            return (lambda item: (item["last_active_day"] or "", item["id"])), True
        return self.order, False


class MemberSummary(dict[str, Any]):
    """What ``/users`` sorts a member by (its ``order`` and ``ordering`` keys), with the row
    to render it from once it is on the page: rendering every member of a large org took
    seconds for a page of one."""

    def __init__(self, key: str, row: UserRow, usage: UsageRow | None) -> None:
        super().__init__(
            org_id=row.org_id, email=row.email, id=row.user_id,
            spend_usd=spend_usd(usage),
            last_active_day=None if usage is None else usage.last_active_day,
        )
        self.key, self.row = key, row


def spend_usd(usage: UsageRow | None) -> float:
    """A member's spend over every day, in USD."""
    return round((0 if usage is None else usage.spend_micros) / MICRO_CENTS_PER_USD, 2)


def in_group(row: UserRow, group: str) -> bool:
    """Whether the member belongs to the group named or identified by ``group``."""
    return group in row.groups or group in row.groups.values()


def member_row(tables: Tables, key: str, row: UserRow, window: Window) -> dict[str, Any]:
    """A member as ``/users`` lists it: the user fields, surfaces, connectors, spend, idle."""
    usage = tables.usage.get(key)
    associations = tables.associations.get(key)
    items = sorted(() if associations is None else associations.items.values(),
                   key=lambda item: (item.kind, item.name, item.auth))
    facts = member_facts(tables, key, row, usage)
    return {
        **user_view(row),
        "surfaces": sorted({item.name for item in items if item.kind == AppKind.SURFACE.value}),
        "connectors": [{"name": item.name, "auth": item.auth}
                       for item in items if item.kind == AppKind.CONNECTOR.value],
        "spend_usd": spend_usd(usage),
        "last_active_day": None if usage is None else usage.last_active_day,
        "idle": facts.member and is_idle(facts, window),
        "spend_limits": spend_limit_view(tables, key),
    }


class UserView(JsonView):
    """One member with usage, associations, directory entry and alerts (asks the other
    workers when the member is on none of this worker's partitions)."""

    async def answer(self, request: Request, **match: str) -> Response:
        wanted = match["user_id"]
        topic = self.context.channels.user_events
        answered = self.active_partitions(topic)
        found = self.find(self.tables.users, wanted, set(answered))
        if found is not None:
            key, row = found
            return self.respond({"data": self.detail(key, row), "partitions": answered})
        if scope_of(request.query) == "all":
            for status, body in await self.ask_peers(request, {}):
                if status == 200:
                    return self.respond(body)
                answered += body.get("partitions", [])
        return self.respond(
            {
                "error": f"user {wanted} not found",
                "partitions": sorted(set(answered)),
                "partitions_total": self.partition_count(topic),
            },
            404,
        )

    @staticmethod
    def find(users: Mapping[str, UserRow], wanted: str, partitions: set[int]
             ) -> tuple[str, UserRow] | None:
        """The ``users`` key and row of ``org:user`` (looked up) or of a bare user id (the
        first member with it), on one of ``partitions``."""
        if ":" in wanted:
            row = users.get(wanted)
            return None if row is None or row.partition not in partitions else (wanted, row)
        return next(
            (
                (key, row)
                for key, row in users.items()
                if key.rpartition(":")[2] == wanted and row.partition in partitions
            ),
            None,
        )

    def detail(self, key: str, row: UserRow) -> dict[str, Any]:
        tables = self.tables
        associations = tables.associations.get(key)
        alerts = tables.alerts.get(key)
        directory = lookup_directory(tables.directory, row.org_id, row.email, row.partition)
        return {
            **user_view(row),
            "usage": usage_view(tables, key, tables.usage.get(key)),
            "associations": sorted(
                () if associations is None else associations.items.values(),
                key=lambda item: (item.kind, item.name),
            ),
            "directory": directory,
            "alerts": alert_views(alerts, "all") if alerts else [],
            "activity": activity_view(tables.activity.get(key)),
            "spend_limits": spend_limit_view(tables, key),
        }


def activity_view(row: ActivityRow | None) -> dict[str, Any]:
    """What the Activity Feed said about a member (empty without the feed)."""
    if row is None:
        return {}
    return {
        "last_login_at": row.last_login_at,
        "last_login_method": row.last_login_method,
        "connectors": sorted(row.connectors.values(), key=lambda link: link["connected_at"]),
        "role_change": row.role_change,
        "keys_created": sorted(row.keys_created),
    }


class KeysView(ListView):
    """API and Admin keys created in each org (from the Activity Feed), newest first:
    ``?org=``."""

    newest_first = True

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        org = query.get("org")
        return [
            {"org_id": row.org_id, "key_id": key_id, **created}
            for row in _rows(self.tables.activity, partitions)
            if org is None or row.org_id == org
            for key_id, created in row.keys_created.items()
        ]

    def order(self, item: dict[str, Any]) -> Any:
        return (item["created_at"], item["key_id"])


class AlertsView(ListView):
    """Alerts by state (default: open), newest first."""

    newest_first = True

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        state = choice(query, "state", ("open", "resolved", "all"), "open")
        reason = query.get("reason")
        if reason is not None:
            known = [r.value for r in AlertReason if r is not AlertReason.UNKNOWN]
            choice(query, "reason", known, "")
        org, user_id = query.get("org"), query.get("user_id")
        return [
            alert
            for row in _rows(self.tables.alerts, partitions)
            if (org is None or row.org_id == org)
            and (user_id is None or row.user_id == user_id)
            for alert in alert_views(row, state)
            if reason is None or alert["reason"] == reason
        ]

    def order(self, item: dict[str, Any]) -> Any:
        return (item["opened_at"], item["alert_id"])


class IdentitiesView(ListView):
    """One finding per member with alerts, highest severity first."""

    newest_first = True

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        state = choice(query, "state", (OPEN_STATE, ALL_STATE), OPEN_STATE)
        org, email = query.get("org"), query.get("email")
        decisions = self.tables.decisions
        now = datetime.now(UTC)
        found = (
            identity_view(row, decisions.get, now, state)
            for row in _rows(self.tables.alerts, partitions)
            if (org is None or row.org_id == org)
            and (email is None or (row.email or "").strip().lower() == email.strip().lower())
        )
        return [item for item in found if item is not None]

    def order(self, item: dict[str, Any]) -> Any:
        return identity_order(item)


class StatusView(ListView):
    """The latest status of every connector (held by the worker with the status partition)."""

    def topic(self) -> faust.TopicT:
        return self.context.channels.connector_status

    def items(self, query: Mapping[str, str], partitions: set[int]) -> list[dict[str, Any]]:
        if not partitions:
            return []
        return [{name: value for name, value in asdict(row).items() if name != "applied"}
                for row in self.tables.status.values()]

    def order(self, item: dict[str, Any]) -> Any:
        return (item["org_id"], item["connector"])


class MetricsView(JsonView):
    """Prometheus text exposition (this worker's counters and partitions)."""

    async def answer(self, request: Request, **match: str) -> Response:
        answered = set(self.active_partitions(self.context.channels.user_events))
        gauges: list[tuple[str, str, tuple[tuple[str, str], ...], float]] = [
            ("claude_worker_table_rows", "Table rows on this worker's partitions.",
             (("table", name),), sum(1 for _ in _rows(getattr(self.tables, name), answered)))
            for name in ("users", "usage", "associations", "alerts")
        ]
        members = sum(1 for row in _rows(self.tables.users, answered) if row.status == MEMBER)
        gauges.append(("claude_worker_members", "Current members on this worker's partitions.",
                       (), members))
        open_by_reason: dict[str, int] = {}
        for row in _rows(self.tables.alerts, answered):
            for reason in row.open:
                open_by_reason[reason] = open_by_reason.get(reason, 0) + 1
        for reason, count in sorted(open_by_reason.items()):
            gauges.append(("claude_worker_open_alerts", "Open alerts by reason.",
                           (("reason", reason),), count))
        for status in self.tables.status.values():
            for result, count in status.feed_reconciliation.items():
                gauges.append(("claude_connector_feed_reconciliation",
                               "Activity Feed changes the roster confirmed or contradicted, and "
                               "changes only the roster saw (cumulative, per connector).",
                               (("connector", status.connector), ("result", result)), count))
        gauges.append(("claude_worker_ready", "1 when partitions are assigned and recovered.",
                       (), 1.0 if ready(self.context.app) else 0.0))
        return self.text(METRICS.render(gauges), content_type="text/plain; version=0.0.4")


VIEWS: dict[str, type[JsonView]] = {
    "/health": HealthView,
    "/users": UsersView,
    "/users/{user_id}": UserView,
    "/keys": KeysView,
    "/alerts": AlertsView,
    "/identities": IdentitiesView,
    "/status": StatusView,
    "/metrics": MetricsView,
}


def register_views(context: WorkerContext, *more: Mapping[str, type[JsonView]]) -> None:
    """Serve every view (``VIEWS`` and those of ``more``) on the context's app, each reading
    that context, with one ``Peers`` client (closed when the app stops)."""
    settings = context.settings
    shared = {
        "context": context,
        "hosts": allowed_hosts(settings),
        "peers": Peers(settings.worker_app_id, settings.web_token),
    }
    for views in (VIEWS, *more):
        for path, view in views.items():
            context.app.page(path)(type(view.__name__, (view,), shared))

    @context.app.on_before_shutdown.connect
    async def close_peers(app: faust.App, **kwargs: Any) -> None:
        await shared["peers"].aclose()
