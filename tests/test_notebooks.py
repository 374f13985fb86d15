"""The notebooks stay runnable: each is executed on a small sample."""

from __future__ import annotations

import pytest

from scripts.run_notebook import execute
from tests.factories import ROOT

pytestmark = pytest.mark.slow


def test_training_notebook_runs(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_ROWS", "8000")
    notebook = execute(ROOT / "notebooks" / "01_training.ipynb", timeout=600, save=False)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    assert "registered version" in text and "roc_auc" in text
