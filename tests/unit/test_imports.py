"""Importing ``streams`` does nothing, and imports point downstream only.

Every module is imported in a fresh interpreter with an empty home and an empty environment:
no file appears, no environment variable is read by ``streams`` code and no thread starts.
The import graph is read from the source: a package imports only packages ranked below it
(the pipeline's order: errors, config, the API client and the events, Kafka, the poller, the
worker, the app, then the edge), and inside the worker the same holds from the pure core to
the views.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import streams

ROOT = Path(streams.__file__).parent

IMPORT_EVERYTHING = r"""
import json, os, pkgutil, sys, threading

PACKAGE_DIR = sys.argv[1]
reads = []


class RecordingEnviron(dict):
    "os.environ that notes every variable read by code in the package."

    def _note(self, key):
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == os.__file__:
            frame = frame.f_back
        if frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
            reads.append([key, frame.f_code.co_filename])

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


os.environ = RecordingEnviron(os.environ)
import streams

names = [m.name for m in pkgutil.walk_packages(streams.__path__, "streams.")]
for name in names:
    __import__(name)
print(json.dumps({
    "modules": len(names),
    "reads": reads,
    "threads": [t.name for t in threading.enumerate()],
}))
"""


def tree(path: Path) -> set[str]:
    return {str(found.relative_to(path)) for found in path.rglob("*")}


def test_importing_every_module_creates_no_file_and_reads_no_environment(tmp_path: Path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, str(ROOT)],
        env={"HOME": str(home)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["modules"] > 50
    assert found["reads"] == []
    assert found["threads"] == ["MainThread"]
    assert tree(home) == set()
    assert tree(cwd) == set()


RANKS: dict[str, int] = {
    "streams": 0,
    "streams.errors": 0,
    "streams.config": 1,
    "streams.logs": 1,
    "streams.heap": 1,
    "streams.client": 2,
    "streams.simulator": 2,
    "streams.events": 2,
    "streams.insights": 3,
    "streams.localkafka": 2,
    "streams.kafkaio": 3,
    "streams.worker_process": 3,
    "streams.poller": 4,
    "streams.directory": 4,
    "streams.history": 4,
    "streams.worker": 5,
    "streams.app": 6,
    "streams.triage": 6,
    "streams.demo": 7,
    "streams.report": 7,
    "streams.bench": 8,
    "streams.cli": 9,
    "streams.__main__": 10,
}
"""A package may import only packages of a lower rank (the API client, the poller and the
worker never see each other's downstream; only the edge sees everything)."""

WORKER_RANKS: dict[str, int] = {
    "rows": 0,
    "preload": 0,
    "faustseam": 1,
    "metrics": 0,
    "channels": 0,
    "intake": 2,
    "barrier": 0,
    "published": 0,
    "peers": 0,
    "rules": 1,
    "dayfold": 1,
    "deadletter": 1,
    "webhook": 1,
    "state": 2,
    "batch": 3,
    "tables": 3,
    "context": 4,
    "agents": 5,
    "insightfacts": 3,
    "decisions": 2,
    "identities": 3,
    "views": 6,
    "page": 6,
    "insightsview": 7,
    "triageview": 7,
}
"""Inside the worker: the rows and the pure core, the Kafka parts, the context, then agents,
views and page."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The ``streams`` modules that ``path`` imports (absolute imports; the code uses no
    relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] == "streams")
    return found


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def worker_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "worker" else None


def test_every_package_has_a_rank():
    packages = {package_of(module_name(path)) for path in ROOT.rglob("*.py")}
    assert packages == set(RANKS)
    parts = {worker_part(module_name(path)) for path in (ROOT / "worker").rglob("*.py")}
    assert parts - {None} == set(WORKER_RANKS)


def test_imports_point_downstream():
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        for target in imports_of(path):
            source_package, target_package = package_of(module), package_of(target)
            if source_package != target_package:
                if RANKS[target_package] >= RANKS[source_package]:
                    wrong.append(f"{module} imports {target}")
                continue
            source_part, target_part = worker_part(module), worker_part(target)
            if source_part and target_part and source_part != target_part and (
                WORKER_RANKS[target_part] >= WORKER_RANKS[source_part]
            ):
                wrong.append(f"{module} imports {target}")
    assert wrong == []
