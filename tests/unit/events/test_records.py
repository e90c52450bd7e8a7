"""Record classes mirror the schemas exactly and convert to and from Avro dicts losslessly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from enum import StrEnum
from typing import Any

import pytest

from streams.events import records
from streams.events.records import RECORD_TYPES, AvroRecord, UserImage, UserOp
from streams.events.schemas import load_registry
from tests.unit.events.samples import SAMPLES


def _named_types(node: Any, namespace: str = "") -> Iterator[dict[str, Any]]:
    """Every record and enum definition inside a schema JSON."""
    if isinstance(node, list):
        for item in node:
            yield from _named_types(item, namespace)
    elif isinstance(node, dict):
        if node.get("type") in ("record", "enum"):
            namespace = node.get("namespace", namespace)
            yield {**node, "fullname": f"{namespace}.{node['name']}"}
        for key in ("type", "fields", "items", "values"):
            if key in node:
                yield from _named_types(node[key], namespace)


def _all_named() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for schema in load_registry():
        for definition in _named_types(schema.definition):
            found.setdefault(definition["fullname"], definition)
    return found


ENUMS = {
    cls.__name__: cls
    for cls in vars(records).values()
    if isinstance(cls, type) and issubclass(cls, StrEnum) and cls is not StrEnum
}


def _names(kind: str) -> list[str]:
    return sorted(name for name, definition in _all_named().items() if definition["type"] == kind)


@pytest.mark.parametrize("fullname", _names("record"))
def test_record_class_matches_schema(fullname: str) -> None:
    definition = _all_named()[fullname]
    cls = RECORD_TYPES[fullname]
    assert fullname == cls.SCHEMA
    expected = [field["name"] for field in definition["fields"]]
    assert [item.name for item in fields(cls)] == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("fullname", _names("enum"))
def test_enum_class_matches_schema(fullname: str) -> None:
    definition = _all_named()[fullname]
    cls = ENUMS[definition["name"]]
    assert [member.value for member in cls] == definition["symbols"]
    assert all(member.name == member.value for member in cls)


def test_every_python_record_and_enum_has_a_schema() -> None:
    named = _all_named()
    assert set(RECORD_TYPES) == {n for n, d in named.items() if d["type"] == "record"}
    assert set(ENUMS) == {d["name"] for d in named.values() if d["type"] == "enum"}


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: f"{type(r).__name__}")
def test_to_avro_and_back_is_identity(record: AvroRecord) -> None:
    datum = record.to_avro()
    assert type(record).from_avro(datum) == record


def test_to_avro_gives_plain_containers() -> None:
    event = SAMPLES[2]
    datum = event.to_avro()
    assert datum["changed_fields"] == ["role"]
    assert datum["before"]["workspaces"] == {"wrkspc_01": "workspace_developer",
                                             "wrkspc_02": "workspace_user"}
    assert datum["op"] == "UPDATED"


def test_from_avro_returns_enum_members_and_tuples() -> None:
    event = SAMPLES[2]
    back = type(event).from_avro(event.to_avro())
    assert back.op is UserOp.UPDATED  # type: ignore[attr-defined]
    assert back.changed_fields == ("role",)  # type: ignore[attr-defined]


def test_image_defaults() -> None:
    image = UserImage(id="user_1", email="a@example.com")
    assert (image.name, image.role, image.workspaces, image.added_at) == (None, None, {}, None)


def test_the_activity_actor_record_carries_every_typed_actor_field() -> None:
    from streams.client.activities import ACTOR_FIELDS

    names = {f.name for f in fields(records.ActivityActor)}
    assert names == {"type", *ACTOR_FIELDS, "details_json"}
