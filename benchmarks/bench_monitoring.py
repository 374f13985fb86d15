"""Benchmark of the monitoring: time to analyse 100,000 logged rows, and what an analysis running in
the background does to the scoring latency.

    python -m benchmarks.bench_monitoring [--rows 100000] [--isolation process thread]

1. Writes `--rows` production applications (scored by the committed model, spread over 7 days) with
   the real `PredictionLog`, then times `read_log` + `DriftMonitor.calculate` (daily chunks) with the
   monitor already fitted, as in the service; the one-off fit is timed apart.
2. Scores one application at a time with `Scorer.score` (validation, features, LightGBM: the CPU
   part of a request) every 5 ms in this process, first idle, then while an `AnalysisRunner`
   analyses the same log, and prints p50/p99 and the during/idle ratio (target <= 2x) per isolation.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import DriftMonitor, load_reference
from monitoring.log.reader import read_log
from monitoring.log.records import build_prediction_row
from monitoring.log.writer import PredictionLog
from monitoring.runner import AnalysisJob, AnalysisRunner
from scoring.features import build_features, encode_frame
from scoring.model import load_model
from scoring.predict import Scorer
from scoring.schema import RAW_COLUMNS
from scoring.synth.generate import production_stream

MODEL_DIR = Path("model")


def write_log(directory: Path, rows: int, model) -> list[dict]:
    frame = production_stream(rows, seed=2024)
    probability = model.predict(build_features(encode_frame(frame)))
    start = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=6)
    stamps = (start + pd.to_timedelta(np.linspace(0, 7 * 86_400 - 1, rows), unit="s")).floor("ms")
    records = frame[list(RAW_COLUMNS)].astype(object).where(frame[list(RAW_COLUMNS)].notna(), None).to_dict("records")
    log = PredictionLog(directory, replica_id="bench")
    batch: list[dict] = []
    for i, (features, p, ts) in enumerate(zip(records, probability, stamps, strict=True)):
        batch.append(
            build_prediction_row(
                features,
                request_id=f"b{i}",
                channel="rest",
                model_version=model.version,
                probability=float(p),
                decision="refuse" if p >= model.threshold else "approve",
                threshold=model.threshold,
                inference_ms=1.0,
                started=time.perf_counter(),
                now=ts.to_pydatetime(),
            )
        )
        if len(batch) == 1000 or i == rows - 1:
            day = {r["ts"][:10] for r in batch}
            log.append_many(batch) if len(day) == 1 else [log.append(r) for r in batch]
            batch = []
    log.close()
    return [{k: v for k, v in r.items() if v is not None} for r in records[:500]]


def time_analysis(directory: Path, model) -> None:
    started = time.perf_counter()
    monitor = DriftMonitor.for_model(model).fit(load_reference(MODEL_DIR))
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    data = read_log([directory])
    read_seconds = time.perf_counter() - started
    result = monitor.calculate(data.predictions, chunking=Chunking(period="D"), rejections=data.rejections)
    total = time.perf_counter() - started
    print(f"fit on the reference (once per process): {fit_seconds:.1f} s")
    print(
        f"analyse {len(data.predictions):,} logged rows: {total:.1f} s (read_log {read_seconds:.1f} s, "
        f"analysis {total - read_seconds:.1f} s; {len(result.chunks)} daily chunks, {len(result.alerts)} alerts)"
        f"  target <= 20 s: {'OK' if total <= 20 else 'MISSED'}"
    )


def scoring_latencies(
    scorer: Scorer, payloads: list[dict], *, seconds: float | None = None, count: int | None = None, until=None
) -> np.ndarray:
    """Score every 5 ms, for `count` calls or while `until()` is true; returns milliseconds."""
    out, i = [], 0
    deadline = time.monotonic() + (seconds or 1e9)
    while (count is None or i < count) and time.monotonic() < deadline and (until is None or until()):
        begun = time.perf_counter()
        scorer.score(payloads[i % len(payloads)])
        out.append((time.perf_counter() - begun) * 1000)
        i += 1
        time.sleep(max(0.0, 0.005 - (time.perf_counter() - begun)))
    return np.asarray(out)


def contention(directory: Path, model, payloads: list[dict], isolation: str) -> None:
    scorer = Scorer(model)
    scoring_latencies(scorer, payloads, count=200)  # warm-up
    idle = scoring_latencies(scorer, payloads, count=1000)
    runner = AnalysisRunner(AnalysisJob((str(directory),), str(MODEL_DIR)), isolation=isolation)
    try:
        runner.refresh("all", Chunking(period="D"))  # first run: spawn/import + fit + analysis
        busy = scoring_latencies(scorer, payloads, until=lambda: runner.latest().running, seconds=300)
        state = runner.wait(300)
        runner.refresh("all", Chunking(period="h"))  # warm run: the fit is cached
        warm = scoring_latencies(scorer, payloads, until=lambda: runner.latest().running, seconds=300)
        runner.wait(300)
    finally:
        runner.close()
    p99_idle = np.percentile(idle, 99)
    for name, values in (("cold run (fit + analysis)", busy), ("warm run (analysis)", warm)):
        if len(values) < 20:
            print(f"[{isolation}] {name}: too short to measure ({len(values)} calls)")
            continue
        ratio = np.percentile(values, 99) / p99_idle
        print(
            f"[{isolation}] scoring p50/p99 idle {np.percentile(idle, 50):.2f}/{p99_idle:.2f} ms; during {name} "
            f"{np.percentile(values, 50):.2f}/{np.percentile(values, 99):.2f} ms over {len(values)} calls: "
            f"p99 ratio {ratio:.2f}x  target <= 2x: {'OK' if ratio <= 2 else 'MISSED'}"
        )
    if state.error:
        print(f"[{isolation}] analysis error: {state.error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--isolation", nargs="+", default=["process", "thread"], choices=["process", "thread"])
    args = parser.parse_args()
    model = load_model(MODEL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "predictions"
        started = time.perf_counter()
        payloads = write_log(directory, args.rows, model)
        print(f"wrote {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        time_analysis(directory, model)
        for isolation in args.isolation:
            contention(directory, model, payloads, isolation)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
