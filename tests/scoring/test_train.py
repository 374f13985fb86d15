"""`python -m scoring.train` end to end on a small sample: tracked in MLflow, registered, exported."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scoring.model import load_model
from tests.factories import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    completed = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "scoring.train",
            "--rows",
            "20000",
            "--folds",
            "2",
            "--seed",
            "3",
            "--model-dir",
            str(tmp / "model"),
            "--tracking-uri",
            uri,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return tmp, uri, completed.stdout


def test_progress_is_visible(trained):
    _, _, stdout = trained
    assert "[train] search 1/3" in stdout and "[train] finished" in stdout


def test_run_is_tracked_and_registered(trained):
    from mlflow import MlflowClient

    _, uri, _ = trained
    client = MlflowClient(tracking_uri=uri)
    version = client.get_model_version_by_alias("credit-scoring", "champion")
    run = client.get_run(version.run_id)
    metrics = run.data.metrics
    assert 0.6 < metrics["holdout_roc_auc"] < 0.9
    assert {"holdout_business_cost", "holdout_brier", "cv_auc", "threshold"} <= set(metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {
        "plots/roc.png",
        "plots/cost_vs_threshold.png",
        "plots/feature_importance.png",
        "plots/calibration.png",
    } <= artifacts


def test_exported_model_loads_and_scores(trained):
    tmp, _, _ = trained
    model = load_model(tmp / "model")
    assert (tmp / "model" / "reference.parquet").is_file()
    assert "synthetic" in (tmp / "model" / "README.md").read_text()
    assert 0 < model.threshold < 1
    assert model.metadata["data"]["rows"] == 20000
