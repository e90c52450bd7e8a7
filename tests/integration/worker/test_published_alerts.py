"""The worker's record of published alert events, read from a real alerts topic."""

from __future__ import annotations

import pytest

from streams.events.codec import encode
from streams.events.keys import user_key
from streams.events.records import AuthKind, UserOp
from streams.worker.published import PublishedAlerts
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from tests.fixtures.worker import ORG, association, produce_raw, user_event

pytestmark = pytest.mark.kafka


def alert_events(user: str) -> list:
    """An opened PERSONAL_CREDENTIAL_CONNECTOR alert, then its resolution."""
    state = WorkerState(Tables.empty(), Policy(corporate_domains=frozenset({"acme.com"}),
                                                 managed_connectors=frozenset({"github"})))
    member = user_event(UserOp.SNAPSHOT, user, f"{user}@acme.com", baseline=True)
    link = association(user, "github", auth=AuthKind.PERSONAL_CREDENTIAL, baseline=True)
    gone = user_event(UserOp.REMOVED, user, f"{user}@acme.com")
    return [*state.apply_user_event(member, 0), *state.apply_association(link, 0),
            *state.apply_user_event(gone, 0)]


async def test_the_topic_is_read_once_per_assignment_and_from_where_it_stopped(
    kafka_bootstrap, new_topic
):
    topic = await new_topic("alerts", partitions=2)
    opened, resolved = alert_events("user_1")
    later, _ = alert_events("user_2")
    await produce_raw(kafka_bootstrap, topic, user_key(ORG, "user_1"), encode(opened))
    await produce_raw(kafka_bootstrap, topic, b"odd", b"\x00not an alert")
    await produce_raw(kafka_bootstrap, topic, user_key(ORG, "user_1"), encode(resolved))
    generation = [1]
    published = PublishedAlerts(kafka_bootstrap, topic, lambda: generation[0])

    await published.catch_up()
    assert len(published) == 2
    assert published.get(opened.event_id) == opened
    assert published.get(resolved.event_id) == resolved
    assert published.get(later.event_id) is None

    await produce_raw(kafka_bootstrap, topic, user_key(ORG, "user_2"), encode(later))
    await published.catch_up()
    assert later.event_id not in published, "same assignment: the topic is not read again"
    generation[0] = 2
    await published.catch_up()
    assert published.get(later.event_id) == later
    assert len(published) == 3


async def test_a_topic_that_does_not_exist_yet_is_empty(kafka_bootstrap):
    published = PublishedAlerts(kafka_bootstrap, "no-such-alerts-topic-7f3a", lambda: 1)
    await published.catch_up()
    assert len(published) == 0
