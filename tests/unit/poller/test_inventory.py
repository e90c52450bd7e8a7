"""The key inventory as change events: created, updated, removed only by a complete listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from streams.events.records import CredentialImage, InventoryOp, InviteImage
from streams.poller.inventory import diff_credentials, diff_invites
from streams.poller.snapshot import PollContext

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONTEXT = PollContext("org_1", "acme", "acme:4", NOW)
LAPTOP = CredentialImage("apikey_1", "laptop", "active", NOW, "workspace", "wrkspc_1")
CI = CredentialImage("apikey_2", "ci", "active", NOW, "organization", None, "user_actor", "u1")


def test_first_listing_is_the_baseline_and_unchanged_keys_are_silent() -> None:
    first = diff_credentials({}, [LAPTOP, CI], complete=True, context=CONTEXT, baseline=True)
    assert [(e.op, e.key_id, e.baseline) for e in first.events] == [
        (InventoryOp.CREATED, "apikey_1", True),
        (InventoryOp.CREATED, "apikey_2", True),
    ]
    known = {"apikey_1": LAPTOP, "apikey_2": CI}
    again = diff_credentials(known, [LAPTOP, CI], complete=True, context=CONTEXT, baseline=False)
    assert again.events == () and again.changes == {}


def test_changes_name_their_fields_and_a_complete_listing_removes() -> None:
    known = {"apikey_1": LAPTOP, "apikey_2": CI}
    archived = replace(LAPTOP, status="archived", name="old laptop")
    new = CredentialImage("apikey_3", "bot", "active", NOW)
    diff = diff_credentials(known, [archived, new], complete=True, context=CONTEXT, baseline=False)
    by_op = {event.op: event for event in diff.events}
    assert by_op[InventoryOp.UPDATED].changed_fields == ("name", "status")
    assert by_op[InventoryOp.CREATED].key_id == "apikey_3"
    assert not by_op[InventoryOp.CREATED].baseline
    assert by_op[InventoryOp.REMOVED].credential == CI
    assert diff.changes == {"apikey_1": archived, "apikey_3": new, "apikey_2": None}
    assert len({event.event_id for event in diff.events}) == 3


def test_an_incomplete_listing_never_removes() -> None:
    known = {"apikey_1": LAPTOP, "apikey_2": CI}
    diff = diff_credentials(known, [LAPTOP], complete=False, context=CONTEXT, baseline=False)
    assert diff.events == () and diff.changes == {}


def test_an_accepted_invitation_is_an_update_and_a_deleted_one_removed() -> None:
    pending = InviteImage("invite_1", "sam@gmail.com", "user", "pending", NOW, NOW)
    other = InviteImage("invite_2", "kim@example.com", "admin", "pending", NOW, NOW)
    accepted = replace(pending, status="accepted", accepted_at=NOW)
    known = {"invite_1": pending, "invite_2": other}
    diff = diff_invites(known, [accepted], complete=True, context=CONTEXT, baseline=False)
    assert [(e.op, e.invite_id, e.changed_fields) for e in diff.events] == [
        (InventoryOp.UPDATED, "invite_1", ("status", "accepted_at")),
        (InventoryOp.REMOVED, "invite_2", ()),
    ]
