"""Fixtures of the prediction-log tests: plausible rows built without the model (see tests/factories.py),
and the stand-in Hub with a sync factory pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from monitoring.log.writer import PredictionLog
from monitoring.sync.scheduler import HubSync
from tests.factories import RowFactory, prediction_row_factory, rejection_row_factory
from tests.monitoring.hub_standin import StandInHub


@pytest.fixture
def prediction_row() -> RowFactory:
    return prediction_row_factory()


@pytest.fixture
def rejection_row() -> RowFactory:
    return rejection_row_factory()


# ----------------------------------------------------------------------------- the stand-in Hub

HUB_TOKEN = "hf_test_token_never_logged"
HUB_REPO = "acme/credit-predictions"
SyncFactory = Callable[..., HubSync]


@pytest.fixture(autouse=True)
def _hf_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub read its constants at import: point the ones we could touch at tmp."""
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInHub]:
    with StandInHub(token=HUB_TOKEN) as server:
        # We pass endpoint= everywhere; this catches any call that would not. Both constants are
        # computed at import, and hf_hub_url needs them consistent (it rewrites the template's prefix).
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        yield server


@pytest.fixture
def make_sync(hub: StandInHub) -> Iterator[SyncFactory]:
    made: list[HubSync] = []

    def make(log: PredictionLog, **kwargs: object) -> HubSync:
        options = {"repo_id": HUB_REPO, "token": HUB_TOKEN, "every_min": 60, "endpoint": hub.url, **kwargs}
        sync = HubSync(log, **options)  # type: ignore[arg-type]
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.stop(push=False)


def pulled(hub: StandInHub, folder: Path) -> Path:
    """The repo's current files, written to `folder`, to be read with the same reader."""
    for rel, content in hub.files(HUB_REPO).items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder
