"""One agent per input topic, each at concurrency 1: take a batch, run it through ``runner``.

``runner`` is the shared ``BatchRunner`` over the worker's tables with the rule policy built
from the settings; batches are ``BATCH_SIZE`` events or whatever arrived within
``BATCH_SECONDS``. ``barrier`` makes the per-member agents wait for the directory present at
start (see ``streams.worker.barrier``).
"""

from __future__ import annotations

from streams.app import app, settings
from streams.config import Settings
from streams.worker.barrier import DirectoryBarrier
from streams.worker.batch import BatchRunner
from streams.worker.channels import (
    dead_letter_topic,
    directory_fanout_topic,
    directory_topic,
    shadow_it_alerts_topic,
)
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from streams.worker.tables import worker_tables

BATCH_SIZE = 2000
BATCH_SECONDS = 0.1


def policy_for(settings: Settings) -> Policy:
    """The rule policy configured by ``settings``."""
    return Policy(
        corporate_domains=frozenset(settings.corporate_domains),
        spend_daily_usd=settings.spend_spike_daily_usd,
        spend_factor=settings.spend_spike_factor,
    )


POLICY = policy_for(settings)


def _state(tables: Tables) -> WorkerState:
    return WorkerState(tables, POLICY)


runner = BatchRunner(worker_tables(), _state, shadow_it_alerts_topic, dead_letter_topic)


def _owned_fanout_partitions() -> list[int]:
    name = directory_fanout_topic.get_topic_name()
    return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == name)


barrier = DirectoryBarrier(
    settings.kafka_bootstrap_servers,
    settings.worker_app_id,
    directory_topic.get_topic_name(),
    directory_fanout_topic.get_topic_name(),
    _owned_fanout_partitions,
)
