"""Erasure end to end: a client's rows leave the live folder, the history folder, the Hub's current
files and, after the squash, every revision the stand-in keeps; everyone else's rows stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitoring.erase import main
from monitoring.log.reader import read_log
from monitoring.log.records import hash_client_id
from monitoring.log.writer import PredictionLog
from tests.factories import SALT, prediction_row_factory
from tests.monitoring.conftest import HUB_REPO as REPO
from tests.monitoring.conftest import HUB_TOKEN as TOKEN
from tests.monitoring.conftest import SyncFactory
from tests.monitoring.hub_standin import StandInHub

CLIENT = 424242


def _log_rows(log: PredictionLog, *, start: int, clients: list[int], now: datetime) -> None:
    build = prediction_row_factory(seed=start)
    for i, client in enumerate(clients, start=start):
        log.append(build(i, client_id=client, now=now))


def _client_rows(folder: Path) -> int:
    frame = read_log([folder]).predictions
    return int((frame["client_ref"] == hash_client_id(CLIENT, salt=SALT)).sum())


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    return folder


def test_erasure_reaches_live_history_hub_and_every_revision(
    tmp_path: Path,
    hub: StandInHub,
    make_sync: SyncFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live, history = tmp_path / "live", tmp_path / "history"
    now = datetime.now(UTC)
    first = PredictionLog(tmp_path / "first-run")
    _log_rows(first, start=0, clients=[CLIENT, 1, 2, CLIENT, 3], now=now - timedelta(days=2))
    _log_rows(first, start=10, clients=[4, CLIENT, 5], now=now - timedelta(days=1))
    old = make_sync(first)
    assert old.start() and old.push_now()  # pushed, then the past days compacted on the Hub
    assert any(p.endswith(".parquet") for p in hub.files(REPO))
    # a restart: history restored from the Hub, new rows in a fresh live folder
    log = PredictionLog(live)
    sync = make_sync(log, history_dir=history)
    assert sync.restore_history().files >= 2
    _log_rows(log, start=20, clients=[CLIENT, 6, 7], now=now)
    assert sync.start() and sync.push_now(force=True)
    log.close()
    assert len(hub.revisions(REPO)) > 2
    assert _client_rows(live) == 1 and _client_rows(history) == 3
    total_hub = len(read_log([_write(tmp_path / "hub-before", hub.files(REPO))]).predictions)

    monkeypatch.setenv("LOG_ID_SALT", SALT)
    monkeypatch.setenv("HF_DATASET_REPO", REPO)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    args = ["--client-id", str(CLIENT), "--log-dir", str(live), "--log-dir", str(history), "--hub"]
    commits = len(hub.revisions(REPO))
    assert main(args) == 0  # dry run: lists, changes nothing
    listed = capsys.readouterr().out
    assert (
        "4 row(s) for this client in 3 local file(s)" in listed
        and "4 row(s) for this client in 3 Hub file(s)" in listed
    )
    assert len(hub.revisions(REPO)) == commits and _client_rows(live) == 1

    assert main([*args, "--delete"]) == 0
    report = capsys.readouterr().out
    assert "erased 4 row(s) locally" in report and "erased on the Hub in commit" in report and "squashed" in report
    assert _client_rows(live) == 0 and _client_rows(history) == 0
    revisions = hub.revisions(REPO)
    assert len(revisions) == 1  # squashed: no older revision keeps the rows
    for n, snapshot in enumerate(revisions):
        folder = _write(tmp_path / f"rev-{n}", snapshot)
        assert _client_rows(folder) == 0
        assert len(read_log([folder]).predictions) == total_hub - 4  # every other row kept
    # the next push does not bring the erased live shard back: its ledger knows the Hub has the new one
    assert sync.push_now(force=True) and _client_rows(_write(tmp_path / "after", hub.files(REPO))) == 0
