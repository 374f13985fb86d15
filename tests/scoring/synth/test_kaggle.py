"""Reading the real CSV (`scoring.synth.kaggle`): same columns and dtypes as the generator's frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.schema import ALL_COLUMNS
from scoring.synth.generate import generate_applications
from scoring.synth.kaggle import load_application_csv


def test_csv_round_trip(tmp_path: Path) -> None:
    frame = generate_applications(2_000, seed=3)
    path = tmp_path / "application_train.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_application_csv(path), frame)


def test_csv_extra_columns_are_dropped_and_order_restored(tmp_path: Path) -> None:
    frame = generate_applications(500, seed=3)
    path = tmp_path / "shuffled.csv"
    frame[list(reversed(ALL_COLUMNS))].assign(EXTRA=1).to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_application_csv(path), frame)


def test_csv_with_missing_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    generate_applications(200, seed=3).drop(columns=["EXT_SOURCE_2", "FLAG_MOBIL"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="EXT_SOURCE_2") as error:
        load_application_csv(path)
    assert "FLAG_MOBIL" in str(error.value)


def test_csv_with_missing_integer_values_is_rejected(tmp_path: Path) -> None:
    frame = generate_applications(200, seed=3)
    frame["CNT_CHILDREN"] = frame["CNT_CHILDREN"].astype("float64")
    frame.loc[0, "CNT_CHILDREN"] = np.nan
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="CNT_CHILDREN"):
        load_application_csv(path)
