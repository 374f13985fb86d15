"""The real service restarting against a Hub with 90 days of history: it serves before the restore ends,
and pulls back only the monitoring window."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.monitoring.hub_standin import Repo, StandInHub
from tests.server import start_test_server

TOKEN, REPO = "hf_restore_test_token", "acme/restore-predictions"


def _history(client: httpx.Client) -> dict[str, Any]:
    return client.get("/readyz").json()["hub"]["history"]


@pytest.mark.slow
@pytest.mark.server
def test_readyz_and_scores_answer_while_the_window_restores(tmp_path: Path, applications: list[dict]) -> None:
    today = datetime.now(UTC).date()
    files = {
        f"date={today - timedelta(days=age)}/predictions-old-{age:03d}.jsonl": b'{"kind":"prediction"}\n'
        for age in range(90)
    }
    with StandInHub(token=TOKEN) as hub:
        hub.repos[REPO] = Repo(private=True, commits=[("1" * 40, files)])
        hub.slow("resolve", 0.5)  # 29 files, 4 at a time: several seconds of download
        env = {
            "HF_ENDPOINT": hub.url,
            "HF_DATASET_REPO": REPO,
            "HF_TOKEN": TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(tmp_path / "hf-home"),
            "HISTORY_RESTORE_DAYS": "28",
        }
        server = start_test_server(tmp_path / "server", env=env)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                assert client.get("/readyz").status_code == 200
                assert _history(client)["state"] == "loading"
                scored = client.post("/api/v1/score", json=applications[0])
                assert scored.status_code == 200 and _history(client)["state"] == "loading"
                deadline = time.monotonic() + 90
                while _history(client)["state"] == "loading" and time.monotonic() < deadline:
                    time.sleep(0.5)
                history = _history(client)
        finally:
            server.stop()
    assert history["state"] == "done" and history["files"] == 29, history
    # the sync's daily compaction may already have turned past days into Parquet in the live folder
    folders = [tmp_path / "server" / "history", tmp_path / "server" / "predictions"]
    restored = sorted(
        {
            p.parent.name
            for root in folders
            for p in root.glob("date=*/*.*")
            if "old" in p.name or p.suffix == ".parquet"
        }
    )
    assert len(restored) == 29 and restored[0] == f"date={today - timedelta(days=28)}"
    print(f"\nrestore of the 28-day window (29 files, 0.5 s each on the stand-in): {history['seconds']:.1f} s")
