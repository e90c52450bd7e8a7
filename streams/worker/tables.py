"""Every table of the worker, changelog-backed (store from ``WORKER_STORE``).

Value shapes are documented in ``streams.worker.state``. Per-member tables are keyed
``org:user`` and partitioned like the per-member topics; ``status`` follows the single
partition of the connector-status topic; ``webhook_deliveries`` follows the alerts topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.worker.state import Tables

_SCHEMA = faust.Schema(key_type=str, key_serializer="json", value_serializer="json")


@dataclass(frozen=True, slots=True)
class FaustTables:
    """The Faust tables of one app: the pure core's bundle and the webhook's own table."""

    core: Tables
    webhook_deliveries: faust.Table

    @classmethod
    def declare(cls, app: faust.App) -> FaustTables:
        """Declare every table on ``app``."""

        def table(name: str, **options: object) -> faust.Table:
            return app.Table(name, schema=_SCHEMA, **options)

        return cls(
            core=Tables(
                users=table("users", help="Members per org: role, workspaces, seen, status."),
                usage=table("usage", help="Usage days per member (first, last, last active)."),
                usage_days=table("usage-days", help="Usage per member, day and family."),
                associations=table("associations", help="Surfaces and connectors per member."),
                alerts=table("alerts", help="Open and recently resolved alerts per member."),
                directory=table("directory", help="Managed identities, one copy per partition."),
                directory_orgs=table("directory-orgs", help="Directory size per org."),
                identities=table("identities", help="Members by e-mail without +tag."),
                status=table("status", partitions=1, help="Latest status per connector."),
            ),
            webhook_deliveries=table(
                "webhook-deliveries", help="Alert event ids delivered, per member."
            ),
        )
