"""Scenario 6: the worker's web views under hostile requests.

With a token configured, every view but ``/health`` answers 401 to a request without it, with
a wrong one, or with a mangled ``Authorization`` header, and never echoes the token. Query
parameters, member ids and headers fuzzed with hypothesis never cause a 5xx: a bad parameter
is a 400 with an ``error``, an unknown member a 404 (a 401 without the token: only a path no
view takes is a 404 without it). A request for another ``Host`` (DNS rebinding) is a 403, every
answer says ``no-store`` and ``nosniff``, and no list request reaches past 10 000 items.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.ledger import CANARY_WEB_TOKEN, LEDGER, leaks_in

pytestmark = pytest.mark.kafka

AUTHORIZED = {"Authorization": f"Bearer {CANARY_WEB_TOKEN}"}
VIEWS = ("/users", "/users/user_x", "/alerts", "/status", "/metrics", "/insights")
PARAMETERS = ("status", "org", "role", "limit", "offset", "state", "reason", "user_id", "scope",
              "days", "until", "sort", "idle")
HEADER_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + string.punctuation + " \t", max_size=80
).map(str.strip)
"""What an HTTP client lets through (no line breaks, nothing outside ASCII, no outer spaces)."""
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["open", "all", "local", "removed", "member", "UNMANAGED_IDENTITY", "", " ",
                     "spend", "last_active", "true", "2026-11-30", "2026-02-30", "366",
                     "NaN", "1e9", "0x10", "-0", "\x00", "🙂", "%00", "1" * 400]),
)
QUERIES = st.dictionaries(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=12)), VALUES,
                          max_size=5)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def client(shared_worker) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_worker.process.url, timeout=10) as views:
        yield views


def is_json(response: httpx.Response) -> bool:
    """True when one of our views answered (aiohttp's own 404 for an unknown route is text)."""
    return response.headers.get("content-type", "").startswith("application/json")


def record(name: str, responses: list[httpx.Response]) -> None:
    LEDGER.add(f"views: {name}", cycles=1, faults_injected=len(responses),
               leaks=leaks_in(r.content for r in responses))


def test_views_need_the_token(client):
    wrong = [None, "", "Bearer", f"Basic {CANARY_WEB_TOKEN}", CANARY_WEB_TOKEN,
             f"Bearer {CANARY_WEB_TOKEN}x", f"Bearer {CANARY_WEB_TOKEN[:-1]}",
             f"Bearer {CANARY_WEB_TOKEN.upper()}"]
    responses = []
    for path in VIEWS:
        for header in wrong:
            response = client.get(path, headers={} if header is None else {"Authorization": header})
            responses.append(response)
            assert response.status_code == 401, (path, header, response.text)
            assert "error" in response.json()
    health = client.get("/health")
    ok = client.get("/users", headers={"Authorization": f"bearer  {CANARY_WEB_TOKEN}"})
    record("missing or wrong token", [*responses, health, ok])
    assert health.status_code == 200 and ok.status_code == 200
    assert leaks_in(r.content for r in responses) == 0


@FUZZ
@given(path=st.sampled_from(VIEWS), query=QUERIES)
def test_fuzzed_query_parameters_never_cause_a_5xx(client, path, query):
    response = client.get(path, params=query, headers=AUTHORIZED)
    record("fuzzed query parameters", [response])
    assert response.status_code in (200, 400, 404), (path, query, response.text[:300])
    if path != "/metrics":
        body = response.json()
        assert ("error" in body) == (response.status_code != 200), body
    assert leaks_in([response.content]) == 0


@FUZZ
@given(user_id=st.text(min_size=1, max_size=60), authorization=HEADER_TEXT)
def test_fuzzed_member_ids_and_headers_never_cause_a_5xx(client, user_id, authorization):
    path = f"/users/{quote(user_id, safe='')}"
    authorised = client.get(path, headers=AUTHORIZED)
    mangled = client.get(path, headers={"Authorization": authorization})
    record("fuzzed member ids and headers", [authorised, mangled])
    assert authorised.status_code in (200, 404), (user_id, authorised.text[:300])
    if is_json(authorised):  # our view answered: without the token it must refuse
        assert mangled.status_code == 401, (user_id, authorization, mangled.text[:300])
        assert "error" in mangled.json()
    else:  # no route took the path (aiohttp's plain 404), token or not
        assert (authorised.status_code, mangled.status_code) == (404, 404), (
            user_id, authorization, mangled.text[:300])
        assert not is_json(mangled)
    assert leaks_in([authorised.content, mangled.content]) == 0


def test_an_authorization_header_outside_ascii_is_a_401(client):
    headers = [b"Bearer \xe9t\xe9", "Bearer \u00fcber".encode(), b"\xff\xfe", b"Bearer \x80"]
    responses = [client.get("/users", headers={"Authorization": value}) for value in headers]
    record("authorization header outside ASCII", responses)
    assert [r.status_code for r in responses] == [401] * len(headers)


def test_a_request_for_another_host_is_refused(client):
    """DNS rebinding: a page on another name that resolves to this worker cannot read it."""
    port = client.base_url.port
    foreign = ["evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
               "10.0.0.1", ""]
    refused = [client.get(path, headers={**AUTHORIZED, "Host": host})
               for host in foreign for path in ("/users", "/alerts", "/metrics")]
    known = [client.get("/users", headers={**AUTHORIZED, "Host": host})
             for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost")]
    probe = client.get("/health", headers={"Host": "10.0.0.1:6066"})  # open, as to anyone
    record("foreign Host header", [*refused, *known, probe])
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all("error" in r.json() for r in refused)
    assert [r.status_code for r in known] == [200] * len(known)
    assert probe.status_code == 200


def test_every_answer_says_no_store_and_nosniff(client):
    responses = [
        client.get("/health"),
        client.get("/users", headers=AUTHORIZED),
        client.get("/users/user_nobody", headers=AUTHORIZED),
        client.get("/metrics", headers=AUTHORIZED),
        client.get("/alerts"),
        client.get("/alerts", params={"state": "x"}, headers=AUTHORIZED),
        client.get("/status", headers={**AUTHORIZED, "Host": "evil.example"}),
    ]
    record("cache and sniffing headers", responses)
    assert [r.status_code for r in responses] == [200, 200, 404, 200, 401, 400, 403]
    for response in responses:
        assert response.headers.get("cache-control") == "no-store", response.request.url
        assert response.headers.get("x-content-type-options") == "nosniff"


def test_a_list_request_reaches_at_most_the_window(client):
    too_much = [{"limit": "10001"}, {"offset": "9999", "limit": "2"},
                {"offset": "10000"}, {"scope": "local", "limit": "100000"},
                {"scope": "local", "offset": "1000000000", "limit": "10"}]
    refused = [client.get("/users", params=query, headers=AUTHORIZED) for query in too_much]
    allowed = [client.get("/users", params=query, headers=AUTHORIZED)
               for query in ({"limit": "10000"}, {"offset": "9999", "limit": "1"})]
    record("list window", [*refused, *allowed])
    assert [r.status_code for r in refused] == [400] * len(refused), [r.text for r in refused]
    assert [r.status_code for r in allowed] == [200, 200]
