"""Opaque page cursors: the state of a listing, encoded into the ``page`` token itself.

A cursor records a fingerprint of the query that produced it, so a cursor replayed with
different parameters is refused (400, as documented for the cost and usage endpoints), and,
for cost and usage, the data watermark it was cut at, so a cursor outliving a data refresh
expires (410).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

import orjson


class CursorInvalid(ValueError):
    """The token is not a cursor this simulator issued."""


def encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode(token: str) -> dict[str, Any]:
    try:
        state = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise CursorInvalid(token) from None
    if not isinstance(state, dict):
        raise CursorInvalid(token)
    return state


PAGING_PARAMETERS = frozenset({"page", "limit"})


def fingerprint(items: Iterable[tuple[str, str]]) -> str:
    """A short digest of the query parameters that define a listing (paging ones left out)."""
    canonical = sorted((name, value) for name, value in items if name not in PAGING_PARAMETERS)
    return hashlib.sha256(orjson.dumps(canonical)).hexdigest()[:16]
