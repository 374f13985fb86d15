"""scripts/ci_gate.py, the script the CI workflow's model-gate job runs, on a throwaway git repository:
a model/ change is judged against the previous commit's model/ (a harmful one is refused), a push that
leaves model/ alone is not judged, and restoring an earlier released model/ is let through as a rollback."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scoring.promote.sides import folder_hashes
from scripts import ci_gate
from tests.scoring.tiny_models import train_tiny

pytestmark = pytest.mark.slow  # trains two tiny models and runs the gate once


def commit(repo: Path, model: Path | None, message: str) -> None:
    if model is not None:
        shutil.rmtree(repo / "model", ignore_errors=True)
        shutil.copytree(model, repo / "model")
    (repo / "notes.txt").write_text(message)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)  # noqa: S607
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True)  # noqa: S607


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)  # noqa: S607
    subprocess.run(["git", "config", "user.email", "ci@example.invalid"], cwd=repo, check=True)  # noqa: S607
    subprocess.run(["git", "config", "user.name", "CI"], cwd=repo, check=True)  # noqa: S607
    return repo


def test_gate_refuses_a_harmful_push_skips_unchanged_and_lets_a_rollback_through(repo, tmp_path, capsys):
    champion = train_tiny(tmp_path / "champion", rounds=120)
    weak = train_tiny(tmp_path / "weak", rounds=3)
    records = tmp_path / "records"
    commit(repo, champion, "first model")
    commit(repo, weak, "a model with 3 trees")

    assert ci_gate.model_changed("HEAD~1", root=repo)
    assert ci_gate.run("HEAD~1", records, root=repo, extra=["--holdout-rows", "4000"]) == 1
    (record,) = [json.loads(p.read_text()) for p in records.glob("*.json")]
    assert record["decision"] == "fail" and "holdout:roc_auc" in record["failed_checks"]
    assert record["champion"]["files"] == folder_hashes(champion)
    assert record["candidate"]["files"] == folder_hashes(weak)

    # a new branch's push has an all-zero `before`: the previous commit is the champion then
    assert ci_gate.resolve_base("0" * 40, root=repo) == "HEAD~1"
    assert ci_gate.resolve_base("HEAD~1", root=repo) == "HEAD~1"

    commit(repo, None, "docs only")
    assert not ci_gate.model_changed("HEAD~1", root=repo)
    assert ci_gate.run("HEAD~1", records, root=repo) == 0
    assert "no gate to run" in capsys.readouterr().out

    commit(repo, champion, "roll back to the first model")
    assert ci_gate.run("HEAD~1", records, root=repo) == 0
    rollback = [json.loads(p.read_text()) for p in records.glob("*-rollback.json")]
    assert len(rollback) == 1 and "rollback" in rollback[0]["reason"]
