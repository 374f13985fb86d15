"""Bytes per logged row as JSON Lines and after compaction to Parquet (zstd), on realistic applicants.

    python -m benchmarks.bench_compaction [--rows 1000 10000] [--pushes 288]

Writes one day of `rows` predictions of the synthetic production population (scoring.synth), sealed
into `pushes` shards as the scheduled pushes leave them, compacts it with the service's code and
prints bytes per row raw and compacted, the size ratio and the time taken (the README's storage
figures come from here).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitoring.log.compaction import compact_local
from monitoring.log.records import build_prediction_row
from monitoring.log.writer import PredictionLog
from tests.factories import production_applications


def one_day(folder: Path, applications: list[dict], *, pushes: int) -> dict[str, float]:
    rng = random.Random(3)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    log = PredictionLog(folder, replica_id="bench")
    per_push = max(1, len(applications) // pushes)
    for i, features in enumerate(applications):
        probability = rng.random()
        log.append(
            build_prediction_row(
                features,
                request_id=f"req-{i:08d}",
                channel="rest",
                model_version="3",
                probability=probability,
                decision="refuse" if probability > 0.5 else "approve",
                threshold=0.5,
                inference_ms=round(rng.uniform(0.5, 3), 3),
                started=time.perf_counter(),
                client_id=rng.randint(100_000, 460_000),
                salt="bench-salt",
                now=day + timedelta(seconds=i * 86_400 / len(applications)),
            )
        )
        if (i + 1) % per_push == 0:
            with log.lock:
                log.seal()
    log.close()
    raw = sum(p.stat().st_size for p in folder.rglob("*.jsonl"))
    started = time.perf_counter()
    (done,) = compact_local([folder], out_root=folder, before=datetime.now(UTC).date())
    return {"raw": raw, "parquet": done.parquet_bytes, "seconds": time.perf_counter() - started, "rows": done.rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--pushes", type=int, default=288)
    args = parser.parse_args()
    pool = production_applications(max(args.rows), seed=11)
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            r = one_day(Path(tmp), pool[:rows], pushes=args.pushes)
        print(
            f"{int(r['rows']):>7,} rows in {args.pushes} shards: JSON Lines {r['raw'] / r['rows']:,.0f} B/row, "
            f"Parquet {r['parquet'] / r['rows']:,.0f} B/row, ratio {r['raw'] / r['parquet']:.1f}x, "
            f"compaction {r['seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
