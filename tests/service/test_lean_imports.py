"""The serving process's lean imports: same results, less import-time work (service/lean_imports.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.factories import ROOT


def run_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_lightgbm_without_scikit_learn_scores_the_same() -> None:
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
