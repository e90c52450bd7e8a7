"""The other workers of this app id, as the group's assignment names them, and asking them.

Every worker of an app id holds some partitions of the per-member topics. Faust's assignor
shares each member's web URL (``WEB_ADVERTISED_URL``, else ``http://WEB_HOST:WEB_PORT``) with
the whole group, so any worker can ask the others for their part of a view (``scope=local``)
and answer for every partition. A worker that does not answer in time is left out: its
partitions are then missing from the answer's ``partitions`` and ``complete`` is false.

The bearer token goes only to a URL whose ``/health`` (which needs none) says it is a worker
of the same app id at that very URL; redirects are not followed, and an answer larger than
``MAX_ANSWER_BYTES`` is dropped unread. One HTTP client (``Peers``) serves every request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
import httpx
import orjson

from streams.config import Secret

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""The largest answer read from another worker (a full page of a list is a few MB)."""
LOCAL = "local"
"""The ``scope`` of a view asked of one worker for its own partitions only."""


def peer_urls(app: faust.App) -> list[str]:
    """The web URLs of the other workers of ``app`` that hold partitions (its assignment)."""
    own = str(app.conf.canonical_url).rstrip("/")
    urls = {str(url).rstrip("/") for url in app.assignor.tables_metadata()}
    return sorted(urls - {own})


class AnswerTooLarge(Exception):
    """A peer's answer went over ``MAX_ANSWER_BYTES``."""


class Peers:
    """Asks the other workers of ``app_id`` with one HTTP client and ``token``."""

    def __init__(
        self,
        app_id: str,
        token: Secret | None,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.app_id = app_id
        self._token = token
        self.max_answer_bytes = max_answer_bytes
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._verified: set[str] = set()

    def __repr__(self) -> str:
        return f"Peers(app_id={self.app_id!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        """The one client of every peer request (made at the first)."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
                    ) -> tuple[int, bytes]:
        """Status and body of ``GET url``; ``AnswerTooLarge`` past the cap."""
        request = self.client.build_request("GET", url, params=params, headers=headers)
        response = await self.client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_answer_bytes:
                raise AnswerTooLarge
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self.max_answer_bytes:
                    raise AnswerTooLarge
            return response.status_code, bytes(body)
        finally:
            await response.aclose()

    async def is_peer(self, url: str) -> bool:
        """True when ``url``'s ``/health`` names this app id and ``url`` itself."""
        if url in self._verified:
            return True
        status, body = await self.fetch(url + "/health", {}, {})
        health = orjson.loads(body) if status in (200, 503) else {}
        if (isinstance(health, dict) and health.get("app_id") == self.app_id
                and str(health.get("url", "")).rstrip("/") == url):
            self._verified.add(url)
            return True
        log.warning("%s is not a worker of this app id at that URL: not asked", url)
        return False

    async def ask_one(self, url: str, path: str, query: Mapping[str, str]
                      ) -> tuple[int, Any] | None:
        """(status, JSON body) of one worker's answer, or None (logged) when it has none."""
        try:
            headers = {}
            if self._token:
                if not await self.is_peer(url):
                    return None
                headers["Authorization"] = f"Bearer {self._token.reveal()}"
            status, body = await self.fetch(url + path, query, headers)
        except (httpx.HTTPError, AnswerTooLarge, orjson.JSONDecodeError) as exc:
            log.warning("worker %s did not answer %s: %s", url, path, type(exc).__name__)
            return None
        if status not in (200, 404):
            log.warning("worker %s answered %s with HTTP %d", url, path, status)
            return None
        try:
            return status, orjson.loads(body)
        except orjson.JSONDecodeError:
            log.warning("worker %s answered %s with something not JSON", url, path)
            return None

    async def ask(self, urls: list[str], path: str, params: Mapping[str, str]
                  ) -> list[tuple[int, Any]]:
        """(status, JSON body) of each of ``urls``' ``scope=local`` answer to ``GET path``;
        workers that fail, time out, answer too much or other than 200/404 are left out."""
        query = {**params, "scope": LOCAL}
        answers = await asyncio.gather(*(self.ask_one(url, path, query) for url in urls))
        return [answer for answer in answers if answer is not None]
