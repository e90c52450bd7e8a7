"""The Faust application factory: ``create_app(settings)`` builds the app and all it runs.

Importing this module builds nothing, reads no environment and creates no file.
``create_app`` makes the ``faust.App`` (identity, broker, store, web binding) and hands it to
``streams.worker``: the topics, tables, rule policy, batch runner, barrier and
published-alerts cache (``WorkerContext``), then the agents, views and page registered on it.
``claude-connector worker`` calls it with the settings the CLI loaded. For
``faust -A streams.app worker`` the module's ``app`` attribute is built on first access, from
``Settings.load()`` (the environment and the optional TOML file).
"""

from __future__ import annotations

import logging

from streams.config import Settings
from streams.kafkaio.security import KafkaSecurity
from streams.logs import limit_repeats
from streams.worker.agents import register_agents
from streams.worker.batch import PRODUCE_REQUEST_BYTES
from streams.worker.context import WorkerContext
from streams.worker.faustseam import QuietWorker, SeamApp
from streams.worker.insightsview import INSIGHT_VIEWS
from streams.worker.page import register_page
from streams.worker.triageview import TRIAGE_VIEWS
from streams.worker.views import check_exposure, register_views

SESSION_TIMEOUT_SECONDS = 12.0


class Worker(QuietWorker):
    """Faust's worker without the terminal spinner (``faustseam.QuietWorker``); Kafka client
    errors are rate-limited (``streams.logs``); httpx does not log the URLs it requests."""

    def on_root_logger(self, logger: logging.Logger) -> None:
        limit_repeats(logger.handlers)
        # httpx logs each request's URL at INFO: the webhook's URL is a secret.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


class App(SeamApp):
    """The worker's Faust app (its batch topics and transport: ``streams.worker.faustseam``);
    ``context`` is what ``create_app`` built on it."""

    context: WorkerContext


def standby_replicas(store: str) -> int:
    """Standby copies of each table partition for ``store``: one on disk (RocksDB: a worker
    taking the partition over reads only the changelog's tail), none in memory (the memory
    and compact stores drop a standby copy when their recovery ends, so it would only cost a
    reader and memory)."""
    return 1 if store.startswith("rocksdb:") else 0


def create_app(settings: Settings, *, insecure_no_token: bool = False) -> App:
    """The worker app for ``settings``, with its topics, tables, agents and views registered
    (Faust's own web pages off; ours only).

    Without ``WEB_TOKEN`` the views must bind a loopback address, unless
    ``insecure_no_token`` (a ``ConfigError`` otherwise).

    Faust keeps its data (table files with ``rocksdb://``) under the cache directory, per app
    id; that directory is created here.
    """
    check_exposure(settings, insecure_no_token)
    datadir = settings.cache_dir / "worker" / settings.worker_app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = App(
        settings.worker_app_id,
        broker=";".join(
            f"kafka://{server.strip()}"
            for server in settings.kafka_bootstrap_servers.split(",")
            if server.strip()
        ),
        broker_credentials=KafkaSecurity.from_settings(settings).faust_credentials(),
        store=settings.worker_store,
        table_standby_replicas=standby_replicas(settings.worker_store),
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
        autodiscover=False,
        origin="streams",
    )
    # The page first: Faust later mounts its own index at "/" too, and aiohttp serves the
    # first route of a path (it refuses a second one only right after the first).
    register_page(app)
    app.context = WorkerContext.build(app, settings)
    register_agents(app.context)
    register_views(app.context, INSIGHT_VIEWS, TRIAGE_VIEWS)
    return app


_loaded: dict[str, App] = {}


def __getattr__(name: str) -> App:
    """``app``: the worker app for ``Settings.load()``, built on first access (for
    ``faust -A streams.app``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _loaded:
        _loaded[name] = create_app(Settings.load())
    return _loaded[name]
