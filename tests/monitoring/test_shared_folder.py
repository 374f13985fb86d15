"""Writers sharing one log folder (replicas, CLIs): live shards, the shared ledger, leases, outcomes.

Two `PredictionLog`s or `PushLedger`s on one folder in one process stand in for two replicas: an
flock belongs to an open file description, so two of them exclude each other as two processes do.
The two-server drill is tests/reliability/test_replicas.py.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitoring.erase import erase, find_client_rows
from monitoring.log.compaction import compact_local
from monitoring.log.locks import is_live, locked, sealed_size
from monitoring.log.reader import read_outcomes
from monitoring.log.writer import PredictionLog
from monitoring.outcomes.store import OutcomeStore
from monitoring.sync.ledger import LEDGER_NAME, PushLedger
from scoring.errors import LogWriteError
from tests.factories import SALT, RowFactory
from tests.monitoring.conftest import HUB_REPO, SyncFactory
from tests.monitoring.hub_standin import StandInHub


def _shards(folder: Path, replica: str) -> list[Path]:
    return sorted(folder.glob(f"date=*/*-{replica}-*.jsonl"))


def test_an_open_shard_is_live_until_sealed(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path, replica_id="a")
    log.append(prediction_row(0))
    [shard] = _shards(tmp_path, "a")
    assert is_live(shard) and sealed_size(shard) is None
    with log.lock:
        log.seal()
    assert not is_live(shard) and sealed_size(shard) == shard.stat().st_size > 0


def test_two_ledgers_on_one_file_keep_each_others_records(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_NAME
    first, second = PushLedger(path), PushLedger(path)
    now = datetime.now(UTC)
    assert first.state().pushed == {}  # cached before the other one writes
    second.record_push({"date=x/a.jsonl": 10}, at=now)
    first.record_push({"date=x/b.jsonl": 20}, at=now)
    assert PushLedger(path).state().pushed == {"date=x/a.jsonl": 10, "date=x/b.jsonl": 20}
    assert second.state().pushes == 2 and second.commits_today(at=now) == 2  # one bound for the folder


def test_a_push_leaves_another_writers_live_shard_to_it(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    first, second = PredictionLog(tmp_path, replica_id="a"), PredictionLog(tmp_path, replica_id="b")
    first.append(prediction_row(0))
    second.append(prediction_row(1))
    sync = make_sync(first)
    assert sync.start() and sync.push_now()
    names = set(hub.files(HUB_REPO))
    assert any("-a-" in n for n in names) and not any("-b-" in n for n in names)
    second.close()  # sealed (a stop, a crash): any replica may push it now
    assert sync.push_now()
    [b_shard] = _shards(tmp_path, "b")
    assert hub.files(HUB_REPO)[b_shard.relative_to(tmp_path).as_posix()] == b_shard.read_bytes()


def test_compaction_waits_for_a_live_shard_of_a_past_day(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path, replica_id="a")
    log.append(prediction_row(0, now=datetime.now(UTC) - timedelta(days=1)))  # a late row of yesterday
    today = datetime.now(UTC).date()
    assert compact_local([tmp_path], out_root=tmp_path, before=today) == []
    assert len(_shards(tmp_path, "a")) == 1
    log.close()
    [done] = compact_local([tmp_path], out_root=tmp_path, before=today)
    assert done.rows == 1 and _shards(tmp_path, "a") == []


def test_erasure_refuses_a_live_shard_and_touches_nothing(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path, replica_id="a")
    log.append_many([prediction_row(0), prediction_row(1)])
    [shard] = _shards(tmp_path, "a")
    before = shard.read_bytes()
    matches = find_client_rows([tmp_path], "100000", salt=SALT)
    with pytest.raises(LogWriteError, match="still open for appending"):
        erase(matches)
    assert shard.read_bytes() == before
    log.close()
    assert erase(matches) == 1 and shard.read_bytes().count(b"\n") == 1


def test_a_lease_is_held_by_one_holder_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / ".sync" / "lease.lock"
    with locked(path, wait=False) as first, locked(path, wait=False) as second:
        assert first and not second
    with locked(path, wait=False) as again:
        assert again


def test_two_replicas_never_both_record_one_loan(tmp_path: Path, prediction_row: RowFactory) -> None:
    logs = [PredictionLog(tmp_path, replica_id=r) for r in ("a", "b")]
    logs[0].append_many([prediction_row(i) for i in range(40)])
    stores = [OutcomeStore(log, dirs=[tmp_path], salt=SALT) for log in logs]
    answers: list[dict] = []
    for start in range(0, 40, 4):  # ten rounds of two replicas answering the same loans at once
        rows = [{"request_id": f"req-{i}"} for i in range(start, start + 4)]
        barrier = threading.Barrier(2)

        def call(store: OutcomeStore, defaulted: bool, rows: list[dict] = rows, barrier=barrier) -> None:
            barrier.wait()
            answers.append(store.record([{**r, "defaulted": defaulted} for r in rows], channel="rest"))

        threads = [threading.Thread(target=call, args=(s, d)) for s, d in zip(stores, (True, False), strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    recorded = [r["request_id"] for a in answers for r in a["results"] if r["status"] == "recorded"]
    conflicts = [r["request_id"] for a in answers for r in a["results"] if r["status"] == "conflict"]
    assert sorted(recorded) == sorted(conflicts) == sorted(f"req-{i}" for i in range(40))
    outcomes = read_outcomes([tmp_path])
    assert (outcomes["status"] == "recorded").sum() == 40  # the log agrees with the answers given


def test_outcomes_on_an_unwritable_folder_are_a_write_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    log = PredictionLog(tmp_path / "file" / "log", replica_id="a")  # below a file: ENOTDIR, even for root
    store = OutcomeStore(log, dirs=[log.directory], salt=SALT)
    with pytest.raises(LogWriteError, match="cannot lock the outcome log"):
        store.record([{"request_id": "req-1", "defaulted": True}], channel="rest")


def test_outcomes_behind_a_lock_nobody_releases_are_a_write_error(tmp_path: Path, prediction_row: RowFactory) -> None:
    """Another process stopped while holding the outcome lock: the call fails (503) instead of hanging."""
    log = PredictionLog(tmp_path, replica_id="a")
    log.append(prediction_row(1))
    store = OutcomeStore(log, dirs=[tmp_path], salt=SALT)
    store.lock_timeout_s = 0.3
    outcome: list[object] = []
    with locked(tmp_path / ".sync" / "outcomes.lock"):  # its own descriptor: it conflicts as another process's
        worker = threading.Thread(
            target=lambda: outcome.append(_attempt(store, [{"request_id": "req-1", "defaulted": True}])), daemon=True
        )
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "the outcome call hung behind the lock"
    (error,) = outcome
    assert isinstance(error, LogWriteError) and "locked by another process" in str(error)
    assert read_outcomes([tmp_path]).empty
    assert store.record([{"request_id": "req-1", "defaulted": True}], channel="rest")["counts"]["recorded"] == 1


def _attempt(store: OutcomeStore, rows: list[dict]) -> object:
    try:
        return store.record(rows, channel="rest")
    except LogWriteError as exc:
        return exc
