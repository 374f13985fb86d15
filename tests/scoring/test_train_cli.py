"""The training command line without training: its flags and where its MLflow store comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.schema import DAYS_EMPLOYED_PENSIONER
from scoring.synth.generate import generate_applications
from scoring.train.cli import default_tracking_uri, export_dir, parse_args
from scoring.train.pipeline import input_importance, training_ranges


def test_every_flag_keeps_its_name_and_default() -> None:
    defaults = parse_args([])
    assert (defaults.data, defaults.rows, defaults.seed, defaults.folds) == (None, 307_511, 0, 3)
    assert export_dir(defaults) == Path("model") and defaults.tracking_uri is None and not defaults.no_export
    flags = "--data a.csv --rows 10 --seed 4 --folds 5 --model-dir m --tracking-uri u --no-export"
    args = parse_args(flags.split())
    assert (args.data, args.rows, args.seed, args.folds, args.model_dir, args.tracking_uri, args.no_export) == (
        "a.csv",
        10,
        4,
        5,
        Path("m"),
        "u",
        True,
    )


def test_the_default_store_is_read_through_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////tmp/elsewhere.db")
    assert default_tracking_uri() == "sqlite:////tmp/elsewhere.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert default_tracking_uri() == "sqlite:///mlflow.db"


def test_training_ranges_leave_the_pensioner_placeholder_out() -> None:
    frame = generate_applications(2_000, seed=1)
    ranges = training_ranges(frame)
    assert (frame["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PENSIONER).any()
    assert ranges["DAYS_EMPLOYED"][1] <= 0
    assert ranges["AMT_CREDIT"] == [frame["AMT_CREDIT"].min(), frame["AMT_CREDIT"].max()]


def test_input_importance_splits_an_engineered_feature_between_its_sources() -> None:
    ranked = input_importance({"CREDIT_INCOME_RATIO": 10.0, "AMT_CREDIT": 1.0, "EXT_SOURCE_2": 5.5})
    # AMT_CREDIT: 1 + 10/2 = 6 > EXT_SOURCE_2 5.5 > AMT_INCOME_TOTAL 5; fields without gain are left out
    assert ranked == ["AMT_CREDIT", "EXT_SOURCE_2", "AMT_INCOME_TOTAL"]
