"""The Faust application: identity, broker, store and web binding, built from ``Settings``.

``faust -A streams.app worker`` and ``claude-connector worker`` load this module by import
path, so it reads ``Settings.load()`` itself. Topics, tables, agents and views live in
``streams.worker`` and register themselves on ``app`` when autodiscovery imports them.
"""

from __future__ import annotations

import logging

import faust

from streams.config import Settings
from streams.kafkaio.security import KafkaSecurity
from streams.logs import limit_repeats
from streams.worker.batch import PRODUCE_REQUEST_BYTES
from streams.worker.intake import BatchingTransport

SESSION_TIMEOUT_SECONDS = 12.0


class Worker(faust.Worker):
    """Faust's worker without the terminal spinner.

    At log level WARN and above the spinner sets the root logger to DEBUG so that every log
    record spins it; that formats every aiokafka debug record and costs about a tenth of the
    throughput. Kafka client errors are rate-limited (``streams.logs``).
    """

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        limit_repeats(logger.handlers)


class App(faust.App):
    """Faust's app with the batch intake transport (see ``streams.worker.intake``)."""

    def _new_transport(self) -> BatchingTransport:
        return BatchingTransport(self.conf.broker_consumer, self)


def create_app(settings: Settings) -> faust.App:
    """The ``faust.App`` for ``settings`` (Faust's own web pages off; ours only).

    Faust keeps its data (table files with ``rocksdb://``) under the cache directory, per app id.
    """
    datadir = settings.cache_dir / "worker" / settings.worker_app_id
    datadir.mkdir(parents=True, exist_ok=True)
    return App(
        settings.worker_app_id,
        broker=";".join(
            f"kafka://{server.strip()}"
            for server in settings.kafka_bootstrap_servers.split(",")
            if server.strip()
        ),
        broker_credentials=KafkaSecurity.from_settings(settings).faust_credentials(),
        store=settings.worker_store,
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        # A worker that died without leaving the group hands its partitions over after this.
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=SESSION_TIMEOUT_SECONDS / 4,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=settings.advertised_web_url(),
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        # Changelog writes are many small messages: let the producer batch them.
        producer_linger=0.02,
        producer_max_batch_size=512 * 1024,
        producer_max_request_size=PRODUCE_REQUEST_BYTES,
        stream_buffer_maxsize=16384,
        Worker=Worker,
        autodiscover=["streams.worker"],
        origin="streams",
    )


settings = Settings.load()
app = create_app(settings)
