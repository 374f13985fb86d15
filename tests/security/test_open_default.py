"""Issue 14 item 11: on a Space or in a container the service refuses to start without a token, unless an
open demo is asked for explicitly; a laptop keeps its open default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service import settings as settings_module
from service.settings import Settings
from tests.factories import ROOT


@pytest.fixture
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No container marker file on this 'machine'."""
    monkeypatch.setattr(settings_module, "CONTAINER_MARKERS", (str(tmp_path / "no-dockerenv"),))


def test_a_laptop_may_run_open(laptop) -> None:
    assert Settings(_env_file=None).open_refusal() is None


def test_a_container_marker_makes_an_open_start_a_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / ".dockerenv"
    marker.touch()
    monkeypatch.setattr(settings_module, "CONTAINER_MARKERS", (str(marker),))
    assert "container" in (Settings(_env_file=None).open_refusal() or "")
    assert Settings(_env_file=None, open_demo=True).open_refusal() is None
    assert Settings(_env_file=None, api_token="t0ken").open_refusal() is None


def test_a_space_without_token_refuses_and_names_the_way_out(laptop) -> None:
    refusal = Settings(_env_file=None, space_id="acme/credit").open_refusal()
    assert refusal and "Space" in refusal and "API_TOKEN" in refusal and "OPEN_DEMO=1" in refusal


def test_the_app_exits_2_on_a_space_without_token(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SPACE_ID": "acme/credit", "PREDICTION_LOG_DIR": str(tmp_path / "p")}
    done = subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "API_TOKEN is not set on a Hugging Face Space" in done.stderr
    assert not (tmp_path / "p").exists(), "refused before opening anything"
