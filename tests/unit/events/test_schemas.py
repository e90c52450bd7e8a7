"""The schema files: documented, evolvable, fingerprinted the way Java's Avro does it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import avro.schema
import pytest
from fastavro import parse_schema, schemaless_writer

from streams.errors import UnknownSchema
from streams.events.codec import MAGIC, Codec
from streams.events.schemas import (
    SCHEMAS_ENV,
    SchemaRegistry,
    avro_fingerprint,
    canonical_fingerprint,
    load_registry,
    schema_dir,
)

SCHEMA_FILES = sorted(schema_dir().glob("*.avsc"))


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key in ("type", "fields", "items", "values"):
            if key in node:
                yield from _walk(node[key])


def _definitions(path: Path) -> list[dict[str, Any]]:
    nodes = _walk(json.loads(path.read_text()))
    return [node for node in nodes if node.get("type") in ("record", "enum")]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_record_enum_and_field_has_a_doc(path: Path) -> None:
    top = json.loads(path.read_text())
    assert top["namespace"] == "com.claudeconnector.events"
    for definition in _definitions(path):
        assert definition.get("doc"), f"{definition['name']} has no doc"
        for field in definition.get("fields", []):
            assert field.get("doc"), f"{definition['name']}.{field['name']} has no doc"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_enums_default_to_unknown_except_user_op(path: Path) -> None:
    for definition in _definitions(path):
        if definition["type"] != "enum":
            continue
        if definition["name"] == "UserOp":
            assert "default" not in definition
        else:
            assert definition["default"] == "UNKNOWN" == definition["symbols"][0]


def test_file_name_is_the_record_name_in_snake_case() -> None:
    for path in SCHEMA_FILES:
        name = json.loads(path.read_text())["name"]
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        assert path.stem == snake, path


def test_a_named_type_has_one_definition_across_files() -> None:
    seen: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in SCHEMA_FILES:
        for definition in _definitions(path):
            if definition["name"] in seen:
                first_path, first = seen[definition["name"]]
                assert definition == first, f"{path.name} vs {first_path.name}"
            else:
                seen[definition["name"]] = (path, definition)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_fastavro_and_avro_agree_on_the_fingerprint(path: Path) -> None:
    definition = json.loads(path.read_text())
    assert canonical_fingerprint(definition) == avro_fingerprint(definition)
    assert len(canonical_fingerprint(definition)) == 8


@pytest.mark.parametrize(("schema", "java_fingerprint"), [
    # Vectors from apache/avro share/test/data/schema-tests.txt, validated by the Java tests.
    ({"fields": [], "type": "record", "name": "foo"}, -4824392279771201922),
    ({"fields": [], "type": "record", "name": "foo", "namespace": "x.y"}, 5916914534497305771),
    ({"fields": [{"type": {"type": "boolean"}, "name": "f1"}], "type": "record", "name": "foo"},
     7843277075252814651),
    ({"type": "enum", "name": "foo", "symbols": ["A1"]}, -6342190197741309591),
])
def test_fingerprint_matches_the_java_reference_vectors(
    schema: dict[str, Any], java_fingerprint: int
) -> None:
    assert canonical_fingerprint(schema) == java_fingerprint.to_bytes(8, "little", signed=True)


def test_logical_types_do_not_change_the_fingerprint() -> None:
    """Java's parsing form writes a logical-typed long as "long"; so do we."""
    with_logical = {"type": "record", "name": "T", "fields": [
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
    plain = {"type": "record", "name": "T", "fields": [{"name": "t", "type": "long"}]}
    assert canonical_fingerprint(with_logical) == canonical_fingerprint(plain)
    # avro 1.12 keeps {"type": "long"} in its canonical form, hence the stripped cross-check.
    raw_avro = avro.schema.parse(json.dumps(with_logical)).fingerprint("CRC-64-AVRO")
    assert raw_avro != canonical_fingerprint(plain)
    assert avro_fingerprint(with_logical) == canonical_fingerprint(plain)


def test_registry_looks_up_by_name_and_fingerprint() -> None:
    registry = load_registry()
    assert len(list(registry)) == len(SCHEMA_FILES)
    for schema in registry:
        assert registry.by_name(schema.name) is schema
        assert registry.by_fingerprint(schema.fingerprint) is schema
        assert registry.reader_for(schema) is schema
    assert len({schema.fingerprint for schema in registry}) == len(SCHEMA_FILES)
    with pytest.raises(UnknownSchema):
        registry.by_name("com.example.Nope")
    with pytest.raises(UnknownSchema):
        registry.by_fingerprint(b"\x00" * 8)


def test_schema_dir_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SCHEMAS_ENV, str(tmp_path))
    assert schema_dir() == tmp_path
    monkeypatch.delenv(SCHEMAS_ENV)
    assert schema_dir() == Path(__file__).resolve().parents[3] / "schemas"


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SchemaRegistry(tmp_path)


def _evolved_registry(tmp_path: Path) -> SchemaRegistry:
    """Current = directory_record with a new defaulted field; history = today's version."""
    shutil.copy(schema_dir() / "directory_record.avsc", tmp_path / "old.avsc")
    definition = json.loads((schema_dir() / "directory_record.avsc").read_text())
    definition["fields"].append({"name": "department", "type": ["null", "string"],
                                 "default": None, "doc": "Added in version 2."})
    (tmp_path / "directory_record.avsc").write_text(json.dumps(definition))
    (tmp_path / "history").mkdir()
    (tmp_path / "old.avsc").rename(tmp_path / "history" / "directory_record.v1.avsc")
    return SchemaRegistry(tmp_path)


def test_old_messages_resolve_into_the_current_schema(tmp_path: Path) -> None:
    registry = _evolved_registry(tmp_path)
    old = json.loads((schema_dir() / "directory_record.avsc").read_text())
    body = BytesIO()
    schemaless_writer(body, parse_schema(old), {
        "org_id": "org", "email": "a@example.com", "employee_id": None, "name": None,
        "status": "ACTIVE", "source": None, "updated_at": 0,
    })
    message = MAGIC + canonical_fingerprint(old) + body.getvalue()
    name, datum = Codec(registry).decode_datum(message)
    assert name == "com.claudeconnector.events.DirectoryRecord"
    assert datum["department"] is None and datum["email"] == "a@example.com"


def test_history_needs_a_current_schema(tmp_path: Path) -> None:
    shutil.copy(schema_dir() / "user_event.avsc", tmp_path / "user_event.avsc")
    (tmp_path / "history").mkdir()
    shutil.copy(schema_dir() / "directory_record.avsc", tmp_path / "history" / "directory.avsc")
    with pytest.raises(ValueError, match="no current schema"):
        SchemaRegistry(tmp_path)
