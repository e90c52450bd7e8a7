"""Status classification, retries and redaction, against httpx.MockTransport (no sockets)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import orjson
import pytest

from streams.client import ApiClient, ApiFamily, RateBudgets, RetryPolicy, classify
from streams.client import endpoints as ep
from streams.client import listing as listing_module
from streams.client.transport import EndpointTraits
from streams.config import ConnectorConfig, Secret
from streams.errors import (
    ApiError,
    ApiRequestRejected,
    ApiResponseError,
    ConfigError,
    DataNotYetAvailable,
    EndpointUnavailable,
    RateLimited,
    ReconnectRequired,
    TransientApiError,
)

KEY = "sk-ant-api01-unit-test-secret-0123456789abcdef"
FAST = RetryPolicy(
    max_attempts=3,
    max_rate_limited=2,
    backoff_base=0.001,
    backoff_max=0.002,
    rate_limit_base=0.001,
    rate_limit_max=0.002,
)
MEMBER = {
    "type": "user",
    "id": "user_1",
    "email": "a@acme.example",
    "name": "A",
    "role": "user",
    "added_at": "2026-06-12T09:14:03Z",
}

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, *, analytics: bool = True, admin: bool = True) -> ApiClient:
    connector = ConnectorConfig(
        "unit",
        "https://api.test",
        analytics_api_key=Secret(KEY) if analytics else None,
        admin_api_key=Secret(KEY) if admin else None,
    )
    budgets = RateBudgets({ApiFamily.ANALYTICS: 600_000, ApiFamily.ADMIN: 600_000})
    return ApiClient(
        connector, budgets=budgets, retry=FAST, transport=httpx.MockTransport(handler), seed=1
    )


def _json(status: int, body: object, **headers: str) -> httpx.Response:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(
        status, content=orjson.dumps(body), headers={"request-id": "req_9", **named}
    )


def _error(
    status: int, kind: str = "api_error", message: str = "boom", **headers: str
) -> httpx.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_9"}
    return _json(status, body, **headers)


def _page(*rows: dict, has_more: bool = False, last_id: str | None = None) -> httpx.Response:
    return _json(
        200, {"data": list(rows), "has_more": has_more, "first_id": None, "last_id": last_id}
    )


class Script:
    """Answers requests from a list, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_requests_carry_the_documented_headers() -> None:
    script = Script(_page(MEMBER))
    async with _client(script) as api:
        listing = await api.members()
    assert listing.completed and listing.rows[0].id == "user_1"
    sent = script.requests[0]
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["user-agent"].startswith("claude-connector/")
    assert "authorization" not in sent.headers
    assert sent.url.params["limit"] == "1000"


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        (400, ApiRequestRejected, 1),
        (401, ReconnectRequired, 1),
        (403, EndpointUnavailable, 1),
        (404, EndpointUnavailable, 1),
        (409, ApiRequestRejected, 1),
        (422, ApiRequestRejected, 1),
        (429, RateLimited, 3),
        (500, TransientApiError, 3),
        (503, TransientApiError, 3),
        (504, TransientApiError, 3),
        (529, TransientApiError, 3),
    ],
)
async def test_statuses_map_to_typed_errors_and_retry_only_transients(
    status: int, error: type[ApiError], attempts: int
) -> None:
    script = Script(_error(status, retry_after="0") if status == 429 else _error(status))
    async with _client(script) as api:
        listing = await api.members()
    assert not listing.completed
    assert type(listing.error) is error
    assert listing.error.status == status
    assert listing.error.request_id == "req_9"
    assert len(script.requests) == listing.requests == attempts


def test_every_error_status_is_classified() -> None:
    for status in range(400, 600):
        verdict = classify(status, {}, b"", traits=EndpointTraits("/x"))
        assert isinstance(verdict.error, ApiError), status
    assert classify(200, {}, b"{}", traits=EndpointTraits("/x")).error is None


async def test_not_found_on_a_named_resource_is_not_a_key_problem() -> None:
    async with _client(Script(_error(404, "not_found_error"))) as api:
        listing = await api.workspace_members("wrkspc_gone")
    assert type(listing.error) is ApiRequestRejected


async def test_transient_failure_then_success_completes() -> None:
    script = Script(_error(503), httpx.ConnectError("refused"), _page(MEMBER))
    async with _client(script) as api:
        listing = await api.members()
    assert listing.completed and listing.requests == 3 and len(listing.rows) == 1


async def test_timeouts_are_retried_then_reported() -> None:
    script = Script(httpx.ReadTimeout("slow"))
    async with _client(script) as api:
        listing = await api.members()
    assert isinstance(listing.error, TransientApiError) and "timed out" in str(listing.error)
    assert len(script.requests) == 3


async def test_retry_after_is_honoured() -> None:
    script = Script(_error(429, "rate_limit_error", retry_after="0.2"), _page(MEMBER))
    async with _client(script) as api:
        started = time.monotonic()
        listing = await api.members()
    assert listing.completed and listing.rate_limited == 1
    assert time.monotonic() - started >= 0.2


async def test_should_retry_false_is_not_retried() -> None:
    script = Script(_error(500, **{"x-should-retry": "false"}))
    async with _client(script) as api:
        listing = await api.members()
    assert isinstance(listing.error, TransientApiError) and len(script.requests) == 1


async def test_unparseable_bodies_are_retried_then_reported() -> None:
    script = Script(httpx.Response(200, content=b'{"data": [{"id"'))
    async with _client(script) as api:
        listing = await api.members()
    assert isinstance(listing.error, ApiResponseError) and "not valid JSON" in str(listing.error)
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{**MEMBER, "email": None}], "has_more": False},
        {"data": [{**MEMBER, "added_at": 5}], "has_more": False},
        {"data": {"not": "a list"}, "has_more": False},
        {"users": [MEMBER], "has_more": False},
        ["not", "an", "object"],
    ],
)
async def test_ill_shaped_bodies_fail_the_listing_without_retry(body: object) -> None:
    script = Script(_json(200, body))
    async with _client(script) as api:
        listing = await api.members()
    assert isinstance(listing.error, ApiResponseError) and not listing.completed
    assert len(script.requests) == 1


async def test_a_failed_later_page_keeps_earlier_rows_but_is_incomplete() -> None:
    script = Script(_page(MEMBER, has_more=True, last_id="user_1"), _error(500))
    async with _client(script) as api:
        listing = await api.members()
    assert not listing.completed and listing.pages == 1
    assert [row.id for row in listing.rows] == ["user_1"]
    assert script.requests[1].url.params["after_id"] == "user_1"


async def test_has_more_without_cursor_is_reported_not_silently_short() -> None:
    script = Script(_page(MEMBER, has_more=True, last_id=None))
    async with _client(script) as api:
        listing = await api.members()
    assert not listing.completed and isinstance(listing.error, ApiResponseError)
    assert "pagination broken" in str(listing.error)


USAGE_ROW = {
    "actor": {
        "type": "user_actor",
        "user_id": "user_1",
        "email_address": "a@acme.example",
        "name": "A",
        "deleted": False,
    },
    "uncached_input_tokens": 1,
    "cache_read_input_tokens": 2,
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 3,
    "total_tokens": 6,
    "server_tool_use": {"web_search_requests": 0},
    "requests": 1,
}


def _usage(next_page: str | None) -> httpx.Response:
    return _json(
        200,
        {
            "data": [USAGE_ROW],
            "has_more": next_page is not None,
            "next_page": next_page,
            "data_refreshed_at": "2026-11-20T08:00:00Z",
        },
    )


async def test_expired_cursor_restarts_the_listing_from_page_one() -> None:
    script = Script(_usage("c1"), _error(410, "invalid_request_error"), _usage("c1"), _usage(None))
    async with _client(script) as api:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        listing = await api.user_usage(start, datetime(2026, 11, 8, tzinfo=UTC))
    assert listing.completed and listing.restarts == 1 and len(listing.rows) == 2
    assert "page" not in script.requests[2].url.params
    assert listing.meta["data_refreshed_at"] == "2026-11-20T08:00:00Z"
    assert script.requests[0].url.params["starting_at"] == "2026-11-01T00:00:00Z"
    assert script.requests[0].url.params["bucket_width"] == "1d"


async def test_expired_cursor_restarts_are_bounded() -> None:
    script = Script(_usage("c1"), _error(410, "invalid_request_error"))
    async with _client(script) as api:
        listing = await api.user_usage(
            datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
        )
    assert not listing.completed and listing.restarts == api.max_restarts
    assert isinstance(listing.error, ApiRequestRejected) and listing.error.status == 410


async def test_unavailable_day_names_the_latest_published_day() -> None:
    message = (
        "Data for 2026-11-25 is not yet available. The most recent available date is 2026-11-19."
    )
    async with _client(Script(_error(400, "invalid_request_error", message))) as api:
        listing = await api.analytics_users(date(2026, 11, 25))
    assert isinstance(listing.error, DataNotYetAvailable)
    assert listing.error.latest_available == date(2026, 11, 19)


async def test_the_key_never_appears_in_errors_logs_or_reprs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = f"invalid x-api-key {KEY} and sk-ant-admin01-other-key"
    script = Script(_error(500, message=echo), _error(401, "authentication_error", echo))
    caplog.set_level(logging.DEBUG)
    async with _client(script) as api:
        listing = await api.members()
        assert KEY not in repr(api)
    assert isinstance(listing.error, ReconnectRequired)
    assert KEY not in str(listing.error) and "sk-ant-admin01-other" not in str(listing.error)
    assert "[redacted]" in str(listing.error)
    assert caplog.records, "failures are logged"
    assert KEY not in caplog.text and "sk-ant-admin01-other" not in caplog.text


async def test_a_missing_key_is_a_configuration_error() -> None:
    async with _client(Script(_page(MEMBER)), admin=False) as api:
        assert not api.has_key(ApiFamily.ADMIN)
        with pytest.raises(ConfigError, match="no admin key"):
            await api.members()


async def test_single_objects_are_returned_or_raise() -> None:
    organization = {
        "id": "12345678-1234-5678-1234-567812345678",
        "name": "Acme",
        "type": "organization",
    }
    async with _client(Script(_json(200, organization))) as api:
        assert (await api.organization()).name == "Acme"
    async with _client(Script(_error(401, "authentication_error"))) as api:
        with pytest.raises(ReconnectRequired):
            await api.get(ep.ORGANIZATION)


def _engagement(user_id: str, chat: object) -> dict:
    return {
        "user": {"id": user_id, "email_address": f"{user_id}@acme.example", "type": "user"},
        "chat_metrics": {"message_count": chat},
        "claude_code_metrics": {"core_metrics": {"distinct_session_count": 1}},
        "web_search_count": 0,
        "last_activity_date": None,
    }


async def test_unexpected_values_keep_the_page_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    page = {"data": [_engagement("user_1", 2.5), _engagement("user_2", "3")], "next_page": None}
    listing_module._WARNED.discard((ep.ANALYTICS_USERS.path, "chat_metrics.message_count"))
    caplog.set_level(logging.WARNING)
    async with _client(Script(_json(200, page))) as api:
        first = await api.analytics_users(date(2026, 11, 19))
        second = await api.analytics_users(date(2026, 11, 20))
    assert first.completed and [row.session_count for row in first.rows] == [1, 1]
    assert first.unparsed == {"chat_metrics.message_count": 2} == second.unparsed
    logged = [r for r in caplog.records if "chat_metrics.message_count" in r.getMessage()]
    assert len(logged) == 1


async def test_one_refused_endpoint_names_its_scope_and_is_not_a_refused_key() -> None:
    refusal = "Missing required scopes. Got: ['read:analytics'] Needed: ['read:members']"
    script = Script(_error(403, "permission_error", refusal))
    async with _client(script) as api:
        listing = await api.members()
    assert type(listing.error) is EndpointUnavailable
    assert listing.error.scope == "read:members"
    assert "needs read:members" in str(listing.error)
    assert "endpoint=/v1/organizations/users" in str(listing.error)
    async with _client(Script(_error(404, "not_found_error"))) as api:
        listing = await api.api_keys()
    assert type(listing.error) is EndpointUnavailable and "Console Admin key" in str(listing.error)


@pytest.mark.parametrize(
    "message", ["", "Requested date is beyond the reporting horizon.", "Données indisponibles"]
)
async def test_not_yet_available_is_read_from_status_and_type_not_wording(message: str) -> None:
    async with _client(Script(_error(400, "invalid_request_error", message))) as api:
        engagement = await api.analytics_users(date(2026, 11, 25))
        roster = await api.members()
    assert isinstance(engagement.error, DataNotYetAvailable)
    assert engagement.error.latest_available is None
    assert type(roster.error) is ApiRequestRejected


def _sleeps(script: Script) -> tuple[ApiClient, list[float]]:
    api = _client(script)
    waits: list[float] = []
    api.budget(ApiFamily.ADMIN).pause = waits.append  # type: ignore[method-assign]
    return api, waits


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry_after_ms": "1500", "retry_after": "9"}, 1.5),
        (
            {
                "retry_after": "Wed, 02 Dec 2026 10:00:07 GMT",
                "date": "Wed, 02 Dec 2026 10:00:00 GMT",
            },
            7.0,
        ),
        ({"retry_after": "1e9"}, 300.0),
        ({"retry_after_ms": "1e12"}, 300.0),
    ],
)
async def test_retry_after_forms_are_honoured_and_capped(
    headers: dict[str, str], expected: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    api, waits = _sleeps(Script(_error(429, "rate_limit_error", **headers), _page(MEMBER)))
    async with api:
        listing = await api.members()
    assert listing.completed and waits == [expected]
    assert ("cap" in caplog.text) is (expected == 300.0)


async def test_the_rate_budget_belongs_to_the_organisation() -> None:
    org = {"anthropic_organization_id": "org-shared"}
    shared = RateBudgets({ApiFamily.ANALYTICS: 600_000, ApiFamily.ADMIN: 600_000})

    def connector(name: str, key: str) -> ApiClient:
        config = ConnectorConfig(name, "https://api.test", admin_api_key=Secret(key))
        page = {"data": [MEMBER], "has_more": False, "first_id": None, "last_id": None}
        transport = httpx.MockTransport(Script(_json(200, page, **org)))
        return ApiClient(config, budgets=shared, retry=FAST, transport=transport)

    same_key = connector("one", KEY), connector("two", KEY)
    other_key = connector("three", KEY + "-other")
    assert same_key[0].budget(ApiFamily.ADMIN) is same_key[1].budget(ApiFamily.ADMIN)
    assert other_key.budget(ApiFamily.ADMIN) is not same_key[0].budget(ApiFamily.ADMIN)
    for api in (*same_key, other_key):
        async with api:
            assert (await api.members()).completed
    assert other_key.budget(ApiFamily.ADMIN) is same_key[0].budget(ApiFamily.ADMIN)
    assert other_key.budget(ApiFamily.ANALYTICS) is not other_key.budget(ApiFamily.ADMIN)


async def test_console_connectors_pace_usage_reads_on_their_own_organisation() -> None:
    """Usage & Cost reads sent with the admin key draw on that key's organisation, so two
    Console connectors (no analytics key) of different organisations never wait on each other."""
    budgets = RateBudgets({ApiFamily.ANALYTICS: 1, ApiFamily.ADMIN: 600_000})
    start, end = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)

    def console(org_id: str) -> tuple[ApiClient, str]:
        key = f"{KEY}-{org_id}"
        config = ConnectorConfig(org_id, "https://api.test", admin_api_key=Secret(key))
        body = {"data": [], "has_more": False, "next_page": None}
        answer = _json(200, body, anthropic_organization_id=org_id)
        transport = httpx.MockTransport(lambda _request: answer)
        return ApiClient(config, budgets=budgets, retry=FAST, transport=transport), key

    (first, first_key), (second, second_key) = console("org-a"), console("org-b")
    async with first, second:
        assert (await first.actor_usage(start, end)).completed
        assert first.budget(ApiFamily.ANALYTICS, first_key).delay() > 0
        assert second.budget(ApiFamily.ANALYTICS, second_key).delay() == 0
        assert (await asyncio.wait_for(second.actor_cost(start, end), 5)).completed
    assert not first.has_key(ApiFamily.ANALYTICS)


async def test_an_organisation_out_of_room_pauses_every_caller() -> None:
    spent = {
        "anthropic_ratelimit_requests_remaining": "0",
        "anthropic_ratelimit_requests_reset": "2026-12-02T10:00:20Z",
        "date": "Wed, 02 Dec 2026 10:00:00 GMT",
    }
    api, waits = _sleeps(Script(_json(200, {"data": [MEMBER], "has_more": False}, **spent)))
    async with api:
        assert (await api.members()).completed
    assert waits == [20.0]
