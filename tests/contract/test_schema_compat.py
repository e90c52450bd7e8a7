"""``schemas/`` stays backward compatible with every released version (transitively).

``released/v<N>/`` hold byte copies of each released ``schemas/`` (v1 = the first release).
For every released schema, today's schema of the same name must read what it wrote
(``avro.compatibility``, reader = current, writer = released). On top of the checker, which
ignores logical types, a field's logical type may not change. When releasing, copy
``schemas/`` to ``released/v<N+1>/`` (and to ``schemas/history/`` for the runtime decoder).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from fastavro.schema import fingerprint as fingerprint_hex
from fastavro.schema import to_parsing_canonical_form

from streams.events.schemas import SchemaRegistry

ROOT = Path(__file__).resolve().parents[2]
CURRENT = {json.loads(path.read_text())["name"]: path for path in (ROOT / "schemas").glob("*.avsc")}
RELEASED = sorted((Path(__file__).parent / "released").glob("v*/*.avsc"))


def compatible(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    """True when ``reader`` can read everything ``writer`` wrote."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def logical_types(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, logical type) for every logical-typed value in a schema."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from logical_types(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        if "logicalType" in node:
            yield path, node["logicalType"]
        for field in node.get("fields", []):
            yield from logical_types(field["type"], f"{path}.{field['name']}")
        for key in ("items", "values"):
            if key in node:
                yield from logical_types(node[key], f"{path}<{key}>")
        if isinstance(node.get("type"), dict | list):
            yield from logical_types(node["type"], path)


def test_there_is_a_release() -> None:
    assert {path.parent.name for path in RELEASED} >= {"v1", "v2"}
    # Every released schema is still current; schemas added since wait for the next release.
    assert {json.loads(p.read_text())["name"] for p in RELEASED} <= CURRENT.keys()


def test_every_earlier_release_still_decodes() -> None:
    """A message written with any released schema is decoded: its fingerprint is known."""
    registry = SchemaRegistry(ROOT / "schemas")
    for path in RELEASED:
        schema = json.loads(path.read_text())
        canonical = to_parsing_canonical_form(schema)
        fingerprint = bytes.fromhex(fingerprint_hex(canonical, "CRC-64-AVRO"))
        assert registry.by_fingerprint(fingerprint).name.endswith(schema["name"]), path


@pytest.mark.parametrize("released", RELEASED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_current_reads_every_released_version(released: Path) -> None:
    writer = json.loads(released.read_text())
    assert writer["name"] in CURRENT, f"{writer['name']} was released and must not disappear"
    reader = json.loads(CURRENT[writer["name"]].read_text())
    assert compatible(reader, writer)
    old_types = dict(logical_types(writer))
    new_types = dict(logical_types(reader))
    assert {k: v for k, v in new_types.items() if k in old_types} == old_types


def _user_event() -> dict[str, Any]:
    return json.loads(CURRENT["UserEvent"].read_text())


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(field for field in schema["fields"] if field["name"] == name)


def test_the_checker_rejects_a_new_field_without_default() -> None:
    changed = _user_event()
    changed["fields"].append({"name": "region", "type": "string", "doc": "new"})
    assert not compatible(changed, _user_event())


def test_the_checker_rejects_a_narrowed_type_and_a_dropped_symbol() -> None:
    narrowed = _user_event()
    _field(narrowed, "org_id")["type"] = "int"
    assert not compatible(narrowed, _user_event())
    fewer_ops = _user_event()
    _field(fewer_ops, "op")["type"]["symbols"].remove("UPDATED")
    assert not compatible(fewer_ops, _user_event())


def test_the_checker_accepts_a_defaulted_field_and_a_new_symbol() -> None:
    grown = _user_event()
    grown["fields"].append({"name": "region", "type": ["null", "string"], "default": None,
                            "doc": "new"})
    _field(grown, "source")["type"]["symbols"].append("COMPLIANCE_API")
    assert compatible(grown, _user_event())


def test_a_changed_logical_type_is_caught() -> None:
    changed = _user_event()
    _field(changed, "observed_at")["type"]["logicalType"] = "timestamp-micros"
    assert compatible(changed, _user_event())  # the avro checker alone lets it through
    assert dict(logical_types(changed)) != dict(logical_types(_user_event()))
