"""Issue 14 item 17: the analysis worker process dies with the app, after SIGTERM and after SIGKILL alike.

The app's process tree is read from /proc (Linux): the spawned worker (and multiprocessing's resource
tracker) are the app's children; none may remain once the app is gone.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.server import start_test_server

pytestmark = [
    pytest.mark.server,
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc"),
]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_process_of_the_app_outlives_it(tmp_path, sig):
    server = start_test_server(tmp_path / "app", env={"ALERT_EVERY_S": "1"})
    try:
        # the alert loop's first evaluation spawns the analysis worker and, once done, fills the gauges:
        # from then on the worker runs its own code (before, it is still importing the app's modules)
        evaluated = lambda: "scoring_alerts_active" in httpx.get(server.url + "/metrics", timeout=5).text  # noqa: E731
        assert _wait_for(evaluated, timeout=120), "the alert loop never ran in the worker"
        assert _children(server.pid), "no worker was spawned"
        workers = _children(server.pid)
        os.kill(server.pid, sig)
        server.process.wait(30)
        assert _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=15), (
            f"left behind after {sig.name}: {[pid for pid in workers if _alive(pid)]}"
        )
    finally:
        server.stop(signal.SIGKILL)
        for pid in _children(server.pid):
            os.kill(pid, signal.SIGKILL)
