"""The docs and the notebooks' saved outputs describe the committed model, not an older one.

Every model version (`YYYY.MM.DD-<8 hex>`) named in README.md, docs/*.md, model/README.md and the
notebooks (markdown and outputs) must be `model/metadata.json`'s, and so must every business threshold.
The one other version allowed is the sample model the training notebook trains on its own (it
announces it in its `[train] finished ...: model <version>` line). When this fails after a retrain:
`make docs-assets` re-executes the notebooks; edit the docs by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.factories import ROOT

METADATA = json.loads((ROOT / "model" / "metadata.json").read_text(encoding="utf-8"))
VERSION = re.compile(r"\b20\d\d\.\d\d\.\d\d-[0-9a-f]{8}\b")
# Phrases that state the model's decision threshold (drift thresholds are other numbers, other words).
THRESHOLD = [
    re.compile(r"(?:business|decision|cost-based) threshold(?: of| is| at| =|:)?\s*\**(\d\.\d+)", re.I),
    re.compile(r"at the threshold of\s*\**(\d\.\d+)", re.I),
    re.compile(r"≥\s*\**(\d\.\d+)\**,? the threshold", re.I),
    re.compile(r"'threshold': (\d\.\d+)\}"),  # the KPI block of a monitoring summary (drift alerts go on)
]
TRAINED_HERE = re.compile(r"\[train\] finished [^\n]*?: model (20\d\d\.\d\d\.\d\d-[0-9a-f]{8})")
DOCS = sorted([ROOT / "README.md", ROOT / "model" / "README.md", *(ROOT / "docs").glob("*.md")])
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def notebook_text(path: Path) -> str:
    """Markdown cells and every saved output (text, tables, plotly JSON), as one text."""
    parts: list[str] = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for kind, data in output.get("data", {}).items():
                if not kind.startswith("image/"):
                    parts.append(
                        data if isinstance(data, str) else "".join(data) if isinstance(data, list) else json.dumps(data)
                    )
    return "\n".join(parts)


def stale_mentions(text: str, *, allowed_versions: set[str]) -> list[str]:
    problems = [f"model version {v}" for v in sorted(set(VERSION.findall(text)) - allowed_versions)]
    for pattern in THRESHOLD:
        for match in pattern.finditer(text):
            if float(match.group(1)) != float(METADATA["threshold"]):
                problems.append(f"threshold {match.group(1)} in {match.group(0)!r}")
    return problems


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_the_committed_model(path: Path) -> None:
    problems = stale_mentions(path.read_text(encoding="utf-8"), allowed_versions={METADATA["model_version"]})
    assert not problems, (
        f"{path.name} is stale ({METADATA['model_version']}, threshold {METADATA['threshold']}): {problems}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_name_the_committed_model(path: Path) -> None:
    text = notebook_text(path)
    allowed = {METADATA["model_version"], *TRAINED_HERE.findall(text)}
    problems = stale_mentions(text, allowed_versions=allowed)
    assert not problems, f"{path.name}: re-run `make docs-assets` ({problems[:5]})"


def test_the_checks_catch_a_stale_mention() -> None:
    current = METADATA["model_version"]
    assert (
        stale_mentions(f"model {current}, business threshold {METADATA['threshold']}", allowed_versions={current}) == []
    )
    assert stale_mentions("model 2020.01.01-deadbeef", allowed_versions={current}) == [
        "model version 2020.01.01-deadbeef"
    ]
    assert stale_mentions("{'approval_rate': 0.9, 'threshold': 0.5}", allowed_versions={current})
    assert not stale_mentions("jensen_shannon 0.278 above its threshold 0.173", allowed_versions={current})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_plotly_figure_has_a_static_png_beside_it(path: Path) -> None:
    """GitHub's viewer runs no JavaScript: a plotly output alone shows as an empty cell there."""
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        kinds = [kind for output in cell.get("outputs", []) for kind in output.get("data", {})]
        figures = kinds.count("application/vnd.plotly.v1+json")
        assert kinds.count("image/png") >= figures, f"{path.name} cell {index}: {figures} plotly figures, fewer PNGs"
