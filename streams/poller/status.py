"""Connector health from what one cycle's fetches achieved (pure; no I/O).

A cycle fetches several data types (roster, analytics, usage). Each ends in an ``Outcome``:
completed, or stopped by an ``ApiError``. The connector's health is the worst of them:
a key nothing accepts (401, or every data type refused) → RECONNECT_REQUIRED; rate limits or
transient server errors that outlasted the retries → DEGRADED; anything else incomplete
(one endpoint refused for a scope or feature the org lacks, malformed data, truncated paging)
→ PARTIAL; all complete after a bad state → RECOVERED, else HEALTHY. An *optional* outcome (the
Activity Feed refused to the admin key tried as its fallback) is reported but never unhealthy.
Status is emitted on change only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from streams.errors import (
    ApiError,
    EndpointUnavailable,
    RateLimited,
    ReconnectRequired,
    TransientApiError,
)
from streams.events.keys import status_event_id
from streams.events.records import ConnectorState, ConnectorStatus
from streams.poller.snapshot import PollContext

HEALTHY_STATES = frozenset(
    {ConnectorState.HEALTHY, ConnectorState.RECOVERED, ConnectorState.BASELINE_COMPLETE}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How fetching one data type went in one cycle."""

    data_type: str
    error: ApiError | None = None
    optional: bool = False
    """A data type the connector may lack: its refusal is reported, never a failure."""

    @property
    def completed(self) -> bool:
        return self.error is None

    @property
    def failed(self) -> bool:
        """Incomplete in a way that makes the connector unhealthy."""
        return self.error is not None and not self.optional

    @property
    def reason(self) -> str | None:
        """One line naming the data type and the error (never a key: errors carry none)."""
        if self.error is None:
            return None
        lacking = "not available to this connector: " if self.optional else ""
        return f"{self.data_type}: {lacking}{self.error}"


def health(outcomes: Sequence[Outcome]) -> tuple[ConnectorState, str | None]:
    """The health the outcomes show, with the reason of the worst failure."""
    failures = [outcome for outcome in outcomes if outcome.failed]
    counted = [outcome for outcome in outcomes if not outcome.optional or outcome.completed]
    refused = (ReconnectRequired, EndpointUnavailable)
    if len(failures) == len(counted) > 0 and all(
        isinstance(outcome.error, refused) for outcome in failures
    ):
        return ConnectorState.RECONNECT_REQUIRED, "; ".join(o.reason or "" for o in failures)
    for kinds, state in (
        ((ReconnectRequired,), ConnectorState.RECONNECT_REQUIRED),
        ((RateLimited, TransientApiError), ConnectorState.DEGRADED),
        ((ApiError,), ConnectorState.PARTIAL),
    ):
        worst = [outcome for outcome in failures if isinstance(outcome.error, kinds)]
        if worst:
            return state, "; ".join(outcome.reason or "" for outcome in worst)
    return ConnectorState.HEALTHY, None


def transition(
    previous: ConnectorState | None, outcomes: Sequence[Outcome]
) -> tuple[ConnectorState, str | None] | None:
    """The status to emit after a cycle, or None when nothing changed."""
    state, reason = health(outcomes)
    if state is ConnectorState.HEALTHY:
        if previous is None or previous in HEALTHY_STATES:
            return None if previous is not None else (ConnectorState.HEALTHY, None)
        return ConnectorState.RECOVERED, f"recovered from {previous.value}"
    if state is previous:
        return None
    return state, reason


def status_event(
    context: PollContext,
    state: ConnectorState,
    previous: ConnectorState | None,
    reason: str | None,
    *,
    baseline_complete: bool,
    last_success: dict[str, datetime] | None = None,
    failing: dict[str, str] | None = None,
    feed_reconciliation: dict[str, int] | None = None,
) -> ConnectorStatus:
    """The status event of one connector for one cycle (its id is deterministic)."""
    return ConnectorStatus(
        event_id=status_event_id(context.org_id, context.connector, state, context.poll_id, reason),
        org_id=context.org_id,
        connector=context.connector,
        state=state,
        previous_state=previous,
        reason=reason,
        baseline_complete=baseline_complete,
        last_success=last_success or {},
        failing=failing or {},
        poll_id=context.poll_id,
        observed_at=context.observed_at,
        feed_reconciliation=feed_reconciliation or {},
    )
