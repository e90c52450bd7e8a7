"""The schemas in ``schemas/``, loaded once: name → schema, fingerprint → schema.

``schemas/*.avsc`` are the current schemas: they are what we write and what we read into.
``schemas/history/*.avsc`` (optional) are earlier released versions kept only so that messages
written with them still decode: a message's fingerprint picks its writer schema, and the body
is resolved into the current schema of the same name (Avro schema resolution).

Fingerprints are CRC-64-AVRO of the Parsing Canonical Form, 8 bytes little-endian, as Java's
``SchemaNormalization.parsingFingerprint("CRC-64-AVRO", schema)`` computes them. fastavro
implements that form; the ``avro`` package (1.12) agrees on every schema except that it keeps
``{"type": "long"}`` instead of ``"long"`` where a logical type was stripped, so its raw
fingerprint differs for schemas with logical types. ``avro_fingerprint()`` is the cross-check
(avro on the schema without logical-type annotations) used by the tests.

The directory is ``$CLAUDE_CONNECTOR_SCHEMAS`` when set, else ``schemas/`` at the repository
root next to the ``streams`` package (the package is installed editable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import avro.schema
from fastavro import parse_schema
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

from streams.errors import UnknownSchema

SCHEMAS_ENV = "CLAUDE_CONNECTOR_SCHEMAS"
HISTORY_DIR = "history"
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


@dataclass(frozen=True, slots=True)
class Schema:
    """One schema file: its JSON, the fastavro-parsed form, and its fingerprint."""

    name: str
    """Full Avro name, e.g. ``com.claudeconnector.events.UserEvent``."""
    path: Path
    definition: Mapping[str, Any]
    parsed: Any
    fingerprint: bytes
    current: bool
    """True for ``schemas/*.avsc``; False for an earlier version from ``schemas/history/``."""


def schema_dir() -> Path:
    """The schema directory: ``$CLAUDE_CONNECTOR_SCHEMAS``, else ``<repo>/schemas``."""
    override = os.environ.get(SCHEMAS_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "schemas"


def canonical_fingerprint(definition: Mapping[str, Any]) -> bytes:
    """CRC-64-AVRO fingerprint of the Parsing Canonical Form, 8 bytes little-endian."""
    canonical = to_parsing_canonical_form(dict(definition))
    return bytes.fromhex(fastavro_fingerprint(canonical, "CRC-64-AVRO"))


def strip_logical_types(node: Any) -> Any:
    """The schema JSON without logical-type annotations, as the spec's STRIP step leaves it."""
    if isinstance(node, list):
        return [strip_logical_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "logicalType" in node and node.get("type") in _PRIMITIVES:
        return node["type"]
    return {key: strip_logical_types(value) for key, value in node.items()}


def avro_fingerprint(definition: Mapping[str, Any]) -> bytes:
    """The ``avro`` package's fingerprint of the schema without logical types (cross-check)."""
    parsed = avro.schema.parse(json.dumps(strip_logical_types(definition)))
    return parsed.fingerprint("CRC-64-AVRO")


def _load(path: Path, *, current: bool) -> Schema:
    definition = json.loads(path.read_text(encoding="utf-8"))
    parsed = parse_schema(definition, named_schemas={})
    return Schema(
        name=parsed["name"],
        path=path,
        definition=definition,
        parsed=parsed,
        fingerprint=canonical_fingerprint(definition),
        current=current,
    )


class SchemaRegistry:
    """Current schemas by name and every known schema (current and history) by fingerprint."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        current = [_load(path, current=True) for path in sorted(directory.glob("*.avsc"))]
        if not current:
            raise FileNotFoundError(f"no *.avsc schemas in {directory}")
        history_dir = directory / HISTORY_DIR
        history = [_load(path, current=False) for path in sorted(history_dir.glob("*.avsc"))]
        self._by_name = {schema.name: schema for schema in current}
        if len(self._by_name) != len(current):
            raise ValueError(f"two schema files in {directory} define the same record")
        self._by_fingerprint: dict[bytes, Schema] = {}
        for schema in (*history, *current):
            if not schema.current and schema.name not in self._by_name:
                raise ValueError(f"{schema.path}: no current schema named {schema.name}")
            self._by_fingerprint.setdefault(schema.fingerprint, schema)
        for schema in current:
            self._by_fingerprint[schema.fingerprint] = schema

    def __iter__(self) -> Iterator[Schema]:
        """The current schemas, sorted by name."""
        return iter(sorted(self._by_name.values(), key=lambda schema: schema.name))

    def by_name(self, name: str) -> Schema:
        """The current schema with this full name."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownSchema(f"no schema named {name} in {self.directory}") from None

    def by_fingerprint(self, fingerprint: bytes) -> Schema:
        """The schema (current or historical) with this fingerprint."""
        try:
            return self._by_fingerprint[fingerprint]
        except KeyError:
            raise UnknownSchema(
                f"no schema with fingerprint {fingerprint.hex()} in {self.directory}"
            ) from None

    def reader_for(self, writer: Schema) -> Schema:
        """The current schema a message written with ``writer`` is read into."""
        return writer if writer.current else self._by_name[writer.name]


@cache
def load_registry(directory: Path | None = None) -> SchemaRegistry:
    """The registry for ``directory`` (default ``schema_dir()``), loaded once per directory."""
    return SchemaRegistry(directory or schema_dir())
