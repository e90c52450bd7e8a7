"""The poller's committed state of one connector: rebuilt from the compacted state topic at start.

Nothing is kept on local disk, so any host can run the poller. Each entry is one small
``PollerState`` record keyed ``{org}:{connector}:{kind}:...``; a tombstone deletes an entry.
``CommittedState`` is the in-memory view; ``StateChanges`` collects what one cycle changes,
turned into the state messages committed in the same transaction as the cycle's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from streams.events.apply import UsageKey
from streams.events.codec import Codec
from streams.events.keys import state_key
from streams.events.records import (
    AssociationState,
    CredentialImage,
    CursorState,
    InviteImage,
    MemberState,
    PollerState,
    StateKind,
    UsageTotalsState,
    UserImage,
)
from streams.events.topics import POLLER_STATE
from streams.kafkaio.messages import Outgoing
from streams.poller.diff import AssociationKey

CONNECTOR_CURSOR = "connector"
"""The cursor holding the connector's cycle number, status and baseline flag."""


@dataclass
class CommittedState:
    """What the last committed cycle of one connector left behind."""

    connector: str
    org_id: str | None = None
    members: dict[str, UserImage] = field(default_factory=dict)
    pending_drop: frozenset[str] = frozenset()
    usage: dict[UsageKey, UsageTotalsState] = field(default_factory=dict)
    associations: dict[AssociationKey, AssociationState] = field(default_factory=dict)
    cursors: dict[str, CursorState] = field(default_factory=dict)
    credentials: dict[str, CredentialImage] = field(default_factory=dict)
    """The organisation's API keys as last committed (Console orgs)."""
    invites: dict[str, InviteImage] = field(default_factory=dict)
    """The organisation's invitations as last committed."""

    @classmethod
    def from_records(cls, connector: str, records: Iterable[PollerState]) -> CommittedState:
        """Fold the connector's live state entries (other connectors' entries are skipped)."""
        state = cls(connector)
        pending: set[str] = set()
        for record in records:
            if record.connector != connector:
                continue
            state.org_id = record.org_id
            if record.kind is StateKind.MEMBER and record.member is not None:
                user = record.member.user
                state.members[user.id] = user
                if record.member.pending_removal:
                    pending.add(user.id)
            elif record.kind is StateKind.USAGE and record.usage is not None:
                usage = record.usage
                state.usage[(usage.user_id, usage.day, usage.family)] = usage
            elif record.kind is StateKind.ASSOCIATION and record.association is not None:
                link = record.association
                state.associations[(link.user_id, link.kind, link.name, link.auth)] = link
            elif record.kind is StateKind.CURSOR and record.cursor is not None:
                state.cursors[record.cursor.data_type] = record.cursor
            elif record.kind is StateKind.CREDENTIAL and record.credential is not None:
                state.credentials[record.credential.id] = record.credential
            elif record.kind is StateKind.INVITE and record.invite is not None:
                state.invites[record.invite.id] = record.invite
        state.pending_drop = frozenset(pending & state.members.keys())
        return state

    @property
    def cycle(self) -> int:
        """The number of the last committed cycle (0 before the first)."""
        cursor = self.cursors.get(CONNECTOR_CURSOR)
        return cursor.cycle if cursor is not None else 0

    @property
    def baseline_complete(self) -> bool:
        cursor = self.cursors.get(CONNECTOR_CURSOR)
        return cursor is not None and cursor.baseline_complete

    @property
    def baseline_unannounced(self) -> bool:
        """A baseline roster is committed but no status yet (its run failed before its last
        cycle, which says ``BASELINE_COMPLETE``)."""
        cursor = self.cursors.get(CONNECTOR_CURSOR)
        return cursor is not None and cursor.baseline_complete and cursor.status is None


StateValue = (
    MemberState | UsageTotalsState | AssociationState | CursorState | CredentialImage | InviteImage
)


@dataclass
class StateChanges:
    """The entries one cycle sets or deletes, in the order they were recorded.

    Each entry keeps only its value; its ``PollerState`` record is built as its message is
    (a baseline changes one entry per member and usage series).
    """

    org_id: str
    connector: str
    poll_id: str
    updated_at: datetime
    _entries: dict[bytes, tuple[StateKind, StateValue] | None] = field(default_factory=dict)

    def member(self, user_id: str, member: MemberState | None) -> None:
        """Set a member (``None`` deletes it), as ``RosterDiff.state_changes`` gives it."""
        self._put(StateKind.MEMBER, ("member", user_id), member)

    def usage(self, totals: UsageTotalsState | None, key: UsageKey) -> None:
        """Set the committed totals of a usage series (``None`` forgets it)."""
        user_id, day, family = key
        self._put(StateKind.USAGE, ("usage", user_id, day.isoformat(), family.value), totals)

    def association(self, link: AssociationState) -> None:
        self._put(
            StateKind.ASSOCIATION,
            ("association", link.user_id, link.kind.value, link.auth.value, link.name),
            link,
        )

    def credential(self, key_id: str, image: CredentialImage | None) -> None:
        """Set an API key's committed image (``None`` forgets a removed key)."""
        self._put(StateKind.CREDENTIAL, ("credential", key_id), image)

    def invite(self, invite_id: str, image: InviteImage | None) -> None:
        """Set an invitation's committed image (``None`` forgets a removed one)."""
        self._put(StateKind.INVITE, ("invite", invite_id), image)

    def cursor(self, cursor: CursorState) -> None:
        self._put(StateKind.CURSOR, ("cursor", cursor.data_type), cursor)

    def messages(self, codec: Codec, prefix: str) -> Iterator[Outgoing]:
        """The state topic messages for every change (tombstones for deletions), each
        encoded as it is asked for."""
        topic = POLLER_STATE.name(prefix)
        for key, entry in self._entries.items():
            value = None if entry is None else codec.encode(self._record(*entry))
            yield Outgoing(topic, key, value)

    def __len__(self) -> int:
        return len(self._entries)

    def _put(self, kind: StateKind, parts: tuple[str, ...], value: StateValue | None) -> None:
        key = state_key(self.org_id, self.connector, *parts)
        self._entries[key] = None if value is None else (kind, value)

    def _record(self, kind: StateKind, value: StateValue) -> PollerState:
        """The state entry setting ``value`` in its branch (the field named like ``kind``)."""
        branches: dict[str, StateValue | None] = dict.fromkeys(_BRANCHES)
        branches[kind.value.lower()] = value
        return PollerState(
            org_id=self.org_id,
            connector=self.connector,
            kind=kind,
            poll_id=self.poll_id,
            updated_at=self.updated_at,
            **branches,  # type: ignore[arg-type]
        )


_BRANCHES = ("member", "usage", "association", "cursor", "credential", "invite")
"""The ``PollerState`` fields of which an entry sets the one its kind names."""


def expired_usage(usage: Mapping[UsageKey, UsageTotalsState], oldest_day: date) -> list[UsageKey]:
    """Usage series older than the revision window: never re-read, so their state can go."""
    return [key for key in usage if key[1] < oldest_day]
