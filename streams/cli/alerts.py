"""``claude-connector alerts list|ack|snooze|accept|reopen``: triage from the command line.

``list`` reads the findings from a worker (``GET /identities``); the actions publish
``AlertDecision`` events to the ``alert-decisions`` topic, which every worker applies.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime
from typing import Any

import click

from streams.config import Settings
from streams.errors import TriageError
from streams.events.records import DecisionAction
from streams.events.topics import ALERT_DECISIONS
from streams.triage import findings, publish, targets
from streams.worker.decisions import decide, parse_until

worker_option = click.option(
    "--worker", "worker_url", default=None,
    help="Base URL of a worker's views (default: WEB_ADVERTISED_URL, else "
    "http://WEB_HOST:WEB_PORT); WEB_TOKEN is sent when set.",
)


def worker_url(settings: Settings, given: str | None) -> str:
    """The worker to read findings from."""
    return given or settings.advertised_web_url() or (
        f"http://{settings.web_host}:{settings.web_port}"
    )


def _read(settings: Settings, given: str | None, state: str) -> list[dict[str, Any]]:
    token = settings.web_token.reveal() if settings.web_token else None
    try:
        return asyncio.run(findings(worker_url(settings, given), token, state))
    except TriageError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def alerts() -> None:
    """Findings per identity and triage decisions (ack, snooze, accept, reopen)."""


@alerts.command("list")
@click.option("--state", type=click.Choice(["open", "all"]), default="open", show_default=True,
              help="open: identities with an alert open, acknowledged or reopened.")
@click.option("--json", "as_json", is_flag=True, help="The identities as JSON.")
@worker_option
@click.pass_context
def list_findings(ctx: click.Context, state: str, as_json: bool, worker_url: str | None) -> None:
    """The findings, one per identity, highest severity first, with their alerts."""
    found = _read(ctx.obj.get(), worker_url, state)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for identity in found:
        reasons = ", ".join(identity["reasons"]) or "-"
        click.echo(f"{identity['severity']:<8} {identity['email'] or identity['user_id']}  "
                   f"{reasons}")
        for alert in identity["alerts"]:
            why = f" ({alert['triage_why']})" if alert["triage_why"] else ""
            click.echo(f"    {alert['alert_id']}  {alert['reason']:<30} {alert['severity']:<8} "
                       f"{alert['triage']}{why}")
    click.echo(f"{len(found)} identities")


def _action(action: DecisionAction, doc: str, *, needs_until: bool = False) -> click.Command:
    @click.argument("alert_ids", nargs=-1)
    @click.option("--user", "user", help="Every open alert of the identity with this e-mail.")
    @click.option("--reason", "why", help="Why (required for accept).")
    @click.option("--by", "by", default=None, help="Who decides (default: $USER).")
    @worker_option
    @click.pass_context
    def command(ctx: click.Context, alert_ids: tuple[str, ...], user: str | None,
                why: str | None, by: str | None, worker_url: str | None,
                until: str | None = None) -> None:
        if not alert_ids and not user:
            raise click.UsageError("name ALERT_IDS or --user EMAIL")
        settings = ctx.obj.for_kafka()
        now = datetime.now(UTC)
        try:
            moment = parse_until(until, now) if until else None
            found = targets(_read(settings, worker_url, "all"), alert_ids, user)
            decisions = decide(found, action, by=by or getpass.getuser(), why=why,
                               until=moment, now=now)
            asyncio.run(publish(decisions, settings.kafka_bootstrap_servers,
                                ALERT_DECISIONS.name(settings.topic_prefix),
                                ctx.obj.kafka_security()))
        except TriageError as exc:
            raise click.ClickException(str(exc)) from None
        for decision in decisions:
            click.echo(f"{action.value.lower()} {decision.alert_id} ({decision.severity}) "
                       f"by {decision.decided_by}")

    command.__doc__ = doc
    if needs_until:
        command = click.option("--until", required=True,
                               help="When it comes back: ISO 8601, or 30m, 4h, 2d, 1w.")(command)
    return click.command(action.value.lower())(command)


alerts.add_command(_action(DecisionAction.ACK, "Acknowledge: seen and being handled."))
alerts.add_command(_action(DecisionAction.SNOOZE, "Out of the default views until --until.",
                           needs_until=True))
alerts.add_command(_action(DecisionAction.ACCEPT,
                           "Accept the risk (--reason required) until the evidence gets worse."))
alerts.add_command(_action(DecisionAction.REOPEN, "Back to open."))
