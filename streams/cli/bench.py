"""``claude-connector bench NAME [--option value ...] --json``."""

from __future__ import annotations

import click
import orjson

from streams.bench import registry


def _option_value(raw: str) -> int | float | str:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def bench(ctx: click.Context, name: str, as_json: bool) -> None:
    """Run benchmark NAME; extra ``--key value`` pairs are passed to it (``--users 100000``)."""
    benchmarks = registry()
    if name not in benchmarks:
        known = ", ".join(benchmarks) or "none"
        raise click.UsageError(f"unknown benchmark {name!r}; known: {known}")
    extra = list(ctx.args)
    if len(extra) % 2 or not all(key.startswith("--") for key in extra[::2]):
        raise click.UsageError("benchmark options must be --key value pairs")
    options = {
        key[2:].replace("-", "_"): _option_value(value)
        for key, value in zip(extra[::2], extra[1::2], strict=True)
    }
    result = benchmarks[name](**options)
    if as_json:
        click.echo(orjson.dumps(result, option=orjson.OPT_SORT_KEYS).decode())
    else:
        for key, value in sorted(result.items()):
            click.echo(f"{key}: {value}")
