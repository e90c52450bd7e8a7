"""``claude-connector bench faults``: the fault suite's figures per scenario.

The scenarios are the tests in ``tests/faults/`` (one module per scenario, so a source
checkout is needed). This runs them with pytest in a child process; the suite writes its
ledger (per scenario: cycles run, faults injected, false removals, lost changes, duplicate
effects, leaks) to the JSON file named by ``FAULTS_REPORT``, which is returned here with the
totals and pytest's verdict. ``baseline`` is the target, zero of every failure figure;
``ratio`` is failures per injected fault (target 0.0).

Options: ``--select EXPR`` (pytest ``-k``), ``--timeout SECONDS``. The broker is the one
``KAFKA_BOOTSTRAP_SERVERS`` names, else one the suite starts for the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from streams.bench import benchmark
from streams.errors import ConfigError

REPORT_ENV = "FAULTS_REPORT"
FAILURES = ("false_removals", "lost_changes", "duplicate_effects", "leaks")
SUITE = Path(__file__).resolve().parents[2] / "tests" / "faults"


@benchmark("faults")
def faults(select: str = "", timeout: float = 1800.0) -> dict[str, Any]:
    """Run the fault suite and return its ledger, totals and verdict."""
    if not SUITE.is_dir():
        raise ConfigError(f"the fault suite is not here: {SUITE} (run from a source checkout)")
    command = [sys.executable, "-m", "pytest", str(SUITE), "-q", "-p", "no:cacheprovider"]
    if select:
        command += ["-k", select]
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as temp:
        report = Path(temp) / "ledger.json"
        started = time.monotonic()
        run = subprocess.run(
            command,
            cwd=SUITE.parents[1],
            env={**os.environ, REPORT_ENV: str(report)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        scenarios: dict[str, dict[str, int]] = (
            json.loads(report.read_text()) if report.exists() else {}
        )
    totals: dict[str, int] = {}
    for figures in scenarios.values():
        for name, value in figures.items():
            totals[name] = totals.get(name, 0) + value
    failures = sum(totals.get(name, 0) for name in FAILURES)
    verdict = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
    return {
        "scenarios": scenarios,
        "totals": totals,
        "pytest": verdict,
        "pytest_exit_code": run.returncode,
        "seconds": round(seconds, 1),
        "baseline": "zero false removals, lost changes, duplicate effects and leaks",
        "ratio": round(failures / max(1, totals.get("faults_injected", 0)), 4),
    }
