"""Every table of the worker, changelog-backed (store from ``WORKER_STORE``).

Value shapes are documented in ``streams.worker.state``. Per-member tables are keyed
``org:user`` and partitioned like the per-member topics; ``status`` follows the single
partition of the connector-status topic; ``webhook_deliveries`` follows the alerts topic.
"""

from __future__ import annotations

import faust

from streams.app import app
from streams.worker.state import Tables

_SCHEMA = faust.Schema(key_type=str, key_serializer="json", value_serializer="json")


def _table(name: str, **options: object) -> faust.Table:
    return app.Table(name, schema=_SCHEMA, **options)


users = _table("users", help="Members per org: role, workspaces, first/last seen, status.")
usage = _table("usage", help="Usage totals per member and metric family, recent daily spend.")
usage_days = _table("usage-days", help="Usage per member, day and metric family.")
associations = _table("associations", help="Surfaces and connectors per member, with auth.")
alerts = _table("alerts", help="Open and recently resolved shadow-IT alerts per member.")
directory = _table("directory", help="Managed identities, one copy per partition.")
directory_orgs = _table("directory-orgs", help="Directory size per org, per partition.")
identities = _table("identities", help="Members by e-mail without +tag, per partition.")
status = _table("status", partitions=1, help="Latest connector status per org and connector.")
activity = _table("activity", help="Activity Feed facts per member: logins, connectors, keys.")
webhook_deliveries = _table("webhook-deliveries", help="Alert event ids delivered, per member.")


def worker_tables() -> Tables:
    """The Faust tables as the pure core's ``Tables`` bundle."""
    return Tables(
        users=users,
        usage=usage,
        usage_days=usage_days,
        associations=associations,
        alerts=alerts,
        directory=directory,
        directory_orgs=directory_orgs,
        identities=identities,
        status=status,
        activity=activity,
    )
