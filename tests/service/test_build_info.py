"""The build identity: from build-info.json in an image, from git in a checkout, else "unknown"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from service.build_info import BUILD_INFO_FILE, read_build_info
from tests.conftest import ROOT


def test_an_image_reports_the_commit_recorded_at_build_time(tmp_path: Path) -> None:
    (tmp_path / BUILD_INFO_FILE).write_text(json.dumps({"commit": "abc123" * 6, "model_version": "m-1"}))
    info = read_build_info(model_version="m-1", root=tmp_path)
    assert (info.commit, info.model_version, info.source) == ("abc123" * 6, "m-1", BUILD_INFO_FILE)
    assert info.short_commit == "abc123abc123"


def test_the_served_model_version_is_the_loaded_one(tmp_path: Path) -> None:
    (tmp_path / BUILD_INFO_FILE).write_text(json.dumps({"commit": "c1", "model_version": "built-with"}))
    assert read_build_info(model_version="loaded", root=tmp_path).model_version == "loaded"


def test_a_checkout_reports_git_head() -> None:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    info = read_build_info(model_version="m-1", root=ROOT)
    if (ROOT / BUILD_INFO_FILE).exists():  # a staged copy of the checkout: the file wins
        assert info.source == BUILD_INFO_FILE
    else:
        assert (info.commit, info.source) == (head, "git")


def test_neither_file_nor_git_is_unknown(tmp_path: Path) -> None:
    info = read_build_info(model_version="m-1", root=tmp_path)
    assert (info.commit, info.source, info.short_commit) == ("unknown", "unknown", "unknown")


def test_a_corrupt_file_falls_back_instead_of_failing(tmp_path: Path) -> None:
    (tmp_path / BUILD_INFO_FILE).write_text("{not json")
    assert read_build_info(model_version="m-1", root=tmp_path).commit == "unknown"
    (tmp_path / BUILD_INFO_FILE).write_text(json.dumps({"commit": ""}))
    assert read_build_info(model_version="m-1", root=tmp_path).commit == "unknown"


def test_the_serving_import_of_lightgbm_leaves_scikit_learn_out_and_scores_the_same() -> None:
    """app.main's lean import: same probabilities, no scikit-learn or matplotlib in the process."""
    code = """
import json, sys
from scoring.model import import_lightgbm_for_serving, load_model
import_lightgbm_for_serving()
import numpy as np
model = load_model("model")
rows = np.random.default_rng(0).normal(size=(5, len(model.booster.feature_name())))
print(json.dumps({"p": model.booster.predict(rows).tolist(),
                  "hidden": [m for m in ("sklearn", "matplotlib") if m in sys.modules]}))
import sklearn  # and afterwards scikit-learn still imports normally
"""
    lean = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert lean.returncode == 0, lean.stderr
    answer = json.loads(lean.stdout.strip().splitlines()[-1])
    assert answer["hidden"] == []
    from scoring.model import load_model

    model = load_model(ROOT / "model")
    import numpy as np

    rows = np.random.default_rng(0).normal(size=(5, len(model.booster.feature_name())))
    assert answer["p"] == model.booster.predict(rows).tolist()
