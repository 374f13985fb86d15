"""Reading the real Kaggle `application_train.csv`, for users who have it, as the generator's frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scoring.schema import ALL_COLUMNS, FIELDS, ID_COLUMN, RAW_COLUMNS, TARGET_COLUMN


def load_application_csv(path: str | Path) -> pd.DataFrame:
    """Read the real `application_train.csv` with the same columns and dtypes as the generator.

    Extra columns are dropped; a missing one is an error that lists them all.
    """
    frame = pd.read_csv(path)
    missing = [name for name in ALL_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"{path}: {len(missing)} expected column(s) missing: {', '.join(missing)}")
    frame = frame.loc[:, list(ALL_COLUMNS)]
    for name in (ID_COLUMN, TARGET_COLUMN, *RAW_COLUMNS):
        frame[name] = _cast(frame[name], name)
    return frame


def _kind(name: str) -> str:
    return "int" if name in (ID_COLUMN, TARGET_COLUMN) else FIELDS[name].kind


def _cast(series: pd.Series, name: str) -> pd.Series:
    kind = _kind(name)
    if kind == "category":
        # pandas 3 reads text as `str`; labels are kept as they are and missing stays NaN
        return series.astype("str")
    if kind in ("int", "flag"):
        if series.isna().any():
            raise ValueError(f"column {name} must not have missing values")
        return series.astype("int64")
    return series.astype("float64")
