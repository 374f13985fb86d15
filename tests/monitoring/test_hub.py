"""Hub sync against a real HTTP stand-in: rows arrive intact, outages lose nothing, restarts restore."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from monitoring.log.reader import read_log
from monitoring.log.writer import PredictionLog
from monitoring.sync.card import dataset_card
from monitoring.sync.config import HubSyncConfig
from monitoring.sync.scheduler import HubSync, restore_history
from scoring.schema import RAW_COLUMNS
from service.settings import Settings
from tests.factories import RowFactory
from tests.monitoring.conftest import HUB_REPO as REPO
from tests.monitoring.conftest import HUB_TOKEN as TOKEN
from tests.monitoring.conftest import SyncFactory, pulled
from tests.monitoring.hub_standin import Repo, StandInHub

ROOT = Path(__file__).resolve().parents[2]


def test_rows_arrive_intact_card_once_no_duplicates(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live", replica_id="r1")
    for i in range(20):
        log.append(prediction_row(i))
    log.append(rejection_row(0))
    sync = make_sync(log)
    assert sync.start() and sync.push_now()
    for i in range(20, 35):
        log.append(prediction_row(i))
    assert sync.push_now()
    commits = len(hub.repos[REPO].commits)
    assert sync.push_now() and len(hub.repos[REPO].commits) == commits  # nothing new: no commit

    assert hub.repos[REPO].private
    files = hub.files(REPO)
    assert files["README.md"].decode() == dataset_card(REPO)
    assert sum(1 for _, snapshot in hub.repos[REPO].commits if "README.md" in snapshot) >= 1
    assert hub.count("commit") == commits and all(h == f"Bearer {TOKEN}" for h in hub.auth_headers)
    remote = read_log([pulled(hub, tmp_path / "remote")])
    local = read_log([tmp_path / "live"])
    assert list(remote.predictions["request_id"]) == list(local.predictions["request_id"])
    assert remote.predictions["request_id"].is_unique and len(remote.predictions) == 35
    assert remote.predictions.equals(local.predictions) and len(remote.rejections) == 1
    status = sync.status()
    assert status["enabled"] and status["last_push_ok"] and status["pushes"] >= 2 and status["last_push_at"]


def test_pushed_prefix_always_ends_on_a_line(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live")
    sync = make_sync(log)
    assert sync.start()
    rows = [prediction_row(i) for i in range(3000)]
    done = threading.Event()

    def writer() -> None:
        for row in rows:
            log.append(row)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        assert sync.push_now()
    thread.join()
    assert sync.push_now()
    for _, snapshot in hub.repos[REPO].commits:
        for rel, content in snapshot.items():
            if rel.endswith(".jsonl"):
                assert content.endswith(b"\n"), rel
                [orjson.loads(line) for line in content.splitlines()]
    assert len(read_log([pulled(hub, tmp_path / "remote")]).predictions) == len(rows)
    assert len(hub.repos[REPO].commits) >= 2


def test_hub_down_then_up_loses_nothing(
    tmp_path: Path,
    hub: StandInHub,
    make_sync: SyncFactory,
    prediction_row: RowFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    log = PredictionLog(tmp_path / "live")
    sync = make_sync(log)
    assert sync.start() and sync.push_now()
    hub.fail(status=503, routes={"commit"})
    for i in range(10):
        log.append(prediction_row(i))
    assert not sync.push_now()
    assert not sync.push_now()  # the next tick retries, and fails again while the Hub is down
    status = sync.status()
    assert status["last_push_ok"] is False and "503" in status["last_error"] and status["failures"] >= 2
    failures = [json.loads(r.getMessage()) for r in caplog.records if "hub_push_failed" in r.getMessage()]
    assert failures and failures[0]["repo"] == REPO
    assert TOKEN not in caplog.text and TOKEN not in json.dumps(status)

    hub.recover()
    for i in range(10, 15):
        log.append(prediction_row(i))
    assert sync.push_now()
    remote = read_log([pulled(hub, tmp_path / "remote")]).predictions
    assert sorted(remote["request_id"]) == sorted(f"req-{i}" for i in range(15))
    assert sync.status()["last_push_ok"] is True


def test_hub_unreachable_at_startup_does_not_block(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live")
    log.append(prediction_row(0))
    hub.fail(status=503)
    sync = make_sync(log)
    assert not sync.start()
    assert sync.status()["last_push_ok"] is False and not sync.status()["running"]
    hub.recover()
    assert sync.push_now()  # starts the scheduler, then pushes
    assert len(read_log([pulled(hub, tmp_path / "remote")]).predictions) == 1


def test_restart_restores_history_without_overwrite(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    first_log = PredictionLog(tmp_path / "live1", replica_id="space")
    for i in range(10):
        first_log.append(prediction_row(i))
    first = make_sync(first_log)
    assert first.start() and first.stop(push=True)
    first_log.close()
    before = {rel: content for rel, content in hub.files(REPO).items() if rel.endswith(".jsonl")}

    # a restart on a fresh disk: new live folder, history pulled from the Hub
    second_log = PredictionLog(tmp_path / "live2", replica_id="space")
    second = make_sync(second_log, history_dir=tmp_path / "history")
    restored = second.restore_history()
    assert restored.files == 1 and restored.error is None
    (copy,) = (tmp_path / "history").glob("date=*/*.jsonl")
    assert not copy.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    for i in range(100, 105):
        second_log.append(prediction_row(i))
    assert second.start() and second.push_now()

    after = hub.files(REPO)
    assert all(after[rel] == content for rel, content in before.items())  # old shard untouched
    assert sum(rel.endswith(".jsonl") for rel in after) == 2
    data = read_log([tmp_path / "live2", tmp_path / "history"])
    assert sorted(data.predictions["request_id"]) == sorted(
        [f"req-{i}" for i in range(10)] + [f"req-{i}" for i in range(100, 105)]
    )
    assert data.files == 2
    # restoring again pulls the new shard too (over nothing read-only that matters) without duplicates
    assert second.restore_history().files == 2
    again = read_log([tmp_path / "live2", tmp_path / "history"])
    assert again.predictions["request_id"].is_unique and len(again.predictions) == 15


def test_retention_prunes_only_after_a_push_and_reaches_the_hub(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live")
    log.append(prediction_row(0, now=datetime.now(UTC) - timedelta(days=40)))
    log.append(prediction_row(1))
    assert len(log.prune(retention_days=30)) == 0  # nothing pushed yet: nothing deleted
    sync = make_sync(log, retention_days=30, compact=False)
    assert sync.start() and sync.push_now()
    local = read_log([tmp_path / "live"]).predictions
    assert list(local["request_id"]) == ["req-1"]  # the old day was pushed, then pruned
    commits = hub.repos[REPO].commits
    pushed, expired = commits[-2][1], commits[-1][1]  # the push had both days, the next commit expired one
    assert sum(p.endswith(".jsonl") for p in pushed) == 2 and sum(p.endswith(".jsonl") for p in expired) == 1
    remote = read_log([pulled(hub, tmp_path / "remote")]).predictions
    assert sorted(remote["request_id"]) == ["req-1"]


def test_restore_of_a_missing_repo_is_empty(tmp_path: Path, hub: StandInHub) -> None:
    result = restore_history(
        repo_id="acme/nothing-yet", token=TOKEN, history_dir=tmp_path / "history", endpoint=hub.url
    )
    assert result.files == 0 and result.error is None


def test_restore_when_hub_is_down_reports_and_continues(tmp_path: Path, hub: StandInHub) -> None:
    hub.repos[REPO] = Repo(private=True)
    hub.fail(status=503, routes={"info"})  # repo_info is not retried by the client: a fast failure
    result = restore_history(repo_id=REPO, token=TOKEN, history_dir=tmp_path / "history", endpoint=hub.url)
    assert result.files == 0 and result.error and TOKEN not in result.error


def test_disabled_without_repo_or_token(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path / "live")
    config = Settings(hf_dataset_repo=None, hf_token=None, history_dir=tmp_path / "history").hub_sync()
    assert config == HubSyncConfig(repo_id=None, token=None, every_min=5.0, history_dir=tmp_path / "history")
    sync = HubSync.from_config(config, log)
    assert not sync.enabled and not sync.start() and not sync.push_now()
    assert sync.restore_history().files == 0 and sync.status()["enabled"] is False
    sync.stop()


_LOAD_WITH_DATASETS = """
import json, sys
from datasets import Features, load_dataset
from monitoring.log.records import file_schema
root, cache = sys.argv[1], sys.argv[2]
out = {}
for kind in ("prediction", "rejection"):
    # as the Hub does it: the folder with its README (configs + declared features)
    card = load_dataset(root, kind + "s", split="train", cache_dir=cache)
    # the compacted days: one format per repository for `datasets`, so the parquet builder
    compacted = load_dataset("parquet", data_files=f"{root}/date=*/{kind}s-*.parquet", split="train",
                             cache_dir=cache)
    assert compacted.features == card.features, (compacted.features, card.features)
    # as anyone with the files does it: plain json loader, schema from monitoring.log.records
    plain = load_dataset("json", data_files=f"{root}/date=*/{kind}s-*.jsonl", split="train",
                         features=Features.from_arrow_schema(file_schema(kind)), cache_dir=cache)
    assert card.features == plain.features, (card.features, plain.features)
    out[kind] = {"rows": card.num_rows, "plain_rows": plain.num_rows, "compacted_rows": compacted.num_rows,
                 "columns": card.column_names,
                 "ts": str(card.features["ts"].dtype)}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_pushed_shards_load_with_datasets(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    first, second = PredictionLog(tmp_path / "live", replica_id="a"), PredictionLog(tmp_path / "live", replica_id="b")
    for i in range(12):
        (first if i % 2 else second).append(prediction_row(i, now=datetime.now(UTC) - timedelta(days=i % 3)))
    second.append(rejection_row(0))
    second.append(rejection_row(1, now=datetime.now(UTC) - timedelta(days=1)))
    second.close()  # another writer's shards are pushed by any replica once sealed, never while live
    assert make_sync(first).push_now()
    remote = pulled(hub, tmp_path / "remote")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_WITH_DATASETS, str(remote), str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    predictions, rejections = loaded["prediction"], loaded["rejection"]
    # two of the three days were compacted by the push's daily maintenance: the two configs are the log
    assert predictions["rows"] == predictions["plain_rows"] == 4 and predictions["compacted_rows"] == 8
    assert set(RAW_COLUMNS) <= set(predictions["columns"]) and predictions["ts"].startswith("timestamp")
    assert rejections["rows"] == rejections["compacted_rows"] == 1 and "error_kind" in rejections["columns"]
