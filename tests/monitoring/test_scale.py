"""Monitoring at scale: the projected read gives the full read's rows and values, the per-chunk sample is
bounded and deterministic. (The drift verdict on a sample: tests/monitoring/test_analysis.py.)"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring.alerts.operational import OPERATIONAL_COLUMNS
from monitoring.drift.sampling import ANALYSIS_COLUMNS, sample_positions
from monitoring.log.compaction import compact_local
from monitoring.log.reader import ReadCache, read_log
from monitoring.log.writer import PredictionLog
from monitoring.runner import WORKER_NICE, AnalysisJob, AnalysisRunner
from scoring.schema import FIELDS, RAW_COLUMNS
from tests.factories import RowFactory

TODAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
INPUTS = [next(n for n in RAW_COLUMNS if FIELDS[n].kind == kind) for kind in ("category", "int", "flag", "float")]


@pytest.fixture(scope="module")
def mixed_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three past days compacted to Parquet by the real compaction, then today's rows in JSON Lines."""
    from monitoring.log.records import build_shadow_row

    def shadow_row(row: dict, *, probability: float) -> dict:
        return build_shadow_row(
            request_id=row["request_id"],
            ts=row["ts"],
            channel=row["channel"],
            challenger_version="ch-2",
            challenger_probability=probability,
            challenger_decision="refuse" if probability > 0.5 else "approve",
            challenger_ms=1.0,
        )

    from tests.factories import prediction_row_factory, rejection_row_factory

    root = tmp_path_factory.mktemp("scale") / "log"
    prediction_row: RowFactory = prediction_row_factory(seed=3)
    rejection_row: RowFactory = rejection_row_factory()
    log = PredictionLog(root, replica_id="scale")
    for day in (3, 2, 1, 0):
        for i in range(40):
            now = TODAY - timedelta(days=day, minutes=600 - 15 * i)
            row = prediction_row(day * 100 + i, now=now)
            log.append(row)
            if i % 3 == 0:  # the challenger in shadow scored a third of them
                log.append(shadow_row(row, probability=i / 40))
            if i % 8 == 0:
                log.append(rejection_row(day * 100 + i, now=now))
        if day == 1:
            log.close()
            compact_local([root], out_root=root, before=TODAY.date())
            log = PredictionLog(root, replica_id="scale")
    log.close()
    assert len(list(root.glob("date=*/*.parquet"))) == 9 and list(root.glob(f"date={TODAY.date()}/*.jsonl"))
    return root


@pytest.mark.parametrize(
    "start, end",
    [(None, None), (TODAY - timedelta(days=2, hours=4), None), (TODAY - timedelta(days=3), TODAY - timedelta(hours=5))],
)
@pytest.mark.parametrize(
    "columns", [[*ANALYSIS_COLUMNS, *INPUTS], list(OPERATIONAL_COLUMNS), ["probability", "challenger_probability"]]
)
def test_projected_read_equals_the_full_read_on_its_columns(mixed_log: Path, start, end, columns) -> None:
    full = read_log([mixed_log], start=start, end=end)
    cache = ReadCache()
    projected = read_log([mixed_log], start=start, end=end, cache=cache, columns=columns)
    again = read_log([mixed_log], start=start, end=end, cache=cache, columns=columns)  # from the cache
    assert len(full.predictions) > 0 and full.predictions["challenger_probability"].notna().any()
    assert list(projected.predictions.columns) == [c for c in full.predictions.columns if c in {"ts", *columns}]
    for got in (projected, again):
        expected = full.predictions[list(got.predictions.columns)]
        pd.testing.assert_frame_equal(got.predictions, expected, check_exact=True)
        pd.testing.assert_frame_equal(got.rejections, full.rejections, check_exact=True)
        assert (got.torn_lines, got.bad_lines) == (full.torn_lines, full.bad_lines)
        # the shadow files are read only when a challenger column is asked for
        assert got.files == full.files if "challenger_probability" in columns else got.files < full.files


def test_a_projection_on_an_unknown_column_is_refused(mixed_log: Path) -> None:
    with pytest.raises(ValueError, match="NOT_A_COLUMN"):
        read_log([mixed_log], columns=["probability", "NOT_A_COLUMN"])


def _frame(sizes: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    chunk = np.repeat(np.arange(len(sizes)), sizes)
    return pd.DataFrame({"request_id": [f"r{i}" for i in range(len(chunk))]}), chunk


def test_the_sample_is_bounded_per_chunk_and_keeps_small_chunks_whole() -> None:
    frame, chunk = _frame([50, 5_000, 1_200, 1_000])
    kept = sample_positions(frame, chunk, max_rows=1_000)
    assert np.bincount(chunk[kept]).tolist() == [50, 1_000, 1_000, 1_000]
    assert np.all(np.diff(kept) > 0)  # positions, sorted, no repeats
    assert len(sample_positions(frame, chunk, max_rows=None)) == len(frame)


def test_the_sample_is_deterministic_and_follows_the_rows_not_their_order() -> None:
    frame, chunk = _frame([3_000, 2_500])
    kept = sample_positions(frame, chunk, max_rows=500)
    assert np.array_equal(kept, sample_positions(frame, chunk, max_rows=500))
    order = np.random.default_rng(5).permutation(len(frame))  # the same rows read in another order
    shuffled = sample_positions(frame.iloc[order].reset_index(drop=True), chunk[order], max_rows=500)
    assert set(frame["request_id"].iloc[kept]) == set(frame["request_id"].iloc[order[shuffled]])
    smaller = sample_positions(frame, chunk, max_rows=200)
    assert set(smaller) < set(kept)  # a smaller bound keeps a subset: refreshes agree with each other
    # not the first rows of each chunk: a hash order spreads the sample over the chunk's time span
    assert kept[kept < 3_000].max() > 2_500 and kept[kept < 3_000].min() < 500


def test_every_thread_of_the_analysis_worker_runs_at_low_priority() -> None:
    """Linux nices per thread: the worker's import-time threads (pyarrow, OpenMP) must be reniced too."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    runner = AnalysisRunner(AnalysisJob(log_dirs=(), model_dir="model"), isolation="process")
    try:
        pid = runner.submit(os.getpid).result(timeout=300)
        assert pid != os.getpid()
        threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        nices = [os.getpriority(os.PRIO_PROCESS, t) for t in threads]
    finally:
        runner.close()
    assert threads and min(nices) >= WORKER_NICE, nices
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the caller (the service) keeps its priority
