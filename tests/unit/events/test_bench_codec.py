"""A small run of ``bench codec`` reports every figure and a positive ratio."""

from __future__ import annotations

from streams.bench import registry
from streams.bench.codec import sample_records
from streams.events.codec import decode, encode


def test_small_run_reports_the_figures() -> None:
    result = registry()["codec"](records=100, runs=1)
    assert result["records"] == 100 and result["avro_records"] == 10
    for key in ("ours_roundtrips_per_s", "fastavro_roundtrips_per_s", "typed_roundtrips_per_s",
                "avro_roundtrips_per_s", "ratio", "ratio_vs_avro", "baseline"):
        assert result[key]
    assert result["ratio"] > 0


def test_the_sample_mix_round_trips() -> None:
    records = sample_records(40)
    assert {type(record).__name__ for record in records} == {
        "UsageDelta", "UserEvent", "AppAssociation", "ConnectorStatus", "ShadowItAlert"}
    assert [decode(encode(record)) for record in records] == records
