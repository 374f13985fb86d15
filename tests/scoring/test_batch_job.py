"""The batch job (`python -m scoring.batch`) answers, row by row, what the service answers.

50,000 synthetic applications with bad rows planted go through the Spark engine (PySpark local
mode, one session for the module) and the local engine; every probability must equal the one the
service's `Scorer` gives in process, and every refused row must carry the problems of the REST
answer (the per-row validator's, through `Scorer.score_batch`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.batch import main
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from tests.factories import MODEL_DIR, frame_payloads

N_ROWS = 50_000
pytestmark = [
    pytest.mark.slow,
    # PySpark 4.3 warns on pandas 3; these tests are what shows the job works with it
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def _plant(frame: pd.DataFrame) -> dict[int, str]:
    """Damage some rows the ways a Parquet file can be wrong; return row -> the field to blame."""
    frame["CNT_CHILDREN"] = frame["CNT_CHILDREN"].astype("float64")
    planted = {
        11: ("CNT_CHILDREN", 1.5),
        222: ("AMT_CREDIT", -5.0),
        3_333: ("AMT_CREDIT", math.inf),
        4_444: ("NAME_CONTRACT_TYPE", "Mortgage"),
        5_555: ("AMT_ANNUITY", None),
        6_666: ("DAYS_EMPLOYED", 5),
        7_777: ("FLAG_MOBIL", 2),
        8_888: ("DAYS_BIRTH", -100),
        9_999: ("OCCUPATION_TYPE", "x" * 150),
        49_999: ("REGION_RATING_CLIENT", 4),
    }
    for row, (name, value) in planted.items():
        frame.loc[row, name] = value
    frame.loc[30_000, ["AMT_CREDIT", "FLAG_MOBIL"]] = [-1.0, 3]  # two problems on one row
    planted[30_000] = ("AMT_CREDIT", None)
    return {row: name for row, (name, _) in planted.items()}


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict[int, str], Path]:
    from scoring.synth.generate import production_stream

    frame = production_stream(N_ROWS, seed=19)
    planted = _plant(frame)
    path = tmp_path_factory.mktemp("batch") / "portfolio.parquet"
    frame.to_parquet(path, index=False)
    return frame, planted, path


@pytest.fixture(scope="module")
def service_answers(portfolio, scorer):
    """What the service answers for each row sent as JSON (SK_ID_CURR and TARGET aside)."""
    frame, _, _ = portfolio
    return scorer.score_batch(frame_payloads(frame))


@pytest.fixture(scope="module")
def spark():
    from scoring.batch_spark import spark_session

    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


def _assert_same_as_the_service(output: pd.DataFrame, frame: pd.DataFrame, answers, planted: dict[int, str]) -> None:
    output = output.sort_values("row").reset_index(drop=True)
    assert output["row"].tolist() == list(range(len(frame)))
    assert (output[ID_COLUMN].to_numpy() == frame[ID_COLUMN].to_numpy()).all()
    assert set(answers.errors) >= set(planted)
    refused = output["status"] == "invalid"
    assert set(np.flatnonzero(refused.to_numpy()).tolist()) == set(answers.errors)
    for i, error in answers.errors.items():
        assert json.loads(output.at[i, "problems"]) == [p.as_dict() for p in error.problems]
    for i, name in planted.items():
        assert json.loads(output.at[i, "problems"])[0]["field"] == name
    ok = output[~refused]
    want = np.array([answers.scores[i].probability for i in ok.index])
    assert np.abs(ok["probability"].to_numpy() - want).max() <= 1e-9
    assert ok["decision"].tolist() == [answers.scores[i].decision for i in ok.index]
    assert output.loc[refused, "probability"].isna().all() and output.loc[refused, "decision"].isna().all()
    assert set(output["model_version"]) == {answers.scores[int(ok.index[0])].model_version}


def test_the_spark_job_scores_every_row_as_the_service_does(spark, portfolio, service_answers, tmp_path):
    from scoring.batch_spark import run_spark

    frame, planted, path = portfolio
    summary = run_spark(path, tmp_path / "scored", model_dir=MODEL_DIR, spark=spark)
    output = pd.read_parquet(tmp_path / "scored")
    assert len(list((tmp_path / "scored").glob("part-*.parquet"))) >= 2  # it really ran in parallel tasks
    assert (summary.rows, summary.refused) == (N_ROWS, len(service_answers.errors))
    _assert_same_as_the_service(output, frame, service_answers, planted)


def test_the_spark_job_reads_csv_with_the_local_rules(spark, portfolio, scorer, tmp_path):
    from scoring.batch_spark import run_spark

    frame = portfolio[0].head(2_000).copy()
    frame["AMT_INCOME_TOTAL"] = frame["AMT_INCOME_TOTAL"].astype(object)
    frame.loc[5, "AMT_INCOME_TOTAL"] = "a lot"  # a word in a number column refuses its row only
    frame.to_csv(tmp_path / "portfolio.csv", index=False)
    run_spark(tmp_path / "portfolio.csv", tmp_path / "spark", model_dir=MODEL_DIR, spark=spark)
    assert main(["--input", str(tmp_path / "portfolio.csv"), "--output", str(tmp_path / "local.parquet")]) == 0
    on_spark = pd.read_parquet(tmp_path / "spark").sort_values("row").reset_index(drop=True)
    local = pd.read_parquet(tmp_path / "local.parquet")
    assert json.loads(local.at[5, "problems"]) == [
        {"field": "AMT_INCOME_TOTAL", "kind": "wrong_type", "message": "expected a number, got a string"}
    ]
    pd.testing.assert_frame_equal(on_spark, local, check_dtype=False)


def test_the_local_engine_writes_the_same_answers(portfolio, service_answers, tmp_path, capsys):
    frame, planted, path = portfolio
    assert main(["--input", str(path), "--output", str(tmp_path / "scored.parquet"), "--engine", "local"]) == 0
    assert f"{N_ROWS:,} rows" in capsys.readouterr().out
    _assert_same_as_the_service(pd.read_parquet(tmp_path / "scored.parquet"), frame, service_answers, planted)


def test_an_unusable_input_or_model_is_an_exit_status_not_a_traceback(portfolio, tmp_path, capsys):
    _, _, path = portfolio
    assert main(["--input", str(tmp_path / "absent.parquet"), "--output", str(tmp_path / "out.parquet")]) == 2
    args = ["--input", str(path), "--output", str(tmp_path / "out.parquet"), "--model", str(tmp_path)]
    assert main(args) == 2
    assert "no exported model" in capsys.readouterr().err
    assert TARGET_COLUMN in pd.read_parquet(path).columns  # the job sets TARGET aside, the file keeps it
