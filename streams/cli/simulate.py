"""``claude-connector simulate``: serve a simulated Claude organisation until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import click

from streams.simulator import RunningSimulator, SimConfig, serve

_DEFAULTS = SimConfig()
F = TypeVar("F", bound=Callable[..., object])


def _announce(simulator: RunningSimulator) -> None:
    config = simulator.config
    click.echo(f"simulator: {simulator.url}", nl=True)
    click.echo(
        f"org: {config.org_kind}, {config.users} users, seed {config.seed}, plan {config.plan}, "
        f"today {config.start_date}, dialect {config.dialect}"
    )
    keys = {
        "analytics": config.analytics_key,
        "admin": config.admin_key,
        "compliance": config.compliance_key,
    }
    for label, key in keys.items():
        if scopes := simulator.state.scopes(key):
            click.echo(f"{label} key ({', '.join(sorted(scopes))}): {key}")
    click.echo(f"activity feed lag: {config.feed_lag:g} s")
    click.echo(
        f"rate limits per minute: analytics {config.analytics_rate:g}, admin {config.admin_rate:g}"
    )
    if config.directory_out is not None:
        click.echo(f"directory: {config.directory_out}")
    click.echo(
        f"control: {simulator.url}/_sim/truth  /_sim/advance  /_sim/faults  /_sim/stats  "
        "/_sim/activities"
    )


def _rate_option(flag: str, default: float, help_text: str) -> Callable[[F], F]:
    """A requests-per-minute option (at least 1)."""
    return click.option(
        flag, type=click.FloatRange(min=1), default=default, show_default=True, help=help_text
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port (0 = any free).")
@click.option("--users", type=click.IntRange(1), default=_DEFAULTS.users, show_default=True)
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True)
@click.option("--plan", type=click.Choice(["usage", "seat"]), default="usage", show_default=True)
@_rate_option("--analytics-rate", 60.0, "Analytics requests per minute for the org.")
@_rate_option("--admin-rate", 100.0, "Admin API requests per minute for the org.")
@_rate_option(
    "--spend-limits-rate", 60.0, "Spend-limit requests per minute for the org (their own limit)."
)
@click.option(
    "--unmanaged-fraction",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.unmanaged_fraction,
    show_default=True,
    help="Share of users absent from the directory.",
)
@click.option(
    "--org-kind",
    type=click.Choice(["enterprise", "console"]),
    default=_DEFAULTS.org_kind,
    show_default=True,
    help="Claude Enterprise (scoped keys) or Claude Console (one Admin key): what may be called.",
)
@click.option(
    "--unified-chat-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.unified_chat_share,
    show_default=True,
    help="Share of members with Chat and Cowork unified (reported in their own block).",
)
@click.option(
    "--claude-tag-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.claude_tag_share,
    show_default=True,
    help="Share of members who also use Claude Tag (Slack).",
)
@click.option(
    "--groups",
    type=click.IntRange(min=0),
    default=_DEFAULTS.groups,
    show_default=True,
    help="RBAC groups of an Enterprise org (members belong to one or two, or none).",
)
@click.option(
    "--spend-limit-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.spend_limit_share,
    show_default=True,
    help="Share of members with a monthly spend limit of their own (Enterprise).",
)
@click.option(
    "--directory-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the managed-identity directory here (JSON lines).",
)
@click.option(
    "--start-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Simulated today (default: today, UTC). Fix it for reproducible runs.",
)
@click.option("--analytics-key", default=_DEFAULTS.analytics_key, show_default=True)
@click.option("--admin-key", default=_DEFAULTS.admin_key, show_default=True)
@click.option(
    "--compliance-key",
    default=_DEFAULTS.compliance_key,
    show_default=True,
    help="Enterprise key carrying read:compliance_activities (the admin key reaches the feed too).",
)
@click.option(
    "--feed-lag",
    type=click.FloatRange(min=0),
    default=_DEFAULTS.feed_lag,
    show_default=True,
    help="Wall-clock seconds before an activity shows in the feed (a few show later still).",
)
@click.option(
    "--dialect",
    type=click.Choice(["current", "legacy"]),
    default="current",
    show_default=True,
    help="Which side of the documented spelling conflicts to serve.",
)
def simulate(
    host: str,
    port: int,
    users: int,
    seed: int,
    plan: str,
    analytics_rate: float,
    admin_rate: float,
    spend_limits_rate: float,
    unmanaged_fraction: float,
    org_kind: str,
    unified_chat_share: float,
    claude_tag_share: float,
    groups: int,
    spend_limit_share: float,
    directory_out: Path | None,
    start_date: datetime | None,
    analytics_key: str,
    admin_key: str,
    compliance_key: str,
    feed_lag: float,
    dialect: str,
) -> None:
    """Serve a simulated Claude organisation (Admin, Analytics and Activity Feed endpoints).

    Deterministic for a seed and start date. Keys, URL and control endpoints are printed at
    start; stop with Ctrl-C.
    """
    start: date | None = start_date.date() if start_date else None
    config = SimConfig(
        users=users,
        seed=seed,
        plan=plan,  # type: ignore[arg-type]
        start_date=start,
        analytics_rate=analytics_rate,
        admin_rate=admin_rate,
        spend_limits_rate=spend_limits_rate,
        unmanaged_fraction=unmanaged_fraction,
        org_kind=org_kind,  # type: ignore[arg-type]
        unified_chat_share=unified_chat_share,
        claude_tag_share=claude_tag_share,
        groups=groups,
        spend_limit_share=spend_limit_share,
        analytics_key=analytics_key,
        admin_key=admin_key,
        compliance_key=compliance_key,
        feed_lag=feed_lag,
        directory_out=directory_out,
        dialect=dialect,  # type: ignore[arg-type]
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, host=host, port=port, ready=_announce))
