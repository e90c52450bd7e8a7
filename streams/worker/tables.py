"""Every table of the worker, changelog-backed (store from ``WORKER_STORE``).

Each table's rows are one type of ``streams.worker.rows``, written and read as JSON through
its ``RowCodec``. Per-member tables are keyed
``org:user`` and partitioned like the per-member topics; ``status`` follows the single
partition of the connector-status topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.worker.faustseam import use_value_codec
from streams.worker.rows import (
    ActivityRow,
    AlertsRow,
    AssociationsRow,
    DecisionRow,
    DirectoryOrgRow,
    DirectoryRow,
    IdentityRow,
    InviteRow,
    OrgDayRow,
    OrgSignalRow,
    RowCodec,
    SpendLimitRow,
    StatusRow,
    UsageDayRow,
    UsageRow,
    UserRow,
)
from streams.worker.state import Tables


@dataclass(frozen=True, slots=True)
class FaustTables:
    """The Faust tables of one app: the pure core's bundle."""

    core: Tables

    @classmethod
    def declare(cls, app: faust.App) -> FaustTables:
        """Declare every table on ``app``."""

        def table(name: str, row_type: type, **options: object) -> faust.Table:
            codec = RowCodec(row_type=row_type)
            schema = faust.Schema(key_type=str, key_serializer="json", value_serializer=codec)
            return use_value_codec(app.Table(name, schema=schema, **options), codec)

        return cls(
            core=Tables(
                users=table("users", UserRow, help="Members per org and their status."),
                usage=table("usage", UsageRow, help="Usage days per member."),
                usage_days=table("usage-days", UsageDayRow, help="Usage per member and day."),
                associations=table("associations", AssociationsRow,
                                   help="Surfaces and connectors per member."),
                alerts=table("alerts", AlertsRow, help="Open and resolved alerts per member."),
                directory=table("directory", DirectoryRow,
                                help="Managed identities, one copy per partition."),
                directory_orgs=table("directory-orgs", DirectoryOrgRow,
                                     help="Directory size per org."),
                identities=table("identities", IdentityRow,
                                 help="Members by e-mail without +tag."),
                status=table("status", StatusRow, partitions=1,
                             help="Latest status per connector."),
                org_signals=table("org-signals", OrgSignalRow,
                                  help="Managed-auth connectors and SSO use, per partition."),
                decisions=table("decisions", DecisionRow,
                                help="The latest triage decision per alert."),
                activity=table("activity", ActivityRow,
                               help="Activity Feed facts per member: logins, connectors, keys."),
                org_days=table("org-days", OrgDayRow,
                               help="Insight figures per org and day, per partition."),
                invites=table("invites", InviteRow, help="Invitations and their status."),
                spend_limits=table("spend-limits", SpendLimitRow,
                                   help="The newest effective spend limits per member."),
            ),
        )
