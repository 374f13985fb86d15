"""The committed model: it loads, it is as good as its card says, and it behaves."""

from __future__ import annotations

import json
import shutil
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.errors import ModelLoadError
from scoring.features import FEATURE_NAMES, build_features, encode_frame, feature_frame
from scoring.model import METADATA_FILE, REFERENCE_FILE, load_model
from scoring.schema import RAW_COLUMNS
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from tests.factories import MODEL_DIR


def test_metadata_carries_version_threshold_and_features(model):
    meta = model.metadata
    assert meta["model_version"] and 0 < meta["threshold"] < 1
    assert tuple(meta["feature_names"]) == FEATURE_NAMES
    assert meta["data"]["fingerprint"] and meta["mlflow"]["run_id"]


def test_every_exported_file_is_under_10_mb():
    for path in MODEL_DIR.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 10 * 1024 * 1024, path


def test_holdout_auc_recomputed_from_the_reference(model):
    reference = pd.read_parquet(MODEL_DIR / REFERENCE_FILE)
    assert {"TARGET", "probability", *RAW_COLUMNS} <= set(reference.columns)
    auc = roc_auc_score(reference["TARGET"], reference["probability"])
    assert 0.75 <= auc <= 0.78
    recomputed = model.predict(build_features(encode_frame(reference)))
    np.testing.assert_allclose(recomputed, reference["probability"], atol=1e-12)


def test_loader_equals_mlflow_pyfunc_on_10000_rows(model):
    import mlflow.pyfunc

    from scoring.synth.generate import production_stream

    frame = production_stream(10_000, seed=99)
    features = build_features(encode_frame(frame))
    pyfunc = mlflow.pyfunc.load_model(str(MODEL_DIR))
    expected = np.asarray(pyfunc.predict(feature_frame(features)), dtype=float).ravel()
    ours = model.predict(features)
    assert np.max(np.abs(ours - expected)) <= 1e-9


def test_better_external_score_never_raises_the_risk(scorer):
    for base in (EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK):
        for name in ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"):
            probabilities = [scorer.score({**base, name: v}).probability for v in np.linspace(0.02, 0.98, 13)]
            assert all(b <= a + 1e-12 for a, b in pairwise(probabilities)), name


def test_gender_never_changes_the_score(scorer):
    for base in (EXAMPLE_LOW_RISK, EXAMPLE_HIGH_RISK):
        scores = {scorer.score({**base, "CODE_GENDER": g}).probability for g in ("F", "M", "XNA")}
        scores.add(scorer.score({k: v for k, v in base.items() if k != "CODE_GENDER"}).probability)
        assert len(scores) == 1


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no exported model"):
        load_model(tmp_path / "nowhere")


def test_corrupt_artifacts_are_clear_errors(tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(MODEL_DIR, broken)
    (broken / METADATA_FILE).write_text("{ not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        load_model(broken)
    meta = json.loads((MODEL_DIR / METADATA_FILE).read_text())
    (broken / METADATA_FILE).write_text(json.dumps({**meta, "feature_names": ["a", "b"]}))
    with pytest.raises(ModelLoadError, match="feature list"):
        load_model(broken)
    (broken / METADATA_FILE).write_text(json.dumps(meta))
    for path in broken.glob("*.lgb"):
        path.write_text("garbage")
    for path in broken.glob("*.txt"):
        if path.name != "requirements.txt":
            path.write_text("garbage")
    with pytest.raises(ModelLoadError):
        load_model(broken)
