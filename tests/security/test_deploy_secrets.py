"""Issue 14 item 11, the deploy side: no upload of a service that would run open; the tokens become secrets."""

from __future__ import annotations

import os
import subprocess
import sys

from scripts.space_secrets import open_service_refusal, secrets_from
from tests.factories import ROOT


def test_a_deploy_without_any_token_is_refused_unless_open_demo_is_explicit() -> None:
    assert "refusing to deploy an open service" in (open_service_refusal({"HF_TOKEN": "hf_x"}) or "")
    assert open_service_refusal({"API_TOKEN": "   "}) is not None, "a blank token is no token"
    assert open_service_refusal({"OPEN_DEMO": "1"}) is None
    assert open_service_refusal({"API_TOKEN": "t"}) is None and open_service_refusal({"ANALYST_TOKEN": "a"}) is None


def test_only_the_known_secrets_that_are_set_are_written() -> None:
    env = {"API_TOKEN": "t", "ANALYST_TOKEN": "a", "LOG_ID_SALT": "", "PATH": "/bin", "HF_TOKEN": "hf_x"}
    assert secrets_from(env) == {"API_TOKEN": "t", "ANALYST_TOKEN": "a", "HF_TOKEN": "hf_x"}


def test_the_deploy_script_stops_before_any_upload(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("API_TOKEN", "ANALYST_TOKEN", "OPEN_DEMO")}
    env = {**env, "HF_TOKEN": "hf_not_used", "HF_ENDPOINT": "http://127.0.0.1:9"}  # nothing listens there
    script = [sys.executable, str(ROOT / "scripts" / "deploy_space.py")]
    staged = subprocess.run([*script, "--stage", str(tmp_path / "stage")], env=env, capture_output=True, timeout=120)  # noqa: S603
    assert staged.returncode == 0, staged.stderr
    done = subprocess.run(  # noqa: S603 - our own script
        [*script, "--root", str(tmp_path / "stage"), "--space-id", "acme/credit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "refusing to deploy an open service" in done.stderr, done.stderr
