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


def test_gradio_imports_without_its_stub_upkeep_and_still_builds_an_app() -> None:
    answer = run_python("""
import json
from service.lean_imports import prepare_serving_process, skip_gradio_stub_upkeep
prepare_serving_process()
import gradio as gr
import gradio.blocks_events
from gradio import component_meta
with gr.Blocks() as demo:
    box = gr.Number(label="x")
    out = gr.Textbox()
    box.change(lambda x: str(x), box, out)
print(json.dumps({
    "skipped": component_meta.create_or_modify_pyi.__name__,
    "events_skipped": gradio.blocks_events.create_or_modify_pyi.__name__,
    "components": sorted(c["type"] for c in demo.config["components"]),
    "again": skip_gradio_stub_upkeep(),
}))
""")
    assert answer["skipped"] == answer["events_skipped"] == "_no_stub_upkeep"
    assert {"number", "textbox"} <= set(answer["components"]) and answer["again"] is False


def test_without_the_hook_gradio_is_untouched() -> None:
    answer = run_python("""
import json, gradio
from gradio import component_meta
print(json.dumps({"upkeep": component_meta.create_or_modify_pyi.__name__}))
""")
    assert answer == {"upkeep": "create_or_modify_pyi"}


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
