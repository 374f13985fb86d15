"""The published aggregates the generator is calibrated on, and the sampling tools that follow them.

Every draw goes through a quantile function of a published column or a category frequency table, so
each generated column keeps its published marginal whatever dependence is added on top.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtri

from scoring.schema import FIELDS

PROFILE_PATH = Path(__file__).with_name("reference_profile.json")

# Generated columns by name (categoricals as codes, -1 = missing), and the hidden traits by name.
Columns = dict[str, np.ndarray]
Traits = dict[str, np.ndarray]

QUANTILE_LEVELS = {
    "min": 0.0,
    "p01": 0.01,
    "p05": 0.05,
    "p10": 0.10,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p90": 0.90,
    "p95": 0.95,
    "p99": 0.99,
    "max": 1.0,
}


def reference_profile() -> dict[str, Any]:
    """The published aggregates the generator is calibrated on (a copy: callers may modify it)."""
    return copy.deepcopy(load_profile())


@cache
def load_profile() -> dict[str, Any]:
    """The committed profile, read on first use and shared read-only by the generator."""
    return json.loads(PROFILE_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Quantiles:
    """A piecewise-linear quantile function through published quantile levels."""

    levels: np.ndarray
    values: np.ndarray

    def at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.levels, self.values)


def quantile_function(
    published: Mapping[str, float], *, lower: float | None = None, upper: float | None = None
) -> Quantiles:
    """Quantile function of a column; the published min/max are often single outliers (an income of
    1.17e8), so both ends are pulled in to at most twice the p01-p10 / p90-p99 spread."""
    q = {k: float(v) for k, v in published.items() if k in QUANTILE_LEVELS}
    low_end = q["p01"] - 2.0 * (q["p10"] - q["p01"])
    high_end = q["p99"] + 2.0 * (q["p99"] - q["p90"])
    q["min"] = max(q.get("min", low_end), low_end)
    q["max"] = min(q.get("max", high_end), high_end)
    if lower is not None:
        q["min"] = max(q["min"], lower)
    if upper is not None:
        q["max"] = min(q["max"], upper)
    keys = sorted(q, key=QUANTILE_LEVELS.__getitem__)
    values = np.maximum.accumulate(np.array([q[k] for k in keys]))
    return Quantiles(np.array([QUANTILE_LEVELS[k] for k in keys]), values)


def choice(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Category codes drawn with the given (not necessarily normalised) probabilities."""
    cumulative = np.cumsum(np.asarray(probs, dtype=float))
    return np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right").clip(0, len(probs) - 1)


def choice_by_group(rng: np.random.Generator, groups: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Category codes where row i uses the probability row `table[groups[i]]`."""
    cumulative = np.cumsum(table, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(groups))
    codes = (u[:, None] >= cumulative[groups]).sum(axis=1)
    return codes.clip(0, table.shape[1] - 1)


def ordinal_codes(z: np.ndarray, freqs: Sequence[float]) -> np.ndarray:
    """Ordered codes from a standard-normal score, cut so the codes have the given frequencies."""
    cumulative = np.cumsum(np.asarray(freqs, dtype=float))
    return np.searchsorted(ndtri(cumulative[:-1] / cumulative[-1]), z)


def mix(rng: np.random.Generator, *terms: tuple[float, np.ndarray]) -> np.ndarray:
    """A standard-normal score: the weighted terms plus independent noise for the remaining variance."""
    total = sum(weight * value for weight, value in terms)
    rest = 1.0 - sum(weight**2 for weight, _ in terms)
    return total + np.sqrt(max(rest, 0.0)) * rng.standard_normal(len(terms[0][1]))


def label_codes(name: str, labels: Sequence[str]) -> list[int]:
    categories = FIELDS[name].categories
    return [categories.index(label) for label in labels]


def fit_conditional(cell_shares: np.ndarray, multipliers: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-cell category probabilities proportional to base x multiplier whose mixture over the cells
    matches `target`: the dependence is added without moving the published marginal."""
    base = target.copy()
    for _ in range(60):
        table = base * multipliers
        table /= table.sum(axis=1, keepdims=True)
        base *= target / np.maximum(cell_shares @ table, 1e-12)
    table = base * multipliers
    return table / table.sum(axis=1, keepdims=True)


def round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.round(values / step) * step


def from_value_freq(value_freq: Mapping[str, float], rng: np.random.Generator, n: int) -> np.ndarray:
    values = np.array([float(v) for v in value_freq])
    return values[choice(rng, n, list(value_freq.values()))]
