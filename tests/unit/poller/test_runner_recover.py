"""PollerRunner.recover: a fresh publisher replaces the fenced one, which is closed."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.errors import KafkaError

from streams.config import Settings
from streams.poller import loop
from streams.poller.loop import PollerRunner


class FakePublisher:
    def __init__(self, bootstrap: str, transactional_id: str, **_options: object) -> None:
        self.transactional_id = transactional_id
        self.open = False
        self.fail_on_close = False

    async def __aenter__(self) -> FakePublisher:
        self.open = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.open = False
        if self.fail_on_close:
            raise KafkaError("fenced")


async def test_recover_closes_the_replaced_publisher(monkeypatch) -> None:
    async def no_state(*_: object) -> list[object]:
        return []

    monkeypatch.setattr(loop, "CyclePublisher", FakePublisher)
    monkeypatch.setattr(loop, "load_state", no_state)
    runner = PollerRunner(Settings.load({}))
    first = await runner._publisher("acme")
    first.fail_on_close = True  # a fenced producer may fail to stop: recovery goes on
    poller = SimpleNamespace(publisher=first, state=None)
    runner.pollers["acme"] = poller  # type: ignore[assignment]

    await runner.recover("acme")
    second = poller.publisher
    assert second is not first and second.open and not first.open
    assert second.transactional_id == first.transactional_id
    assert poller.state.connector == "acme"

    await runner.__aexit__(None, None, None)
    assert not second.open
