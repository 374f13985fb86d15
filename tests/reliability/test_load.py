"""Load: no error, p50/p99 reported, server RSS growth <= 10%, every acknowledged prediction logged once.

The short version runs on the shared server; the long one (60 s at concurrency 32) on its own server,
exactly as `python -m benchmarks.load --seconds 60 --concurrency 32` does.
"""

from __future__ import annotations

import pytest

from tests.load import check_log, load, verdict
from tests.reliability.conftest import record_figures
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _run(server, applications, *, seconds: float, concurrency: int, warmup: float, name: str) -> None:
    result = load(
        server.url,
        pid=server.process.pid,
        warmup=warmup,
        seconds=seconds,
        concurrency=concurrency,
        payloads=applications,
    )
    log = check_log(server.log_dir, result.acknowledged)
    record_figures(name, **result.summary(), log=log)
    assert not verdict(result, log), (result.summary(), log)
    assert log["missing_from_log"] == log["logged_twice"] == 0
    assert set(result.served) == {"rest", "rest_batch", "gradio_api"}


def test_load_short(server, applications):
    _run(server, applications, seconds=10, concurrency=16, warmup=3, name="load short (10 s, c=16)")


@pytest.mark.long
def test_load_long(tmp_path, applications):
    server = start_test_server(tmp_path)
    try:
        _run(server, applications, seconds=60, concurrency=32, warmup=10, name="load long (60 s, c=32)")
    finally:
        server.stop()
