"""Score stability as risk teams report it: the PSI of the score on deciles of the reference score, per chunk.

PSI = sum over the ten reference-decile bins of (a - e) * ln(a / e), with e the reference share
(about 10 % each) and a the chunk's share. Read it as risk teams do: below 0.10 stable, 0.10-0.25
a shift worth a look, above 0.25 a population the model was not built on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PSI_WATCH, PSI_SHIFT = 0.10, 0.25
_FLOOR = 1e-4  # an empty bin would make the logarithm infinite


def decile_edges(reference_score: np.ndarray) -> np.ndarray:
    """Inner edges of the reference score's deciles (9 values; ties collapse)."""
    return np.unique(np.quantile(np.asarray(reference_score, float), np.linspace(0.1, 0.9, 9)))


def shares(score: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, np.asarray(score, float), side="right"), minlength=len(edges) + 1)
    return counts / max(counts.sum(), 1)


def psi(actual: np.ndarray, expected: np.ndarray) -> float:
    a, e = np.maximum(actual, _FLOOR), np.maximum(expected, _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_table(score: np.ndarray, chunk: np.ndarray, chunks: pd.DataFrame, reference_score: np.ndarray) -> pd.DataFrame:
    """chunk, key, rows, psi (NaN for a chunk without rows)."""
    edges = decile_edges(reference_score)
    expected = shares(reference_score, edges)
    score, chunk = np.asarray(score, float), np.asarray(chunk)
    values = []
    for c in chunks["chunk"]:
        part = score[chunk == c]
        values.append(psi(shares(part, edges), expected) if len(part) else np.nan)
    out = chunks[["chunk", "key", "rows"]].copy()
    out["psi"] = values
    return out
