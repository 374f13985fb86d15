"""Bounded, deterministic samples per chunk for the drift statistics, and the columns the analysis reads.

A day of a busy log holds hundreds of thousands of rows. The drift statistics do not need them: their
thresholds are calibrated on reference chunks of at most a 20th of the reference (800 rows with the
30,000-row holdout), and a statistic's noise on N analysed rows is already below that calibration's
noise for N of a few thousand. Above that, more rows only cost time and memory, and they make any
p-value collapse on differences too small to matter (docs/monitoring.md gives the numbers). So each
chunk's NannyML statistics run on at most `max_rows` of its rows; the counts, approval rate,
latency, timeline and histograms (`monitoring.drift.kpis`) and the outcome analysis stay on every row.

The sample is a hash order, not a random draw: a row is kept when its keyed hash of `request_id` is
among the `max_rows` smallest of its chunk. Same log, same sample, on every refresh and in every
process; a chunk that grows keeps most of its sample (a new row enters only if its hash is small).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DEFAULT_SAMPLE_ROWS = 10_000
_HASH_KEY = "monitoring-smpl1"  # 16 characters, as pandas' keyed hash wants; changing it re-draws every sample
# What the analysis reads besides the monitored inputs: the KPIs and timeline (kpis.py), the outcome
# join (request_id), fairness groups (fairness.py), the pair's threshold (pair.py), latency (alerts/latency.py).
ANALYSIS_COLUMNS = (
    "ts",
    "request_id",
    "channel",
    "model_version",
    "probability",
    "decision",
    "latency_ms",
    "inference_ms",
    "batch_id",
    "threshold",
    "CODE_GENDER",
    "DAYS_BIRTH",
)


def analysis_columns(monitor: Any) -> list[str]:
    """The prediction-log columns a `DriftMonitor`'s analysis (drift, KPIs, outcomes) reads, in order."""
    return list(dict.fromkeys([*ANALYSIS_COLUMNS, *monitor.features, *monitor.unseen_columns]))


def in_time_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by `ts` (stable), on a fresh 0..n-1 index; no copy when they already are in order."""
    if not len(frame) or frame["ts"].is_monotonic_increasing:
        return frame.reset_index(drop=True)
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def sample_positions(frame: pd.DataFrame, chunk: np.ndarray, *, max_rows: int | None) -> np.ndarray:
    """Positions (sorted) of the rows kept: every row of a chunk of at most `max_rows`, else `max_rows` of them.

    `chunk` is each row's chunk index. Rows are ranked within their chunk by a keyed hash of their
    `request_id` (of their position when the frame has none), and the first `max_rows` are kept.
    """
    if max_rows is None or not len(frame) or np.bincount(chunk).max() <= max_rows:
        return np.arange(len(frame))
    ids = frame["request_id"] if "request_id" in frame else pd.Series(np.arange(len(frame)))
    keys = pd.util.hash_pandas_object(pd.Series(ids.to_numpy(), dtype=object), index=False, hash_key=_HASH_KEY)
    order = np.lexsort((keys.to_numpy(), chunk))
    ordered = chunk[order]
    rank = np.arange(len(order)) - np.searchsorted(ordered, ordered, side="left")
    return np.sort(order[rank < max_rows])
