"""Everything one worker app runs, built from ``Settings`` by ``WorkerContext.build``.

The topics, tables, rule policy, published-alerts cache, batch runner and start-up barrier of
one ``faust.App``. Agents and views are registered with it (``agents.register_agents``,
``views.register_views``); nothing here exists before ``streams.app.create_app`` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.config import Settings
from streams.errors import ConfigError
from streams.events.records import AlertReason
from streams.kafkaio.security import KafkaSecurity
from streams.worker.barrier import DirectoryBarrier
from streams.worker.batch import BatchRunner
from streams.worker.channels import Channels, active_partitions
from streams.worker.published import PublishedAlerts
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState
from streams.worker.tables import FaustTables


def policy_for(settings: Settings) -> Policy:
    """The rule policy configured by ``settings``."""
    return Policy(
        corporate_domains=frozenset(settings.corporate_domains),
        spend_daily_usd=settings.spend_spike_daily_usd,
        spend_factor=settings.spend_spike_factor,
        managed_connectors=frozenset(settings.managed_connectors),
        disabled=disabled_rules(settings.disabled_rules),
        real_spend_usd=settings.exposed_spend_usd,
        spend_limit_near_share=settings.spend_limit_near_share,
    )


def disabled_rules(names: tuple[str, ...]) -> frozenset[AlertReason]:
    """The rules ``DISABLED_RULES`` names; a ``ConfigError`` for a name that is no rule."""
    known = {reason.value: reason for reason in AlertReason if reason is not AlertReason.UNKNOWN}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"DISABLED_RULES: unknown rules {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    return frozenset(known[name] for name in names)


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """One app's topics, tables and the shared parts its agents and views use."""

    app: faust.App
    settings: Settings
    channels: Channels
    tables: FaustTables
    policy: Policy
    published_alerts: PublishedAlerts
    runner: BatchRunner
    barrier: DirectoryBarrier

    @classmethod
    def build(cls, app: faust.App, settings: Settings) -> WorkerContext:
        """Declare the topics and tables on ``app`` and build the parts over them."""
        channels = Channels.declare(app, settings)
        tables = FaustTables.declare(app)
        policy = policy_for(settings)
        bootstrap = settings.kafka_bootstrap_servers
        security = KafkaSecurity.from_settings(settings)
        published = PublishedAlerts(
            bootstrap,
            channels.shadow_it_alerts.get_topic_name(),
            lambda: app.consumer_generation_id,
            security=security,
        )

        def state(core: Tables) -> WorkerState:
            return WorkerState(core, policy, published.get)

        fanout = channels.directory_fanout.get_topic_name()
        return cls(
            app=app,
            settings=settings,
            channels=channels,
            tables=tables,
            policy=policy,
            published_alerts=published,
            runner=BatchRunner(
                tables.core, state, channels.shadow_it_alerts, channels.dead_letter, published
            ),
            barrier=DirectoryBarrier(
                bootstrap,
                settings.worker_app_id,
                channels.directory.get_topic_name(),
                fanout,
                lambda: active_partitions(app, fanout),
                security=security,
            ),
        )
