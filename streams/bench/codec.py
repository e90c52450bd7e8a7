"""``claude-connector bench codec --json``: our single-object codec against fastavro and avro.

A realistic mix of events (per 20: 12 usage deltas, 4 user events, 2 associations, 1 status,
1 alert) is encoded and decoded, in the same process, by:

- ours: ``Codec.encode_datum`` / ``decode_datum`` (header, fingerprint lookup, resolution),
- fastavro: bare ``schemaless_writer`` / ``schemaless_reader`` on the same dicts and schemas,
- avro: the reference package's ``DatumWriter`` / ``DatumReader`` on the same dicts,
- typed: ``Codec.encode(record)`` / ``decode(bytes)`` including the dataclass conversion.

Throughput is round trips per second (encode + decode of one record), best of ``runs``
interleaved rounds so background load hits every contender alike. ``ratio`` = ours / fastavro
(target >= 0.8); ``ratio_vs_avro`` = ours / avro (target >= 5).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

import avro.io
import avro.schema
import orjson
from fastavro import schemaless_reader, schemaless_writer

from streams.bench import benchmark
from streams.events.codec import default_codec
from streams.events.records import (
    AlertReason,
    AlertState,
    AppAssociation,
    AppKind,
    AuthKind,
    AvroRecord,
    ConnectorState,
    ConnectorStatus,
    MetricFamily,
    Severity,
    ShadowItAlert,
    Source,
    UsageDelta,
    UserEvent,
    UserImage,
    UserOp,
)

START = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def _image(i: int, role: str = "user") -> UserImage:
    return UserImage(
        id=f"user_{i:08d}",
        email=f"person{i}@example.com",
        name=f"Person {i}",
        role=role,
        workspaces={"wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ": "workspace_developer"} if i % 3 else {},
        added_at=START - timedelta(days=i % 400),
    )


def _common(i: int) -> dict[str, Any]:
    return {"connector": "acme-enterprise", "poll_id": f"acme-enterprise:{i // 100}",
            "observed_at": START + timedelta(seconds=i)}


def sample_records(count: int) -> list[AvroRecord]:
    """``count`` records in the mix described above."""
    records: list[AvroRecord] = []
    for i in range(count):
        slot = i % 20
        user = f"user_{i:08d}"
        if slot < 12:
            family = (MetricFamily.TOKENS, MetricFamily.COST, MetricFamily.MESSAGES)[slot % 3]
            totals = {
                # The metric keys the poller writes (streams.poller.collect).
                MetricFamily.TOKENS: {"input": 310200 + i, "cache_read": 1200400,
                                      "cache_creation": 22000, "output": 88100,
                                      "total": 1620700 + i},
                MetricFamily.COST: {"usd_micros": 8812500000 + i},
                MetricFamily.MESSAGES: {"messages": 62},
            }[family]
            records.append(UsageDelta(
                event_id=f"{i:032x}", org_id="org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P", user_id=user,
                email=f"person{i}@example.com", day=date(2026, 11, 1) + timedelta(days=i % 27),
                family=family, delta={k: v // 3 for k, v in totals.items()}, totals=totals,
                revision=1 + i % 4, baseline=False, source=Source.USAGE_REPORT, **_common(i),
            ))
        elif slot < 16:
            op = (UserOp.ADDED, UserOp.UPDATED, UserOp.REMOVED, UserOp.SNAPSHOT)[slot - 12]
            before = _image(i) if op in (UserOp.UPDATED, UserOp.REMOVED) else None
            after = _image(i, "admin") if op is not UserOp.REMOVED else None
            records.append(UserEvent(
                event_id=f"{i:032x}", op=op, org_id="org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P", user_id=user,
                before=before, after=after,
                changed_fields=("role",) if op is UserOp.UPDATED else (),
                baseline=op is UserOp.SNAPSHOT, source=Source.ROSTER, **_common(i),
            ))
        elif slot < 18:
            records.append(AppAssociation(
                event_id=f"{i:032x}", org_id="org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P", user_id=user,
                email=f"person{i}@example.com", kind=AppKind.CONNECTOR, name="github",
                display_name=None, auth=AuthKind.PERSONAL_CREDENTIAL, first_seen=date(2026, 11, 3),
                baseline=False, source=Source.ANALYTICS, **_common(i),
            ))
        elif slot == 18:
            records.append(ConnectorStatus(
                event_id=f"{i:032x}", org_id="org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P",
                connector="acme-enterprise", state=ConnectorState.PARTIAL,
                previous_state=ConnectorState.HEALTHY, reason="503 on /v1/organizations/users",
                baseline_complete=True,
                last_success={"roster": START, "analytics_users": START, "cost": START},
                failing={"roster": "truncated listing"}, poll_id=f"acme-enterprise:{i}",
                observed_at=START + timedelta(seconds=i),
            ))
        else:
            records.append(ShadowItAlert(
                event_id=f"{i:032x}", alert_id=f"{i:031x}a", org_id="org_01Ab2Cd3Ef4Gh5Ij6Kl7Mn8P",
                user_id=user, email=f"person{i}@gmail.com", state=AlertState.OPENED,
                reason=AlertReason.PERSONAL_DOMAIN, severity=Severity.MEDIUM,
                evidence={"domain": "gmail.com", "directory": "absent"}, baseline=False,
                connector="acme-enterprise", cause_event_id=f"{i - 1:032x}",
                opened_at=START, observed_at=START + timedelta(seconds=i),
            ))
    return records


def _timed(action: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@benchmark("codec")
def run(records: int = 20_000, runs: int = 5) -> dict[str, Any]:
    """Round-trip ``records`` mixed events through each codec, best of ``runs`` rounds."""
    codec = default_codec()
    registry = codec.registry
    typed = sample_records(records)
    data = [(record.SCHEMA, record.to_avro()) for record in typed]
    fast_schemas = {schema.name: schema.parsed for schema in registry}
    avro_io = {
        schema.name: (
            avro.io.DatumWriter(parsed := avro.schema.parse(orjson.dumps(schema.definition))),
            avro.io.DatumReader(parsed),
        )
        for schema in registry
    }
    avro_sample = data[: max(1, records // 10)]

    def ours() -> None:
        for name, datum in data:
            codec.decode_datum(codec.encode_datum(name, datum))

    def fastavro() -> None:
        for name, datum in data:
            parsed = fast_schemas[name]
            buffer = BytesIO()
            schemaless_writer(buffer, parsed, datum)
            schemaless_reader(BytesIO(buffer.getvalue()), parsed, None)

    def typed_path() -> None:
        for record in typed:
            codec.decode(codec.encode(record))

    def reference() -> None:
        for name, datum in avro_sample:
            writer, reader = avro_io[name]
            buffer = BytesIO()
            writer.write(datum, avro.io.BinaryEncoder(buffer))
            buffer.seek(0)
            reader.read(avro.io.BinaryDecoder(buffer))

    best = {"ours": float("inf"), "fastavro": float("inf"), "typed": float("inf"),
            "avro": float("inf")}
    for _ in range(runs):
        best["ours"] = min(best["ours"], _timed(ours))
        best["fastavro"] = min(best["fastavro"], _timed(fastavro))
        best["typed"] = min(best["typed"], _timed(typed_path))
        best["avro"] = min(best["avro"], _timed(reference))
    throughput = {
        name: (len(avro_sample) if name == "avro" else records) / seconds
        for name, seconds in best.items()
    }
    encoded = [codec.encode_datum(name, datum) for name, datum in data]
    return {
        "records": records,
        "avro_records": len(avro_sample),
        "mean_message_bytes": round(sum(map(len, encoded)) / len(encoded), 1),
        "ours_roundtrips_per_s": round(throughput["ours"]),
        "fastavro_roundtrips_per_s": round(throughput["fastavro"]),
        "typed_roundtrips_per_s": round(throughput["typed"]),
        "avro_roundtrips_per_s": round(throughput["avro"]),
        "baseline": "bare fastavro schemaless_writer/reader on the same dicts, same process",
        "ratio": round(throughput["ours"] / throughput["fastavro"], 3),
        "ratio_vs_avro": round(throughput["ours"] / throughput["avro"], 2),
        "typed_ratio": round(throughput["typed"] / throughput["fastavro"], 3),
        "target_ratio": 0.8,
        "target_ratio_vs_avro": 5,
    }

