"""Pagination decisions: given one page's envelope, what to request next (pure, no I/O).

Two documented styles:

* ``ID_CURSOR`` (Admin API): request ``after_id=<last_id>`` while ``has_more`` is true.
* ``PAGE_TOKEN`` (Analytics API): pass ``next_page`` back as ``page`` until it is null.
  The cost/usage endpoints also send ``has_more``; ``has_more: true`` with no cursor is a
  truncated listing, not the end.

A pager refuses to go round in circles: a cursor it has already followed is an error, as is
"there is more" without a cursor. Both raise ``PaginationBroken`` so the listing ends as
incomplete instead of silently short. An expired cursor (HTTP 410) is handled by the caller,
which restarts the listing with a fresh pager.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class PagingStyle(StrEnum):
    """How an endpoint pages."""

    ID_CURSOR = "id_cursor"
    PAGE_TOKEN = "page_token"
    SINGLE = "single"


class PaginationBroken(ValueError):
    """The envelope cannot be followed: a missing, repeated or ill-typed cursor."""


class Pager:
    """Follows one listing's cursors; ``advance`` returns the next page's params or ``None``."""

    def __init__(self, style: PagingStyle) -> None:
        self.style = style
        self._seen: set[str] = set()

    def advance(self, envelope: Mapping[str, Any]) -> dict[str, str] | None:
        """The query parameters of the next page, or ``None`` when the listing is complete."""
        if self.style is PagingStyle.SINGLE:
            return None
        has_more = envelope.get("has_more")
        if has_more is not None and not isinstance(has_more, bool):
            raise PaginationBroken(f"has_more must be a boolean, got {type(has_more).__name__}")
        if self.style is PagingStyle.ID_CURSOR:
            if has_more is None:
                raise PaginationBroken("has_more is missing from an ID-cursor page")
            if not has_more:
                return None
            return {"after_id": self._follow(envelope.get("last_id"), "last_id")}
        token = envelope.get("next_page")
        if token is None or token == "":
            if has_more:
                raise PaginationBroken("has_more is true but next_page is empty")
            return None
        if has_more is False:
            return None
        return {"page": self._follow(token, "next_page")}

    def _follow(self, cursor: object, name: str) -> str:
        if not isinstance(cursor, str) or not cursor:
            raise PaginationBroken(f"more pages announced but {name} is {cursor!r}")
        if cursor in self._seen:
            raise PaginationBroken(f"{name} repeats a cursor already followed (pagination loop)")
        self._seen.add(cursor)
        return cursor
