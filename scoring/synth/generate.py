"""The two entry points of the generator: a training population and a production stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.schema import ALL_COLUMNS, FIELDS, ID_COLUMN, RAW_COLUMNS, TARGET_COLUMN
from scoring.synth.calibration import Columns
from scoring.synth.population import simulate
from scoring.synth.scenarios import apply_drift, check_scenario

# Seed streams: the training set and the production stream never share random draws.
_TRAINING_STREAM, _PRODUCTION_STREAM, _DRIFT_STREAM = 0, 1, 2
# Production ids start far beyond any training id (training ids stay below ~1.2 x n + 100,002).
_PRODUCTION_ID_START = 10_000_000
_PRODUCTION_ID_SPAN = 10**12


def generate_applications(n_rows: int = 307_511, *, seed: int = 0) -> pd.DataFrame:
    """A training population of `n_rows` applications with TARGET, like `application_train.csv`."""
    rng = np.random.default_rng([seed, _TRAINING_STREAM])
    columns = simulate(n_rows, rng)
    span = max(int(n_rows * 1.16) + 1, 356_254)  # the real ids cover train + test, ~1.16 x train
    ids = 100_002 + np.sort(rng.choice(span, size=n_rows, replace=False))
    return _assemble(ids, columns)


def production_stream(n_rows: int, *, seed: int, scenario: str = "none") -> pd.DataFrame:
    """Fresh applicants of the same population, with TARGET, and the named drift applied.

    The same seed gives the same applicants whatever the scenario, so a drifted batch can be
    compared with its undrifted twin. TARGET comes from the same risk model as in training. Only
    `younger_applicants` changes who applies, and so the realised default rate; the other drifts
    corrupt or relabel inputs after TARGET is drawn (income inflation, bureau outage, new category)
    and leave it untouched, so the model's estimated and realised performance part ways.
    """
    check_scenario(scenario)
    rng = np.random.default_rng([seed, _PRODUCTION_STREAM])
    columns = simulate(n_rows, rng, younger=scenario == "younger_applicants")
    drift_rng = np.random.default_rng([seed, _DRIFT_STREAM])
    apply_drift(columns, scenario, drift_rng)
    ids = _PRODUCTION_ID_START + np.sort(rng.choice(_PRODUCTION_ID_SPAN, size=n_rows, replace=False))
    return _assemble(ids, columns)


def _assemble(ids: np.ndarray, columns: Columns) -> pd.DataFrame:
    data: dict[str, Any] = {ID_COLUMN: ids.astype("int64"), TARGET_COLUMN: columns[TARGET_COLUMN]}
    for name in RAW_COLUMNS:
        values = columns[name]
        if FIELDS[name].kind == "category":
            labels = np.array([*FIELDS[name].categories, np.nan], dtype=object)
            data[name] = pd.array(labels[values], dtype="str")  # code -1 picks the trailing NaN
        else:
            data[name] = values.astype("int64" if FIELDS[name].kind in ("int", "flag") else "float64")
    return pd.DataFrame(data, columns=list(ALL_COLUMNS))
