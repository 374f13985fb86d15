"""Outcomes ride the Hub sync like predictions: pushed, restored into history, still matched after a restart."""

from __future__ import annotations

from pathlib import Path

from monitoring.log.reader import read_outcomes
from monitoring.log.writer import PredictionLog
from monitoring.outcomes.store import OutcomeStore
from tests.factories import SALT, RowFactory
from tests.monitoring.conftest import HUB_REPO as REPO
from tests.monitoring.conftest import SyncFactory
from tests.monitoring.hub_standin import StandInHub


def test_outcomes_pushed_and_restored_after_a_restart(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    first_log = PredictionLog(tmp_path / "live1", replica_id="space")
    first_log.append_many([prediction_row(i) for i in range(6)])
    store = OutcomeStore(first_log, dirs=[first_log.directory], salt=SALT)
    store.record(
        [{"request_id": "req-1", "defaulted": True}, {"request_id": "req-2", "defaulted": False}], channel="rest"
    )
    first = make_sync(first_log)
    assert first.start() and first.stop(push=True)
    first_log.close()
    assert sum(rel.split("/")[-1].startswith("outcomes-") for rel in hub.files(REPO)) == 1

    # a fresh disk: only the Hub remembers the outcomes
    second_log = PredictionLog(tmp_path / "live2", replica_id="space")
    second = make_sync(second_log, history_dir=tmp_path / "history")
    assert second.restore_history().files == 2
    dirs = [second_log.directory, tmp_path / "history"]
    assert sorted(read_outcomes(dirs)["request_id"]) == ["req-1", "req-2"]
    again = OutcomeStore(second_log, dirs=dirs, salt=SALT).record(
        [{"request_id": "req-1", "defaulted": True}, {"request_id": "req-2", "defaulted": True}], channel="rest"
    )
    assert [r["status"] for r in again["results"]] == ["duplicate", "conflict"]
