"""The fault ledger's table at the end of a session, also when pytest-xdist runs the tests.

The table is printed, and written as JSON to the file named by ``FAULTS_REPORT`` when that is
set. Under pytest-xdist each worker keeps its own ledger and hands it to the controlling
process when it finishes, which adds them up before printing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from streams.bench.faults import REPORT_ENV
from tests.faults.ledger import LEDGER

WORKER_OUTPUT_KEY = "fault_ledger"


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[WORKER_OUTPUT_KEY] = LEDGER.to_json()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    LEDGER.merge(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not LEDGER.scenarios:
        return
    terminalreporter.section("fault scenarios")
    for line in LEDGER.table():
        terminalreporter.write_line(line)
    target = os.environ.get(REPORT_ENV, "").strip()
    if target:
        Path(target).write_text(json.dumps(LEDGER.to_json(), indent=2, sort_keys=True))
