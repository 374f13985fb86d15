"""`python -m scoring.train --from-log`: labelled log rows become training rows, the run registers a challenger.

The log is written by the real writer and the outcomes by the real `OutcomeStore`; the training run is
the real one on a tiny sample, in process (one MLflow import for the module).
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from monitoring.log.reader import read_log, read_outcomes
from monitoring.outcomes.store import OutcomeStore, labelled
from scoring.features import build_features, encode_frame, feature_frame
from scoring.schema import CATEGORICAL, RAW_COLUMNS, TARGET_COLUMN
from scoring.synth.generate import generate_applications
from scoring.train import cli, tracking
from scoring.train.config import REGISTERED_NAME
from scoring.train.from_log import content_order, production_rows, training_frame
from scoring.train.pipeline import split_and_encode
from tests.factories import MODEL_DIR, log_writer, scored_frame, write_log

N = 600


@pytest.fixture(scope="module")
def logged(model, tmp_path_factory) -> tuple[Path, pd.DataFrame, dict[str, bool]]:
    """A log of N scored applicants, the outcome of every approved one but the last 50, and one conflict."""
    folder = tmp_path_factory.mktemp("log")
    frame = scored_frame(model, N, seed=11, scenario="bureau_inflation")
    write_log(log_writer(folder), frame)
    frame["request_id"] = [f"r{i}" for i in range(N)]
    approved = frame[frame["decision"] == "approve"].iloc[:-50]
    expected = dict(zip(approved["request_id"], approved[TARGET_COLUMN].astype(bool), strict=True))
    log = log_writer(folder, replica_id="outcomes")
    store = OutcomeStore(log, dirs=[folder], salt=None)
    rows = [{"request_id": r, "defaulted": d} for r, d in expected.items()]
    assert store.record(rows, channel="rest")["counts"]["recorded"] == len(rows)
    first = rows[0]
    assert store.record([{**first, "defaulted": not first["defaulted"]}], channel="rest")["counts"]["conflict"] == 1
    log.close()
    return folder, frame, expected


def test_labelled_rows_come_back_with_their_inputs_and_outcome(logged) -> None:
    folder, frame, expected = logged
    rows = production_rows(read_log([folder]).predictions, labelled(read_outcomes([folder])))
    assert len(rows.frame) == len(expected)  # recorded ones only: the conflict and the unlabelled stay out
    scored = frame.set_index("request_id").loc[list(expected)]
    target = scored[TARGET_COLUMN].astype(int).to_numpy()
    original = content_order(training_frame(scored).assign(**{TARGET_COLUMN: target}))
    assert rows.frame[TARGET_COLUMN].tolist() == original[TARGET_COLUMN].tolist()  # the first answer stays
    # the raw inputs are the ones scored: the same model matrix as from the original frame
    np.testing.assert_allclose(
        build_features(encode_frame(rows.frame)), build_features(encode_frame(original)), equal_nan=True
    )
    # arrival order does not matter: the same rows in another order give the same training rows
    shuffled = read_log([folder]).predictions.sample(frac=1.0, random_state=3)
    again = production_rows(shuffled, labelled(read_outcomes([folder])))
    pd.testing.assert_frame_equal(again.frame, rows.frame)
    assert list(rows.frame.columns) == [*RAW_COLUMNS, TARGET_COLUMN]
    facts = rows.facts
    assert facts["production_rows"] == len(expected) and facts["production_predictions"] == N
    assert facts["production_label_coverage"] == pytest.approx(len(expected) / N, abs=1e-4)
    assert facts["production_first_ts"] < facts["production_last_ts"]
    # typed like the original data, so the two concatenate without object columns
    combined = pd.concat([generate_applications(50, seed=1), rows.frame], ignore_index=True)
    assert all(str(combined[c].dtype) == "str" for c in CATEGORICAL)
    assert not [c for c in RAW_COLUMNS if combined[c].dtype == object]


def test_no_labelled_row_is_a_clear_error(logged) -> None:
    folder, _, _ = logged
    predictions = read_log([folder]).predictions
    nobody = pd.DataFrame({"request_id": ["elsewhere"], "defaulted": [True]})
    with pytest.raises(ValueError, match="no labelled production row"):
        production_rows(predictions, nobody)
    with pytest.raises(ValueError, match="positive"):
        production_rows(predictions, labelled(read_outcomes([folder])), weight=0)
    with pytest.raises(SystemExit, match="no such log folder"):
        cli.main(["--from-log", str(folder / "missing"), "--rows", "100"])


def test_production_rows_join_the_training_part_only() -> None:
    frame = generate_applications(1_000, seed=2)
    extra = generate_applications(120, seed=3).drop(columns=["SK_ID_CURR"])
    plain = split_and_encode(frame, seed=0)
    mixed = split_and_encode(frame, seed=0, production=extra, production_weight=2.5)
    assert mixed.holdout.equals(plain.holdout)  # the champion's holdout, row for row
    assert len(mixed.y_train) == len(plain.y_train) + 120 and mixed.production_rows == 120
    assert mixed.w_train is not None and (mixed.w_train[-120:] == 2.5).all() and (mixed.w_train[:-120] == 1).all()
    assert plain.w_train is None


def test_every_new_flag_and_where_a_challenger_goes() -> None:
    assert cli.export_dir(cli.parse_args([])) == Path("model")
    assert cli.export_dir(cli.parse_args(["--from-log", "logs"])) is None  # never over model/ by default
    args = cli.parse_args(["--from-log", "a", "b", "--outcomes", "c", "--log-weight", "2", "--model-dir", "ch"])
    assert (args.from_log, args.outcomes, args.log_weight, cli.export_dir(args)) == (
        [Path("a"), Path("b")],
        [Path("c")],
        2.0,
        Path("ch"),
    )
    with pytest.raises(SystemExit):
        cli.parse_args(["--outcomes", "c"])


def test_retrain_from_the_log_registers_a_challenger_and_leaves_the_champion(logged, tmp_path) -> None:
    from mlflow import MlflowClient

    folder, _, expected = logged
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.use_store(uri)
    champion = _register_a_tiny_champion()
    served = (MODEL_DIR / "metadata.json").read_bytes()
    flags = f"--from-log {folder} --rows 1500 --folds 2 --threads 1 --model-dir {tmp_path / 'challenger'}"
    metadata = cli.main([*flags.split(), "--tracking-uri", uri])
    client = MlflowClient(tracking_uri=uri)
    challenger = client.get_model_version_by_alias(REGISTERED_NAME, "challenger")
    assert int(challenger.version) == champion + 1 == metadata["mlflow"]["registered_version"]
    assert int(client.get_model_version_by_alias(REGISTERED_NAME, "champion").version) == champion
    params = client.get_run(challenger.run_id).data.params
    assert int(params["production_rows"]) == len(expected) and params["alias"] == "challenger"
    assert float(params["production_label_coverage"]) == pytest.approx(len(expected) / N, abs=1e-4)
    assert params["production_first_ts"] < params["production_last_ts"]
    assert metadata["data"]["production"]["production_rows"] == len(expected)
    card = (tmp_path / "challenger" / "README.md").read_text(encoding="utf-8")
    assert "alias `challenger`" in card and f"{len(expected):,} labelled loans" in card
    assert (MODEL_DIR / "metadata.json").read_bytes() == served  # model/ is the champion's, untouched


def _register_a_tiny_champion() -> int:
    """A registered `champion` to stay untouched (a few trees: only its alias matters here)."""
    import mlflow

    frame = generate_applications(400, seed=4)
    x = build_features(encode_frame(frame))
    booster = lgb.train({"objective": "binary", "verbosity": -1}, lgb.Dataset(x, frame[TARGET_COLUMN]), 3)
    with mlflow.start_run(run_name="tiny-champion"):
        return tracking.register(booster, feature_frame(x[:5]))
