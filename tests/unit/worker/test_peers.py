"""Asking the other workers: one client, a token only for workers of this app id at the URL
they advertise, and no answer larger than the cap."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web

from streams.config import Secret
from streams.worker.peers import Peers

APP_ID = "peers-app"
TOKEN = "peer-token-Xc4Vb7"


class Worker:
    """A real HTTP server that answers like a worker: ``/health`` and ``/users``."""

    def __init__(self, app_id: str = APP_ID, *, url: str | None = None, size: int = 0,
                 chunked: bool = False) -> None:
        self.app_id = app_id
        self.claimed_url = url
        self.size = size
        self.chunked = chunked
        self.seen: list[tuple[str, str | None, int]] = []

    async def health(self, request: web.Request) -> web.Response:
        self.note(request)
        body = {"app_id": self.app_id, "url": self.claimed_url or self.url}
        return web.json_response(body)

    async def users(self, request: web.Request) -> web.StreamResponse:
        self.note(request)
        body = orjson.dumps({"data": ["x" * self.size], "total": 1})
        if not self.chunked:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse()  # no Content-Length: the size shows only as it comes
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 8192):
            await response.write(body[start:start + 8192])
        await response.write_eof()
        return response

    def note(self, request: web.Request) -> None:
        port = request.transport.get_extra_info("peername")[1]
        self.seen.append((request.path, request.headers.get("Authorization"), port))

    async def __aenter__(self) -> Worker:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/users", self.users)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


async def test_one_client_serves_every_request_and_the_token_goes_to_a_verified_peer():
    peers = Peers(APP_ID, Secret(TOKEN))
    try:
        async with Worker() as worker:
            first = await peers.ask([worker.url], "/users", {"limit": "5"})
            second = await peers.ask([worker.url], "/users", {})
        assert [status for status, _ in first + second] == [200, 200]
        assert [path for path, _, _ in worker.seen] == ["/health", "/users", "/users"]
        assert worker.seen[0][1] is None, "the health check carries no token"
        assert {auth for _, auth, _ in worker.seen[1:]} == {f"Bearer {TOKEN}"}
        assert len({port for _, _, port in worker.seen}) == 1, "one connection, kept alive"
    finally:
        await peers.aclose()


@pytest.mark.parametrize("impostor", [{"app_id": "other-app"}, {"url": "http://10.9.9.9:6066"}])
async def test_no_token_goes_to_a_url_that_is_not_a_worker_of_this_app_there(impostor, caplog):
    peers = Peers(APP_ID, Secret(TOKEN))
    try:
        async with Worker(**impostor) as worker:
            assert await peers.ask([worker.url], "/users", {}) == []
        assert [(path, auth) for path, auth, _ in worker.seen] == [("/health", None)]
        assert "not a worker of this app id" in caplog.text and TOKEN not in caplog.text
    finally:
        await peers.aclose()


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_over_the_cap_is_dropped(chunked, caplog):
    peers = Peers(APP_ID, None, max_answer_bytes=64 * 1024)
    try:
        async with (Worker(size=200 * 1024, chunked=chunked) as big,
                    Worker(size=10, chunked=chunked) as small):
            answers = await peers.ask([big.url, small.url], "/users", {})
        assert [body["data"] for _, body in answers] == [["x" * 10]]
        assert "AnswerTooLarge" in caplog.text
    finally:
        await peers.aclose()
