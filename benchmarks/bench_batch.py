"""Rows per second of the columnar path (`Scorer.score_frame`) against `Scorer.score_batch`, in process.

Both score the same 10,000 generated applications with the same loaded model, in the same run, best
of a few repeats (the machine is shared: the best run is the least disturbed one). `score_batch`
gets the rows as JSON-like dicts, as the REST JSON door hands them over; `score_frame` gets the
DataFrame a Parquet or CSV body becomes. The model call is timed on its own so what the two
validations cost is visible.

With `--doors`, the same rows also go through POST /api/v1/score/batch of the in-process app
(TestClient: no network, the prediction log in a temporary folder) as JSON, CSV and Parquet bodies.

    python -m benchmarks.bench_batch [--rows 10000] [--repeats 5] [--doors]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from scoring.features import build_features
from scoring.model import load_model
from scoring.payloads import frame_to_payloads
from scoring.predict import Scorer
from scoring.schema import TARGET_COLUMN
from scoring.synth.generate import production_stream
from tests.factories import MODEL_DIR


def _best(call: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--doors", action="store_true", help="also time the REST batch route per body format")
    args = parser.parse_args()
    scorer = Scorer(load_model(MODEL_DIR))
    frame = production_stream(args.rows, seed=7).drop(columns=[TARGET_COLUMN])
    payloads = frame_to_payloads(frame)
    from scoring.columnar import validate_frame

    checked = validate_frame(frame)
    features = build_features(checked.raw)
    timings = {
        "Scorer.score_batch (dicts)": _best(lambda: scorer.score_batch(payloads), args.repeats),
        "Scorer.score_frame (DataFrame)": _best(lambda: scorer.score_frame(frame), args.repeats),
        "  of which validate_frame": _best(lambda: validate_frame(frame), args.repeats),
        "  of which the model call": _best(lambda: scorer.model.predict(features), args.repeats),
    }
    if args.doors:
        timings.update(_doors(scorer, frame, payloads, args.repeats))
    for name, seconds in timings.items():
        print(f"{name:32s} {seconds * 1000:8.1f} ms  {args.rows / seconds:10,.0f} rows/s")


def _doors(scorer: Scorer, frame: Any, payloads: list[dict[str, Any]], repeats: int) -> dict[str, float]:
    """Validated, scored and logged rows through the REST batch route, per body format."""
    import json
    import tempfile
    from pathlib import Path

    from fastapi.testclient import TestClient

    from scoring.tables import CSV, PARQUET
    from service.api.factory import create_api
    from service.metrics import Metrics
    from service.readiness import Readiness
    from service.scoring import ScoringService
    from service.settings import Settings
    from tests.factories import log_writer

    service = ScoringService(scorer, log_writer(Path(tempfile.mkdtemp()) / "log"), Metrics())
    readiness = Readiness(
        model_version=service.model.version,
        log_health=service.sink.health,
        hub_status=lambda: {"enabled": False},
        log_write_policy="refuse",
    )
    api = TestClient(create_api(service, settings=Settings(_env_file=None), readiness=readiness))
    bodies = {
        "application/json": json.dumps({"applications": payloads}).encode(),
        CSV: frame.to_csv(index=False).encode(),
        PARQUET: frame.to_parquet(index=False),
    }

    def post(kind: str) -> None:
        response = api.post("/api/v1/score/batch", content=bodies[kind], headers={"content-type": kind})
        assert response.status_code == 200, response.text[:300]

    return {f"REST {kind.split('/')[-1]} body": _best(lambda k=kind: post(k), repeats) for kind in bodies}


if __name__ == "__main__":
    main()
