"""Pager decisions for both documented styles, including the ways a listing can break."""

from __future__ import annotations

import pytest

from streams.client import Pager, PaginationBroken, PagingStyle


def test_id_cursor_follows_last_id_until_has_more_is_false() -> None:
    pager = Pager(PagingStyle.ID_CURSOR)
    assert pager.advance({"has_more": True, "last_id": "user_b"}) == {"after_id": "user_b"}
    assert pager.advance({"has_more": True, "last_id": "user_d"}) == {"after_id": "user_d"}
    assert pager.advance({"has_more": False, "last_id": "user_f"}) is None


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ({"has_more": True, "last_id": None}, "last_id is None"),
        ({"has_more": True}, "last_id is None"),
        ({"has_more": True, "last_id": ""}, "last_id is ''"),
        ({"has_more": True, "last_id": 7}, "last_id is 7"),
        ({"last_id": "user_a"}, "has_more is missing"),
        ({"has_more": "yes", "last_id": "user_a"}, "must be a boolean"),
    ],
)
def test_id_cursor_refuses_envelopes_it_cannot_follow(envelope: dict, reason: str) -> None:
    with pytest.raises(PaginationBroken, match=reason):
        Pager(PagingStyle.ID_CURSOR).advance(envelope)


def test_id_cursor_detects_a_loop() -> None:
    pager = Pager(PagingStyle.ID_CURSOR)
    pager.advance({"has_more": True, "last_id": "user_b"})
    with pytest.raises(PaginationBroken, match="loop"):
        pager.advance({"has_more": True, "last_id": "user_b"})


def test_page_token_passes_next_page_back_as_page() -> None:
    pager = Pager(PagingStyle.PAGE_TOKEN)
    assert pager.advance({"next_page": "abc"}) == {"page": "abc"}
    assert pager.advance({"next_page": "def", "has_more": True}) == {"page": "def"}
    assert pager.advance({"next_page": None}) is None


def test_page_token_stops_when_has_more_is_false_even_with_a_token() -> None:
    assert Pager(PagingStyle.PAGE_TOKEN).advance({"next_page": "x", "has_more": False}) is None


def test_page_token_more_without_a_cursor_is_a_truncation() -> None:
    with pytest.raises(PaginationBroken, match="has_more is true but next_page is empty"):
        Pager(PagingStyle.PAGE_TOKEN).advance({"next_page": None, "has_more": True})


def test_page_token_detects_a_loop() -> None:
    pager = Pager(PagingStyle.PAGE_TOKEN)
    pager.advance({"next_page": "abc"})
    with pytest.raises(PaginationBroken, match="loop"):
        pager.advance({"next_page": "abc"})


def test_single_page_endpoints_never_continue() -> None:
    assert Pager(PagingStyle.SINGLE).advance({"has_more": True, "next_page": "x"}) is None
