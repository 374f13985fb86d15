"""Issue 14's load bar: single scores mixed with 10,000-row batches (tests/load_mixed.py).

0 errors on single scores, their p99 during batches at most 5x the idle p99, `/healthz` never slower
than 1 s, every acknowledged row logged once. The short version (~25 s, the same concurrency) runs by default on its own
server; the long one (60 s at concurrency 32) with RUN_LONG=1.
"""

from __future__ import annotations

import pytest

from tests.load import check_log
from tests.load_mixed import mixed_verdict, run_mixed
from tests.reliability.conftest import record_figures
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _run(tmp_path, applications, *, seconds: float, concurrency: int, idle_seconds: float, name: str) -> None:
    server = start_test_server(tmp_path)
    try:
        result = run_mixed(
            server.url, seconds=seconds, concurrency=concurrency, payloads=applications, idle_seconds=idle_seconds
        )
    finally:
        server.stop()
    log = check_log(server.log_dir, result.acknowledged)
    record_figures(name, **result.summary(), log=log)
    assert not mixed_verdict(result, log), (result.summary(), log)


def test_mixed_load_short(tmp_path, applications):
    # The load shape (concurrency 32), only shorter. At c=8 on an idle machine the idle p99 is ~18 ms
    # and one GIL hand-off to the batch thread weighs 5x that, so a c=8 run measured scheduling noise
    # (5.23x once, 1.2x on a loaded machine) rather than the bar; c=32 for 60 s measured 1.77x idle.
    _run(tmp_path, applications, seconds=15, concurrency=32, idle_seconds=6, name="mixed load short (15 s, c=32)")


@pytest.mark.long
def test_mixed_load_long(tmp_path, applications):
    _run(tmp_path, applications, seconds=60, concurrency=32, idle_seconds=20, name="mixed load long (60 s, c=32)")
