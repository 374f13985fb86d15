"""Benchmark of the prediction log: append cost per row and reader time for 100k rows.

Run from the repo root: `python -m benchmarks.bench_log [--rows 100000]`. The baseline, measured in the same process on
the same rows, is the naive way: `json.dumps` + buffered `file.write` + `flush` per row.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from monitoring.log.reader import ReadCache, read_log
from monitoring.log.records import build_prediction_row
from monitoring.log.writer import PredictionLog
from scoring.schema import FIELDS


def sample_features(rng: random.Random) -> dict[str, Any]:
    """A plausible application, shaped like `application_train`: the building block (47 columns) is
    missing half the time as in the source data, other optional fields one time in ten; amounts and
    normalised measures carry at most 4 decimals, the external scores full precision."""
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        building = name.endswith(("_AVG", "_MODE", "_MEDI"))
        if not spec.required and rng.random() < (0.5 if building else 0.1):
            continue
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum if spec.maximum is not None else 1.0
        if spec.kind == "category":
            out[name] = rng.choice(spec.categories)
        elif spec.kind == "float":
            value = rng.uniform(low, min(high, low + 1e6))
            out[name] = value if name.startswith("EXT_SOURCE") else round(value, 4)
        else:
            out[name] = rng.randint(int(low), int(min(high, low + 1e6)))
    return out


def make_rows(count: int, *, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pool = [sample_features(rng) for _ in range(200)]  # building rows is not what we measure
    return [
        build_prediction_row(
            pool[i % len(pool)],
            request_id=f"req-{i}",
            channel="rest",
            model_version="bench",
            probability=rng.random(),
            decision="approve",
            threshold=0.5,
            inference_ms=1.0,
            started=time.perf_counter(),
            warnings=["bench"] if i % 7 == 0 else [],
        )
        for i in range(count)
    ]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6


def time_appends(log: PredictionLog, rows: list[dict[str, Any]]) -> list[float]:
    timings = []
    for row in rows:
        t0 = time.perf_counter()
        log.append(row)
        timings.append(time.perf_counter() - t0)
    return timings


def time_baseline(path: Path, rows: list[dict[str, Any]]) -> list[float]:
    timings = []
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            t0 = time.perf_counter()
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            timings.append(time.perf_counter() - t0)
    return timings


def time_builds(count: int) -> list[float]:
    """The row builder runs in the request path too (before append), so it is reported alongside."""
    rng = random.Random(1)
    features = sample_features(rng)
    timings = []
    for i in range(count):
        t0 = time.perf_counter()
        build_prediction_row(
            features,
            request_id=f"b-{i}",
            channel="rest",
            model_version="bench",
            probability=0.3,
            decision="approve",
            threshold=0.5,
            inference_ms=1.0,
            started=t0,
            client_id=100_000 + i,
            salt="bench-salt",
        )
        timings.append(time.perf_counter() - t0)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=20_000)
    args = parser.parse_args()
    rows = make_rows(max(args.rows, args.appends))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = PredictionLog(root / "log", replica_id="bench")
        ours = time_appends(log, rows[: args.appends])
        base = time_baseline(root / "baseline.jsonl", rows[: args.appends])
        p50, p99 = _percentiles(ours)
        b50, b99 = _percentiles(base)
        print(f"append  p50 {p50:7.1f} µs  p99 {p99:7.1f} µs  ({args.appends} rows)")
        print(f"baseline json.dumps+write+flush  p50 {b50:7.1f} µs  p99 {b99:7.1f} µs")
        print(f"ratio ours/baseline  p50 {p50 / b50:.2f}  p99 {p99 / b99:.2f}")
        r50, r99 = _percentiles(time_builds(5_000))
        print(f"build_prediction_row (120 fields cast + HMAC + ts)  p50 {r50:7.1f} µs  p99 {r99:7.1f} µs")
        log.append_many(rows[args.appends : args.rows])  # the reader's input: exactly --rows rows
        cache = ReadCache()
        size = sum(p.stat().st_size for p in (root / "log").rglob("*.jsonl"))
        t0, c0 = time.perf_counter(), time.process_time()
        data = read_log([root / "log"], cache=cache)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        log.append_many(rows[:1000])  # the live shard grows; a warm read parses only the new lines
        t0 = time.perf_counter()
        warm = read_log([root / "log"], cache=cache)
        warm_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in (root / "log").rglob("*.jsonl"):
            with path.open(encoding="utf-8") as handle:
                [json.loads(line) for line in handle]
        naive = time.perf_counter() - t0
        print(
            f"read_log cold {len(data.predictions)} rows ({size / 1e6:.0f} MB) in {seconds:.2f} s"
            f" (CPU {cpu:.2f} s on {os.cpu_count()} cores)"
        )
        print(f"read_log warm {len(warm.predictions)} rows (1000 new) in {warm_seconds:.2f} s")
        print(f"baseline json.loads per line, untyped: {naive:.2f} s; ratio cold/baseline {seconds / naive:.2f}")
        log.close()


if __name__ == "__main__":
    main()
