"""The deploy for real, against the stand-in Hub: stage, upload to a Space, download it back.

The fast tests check that what lands on the Space is byte for byte the staged folder (digest included)
and carries the build identity. `test_uploaded_space_builds_and_serves` then builds the image from the
downloaded Space, runs it, waits for /readyz to report the staged commit and smoke-tests it (through
scripts/container_check.sh, rootful podman): several minutes, so it is marked `container` and runs only
with RUN_CONTAINER=1, as `.ci/run` does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import ROOT
from tests.monitoring.hub_standin import StandInHub

DEPLOY = ROOT / "scripts" / "deploy_space.py"
TOKEN = "hf_deploy_test_token"
SPACE = "acme/credit-scoring"
COMMIT = "c0ffee" * 6 + "beef"  # what the staged build must report


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, **(env or {})}
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


SERVICE_TOKEN = "service-token-for-the-space"


def hub_env(hub: StandInHub, tmp: Path) -> dict[str, str]:
    """What the deploy job has: the endpoint (here the stand-in), the Hub token, the service's token."""
    return {
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": TOKEN,
        "HF_HOME": str(tmp / "hf-home"),
        "HF_HUB_DISABLE_XET": "1",
        "API_TOKEN": SERVICE_TOKEN,  # a deploy never ships an open service (scripts/space_secrets.py)
    }


def stage(target: Path, *, commit: str = COMMIT) -> str:
    result = run(sys.executable, str(DEPLOY), "--stage", str(target), "--commit", commit)
    assert result.returncode == 0, result.stderr
    return re.search(r"^digest ([0-9a-f]{64})$", result.stdout, re.M).group(1)


def download(hub: StandInHub, tmp: Path, target: Path) -> None:
    """The Space's files as the Hub serves them, through huggingface_hub's own snapshot download."""
    code = (
        "import sys; from huggingface_hub import snapshot_download; "
        "snapshot_download(sys.argv[1], repo_type='space', local_dir=sys.argv[2])"
    )
    result = run(sys.executable, "-c", code, SPACE, str(target), env=hub_env(hub, tmp))
    assert result.returncode == 0, result.stderr
    # snapshot_download keeps its bookkeeping in .cache/huggingface; it is not part of the Space
    for bookkeeping in sorted(target.glob(".cache/**/*"), reverse=True):
        bookkeeping.unlink() if bookkeeping.is_file() else bookkeeping.rmdir()
    (target / ".cache").rmdir()


@pytest.fixture
def hub() -> Iterator[StandInHub]:
    with StandInHub(token=TOKEN) as server:
        yield server


@pytest.fixture
def deployed(tmp_path: Path, hub: StandInHub) -> tuple[Path, Path, str]:
    """Stage this repo, deploy the staged folder to the stand-in Space, download it back."""
    staged, downloaded = tmp_path / "staged", tmp_path / "downloaded"
    digest = stage(staged)
    result = run(
        sys.executable,
        str(DEPLOY),
        "--root",
        str(staged),
        "--space-id",
        SPACE,
        "--create",
        "--message",
        "Deploy test",
        env=hub_env(hub, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert f"digest {digest}" in result.stdout
    download(hub, tmp_path, downloaded)
    return staged, downloaded, digest


def test_the_space_holds_exactly_the_staged_files(deployed: tuple[Path, Path, str], hub: StandInHub) -> None:
    staged, downloaded, digest = deployed
    assert hub.spaces[SPACE].sdk == "docker" and hub.spaces[SPACE].private
    assert hub.spaces[SPACE].secrets["API_TOKEN"] == SERVICE_TOKEN
    assert files_of(downloaded) == files_of(staged)
    listing = json.loads(run(sys.executable, str(DEPLOY), "--dry-run", "--json", "--root", str(downloaded)).stdout)
    assert listing["digest"] == digest
    assert set(listing["included"]) == set(files_of(staged))  # nothing on the Space that a redeploy would skip


def test_the_staged_build_says_which_commit_and_model_it_is(deployed: tuple[Path, Path, str]) -> None:
    _, downloaded, _ = deployed
    info = json.loads((downloaded / "build-info.json").read_text(encoding="utf-8"))
    metadata = json.loads((ROOT / "model" / "metadata.json").read_text(encoding="utf-8"))
    assert info == {"commit": COMMIT, "model_version": metadata["model_version"]}
    for required in ("app.py", "Dockerfile", "requirements-image.txt", "model/MLmodel", "README.md"):
        assert (downloaded / required).is_file(), required
    assert not any(path.startswith(("tests/", "notebooks/", ".venv/")) for path in files_of(downloaded))


def test_staging_is_deterministic_and_tracks_the_commit(tmp_path: Path) -> None:
    assert stage(tmp_path / "a") == stage(tmp_path / "b")
    assert stage(tmp_path / "c", commit="other") != stage(tmp_path / "d")


def test_a_redeploy_removes_files_that_are_gone(deployed: tuple[Path, Path, str], hub: StandInHub) -> None:
    staged, _, _ = deployed
    leftover = "service/removed_module.py"
    added = {"key": "file", "value": {"path": leftover, "encoding": "base64", "content": ""}}
    hub.commit(SPACE, [added], kind="spaces")
    result = run(sys.executable, str(DEPLOY), "--root", str(staged), "--space-id", SPACE, env=hub_env(hub, staged))
    assert result.returncode == 0, result.stderr
    assert leftover not in hub.files(SPACE, kind="spaces")
    assert set(hub.files(SPACE, kind="spaces")) == set(files_of(staged))


def test_deploying_an_unstaged_tree_is_refused(hub: StandInHub, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    stage(tree)
    (tree / "build-info.json").unlink()  # what a plain checkout looks like: no build identity
    result = run(sys.executable, str(DEPLOY), "--root", str(tree), "--space-id", SPACE, env=hub_env(hub, tmp_path))
    assert result.returncode == 2
    assert "stage the repo first" in result.stderr
    assert not hub.spaces  # nothing was created or uploaded


@pytest.mark.container
@pytest.mark.slow
def test_uploaded_space_builds_and_serves(deployed: tuple[Path, Path, str]) -> None:
    """Build the image from what the Space received, run it, and check it is the staged commit."""
    _, downloaded, _ = deployed
    result = subprocess.run(
        [str(ROOT / "scripts" / "container_check.sh"), "--context", str(downloaded), "--expect-commit", COMMIT],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    print("\n".join(line for line in result.stdout.splitlines() if line.startswith(("container_check:", "verify"))))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"serves commit {COMMIT}" in result.stdout
    assert "smoke OK" in result.stdout
    size = re.search(r"image size +(\d+) MB", result.stdout)
    cold = re.search(r"cold start +([\d.]+) s", result.stdout)
    assert size and cold, "container_check.sh did not print its figures"
    print(f"deployed image: {size.group(1)} MB, cold start {cold.group(1)} s")
