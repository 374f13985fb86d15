"""Benchmark of the monitoring at scale: analysis time and peak memory on up to a million logged rows,
and what an analysis running in the background does to the scoring latency.

    python -m benchmarks.bench_monitoring [--rows 1000000] [--isolation process thread]
    make bench-monitoring MONITORING_ROWS=1000000       (also the last step of `make bench`)

1. Logs `--rows` production applications, scored by the committed model, spread evenly from six
   days ago 00:00 UTC to now, in the on-disk format the service leaves: past days as compacted
   Parquet files written by the compaction's own writer (`write_compacted`), today as JSON Lines
   shards written by the real `PredictionLog`. The rows are generated and scored in vectorised
   blocks (`build_prediction_row` one row at a time would take longer than the analysis); today's
   rows still go through `build_prediction_row` and the writer.
2. Times, in this process, the projected `read_log` + `DriftMonitor.calculate` (daily chunks, the
   service's bounded sample) with the monitor already fitted; the one-off fit is timed apart.
3. Scores one application at a time with `Scorer.score` every 5 ms in this process, idle (before
   and after, pooled), and while an `AnalysisRunner` (its niced worker process, as in the service)
   analyses the log: a cold run (spawn, import, fit, read, analysis) then a warm one. Prints p50/p99, the
   during/idle p99 ratio (target <= 2x), each run's wall and CPU time and the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import DriftMonitor, load_reference
from monitoring.drift.sampling import analysis_columns
from monitoring.log.parquet import compacted_name, write_compacted
from monitoring.log.reader import read_log
from monitoring.log.records import SCHEMA_VERSION, TS_TYPE, build_prediction_row, file_schema
from monitoring.log.writer import PredictionLog
from monitoring.runner import AnalysisJob, AnalysisRunner
from scoring.features import build_features, encode_frame
from scoring.model import load_model
from scoring.predict import Scorer
from scoring.schema import FIELDS, RAW_COLUMNS
from scoring.synth.generate import production_stream
from service.settings import Settings

MODEL_DIR = Path("model")
BLOCK = 100_000
TARGET_SECONDS, TARGET_RSS_MB = 60.0, 2048.0
_INTEGERS = [n for n in RAW_COLUMNS if FIELDS[n].kind in ("int", "flag")]


def _stamps(rows: int) -> pd.DatetimeIndex:
    now = pd.Timestamp.now(tz="UTC")
    start = now.floor("D") - pd.Timedelta(days=6)
    span = (now - pd.Timedelta(minutes=1) - start).total_seconds()
    return (start + pd.to_timedelta(np.linspace(0, span, rows), unit="s")).floor("us")


def _block_table(frame: pd.DataFrame, probability: np.ndarray, stamps: pd.DatetimeIndex, first: int, model) -> pa.Table:
    """The rows as the reader's tolerant schema types them: what parsing the writer's JSON lines gives."""
    schema = file_schema("prediction", tolerant=True)
    n, rng = len(frame), np.random.default_rng(first)
    refuse = probability >= model.threshold
    inference = np.round(rng.gamma(4.0, 0.25, n), 3)
    meta = {
        "ts": pa.array(stamps.to_numpy(), TS_TYPE),
        "schema_version": pa.array(np.full(n, SCHEMA_VERSION)),
        "kind": pa.array(["prediction"] * n),
        "request_id": pa.array([f"b{i}" for i in range(first, first + n)]),
        "channel": pa.array(["rest"] * n),
        "model_version": pa.array([str(model.version)] * n),
        "status": pa.array(["ok"] * n),
        "decision": pa.array(np.where(refuse, "refuse", "approve")),
        "probability": pa.array(probability.astype(float)),
        "threshold": pa.array(np.full(n, float(model.threshold))),
        "inference_ms": pa.array(inference),
        "latency_ms": pa.array(np.round(inference + rng.gamma(2.0, 0.5, n), 3)),
        "warnings": pa.array([[]] * n, pa.list_(pa.string())),
    }
    columns = []
    for field in schema:
        if field.name in meta:
            columns.append(meta[field.name].cast(field.type))
        elif field.name in RAW_COLUMNS:
            columns.append(pa.array(frame[field.name], from_pandas=True).cast(field.type))
        else:
            columns.append(pa.nulls(n, field.type))  # client_ref (no salt), batch_id, batch_index
    return pa.Table.from_arrays(columns, schema=schema)


def _write_today(log: PredictionLog, table: pa.Table) -> None:
    """Today's rows through `build_prediction_row` and the real writer, 1,000 per write."""
    rows = table.to_pylist()
    for begin in range(0, len(rows), 1000):
        batch = []
        for row in rows[begin : begin + 1000]:
            features = {name: row[name] for name in RAW_COLUMNS}
            for name in _INTEGERS:  # the tolerant schema holds ints as floats; the writer logs them as ints
                if features[name] is not None:
                    features[name] = int(features[name])
            batch.append(
                build_prediction_row(
                    features,
                    request_id=row["request_id"],
                    channel="rest",
                    model_version=row["model_version"],
                    probability=row["probability"],
                    decision=row["decision"],
                    threshold=row["threshold"],
                    inference_ms=row["inference_ms"],
                    started=time.perf_counter(),
                    now=row["ts"],
                    validated=True,
                )
            )
        log.append_many(batch)


def write_log(directory: Path, rows: int, model) -> list[dict]:
    """Log `rows` applications (see the module docstring); returns a few payloads to score."""
    stamps, today = _stamps(rows), pd.Timestamp.now(tz="UTC").date()
    log = PredictionLog(directory, replica_id="bench")
    pending: dict = {}
    payloads: list[dict] = []
    for first in range(0, rows, BLOCK):
        frame = production_stream(min(BLOCK, rows - first), seed=2024 + first // BLOCK)
        if not payloads:
            sample = frame[list(RAW_COLUMNS)].head(500).astype(object)
            records = sample.where(sample.notna(), None).to_dict("records")
            payloads = [{k: v for k, v in r.items() if v is not None} for r in records]
        probability = model.predict(build_features(encode_frame(frame)))
        block = stamps[first : first + len(frame)]
        table = _block_table(frame, probability, block, first, model)
        days = np.asarray(block.date)
        for day in sorted(set(days)):
            part = table.filter(pa.array(days == day))
            if day == today:
                _write_today(log, part)
            else:
                pending.setdefault(day, []).append(part)
        for day in [d for d in pending if d < max(days)]:  # a day is complete once a block went past it
            _flush(directory, day, pending.pop(day))
    for day in list(pending):
        _flush(directory, day, pending.pop(day))
    log.close()
    return payloads


def _flush(directory: Path, day, parts: list[pa.Table]) -> None:
    write_compacted(
        directory / compacted_name("prediction", day), pa.concat_tables(parts), kind="prediction", sources=()
    )


def time_analysis(directory: Path, model, sample_rows: int | None) -> dict[str, float]:
    """The service's analysis in this process, step by step: projected read, then calculate."""
    started = time.perf_counter()
    monitor = DriftMonitor.for_model(model).fit(load_reference(MODEL_DIR))
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    data = read_log([directory], columns=analysis_columns(monitor))
    read_seconds = time.perf_counter() - started
    result = monitor.calculate(
        data.predictions, chunking=Chunking(period="D"), rejections=data.rejections, sample_rows=sample_rows
    )
    total = time.perf_counter() - started
    print(f"fit on the reference (once per process): {fit_seconds:.1f} s")
    print(
        f"in process: analyse {len(data.predictions):,} logged rows ({data.predictions.shape[1]} columns read) in "
        f"{total:.1f} s (read_log {read_seconds:.1f} s, calculate {total - read_seconds:.1f} s; "
        f"{len(result.chunks)} daily chunks of up to {int(result.chunks['rows'].max()):,} rows, statistics on "
        f"{int(result.chunks['analysed'].max()):,} per chunk; {len(result.alerts)} drift alerts)"
    )
    return {"read_s": read_seconds, "calculate_s": total - read_seconds}


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


def _worker_pid(runner: AnalysisRunner) -> int | None:
    processes = getattr(runner._executor, "_processes", None) or {}
    return next(iter(processes), None)


def _proc_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a live process (/proc/<pid>/stat), 0 when unknown."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_peak_mb(pid: int | None) -> float:
    """Peak resident set (VmHWM) of a live process, in MB."""
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def contention(directory: Path, model, payloads: list[dict], isolation: str, sample_rows: int | None) -> dict:
    scorer = Scorer(model)
    scoring_latencies(scorer, payloads, count=200)  # warm-up
    idle = scoring_latencies(scorer, payloads, count=1000)
    job = AnalysisJob((str(directory),), str(MODEL_DIR), sample_rows=sample_rows)
    runner = AnalysisRunner(job, isolation=isolation)
    runs: dict[str, dict] = {}
    try:
        for name in ("cold", "warm"):  # cold: spawn/import + fit + analysis; warm: the fit is cached
            pid = _worker_pid(runner)
            cpu, begun = _proc_cpu_s(pid) if isolation == "process" else time.process_time(), time.perf_counter()
            runner.refresh("all", Chunking(period="D"))
            busy = scoring_latencies(scorer, payloads, until=lambda: runner.latest().running, seconds=600)
            state = runner.wait(600)
            wall = time.perf_counter() - begun
            pid = _worker_pid(runner)
            used = (_proc_cpu_s(pid) if isolation == "process" else time.process_time()) - cpu
            runs[name] = {"latencies": busy, "wall_s": wall, "cpu_s": used, "error": state.error}
        peak_mb = _proc_peak_mb(_worker_pid(runner)) if isolation == "process" else float("nan")
    finally:
        runner.close()
    # idle again once the worker is gone: the other load on the machine changes during the runs
    idle = np.concatenate([idle, scoring_latencies(scorer, payloads, count=1000)])
    if isolation == "process" and np.isnan(peak_mb):  # the worker is gone: the kernel kept its peak
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    p99_idle = float(np.percentile(idle, 99))
    for name, run in runs.items():
        values = run["latencies"]
        run["p99_ms"] = float(np.percentile(values, 99)) if len(values) >= 20 else float("nan")
        run["ratio"] = run["p99_ms"] / p99_idle
        print(
            f"[{isolation}] {name} run: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU; scoring p50/p99 idle "
            f"{np.percentile(idle, 50):.2f}/{p99_idle:.2f} ms, during "
            + (f"{np.percentile(values, 50):.2f}/{run['p99_ms']:.2f} ms" if len(values) >= 20 else "too short")
            + f" over {len(values)} calls: p99 ratio {run['ratio']:.2f}x"
            + (f"; error {run['error']}" if run["error"] else "")
        )
    return {"isolation": isolation, "idle_p99_ms": p99_idle, "peak_rss_mb": peak_mb, **runs}


def _table(rows: int, outcome: dict) -> None:
    warm, cold = outcome["warm"], outcome["cold"]
    lines = [
        ("rows logged", f"{rows:,}", ""),
        ("analysis wall time, warm (read + calculate)", f"{warm['wall_s']:.1f} s", f"<= {TARGET_SECONDS:.0f} s"),
        ("analysis CPU time, warm", f"{warm['cpu_s']:.1f} s", ""),
        ("first analysis (spawn, import, fit) wall / CPU", f"{cold['wall_s']:.1f} / {cold['cpu_s']:.1f} s", ""),
        ("analysis process peak RSS", f"{outcome['peak_rss_mb']:,.0f} MB", f"<= {TARGET_RSS_MB:,.0f} MB"),
        ("scoring p99 idle", f"{outcome['idle_p99_ms']:.2f} ms", ""),
        ("scoring p99 during the warm analysis", f"{warm['p99_ms']:.2f} ms ({warm['ratio']:.2f}x)", "<= 2x"),
        ("scoring p99 during the first analysis", f"{cold['p99_ms']:.2f} ms ({cold['ratio']:.2f}x)", "<= 2x"),
    ]
    verdicts = [
        warm["wall_s"] <= TARGET_SECONDS,
        None,
        None,
        outcome["peak_rss_mb"] <= TARGET_RSS_MB,
        None,
        warm["ratio"] <= 2,
        cold["ratio"] <= 2,
    ]
    title = f"monitoring at scale ({outcome['isolation']} worker)"
    print(f"\n| {title:<48} | {'measured':>20} | {'target':>9} |   |")
    print(f"|{'-' * 50}|{'-' * 22}|{'-' * 11}|---|")
    for (label, value, target), ok in zip(lines, [None, *verdicts], strict=True):
        mark = "" if ok is None else ("OK" if ok else "MISSED")
        print(f"| {label:<48} | {value:>20} | {target:>9} | {mark} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--isolation", nargs="+", default=["process"], choices=["process", "thread"])
    parser.add_argument("--sample-rows", type=int, default=None, help="per chunk (default: the service's)")
    parser.add_argument("--skip-in-process", action="store_true", help="only the worker runs (saves memory)")
    args = parser.parse_args()
    sample_rows = args.sample_rows or Settings().monitoring_sample_rows
    model = load_model(MODEL_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "predictions"
        started = time.perf_counter()
        payloads = write_log(directory, args.rows, model)
        size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        print(f"wrote {args.rows:,} rows ({size / 1e6:.0f} MB on disk) in {time.perf_counter() - started:.1f} s")
        if not args.skip_in_process:
            time_analysis(directory, model, sample_rows)
        outcomes = [contention(directory, model, payloads, isolation, sample_rows) for isolation in args.isolation]
    for outcome in outcomes:
        _table(args.rows, outcome)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
