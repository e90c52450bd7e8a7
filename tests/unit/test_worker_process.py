"""Where a supervised worker's views answer."""

from __future__ import annotations

import pytest

from streams.worker_process import WorkerProcess


@pytest.mark.parametrize(
    ("web_host", "url"),
    [
        (None, "http://127.0.0.1:8123"),
        ("127.0.0.2", "http://127.0.0.2:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),
        ("::", "http://127.0.0.1:8123"),
        ("::1", "http://[::1]:8123"),
        ("worker.internal", "http://worker.internal:8123"),
    ],
)
def test_the_url_follows_the_web_host(tmp_path, web_host, url):
    env = {} if web_host is None else {"WEB_HOST": web_host}
    assert WorkerProcess(env, tmp_path, web_port=8123).url == url
