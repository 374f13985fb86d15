"""The plain statistics of the operational detectors: robust baselines and time windows."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

_MAD_TO_SIGMA = 1.4826  # makes the MAD comparable to a standard deviation for normal data


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float  # robust sigma, floored
    windows: int

    def z(self, value: float) -> float:
        return (value - self.median) / self.scale

    def ratio(self, value: float) -> float:
        return value / self.median if self.median > 0 else math.inf


def robust_baseline(values: Iterable[float], *, floor: float, min_windows: int) -> Baseline | None:
    """Median and MAD-based sigma of earlier windows, or None when there are too few of them."""
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(data) < min_windows:
        return None
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    return Baseline(median, max(_MAD_TO_SIGMA * mad, 0.1 * median, floor), len(data))


def compared(value: float, base: Baseline | None, *, limit: float) -> dict[str, float | None]:
    """An alert's comparison fields: against its baseline when there is one, else against the limit."""
    return {
        "observed": value,
        "baseline": None if base is None else base.median,
        "limit": limit,
        "ratio": base.ratio(value) if base else value / limit,
        "z": base.z(value) if base else None,
    }


def far_above(value: float, base: Baseline | None, *, ratio: float, z: float) -> bool:
    return base is not None and base.ratio(value) >= ratio and base.z(value) >= z


def window_index(ts: pd.Series, *, now: datetime, width: timedelta) -> pd.Series:
    """0 for the current window [now - width, now), 1 for the one before, ...; NA for rows at/after now."""
    age = pd.Timestamp(now) - ts
    # Ages in (0, width] are window 0: a row stamped exactly now - width belongs to [now - width, now).
    index = (age - pd.Timedelta(1, "us")) // pd.Timedelta(width)
    return index.where(age > pd.Timedelta(0)).astype("Int64")


def run_start(bad: pd.Series) -> int:
    """The oldest window of the unbroken run of bad windows that ends at the current one (index 0)."""
    bad = bad.fillna(False).astype(bool)  # a window without requests is not a bad window
    k = 0
    while bool(bad.get(k + 1, False)):
        k += 1
    return k


def window_start(now: datetime, width: timedelta, k: int) -> datetime:
    return now - width * (k + 1)


def first_ts(ts: pd.Series) -> datetime | None:
    return None if ts.empty else ts.min().to_pydatetime()
