"""The Space upload takes the service and nothing else: checked through the script's dry run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "deploy_space.py"

FRONT_MATTER = "---\ntitle: t\nsdk: docker\napp_port: 7860\n---\n# service\n"

# A miniature repo: what the Space needs, and decoys of everything that must stay home.
TREE = {
    "app.py": "print('app')\n",
    "Dockerfile": "FROM python:3.11-slim\n",
    ".dockerignore": "tests\n",
    "requirements-image.txt": "lightgbm==4.5.0\n",
    "build-info.json": "{}\n",
    "README.md": FRONT_MATTER,
    "model/MLmodel": "flavors: {}\n",
    "model/reference.parquet": "PAR1",
    "scoring/predict.py": "",
    "monitoring/log/writer.py": "",
    "service/api.py": "",
    "service/ui/blocks.py": "",
    # decoys
    "tests/test_app.py": "",
    "tests/data/fixture.json": "{}",
    ".venv/bin/python": "",
    ".venv/lib/python3.11/site-packages/x.py": "",
    "data/predictions/part-0.jsonl": "{}",
    ".env": "HF_TOKEN=hf_secret\n",
    ".env.production": "API_TOKEN=secret\n",
    "service/.env": "API_TOKEN=secret\n",
    "scoring/__pycache__/predict.cpython-311.pyc": "",
    "service/server.key": "decoy key material (excluded by its name)\n",
    "notebooks/explore.ipynb": "{}",
    "mlruns/0/meta.yaml": "",
    "mlflow.db": "",
    "monitoring/run.log": "",
    ".git/config": "",
    "docs/deployment.md": "",
    "example.json": "{}",
    "scripts/warm_imports.py": "",
    "scripts/smoke.py": "",
    "requirements.txt": "mlflow==3.17.2\n",  # the dev/training lock: the image uses requirements-image.txt
}
MUST_GO = {
    "app.py",
    "Dockerfile",
    ".dockerignore",
    "requirements-image.txt",
    "build-info.json",
    "README.md",
    "example.json",
    "scripts/warm_imports.py",
    "model/MLmodel",
    "model/reference.parquet",
    "scoring/predict.py",
    "monitoring/log/writer.py",
    "service/api.py",
    "service/ui/blocks.py",
}


def dry_run(root: Path) -> dict:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--json", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def decoy_repo(tmp_path: Path) -> Path:
    for relpath, content in TREE.items():
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return tmp_path


def test_dry_run_uploads_exactly_the_service(decoy_repo: Path):
    selection = dry_run(decoy_repo)
    assert set(selection["included"]) == MUST_GO
    assert set(selection["excluded"]) == set(TREE) - MUST_GO
    assert selection["front_matter_problem"] is None


def test_dry_run_names_a_bad_front_matter(decoy_repo: Path):
    (decoy_repo / "README.md").write_text("---\nsdk: gradio\n---\n", encoding="utf-8")
    assert "sdk: docker" in dry_run(decoy_repo)["front_matter_problem"]


def test_real_run_refuses_without_a_space(decoy_repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(decoy_repo)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "no Space given" in result.stderr


@pytest.mark.slow  # walks the whole checkout, .venv included, as upload_folder does
def test_dry_run_of_this_repo():
    selection = dry_run(ROOT)
    included, excluded = set(selection["included"]), set(selection["excluded"])
    assert {"app.py", "model/MLmodel", "Dockerfile", "requirements-image.txt", "README.md"} <= included
    for prefix in ("tests/", ".venv/", "data/", "notebooks/", ".git/", "mlruns/"):
        assert not any(path.startswith(prefix) for path in included), prefix
    assert not any(Path(path).name.startswith(".env") for path in included)
    assert not any("__pycache__" in path for path in included)
    assert "tests/test_deploy.py" in excluded
