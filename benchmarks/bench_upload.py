"""Bytes uploaded to the Hub per byte logged, over one simulated day of scheduled pushes.

    python -m benchmarks.bench_upload [--pushes 288] [--rows-per-push 2]

Writes rows with the real `PredictionLog`, pushes with the real `HubSync` to the local stand-in Hub
after every batch (one batch = one scheduled tick), then compares what the Hub received with what
was logged. "Uploaded" is the content of every file a commit added or changed, derived from the
stand-in's snapshots so the same script measures any version of the sync code; the HTTP bodies
(base64 in the stand-in's "regular" upload mode) are printed beside it when the stand-in counts them.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from huggingface_hub import constants

from monitoring.log.records import build_prediction_row
from monitoring.log.writer import PredictionLog
from monitoring.sync.scheduler import HubSync
from tests.factories import make_features
from tests.monitoring.hub_standin import StandInHub

REPO, TOKEN = "acme/bench-upload", "hf_bench_token"


def uploaded_content_bytes(hub: StandInHub) -> int:
    """Bytes of every file a commit added or changed (what went over the wire, before encoding)."""
    total, previous = 0, {}
    for _, snapshot in hub.repos[REPO].commits:
        total += sum(len(c) for p, c in snapshot.items() if previous.get(p) != c and p != "README.md")
        previous = snapshot
    return total


def simulate_day(folder: Path, *, pushes: int, rows_per_push: int) -> dict[str, float]:
    rng = random.Random(1)
    log = PredictionLog(folder / "live", replica_id="bench")
    with StandInHub(token=TOKEN) as hub:
        constants.ENDPOINT = hub.url
        options = {"repo_id": REPO, "token": TOKEN, "every_min": 60, "endpoint": hub.url}
        try:  # the same day for every version: no commit bound (the code before it had none)
            sync = HubSync(log, **options, max_commits_per_day=10 * pushes)
        except TypeError:
            sync = HubSync(log, **options)
        started = time.perf_counter()
        for tick in range(pushes):
            for i in range(rows_per_push):
                row = build_prediction_row(
                    make_features(rng),
                    request_id=f"r{tick}-{i}",
                    channel="rest",
                    model_version="bench",
                    probability=rng.random(),
                    decision="approve",
                    threshold=0.5,
                    inference_ms=1.0,
                    started=time.perf_counter(),
                    client_id=rng.randint(100_000, 999_999),
                    salt="bench-salt",
                )
                log.append(row)
            assert sync.push_now(timeout=120)
        seconds = time.perf_counter() - started
        sync.stop(push=False)
        logged = sum(p.stat().st_size for p in (folder / "live").rglob("*.jsonl"))
        uploaded = uploaded_content_bytes(hub)
        wire = getattr(hub, "request_bytes", None)
        return {
            "commits": len(hub.repos[REPO].commits),
            "logged": logged,
            "uploaded": uploaded,
            "ratio": uploaded / logged,
            "wire": float(wire) if wire is not None else float("nan"),
            "seconds": seconds,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=288, help="scheduled pushes in the day (288 = every 5 min)")
    parser.add_argument("--rows-per-push", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = simulate_day(Path(tmp), pushes=args.pushes, rows_per_push=args.rows_per_push)
    print(
        f"{args.pushes} pushes x {args.rows_per_push} rows: {r['commits']} commits, logged {r['logged'] / 1e6:.2f} MB, "
        f"uploaded {r['uploaded'] / 1e6:.2f} MB = {r['ratio']:.2f} bytes uploaded per byte logged "
        f"(HTTP bodies {r['wire'] / 1e6:.2f} MB), {r['seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
