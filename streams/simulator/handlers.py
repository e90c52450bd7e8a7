"""The documented endpoints: parse the query, read the org, return the documented payload.

Every method of ``Api`` takes the query (a multidict) and path parameters and returns the
JSON-ready body, or raises ``SimError`` with the documented status and error type. Paging:
ID cursors for the Admin lists, opaque ``page`` tokens for Analytics and the reports.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from streams.simulator import activity, cursors, shapes
from streams.simulator.activity import PRODUCTS
from streams.simulator.org import (
    CONNECTOR_AUTH_KNOWN,
    CONNECTORS,
    DATA_FLOOR,
    SKILLS,
    OrderedIndex,
    Org,
    Person,
    day_start,
    rfc3339,
)

_CACHE_SIZE = 16
_ACTOR_DAYS = 32
_SUMMARY_PRODUCTS = {
    "chat": "chat_",
    "claude_code": "code_",
    "cowork": "cowork_",
    "office_agent": "office_",
    "claude_design": "design_",
    "science": "science_",
}


class Query(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getall(self, key: str, default: Any = ...) -> list[Any]: ...
    def items(self) -> Iterable[tuple[str, str]]: ...


class SimError(Exception):
    """An API error answer: status, documented ``error.type`` and message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def bad_request(message: str) -> SimError:
    return SimError(400, "invalid_request_error", message)


def not_found(message: str) -> SimError:
    return SimError(404, "not_found_error", message)


def cursor_expired() -> SimError:
    """410 for a ``page`` cursor cut before the data was refreshed."""
    return SimError(
        410,
        "invalid_request_error",
        "page: the cursor expired because the data was refreshed; restart from the first page",
    )


# --- parameter parsing -----------------------------------------------------------------------


def _int(query: Query, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: must be an integer") from None
    if not low <= value <= high:
        raise bad_request(f"{name}: must be between {low} and {high}")
    return value


def _date(query: Query, name: str) -> date | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{name}: expected a YYYY-MM-DD date, got {raw!r}") from None


def _moment(query: Query, name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{name}: expected an RFC 3339 timestamp, got {raw!r}") from None
    if value.tzinfo is None:
        raise bad_request(f"{name}: the timestamp must carry a timezone")
    return value.astimezone(UTC)


def _choices(query: Query, name: str, allowed: Iterable[str]) -> list[str]:
    values = query.getall(f"{name}[]", [])
    allowed = tuple(allowed)
    for value in values:
        if value not in allowed:
            raise bad_request(f"{name}[]: unsupported value {value!r}")
    return values


def _report_group_by(query: Query, cost: bool) -> list[str]:
    """A usage or cost report's ``group_by[]``; cost reports also group by cost and token type."""
    extra = ("cost_type", "token_type") if cost else ()
    return _choices(query, "group_by", (*shapes.REPORT_DIMENSIONS, *extra))


def _flag(query: Query, name: str) -> bool:
    raw = query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise bad_request(f"{name}: expected true or false")
    return raw == "true"


def _cursor(query: Query, fingerprint: str) -> dict[str, Any] | None:
    token = query.get("page")
    if token is None:
        return None
    try:
        state = cursors.decode(token)
    except cursors.CursorInvalid:
        raise bad_request("page: not a valid page cursor") from None
    if state.get("q") != fingerprint:
        raise bad_request("page: the cursor does not match the current query parameters")
    return state


def _offset_page(
    rows: Sequence[dict[str, Any]], offset: int, limit: int, state: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    chunk = list(rows[offset : offset + limit])
    more = offset + limit < len(rows)
    return chunk, cursors.encode({**state, "o": offset + limit}) if more else None


def _ordinal_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _add_totals(
    totals: dict[Any, list[Any]], key: Any, tokens: Sequence[int], amount: Decimal, listed: Decimal
) -> None:
    """Add to ``totals[key]``: a ``[tokens, amount, list amount]`` slot, created at zero."""
    slot = totals.setdefault(key, [[0] * 7, Decimal(0), Decimal(0)])
    slot[0] = [a + b for a, b in zip(slot[0], tokens, strict=True)]
    slot[1] += amount
    slot[2] += listed


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int = _CACHE_SIZE) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = compute()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class Api:
    """The documented endpoints over one ``Org``."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._reports = _Lru()
        self._offloaded = _Lru()
        self._offloaded_lock = threading.Lock()
        """Usage & Cost reports and spend limits are built off the event loop
        (``Route.offload``): one at a time, in their own cache, so the other endpoints keep
        answering meanwhile."""
        self._actor_days = _Lru(_ACTOR_DAYS)
        self._actor_days_at: datetime | None = None
        """Per-day actor usage (under the lock) for the org time ``_actor_days_at``: a month
        of days fits, so a 30-day report does not evict its own days."""
        self._active: dict[date, dict[str, int]] = {}
        self.invite_index = self._index(org.invites)
        self.workspace_index = self._index(org.workspaces, by_id=True)
        self.api_key_index = self._index(org.api_keys)
        self._keys_version = org.keys_version
        # Invites and workspaces are drawn once with the org; keys change with ``key_changes``.
        self.invites_by_id = {record["id"]: record for record in org.invites}
        self.workspaces_by_id = {record["id"]: record for record in org.workspaces}
        self.api_keys_by_id = {record["id"]: record for record in org.api_keys}

    @staticmethod
    def _index(records: list[dict[str, Any]], *, by_id: bool = False) -> OrderedIndex:
        index = OrderedIndex()
        index.rebuild(
            ((record["id"],) if by_id else (position,), record["id"])
            for position, record in enumerate(records)
        )
        return index

    # --- Admin API: ID-cursor lists ------------------------------------------------------

    @staticmethod
    def _id_page(
        query: Query, index: OrderedIndex, render: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        limit = _int(query, "limit", 20, 1, 1000)
        after, before = query.get("after_id"), query.get("before_id")
        if after is not None and before is not None:
            raise bad_request("pass at most one of after_id and before_id")
        try:
            ids, has_more = index.page(limit, after, before)
        except KeyError:
            raise bad_request("after_id/before_id does not name an object in this list") from None
        return {
            "data": [render(identifier) for identifier in ids],
            "has_more": has_more,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        }

    def me(self, query: Query) -> dict[str, Any]:
        return shapes.organization(self.org)

    def users(self, query: Query) -> dict[str, Any]:
        org = self.org
        email = query.get("email")
        roles = query.getall("roles[]", [])
        index = org.roster
        if email is not None or roles:
            index = OrderedIndex()
            index.rebuild(
                ((-p.added_at.timestamp(), p.id), p.id)
                for p in org.members()
                if (email is None or p.email.lower() == email.lower())
                and (not roles or p.role in roles)
            )
        return self._id_page(query, index, lambda i: shapes.member(org.by_id[i]))

    def user(self, query: Query, user_id: str) -> dict[str, Any]:
        person = self.org.by_id.get(user_id)
        if person is None or person.removed_at is not None:
            raise not_found(f"user {user_id} not found")
        return shapes.member(person)

    def invites(self, query: Query) -> dict[str, Any]:
        by_id = self.invites_by_id
        statuses = query.getall("statuses[]", [])
        index = self.invite_index
        if statuses:
            index = self._index([r for r in self.org.invites if r["status"] in statuses])
        return self._id_page(query, index, lambda i: shapes.invite(by_id[i]))

    def workspaces(self, query: Query) -> dict[str, Any]:
        by_id = self.workspaces_by_id
        return self._id_page(query, self.workspace_index, lambda i: shapes.workspace(by_id[i]))

    def workspace_members(self, query: Query, workspace_id: str) -> dict[str, Any]:
        ids = [record["id"] for record in self.org.workspaces]
        if workspace_id not in ids:
            raise not_found(f"workspace {workspace_id} not found")
        position = ids.index(workspace_id)
        people = self.org.by_id
        return self._id_page(
            query,
            self.org.workspace_members[position],
            lambda i: shapes.workspace_member(
                workspace_id, i, dict(people[i].workspaces)[position]
            ),
        )

    def api_keys(self, query: Query) -> dict[str, Any]:
        if self._keys_version != self.org.keys_version:
            self._keys_version = self.org.keys_version
            self.api_key_index = self._index(self.org.api_keys)
            self.api_keys_by_id = {record["id"]: record for record in self.org.api_keys}
        by_id = self.api_keys_by_id
        status = query.get("status")
        index = self.api_key_index
        if status is not None:
            index = self._index([r for r in self.org.api_keys if r["status"] == status])
        return self._id_page(
            query, index, lambda i: shapes.api_key(by_id[i], self.org.config.dialect)
        )

    # --- Admin API: RBAC groups (opaque cursors) ---------------------------------------------

    def _opaque_page(self, query: Query, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        limit = _int(query, "limit", 20, 1, 1000)
        fingerprint = cursors.fingerprint(query.items())
        state = _cursor(query, fingerprint)
        chunk, token = _offset_page(rows, state["o"] if state else 0, limit, {"q": fingerprint})
        return {"data": chunk, "has_more": token is not None, "next_page": token}

    # --- Spend limits (opaque cursors) -------------------------------------------------------

    def _spend_rows(self) -> list[tuple[Person, dict[str, Any], bool]]:
        """Per member: the monthly effective row and whether they are past their own limit."""

        def build() -> list[tuple[Person, dict[str, Any], bool]]:
            rows = []
            for person in self.org.members():
                limit, spent = self.org.spend_limit(person)
                rows.append((
                    person,
                    shapes.spend_summary(person, limit, spent, self.org.id),
                    limit is not None and spent >= limit,
                ))
            return rows

        with self._offloaded_lock:
            return self._offloaded.remember(  # type: ignore[no-any-return]
                ("spend", self.org.now, len(self.org.people)), build
            )

    def effective_spend_limits(self, query: Query) -> dict[str, Any]:
        periods = query.getall("period[]", [])
        users = set(query.getall("user_ids[]", []))
        if len(users) > 100:
            raise bad_request("user_ids[] takes at most 100 ids")
        rows = [
            summary
            for person, summary, _ in self._spend_rows()
            if (not users or person.id in users) and (not periods or "monthly" in periods)
        ]
        return self._opaque_page(query, rows)

    def spend_limit_increase_requests(self, query: Query) -> dict[str, Any]:
        statuses = query.getall("status[]", [])
        actors = set(query.getall("actor_ids[]", []))
        created = rfc3339(day_start(self.org.now.date()))
        rows = [
            shapes.spend_limit_increase_request(person, summary, created)
            for person, summary, past in self._spend_rows()
            if past
            and (not statuses or "pending" in statuses)
            and (not actors or person.id in actors)
        ]
        return self._opaque_page(query, rows)

    def rbac_groups(self, query: Query) -> dict[str, Any]:
        return self._opaque_page(query, [shapes.rbac_group(group) for group in self.org.groups])

    def rbac_group_members(self, query: Query, group_id: str) -> dict[str, Any]:
        position = next(
            (n for n, group in enumerate(self.org.groups) if group["id"] == group_id), None
        )
        if position is None:
            raise not_found(f"rbac_group {group_id!r} not found")
        members = sorted(
            (p for p in self.org.members() if position in self.org.groups_of(p)),
            key=lambda p: (p.added_at, p.id),
        )
        return self._opaque_page(
            query, [shapes.rbac_group_member(group_id, person) for person in members]
        )

    # --- Analytics API: engagement ----------------------------------------------------------

    def _not_yet(self, day: date) -> SimError:
        latest = self.org.latest_analytics_date
        return bad_request(
            f"Data for {day.isoformat()} is not yet available. "
            f"The most recent available date is {latest.isoformat()}."
        )

    def _window(self, query: Query, state: dict[str, Any] | None) -> tuple[date, date]:
        """The requested ``[start, end)`` of published days, ``end`` fixed by the first page."""
        day, start, end = _date(query, "date"), _date(query, "starting_date"), None
        if day is not None and start is not None:
            raise bad_request("send either date or starting_date, not both")
        if day is None and start is None:
            raise bad_request("date or starting_date is required")
        latest = self.org.latest_analytics_date
        first = day or start
        assert first is not None
        if first < DATA_FLOOR:
            raise bad_request(f"no data exists before {DATA_FLOOR.isoformat()}")
        if first > latest:
            raise self._not_yet(first)
        if day is not None:
            return day, day + timedelta(days=1)
        if state is not None:
            end = date.fromisoformat(state["x"])
        else:
            end = _date(query, "ending_date") or latest + timedelta(days=1)
        if end <= first or (end - first).days > 366:
            raise bad_request("ending_date must be after starting_date and at most 366 days later")
        return first, min(end, latest + timedelta(days=1))

    def _engagement(
        self, person: Person, days: Sequence[date]
    ) -> tuple[dict[str, int], date | None]:
        total: dict[str, int] = {}
        last_active = None
        for day in days:
            if not person.member_on(day):
                continue
            counts = self.org.engagement(person, day)
            if counts:
                last_active = day
                for name, value in counts.items():
                    total[name] = total.get(name, 0) + value
        return total, last_active

    def _user_filter(self, query: Query, dimensions: Iterable[str]) -> set[str] | None:
        user_ids: set[str] = set()
        allowed = tuple(dimensions)
        for entry in query.getall("filter[]", []):
            dimension, _, value = entry.partition(":")
            if dimension not in allowed:
                raise bad_request(f"filter[]: unsupported dimension {dimension!r}")
            user_ids.add(value)
        return user_ids or None

    def analytics_users(self, query: Query) -> dict[str, Any]:
        org = self.org
        if query.getall("group_by[]", []):
            raise bad_request("group_by[]: grouping is not supported by the simulator")
        fingerprint = cursors.fingerprint(query.items())
        state = _cursor(query, fingerprint)
        start, end = self._window(query, state)
        days = _ordinal_days(start, end)
        wanted = self._user_filter(query, ("user_id",))
        limit = _int(query, "limit", 100 if org.config.dialect == "current" else 20, 1, 1000)
        rows: list[dict[str, Any]] = []
        last_email = None
        for person in org.people_by_email(state["e"] if state else None):
            if person.account_deleted or (wanted is not None and person.id not in wanted):
                continue
            if person.added_at.date() >= end or (
                person.removed_at is not None and person.removed_at.date() < start
            ):
                continue
            if len(rows) == limit:
                return {
                    "data": rows,
                    "next_page": cursors.encode(
                        {"q": fingerprint, "e": last_email, "x": end.isoformat()}
                    ),
                }
            counts, last_active = self._engagement(person, days)
            rows.append(
                shapes.analytics_user(
                    person,
                    counts,
                    last_active,
                    org.config.dialect,
                    unified=org.on_unified_chat(person),
                )
            )
            last_email = person.email
        return {"data": rows, "next_page": None}

    def _active_sets(self, day: date) -> dict[str, int]:
        """Bitsets (by person index) of who was active on ``day``, overall and per product."""
        if day not in self._active:
            size = len(self.org.people) // 8 + 1
            bits = {name: bytearray(size) for name in ("any", *_SUMMARY_PRODUCTS)}
            for person in self.org.people:
                if not person.member_on(day):
                    continue
                counts = activity.day_counts(self.org.key, person.index, person.traits, day)
                if counts is None:
                    continue
                byte, mask = person.index >> 3, 1 << (person.index & 7)
                bits["any"][byte] |= mask
                for product, prefix in _SUMMARY_PRODUCTS.items():
                    if any(name.startswith(prefix) for name in counts):
                        bits[product][byte] |= mask
            self._active[day] = {
                name: int.from_bytes(array, "little") for name, array in bits.items()
            }
        return self._active[day]

    def _rolling(self, day: date, product: str, span: int) -> int:
        union = 0
        for back in range(span):
            earlier = day - timedelta(days=back)
            if earlier >= DATA_FLOOR:
                union |= self._active_sets(earlier)[product]
        return union.bit_count()

    def summaries(self, query: Query) -> dict[str, Any]:
        org = self.org
        if query.get("date") is not None:
            raise bad_request("summaries take starting_date and ending_date")
        if query.get("starting_date") is None:
            raise bad_request("starting_date is required")
        start, end = self._window(query, None)
        pending = sum(1 for record in org.invites if record["status"] == "pending")
        rows = []
        for day in _ordinal_days(start, end):
            seats = sum(1 for p in org.people if p.member_on(day))
            dau, wau, mau = (self._rolling(day, "any", span) for span in (1, 7, 30))
            figures: dict[str, Any] = {
                "daily_active_user_count": dau,
                "weekly_active_user_count": wau,
                "monthly_active_user_count": mau,
                "assigned_seat_count": seats,
                "pending_invite_count": pending,
                "daily_adoption_rate": round(dau / seats * 100, 2) if seats else 0.0,
                "weekly_adoption_rate": round(wau / seats * 100, 2) if seats else 0.0,
                "monthly_adoption_rate": round(mau / seats * 100, 2) if seats else 0.0,
                "cowork_daily_active_user_count": self._rolling(day, "cowork", 1),
                "cowork_weekly_active_user_count": self._rolling(day, "cowork", 7),
                "cowork_monthly_active_user_count": self._rolling(day, "cowork", 30),
            }
            for product in ("chat", "claude_code", "claude_design", "office_agent", "science"):
                figures[f"{product}_daily_active_user_count"] = self._rolling(day, product, 1)
            figures["science_entitled_user_count"] = figures["science_daily_active_user_count"]
            rows.append(shapes.summary_day(day, figures, org.config.dialect))
        if org.config.dialect == "legacy":
            return {"summaries": rows}
        return {"data": rows, "next_page": None}

    def _grouped_listing(
        self, query: Query, kind: str, build: Callable[[date, date, bool], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Offset-paged engagement listing whose rows ``build(start, end, by_user)`` computes."""
        group_by = _choices(query, "group_by", ("user_id", "product", "rbac_group_id"))
        if set(group_by) - {"user_id"}:
            raise bad_request("group_by[]: only user_id grouping is supported by the simulator")
        fingerprint = cursors.fingerprint(query.items())
        state = _cursor(query, fingerprint)
        start, end = self._window(query, state)
        limit = _int(query, "limit", 100, 1, 1000)
        rows = self._reports.remember(
            (kind, fingerprint, start, end, self.org.now),
            lambda: build(start, end, bool(group_by)),
        )
        chunk, token = _offset_page(
            rows, state["o"] if state else 0, limit, {"q": fingerprint, "x": end.isoformat()}
        )
        return {"data": chunk, "next_page": token}

    def _users_in(self, start: date, end: date) -> Iterable[tuple[Person, dict[str, int]]]:
        days = _ordinal_days(start, end)
        for person in self.org.people:
            counts, _ = self._engagement(person, days)
            if counts:
                yield person, counts

    def connectors(self, query: Query) -> dict[str, Any]:
        return self._grouped_listing(query, "connectors", self._connector_rows)

    def _connector_rows(self, start: date, end: date, by_user: bool) -> list[dict[str, Any]]:
        auth_known = start >= CONNECTOR_AUTH_KNOWN
        groups: dict[tuple[str, str | None], dict[str, Any]] = {}
        for person, counts in self._users_in(start, end):
            calls = counts.get("chat_connectors", 0) + counts.get("cowork_connectors", 0)
            if not calls:
                continue
            for connector, individual in person.traits.connectors:
                name, display = CONNECTORS[connector]
                group = groups.setdefault(
                    (name, person.id if by_user else None),
                    {
                        "users": set(),
                        "managed": set(),
                        "individual": set(),
                        "calls": 0,
                        "conversations": 0,
                        "sessions": 0,
                        "cowork": 0,
                        "display": display,
                    },
                )
                group["users"].add(person.id)
                individual = self.org.individual_auth(connector, individual)
                group["individual" if individual else "managed"].add(person.id)
                group["calls"] += calls
                group["conversations"] += min(calls, counts.get("chat_conversations", 0))
                group["sessions"] += min(1, counts.get("code_sessions", 0))
                group["cowork"] += min(1, counts.get("cowork_connectors", 0))
        rows = []
        for (name, user_id), group in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            calls = group["calls"]
            rows.append(
                {
                    "connector_name": name,
                    "connector_display_name": group["display"],
                    "distinct_user_count": len(group["users"]),
                    "chat_metrics": {
                        "distinct_conversation_connector_used_count": group["conversations"]
                    },
                    "claude_code_metrics": {
                        "distinct_session_connector_used_count": group["sessions"]
                    },
                    "cowork_metrics": {"distinct_session_connector_used_count": group["cowork"]},
                    "office_metrics": {
                        app: {"distinct_session_connector_used_count": 0}
                        for app in activity.OFFICE_APPS
                    },
                    "managed_auth_distinct_user_count": len(group["managed"])
                    if auth_known
                    else None,
                    "individual_auth_distinct_user_count": len(group["individual"])
                    if auth_known
                    else None,
                    "read_call_count": calls * 6 // 10,
                    "write_call_count": calls // 10,
                    "unclassified_call_count": calls - calls * 6 // 10 - calls // 10,
                    "product": None,
                    "rbac_group_id": None,
                    "rbac_group_name": None,
                    "user_id": user_id,
                }
            )
        return rows

    def skills(self, query: Query) -> dict[str, Any]:
        return self._grouped_listing(query, "skills", self._skill_rows)

    def _skill_rows(self, start: date, end: date, by_user: bool) -> list[dict[str, Any]]:
        single_day = (end - start).days == 1
        groups: dict[tuple[str, str | None], dict[str, Any]] = {}
        enabled: dict[str, int] = {}
        for person in self.org.people:
            for skill in person.traits.skills:
                enabled[SKILLS[skill][0]] = enabled.get(SKILLS[skill][0], 0) + 1
        for person, counts in self._users_in(start, end):
            invocations = (
                counts.get("chat_skills", 0)
                + counts.get("cowork_skills", 0)
                + sum(
                    v
                    for k, v in counts.items()
                    if k.startswith("office_") and k.endswith("_skills")
                )
            )
            if not invocations or not person.traits.skills:
                continue
            for skill in person.traits.skills:
                name = SKILLS[skill][0]
                group = groups.setdefault(
                    (name, person.id if by_user else None),
                    {"users": set(), "invocations": 0, "chat": 0, "cowork": 0, "skill": skill},
                )
                group["users"].add(person.id)
                group["invocations"] += invocations
                group["chat"] += min(1, counts.get("chat_skills", 0))
                group["cowork"] += min(1, counts.get("cowork_skills", 0))
        rows = []
        for (name, user_id), group in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            _, display, share = SKILLS[group["skill"]]
            overage = Decimal(group["invocations"]) * Decimal("12.5")
            rows.append(
                {
                    "skill_name": name,
                    "skill_display_name": display,
                    "distinct_user_count": len(group["users"]),
                    "invocation_count": group["invocations"],
                    "enable_count": enabled.get(name) if single_day and not by_user else None,
                    "share_status": share,
                    "chat_metrics": {"distinct_conversation_skill_used_count": group["chat"]},
                    "claude_code_metrics": {"distinct_session_skill_used_count": 0},
                    "cowork_metrics": {"distinct_session_skill_used_count": group["cowork"]},
                    "office_metrics": {
                        app: {"distinct_session_skill_used_count": 0}
                        for app in activity.OFFICE_APPS
                    },
                    "estimated_overage_spend": f"{overage:.6f}",
                    "attributed_list_price": f"{overage * 2:.6f}",
                    "currency": "USD",
                    "product": None,
                    "rbac_group_id": None,
                    "rbac_group_name": None,
                    "user_id": user_id,
                }
            )
        return rows

    def chat_projects(self, query: Query) -> dict[str, Any]:
        return self._grouped_listing(query, "projects", self._project_rows)

    def _project_rows(self, start: date, end: date, by_user: bool) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str | None], dict[str, Any]] = {}
        for person, counts in self._users_in(start, end):
            if not counts.get("chat_projects_used"):
                continue
            project_id, _ = self.org.projects[person.traits.project]
            group = groups.setdefault(
                (project_id, person.id if by_user else None),
                {
                    "users": set(),
                    "messages": 0,
                    "conversations": 0,
                    "project": person.traits.project,
                },
            )
            group["users"].add(person.id)
            group["messages"] += counts.get("chat_messages", 0)
            group["conversations"] += counts.get("chat_conversations", 0)
        people = self.org.people
        rows = []
        for (project_id, user_id), group in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            creator = people[group["project"] % len(people)]
            rows.append(
                {
                    "project_id": project_id,
                    "project_name": self.org.projects[group["project"]][1],
                    "distinct_user_count": len(group["users"]),
                    "distinct_conversation_count": group["conversations"],
                    "message_count": group["messages"],
                    "created_at": rfc3339(creator.added_at + timedelta(days=1)),
                    "created_by": {
                        "id": creator.id,
                        "email_address": creator.email,
                        "type": "user",
                    },
                    "rbac_group_id": None,
                    "rbac_group_name": None,
                    "user_id": user_id,
                }
            )
        return rows

    # --- Analytics API: tokens and cost -------------------------------------------------------

    def _report_range(self, query: Query, *, bucketed: bool) -> tuple[date, date]:
        """Whole days ``[start, end)`` covered by ``starting_at``/``ending_at``."""
        now = self.org.now
        starting_at = _moment(query, "starting_at")
        if starting_at is None:
            raise bad_request("starting_at is required")
        ending_at = _moment(query, "ending_at")
        if bucketed and query.get("bucket_width") is not None and ending_at is None:
            raise bad_request("ending_at is required when bucket_width is set")
        if starting_at < day_start(DATA_FLOOR) or starting_at < now - timedelta(days=365):
            raise bad_request(
                "starting_at must be within the last 365 days and not before 2026-01-01"
            )
        ending_at = ending_at or min(now, starting_at + timedelta(days=31))
        if ending_at <= starting_at or ending_at - starting_at > timedelta(days=31):
            raise bad_request("ending_at must be after starting_at and at most 31 days later")
        width = query.get("bucket_width", "1d")
        if width != "1d":
            raise bad_request(f"bucket_width {width!r} is not supported by the simulator (use 1d)")
        last = (ending_at - timedelta(microseconds=1)).date()
        return starting_at.date(), last + timedelta(days=1)

    def _report_envelope(
        self, rows: Sequence[dict[str, Any]], query: Query, fingerprint: str, limit: int
    ) -> dict[str, Any]:
        watermark = rfc3339(self.org.watermark)
        token = query.get("page")
        offset = 0
        if token is not None:
            state = _cursor(query, fingerprint)
            assert state is not None
            if state.get("w") != watermark:
                raise cursor_expired()
            offset = state["o"]
        chunk, next_token = _offset_page(rows, offset, limit, {"q": fingerprint, "w": watermark})
        return {
            "data": chunk,
            "has_more": next_token is not None,
            "next_page": next_token,
            "data_refreshed_at": watermark,
            "organization_id": self.org.id,
        }

    def _user_report(self, query: Query, kind: str) -> dict[str, Any]:
        cost = kind == "cost"
        group_by = _report_group_by(query, cost)
        order_by = query.get("order_by", "amount" if cost else "total_tokens")
        metrics = (
            ("amount", "list_amount")
            if cost
            else ("total_tokens", "output_tokens", "uncached_input_tokens", "requests")
        )
        if order_by not in metrics:
            raise bad_request(f"order_by: unsupported value {order_by!r}")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("order: expected asc or desc")
        user_ids = set(query.getall("user_ids[]", []))
        products = set(
            _choices(query, "products", (*PRODUCTS, "claude_in_chrome", "claude-in-slack"))
        )
        models = set(query.getall("models[]", []))
        exclude_deleted = _flag(query, "exclude_deleted_users")
        limit = _int(query, "limit", 20, 1, 1000)
        bucketed = query.get("bucket_width") is not None
        start, end = self._report_range(query, bucketed=bucketed)
        fingerprint = cursors.fingerprint(query.items())

        def build() -> list[dict[str, Any]]:
            buckets = (
                [[day] for day in _ordinal_days(start, end)]
                if bucketed
                else [_ordinal_days(start, end)]
            )
            rows = []
            for days in buckets:
                bucket_rows = []
                for person in self.org.people:
                    if (
                        (user_ids and person.id not in user_ids)
                        or (exclude_deleted and person.removed_at is not None)
                        or (models and person.traits.model not in models)
                    ):
                        continue
                    per_product: dict[str | None, list[Any]] = {}
                    for day in days:
                        products_used = self.org.tokens(person, day)
                        costs = self.org.costs(person, products_used) if cost else {}
                        for product, tokens in products_used.items():
                            if products and product not in products:
                                continue
                            key = product if "product" in group_by else None
                            amount, listed = costs[product] if cost else (Decimal(0), Decimal(0))
                            _add_totals(per_product, key, tokens, amount, listed)
                    for product, (tokens, amount, listed) in sorted(
                        per_product.items(), key=lambda item: item[0] or ""
                    ):
                        row: dict[str, Any] = {
                            "actor": shapes.report_actor(person, self.org.config.dialect)
                        }
                        row.update(dict.fromkeys(shapes.REPORT_DIMENSIONS))
                        row["product"] = product
                        row["model"] = person.traits.model if "model" in group_by else None
                        row["starting_at"] = rfc3339(day_start(days[0])) if bucketed else None
                        row["ending_at"] = (
                            rfc3339(day_start(days[-1]) + timedelta(days=1)) if bucketed else None
                        )
                        if cost:
                            row.update(shapes.cost_fields(amount, listed, tokens[6]))
                            if "cost_type" in group_by:
                                row["cost_type"] = "tokens"
                            row["_rank"] = amount if order_by == "amount" else listed
                        else:
                            row.update(shapes.token_fields(tuple(tokens)))  # type: ignore[arg-type]
                            row["total_tokens"] = sum(tokens[:5])
                            row["_rank"] = {
                                "total_tokens": row["total_tokens"],
                                "output_tokens": tokens[4],
                                "uncached_input_tokens": tokens[0],
                                "requests": tokens[6],
                            }[order_by]
                        bucket_rows.append(row)
                bucket_rows.sort(
                    key=lambda r: (
                        -r["_rank"] if order == "desc" else r["_rank"],
                        r["actor"]["user_id"],
                        r["product"] or "",
                    )
                )
                for row in bucket_rows:
                    del row["_rank"]
                rows.extend(bucket_rows)
            return rows

        rows = self._reports.remember((kind, fingerprint, self.org.now), build)
        return self._report_envelope(rows, query, fingerprint, limit)

    def _actor_report(self, query: Query, kind: str) -> dict[str, Any]:
        """``/analytics/usage`` or ``/analytics/cost`` per day, grouped by actor, product and
        model: every member's usage plus usage attributed to API keys themselves."""
        availability = self.org.config.usage_cost_api
        if availability == "hipaa":
            raise bad_request(
                "The Usage and Cost API is not available to HIPAA-ready organizations"
            )
        if availability == "absent":
            raise not_found("Not found")
        if query.get("time_bucket_width") != "1d":
            raise bad_request("time_bucket_width: the simulator serves daily buckets (1d) only")
        group_by = set(_choices(query, "group_by", ("actor", "product", "model")))
        start, end = self._report_range(query, bucketed=True)
        limit = _int(query, "limit", 20, 1, 1000)
        fingerprint = cursors.fingerprint(query.items())
        cost = kind == "cost"

        def row(
            bucket: dict[str, str],
            actor: dict[str, Any] | None,
            product: str | None,
            model: str | None,
            slot: list[Any],
        ) -> dict[str, Any]:
            group: dict[str, Any] = dict.fromkeys(shapes.USAGE_COST_DIMENSIONS)
            group.update(actor=actor, product=product, model=model)
            if cost:
                group.update(cost_type=None, token_type=None)
                return {
                    **bucket,
                    "group": group,
                    "cost": shapes.cost_metrics(slot[1], slot[2], slot[0][6]),
                }
            return {**bucket, "group": group, "usage": shapes.usage_metrics(slot[0])}

        def build() -> list[tuple[Any, ...]]:
            """Every row in answer order, compact: (bucket, actor, product, model, slot)."""
            rows: list[tuple[Any, ...]] = []
            for day in reversed(_ordinal_days(start, end)):
                bucket = {
                    "starting_at": rfc3339(day_start(day)),
                    "ending_at": rfc3339(day_start(day) + timedelta(days=1)),
                }
                merged: dict[tuple[str | None, str | None, str | None], list[Any]] = {}
                actors: dict[str, dict[str, Any]] = {}
                for actor, product, model, tokens, amount, listed in self._usage_by_actor(day):
                    actor_id = actor.get("user_id") or actor["api_key_id"]
                    actors[actor_id] = actor
                    key = (
                        actor_id if "actor" in group_by else None,
                        product if "product" in group_by else None,
                        model if "model" in group_by else None,
                    )
                    _add_totals(merged, key, tokens, amount, listed)
                ranked = sorted(
                    merged.items(),
                    key=lambda item: -(item[1][1] if cost else sum(item[1][0][:5])),
                )
                rows.extend(
                    (bucket, actors[actor_id] if actor_id else None, product, model, slot)
                    for (actor_id, product, model), slot in ranked
                )
            return rows

        with self._offloaded_lock:
            rows = self._offloaded.remember((kind, fingerprint, self.org.now), build)
        page = self._report_envelope(rows, query, fingerprint, limit)
        page["data"] = [row(*compact) for compact in page["data"]]
        return page

    def _usage_by_actor(
        self, day: date
    ) -> list[tuple[dict[str, Any], str | None, str, Sequence[int], Decimal, Decimal]]:
        """(actor, product, model, tokens, amount, list amount) of everything used on ``day``:
        each member's products, then the usage attributed to API keys themselves (computed
        once per day and clock for both the usage and the cost report; the caller holds
        ``_offloaded_lock``)."""

        def build() -> list[
            tuple[dict[str, Any], str | None, str, Sequence[int], Decimal, Decimal]
        ]:
            entries = []
            for person in self.org.people:
                products = self.org.tokens(person, day)
                if not products:
                    continue
                costs = self.org.costs(person, products)
                actor = shapes.report_actor(person, "current")
                model = person.traits.model
                entries += [
                    (actor, product, model, tokens, *costs[product])
                    for product, tokens in products.items()
                ]
            for index, record in enumerate(self.org.api_keys):
                usage = self.org.api_key_usage(index, day)
                if usage is not None:
                    actor = {"type": "api_actor", "api_key_id": record["id"]}
                    entries.append((actor, None, activity.MODELS[0], *usage, usage[1]))
            return entries

        if self._actor_days_at != self.org.now:
            self._actor_days.clear()
            self._actor_days_at = self.org.now
        return self._actor_days.remember(day, build)  # type: ignore[no-any-return]

    def actor_usage(self, query: Query) -> dict[str, Any]:
        return self._actor_report(query, "usage")

    def actor_cost(self, query: Query) -> dict[str, Any]:
        return self._actor_report(query, "cost")

    def user_usage_report(self, query: Query) -> dict[str, Any]:
        return self._user_report(query, "usage")

    def user_cost_report(self, query: Query) -> dict[str, Any]:
        return self._user_report(query, "cost")

    def _day_totals(self, day: date) -> dict[tuple[str, str], list[Any]]:
        """Org totals for one day, by (product, model): tokens, amount, list amount."""

        def build() -> dict[tuple[str, str], list[Any]]:
            totals: dict[tuple[str, str], list[Any]] = {}
            for person in self.org.people:
                products = self.org.tokens(person, day)
                costs = self.org.costs(person, products)
                for product, tokens in products.items():
                    amount, listed = costs[product]
                    _add_totals(totals, (product, person.traits.model), tokens, amount, listed)
            return totals

        return self._reports.remember(("day", day, self.org.now), build)

    def _bucket_report(self, query: Query, kind: str) -> dict[str, Any]:
        cost = kind == "cost"
        group_by = _report_group_by(query, cost)
        limit = _int(query, "limit", 7, 1, 31)
        start, end = self._report_range(query, bucketed=False)
        fingerprint = cursors.fingerprint(query.items())
        buckets = []
        for day in _ordinal_days(start, end):
            grouped: dict[tuple[str | None, str | None], list[Any]] = {}
            for (product, model), (tokens, amount, listed) in self._day_totals(day).items():
                key = (
                    product if "product" in group_by else None,
                    model if "model" in group_by else None,
                )
                _add_totals(grouped, key, tokens, amount, listed)
            results = []
            for (product, model), (tokens, amount, listed) in sorted(
                grouped.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")
            ):
                result: dict[str, Any] = dict.fromkeys(shapes.REPORT_DIMENSIONS)
                result.update(product=product, model=model)
                if cost:
                    result.update(shapes.cost_fields(amount, listed, tokens[6]))
                    if "cost_type" in group_by:
                        result["cost_type"] = "tokens"
                else:
                    result.update(shapes.token_fields(tuple(tokens)))  # type: ignore[arg-type]
                results.append(result)
            buckets.append(
                {
                    "starting_at": rfc3339(day_start(day)),
                    "ending_at": rfc3339(day_start(day) + timedelta(days=1)),
                    "results": results,
                }
            )
        return self._report_envelope(buckets, query, fingerprint, limit)

    def usage_report(self, query: Query) -> dict[str, Any]:
        return self._bucket_report(query, "usage")

    def cost_report(self, query: Query) -> dict[str, Any]:
        return self._bucket_report(query, "cost")

    # --- Console: Claude Code and cost ---------------------------------------------------------

    def claude_code_usage(self, query: Query) -> dict[str, Any]:
        day = _date(query, "starting_at")
        if day is None:
            raise bad_request("starting_at (YYYY-MM-DD) is required")
        limit = _int(query, "limit", 20, 1, 1000)
        fingerprint = cursors.fingerprint(query.items())
        state = _cursor(query, fingerprint)

        def build() -> list[dict[str, Any]]:
            if day >= self.org.now.date():
                return []
            rows = []
            for person in self.org.people_by_email():
                if not person.member_on(day):
                    continue
                counts = activity.day_counts(self.org.key, person.index, person.traits, day)
                if not counts or not counts.get("code_sessions"):
                    continue
                tokens = activity.product_tokens(counts)["claude_code"]
                amount, _ = activity.cost_cents(tokens, person.traits.model)
                rows.append(
                    {
                        "date": rfc3339(day_start(day)),
                        "actor": {"type": "user_actor", "email_address": person.email},
                        "organization_id": self.org.id,
                        "customer_type": "subscription",
                        "subscription_type": "enterprise",
                        "terminal_type": ("vscode", "iTerm.app", "jetbrains")[person.index % 3],
                        "is_remote": False,
                        "core_metrics": {
                            "num_sessions": counts["code_sessions"],
                            "lines_of_code": {
                                "added": counts.get("code_added", 0),
                                "removed": counts.get("code_removed", 0),
                            },
                            "commits_by_claude_code": counts.get("code_commits", 0),
                            "pull_requests_by_claude_code": counts.get("code_prs", 0),
                        },
                        "tool_actions": {
                            "edit_tool": {
                                "accepted": counts.get("code_edit_ok", 0),
                                "rejected": counts.get("code_edit_no", 0),
                            },
                            "write_tool": {
                                "accepted": counts.get("code_write_ok", 0),
                                "rejected": counts.get("code_write_no", 0),
                            },
                        },
                        "model_breakdown": [
                            {
                                "model": person.traits.model,
                                "tokens": {
                                    "input": tokens[0],
                                    "output": tokens[4],
                                    "cache_read": tokens[1],
                                    "cache_creation": tokens[2],
                                },
                                "estimated_cost": {"amount": int(amount), "currency": "USD"},
                            }
                        ],
                    }
                )
            return rows

        rows = self._reports.remember(("claude_code", day, self.org.now), build)
        chunk, token = _offset_page(rows, state["o"] if state else 0, limit, {"q": fingerprint})
        return {"data": chunk, "has_more": token is not None, "next_page": token}

    def console_cost_report(self, query: Query) -> dict[str, Any]:
        group_by = _choices(query, "group_by", ("workspace_id", "description"))
        limit = _int(query, "limit", 7, 1, 31)
        start, end = self._report_range(query, bucketed=False)
        fingerprint = cursors.fingerprint(query.items())
        buckets = []
        for day in _ordinal_days(start, end):
            fraction = self.org.usage_fraction(day)
            results: dict[tuple[str | None, str | None], Decimal] = {}
            for position, workspace in enumerate(self.org.workspaces):
                spend = activity.digest(self.org.key, "console", position, day.toordinal())
                for token_type, share in (("input", spend[0]), ("output", spend[1])):
                    amount = Decimal(share * 37) * Decimal(str(fraction))
                    key = (
                        workspace["id"] if "workspace_id" in group_by else None,
                        f"Claude Sonnet 4.6 Usage - {token_type.title()} Tokens"
                        if "description" in group_by
                        else None,
                    )
                    results[key] = results.get(key, Decimal(0)) + amount
            buckets.append(
                {
                    "starting_at": rfc3339(day_start(day)),
                    "ending_at": rfc3339(day_start(day) + timedelta(days=1)),
                    "results": [
                        {
                            "currency": "USD",
                            "amount": f"{amount.quantize(activity.MICRO)}",
                            "workspace_id": workspace_id,
                            "description": description,
                            "cost_type": "tokens" if description else None,
                            "model": "claude-sonnet-4-6" if description else None,
                            "token_type": None,
                            "service_tier": None,
                            "context_window": None,
                            "inference_geo": None,
                        }
                        for (workspace_id, description), amount in sorted(
                            results.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")
                        )
                    ],
                }
            )
        return self._report_envelope(buckets, query, fingerprint, limit)
