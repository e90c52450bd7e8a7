"""The other workers of this app id, as the group's assignment names them, and asking them.

Every worker of an app id holds some partitions of the per-member topics. Faust's assignor
shares each member's web URL (``WEB_ADVERTISED_URL``, else ``http://WEB_HOST:WEB_PORT``) with
the whole group, so any worker can ask the others for their part of a view (``scope=local``)
and answer for every partition. A worker that does not answer in time is left out: its
partitions are then missing from the answer's ``partitions`` and ``complete`` is false.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
import httpx
import orjson

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
LOCAL = "local"
"""The ``scope`` of a view asked of one worker for its own partitions only."""


def peer_urls(app: faust.App) -> list[str]:
    """The web URLs of the other workers of ``app`` that hold partitions (its assignment)."""
    own = str(app.conf.canonical_url).rstrip("/")
    urls = {str(url).rstrip("/") for url in app.assignor.tables_metadata()}
    return sorted(urls - {own})


async def ask_peers(
    app: faust.App, path: str, params: Mapping[str, str], authorization: str | None
) -> list[tuple[int, Any]]:
    """(status, JSON body) of each other worker's ``scope=local`` answer to ``GET path``.

    The caller's ``Authorization`` header is passed on (the workers share one token). Workers
    that fail, time out or answer other than 200/404 are logged and left out.
    """
    urls = peer_urls(app)
    if not urls:
        return []
    headers = {"Authorization": authorization} if authorization else {}
    query = {**params, "scope": LOCAL}
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=headers) as client:
        responses = await asyncio.gather(
            *(client.get(url + path, params=query) for url in urls), return_exceptions=True
        )
    answers = []
    for url, response in zip(urls, responses, strict=True):
        if isinstance(response, BaseException):
            log.warning("worker %s did not answer %s: %s", url, path, type(response).__name__)
        elif response.status_code not in (200, 404):
            log.warning("worker %s answered %s with HTTP %d", url, path, response.status_code)
        else:
            try:
                answers.append((response.status_code, orjson.loads(response.content)))
            except orjson.JSONDecodeError:
                log.warning("worker %s answered %s with something not JSON", url, path)
    return answers
