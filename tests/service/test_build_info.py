"""The build identity: from build-info.json in an image, from git in a checkout, else "unknown"."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from service.build_info import BUILD_INFO_FILE, read_build_info
from tests.factories import ROOT


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
