"""Where the compiled trees and LightGBM part ways: an input exactly on a split threshold.

The trees compiled by tl2cgen send some values that equal a split threshold to the other side from
LightGBM (tests/scoring/test_compiled.py puts a value on every threshold of a model, and one float
step either side: only "on" differs, quantized or not). The rows holding such a value are found here
and scored by the Booster, so a decision never depends on the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

Predictor = Callable[[np.ndarray], np.ndarray]


def split_thresholds(booster: Any) -> dict[int, np.ndarray]:
    """Every numerical split threshold of the model by feature index, sorted (from LightGBM's own dump)."""
    found: dict[int, set[float]] = {}
    nodes = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while nodes:
        node = nodes.pop()
        if "split_feature" in node:
            if node.get("decision_type") == "<=":
                found.setdefault(int(node["split_feature"]), set()).add(float(node["threshold"]))
            nodes += [node["left_child"], node["right_child"]]
    return {feature: np.array(sorted(values)) for feature, values in found.items()}


def on_a_threshold(features: np.ndarray, thresholds: Mapping[int, np.ndarray]) -> np.ndarray:
    """The rows holding a value exactly equal to one of its feature's split thresholds (binary searches)."""
    hit = np.zeros(len(features), dtype=bool)
    for feature, values in thresholds.items():
        column = features[:, feature]
        hit |= values[np.minimum(np.searchsorted(values, column), len(values) - 1)] == column
    return hit


class ThresholdIndex:
    """`on_a_threshold` in one hash lookup per cell: ~930,000 cells of a 10,000-row batch in ~6 ms.

    A cell's key is its value's bits mixed with its feature's number, so a key of the table names one
    (feature, threshold) pair, barring a hash collision; the rows a lookup finds are confirmed by the
    exact binary searches, so a collision costs time, never a wrong row.
    """

    _MIX = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, thresholds: Mapping[int, np.ndarray]) -> None:
        self.thresholds = dict(thresholds)
        self.features = np.array(sorted(self.thresholds), dtype=np.intp)
        self._salts = self.features.astype(np.uint64) * self._MIX
        keys = [
            self._keys(self.thresholds[f][:, None] + 0.0, self._salts[k : k + 1]) for k, f in enumerate(self.features)
        ]
        self._table = np.unique(np.concatenate([k.ravel() for k in keys])) if keys else np.empty(0, np.uint64)

    @staticmethod
    def _keys(values: np.ndarray, salts: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) ^ salts

    def rows(self, features: np.ndarray) -> np.ndarray:
        """The rows of `features` with a value exactly on one of its feature's split thresholds."""
        if not len(self.features):
            return np.zeros(len(features), dtype=bool)
        cells = features[:, self.features] + 0.0  # a copy, with -0.0 as 0.0: equal values, equal bits
        found = pd_isin(self._keys(cells, self._salts).ravel(), self._table).reshape(cells.shape).any(axis=1)
        if found.any():
            rows = np.flatnonzero(found)
            found[rows] = on_a_threshold(features[rows], self.thresholds)
        return found


def pd_isin(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """pandas' hash-table membership test (numpy's isin sorts: several times slower here)."""
    return pd.Series(values, copy=False).isin(table).to_numpy()


def threshold_rows(thresholds: Mapping[int, np.ndarray], base: np.ndarray) -> np.ndarray:
    """For every split threshold, a row of `base` with that feature on it and one float step either side."""
    rows = []
    for feature, values in sorted(thresholds.items()):
        for threshold in values:
            for value in (np.nextafter(threshold, -np.inf), threshold, np.nextafter(threshold, np.inf)):
                row = base[len(rows) % len(base)].copy()
                row[feature] = value
                rows.append(row)
    return np.vstack(rows) if rows else base[:0]


def exact_at_thresholds(compiled: Predictor, booster: Any, thresholds: Mapping[int, np.ndarray]) -> Predictor:
    """`compiled`, with the rows that sit exactly on a split threshold scored by the Booster.

    The compiled trees send a value equal to a threshold the other way from LightGBM on some splits
    (tests/scoring/test_compiled.py puts a value on every threshold, and one float step either side:
    only "on" differs). Integer features split between integers, but rounded ones (EXT_SOURCE_3 = 0.25813)
    can sit on a threshold: 2 rows in 10,000 of the synthetic stream do. A decision must not depend on
    the runtime, so such rows (`ThresholdIndex`, ~6-13 ms per 10,000 rows) get the Booster's probability.
    """

    index = ThresholdIndex(thresholds)

    def predict(features: np.ndarray) -> np.ndarray:
        out = compiled(features)
        hits = index.rows(features)
        if hits.any():
            out[hits] = booster.predict(features[hits], num_threads=1)
        return out

    predict.runtime = "tl2cgen"  # type: ignore[attr-defined]
    return predict
