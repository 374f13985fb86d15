"""Outcome store (`monitoring.outcomes.store`): per-row answers, idempotence, conflicts, restart, erasure."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring.erase import erase, find_client_rows
from monitoring.log.reader import read_log, read_outcomes
from monitoring.log.writer import PredictionLog
from monitoring.outcomes.store import OutcomeStore, labelled
from tests.factories import SALT, prediction_row_factory


@pytest.fixture
def logged(tmp_path: Path) -> tuple[PredictionLog, Path]:
    log = PredictionLog(tmp_path / "live", replica_id="t")
    build = prediction_row_factory()
    log.append_many([build(i) for i in range(10)])  # req-0..req-9, client ids 100000..100009
    return log, tmp_path / "live"


def store_of(log: PredictionLog, *dirs: Path) -> OutcomeStore:
    return OutcomeStore(log, dirs=[log.directory, *dirs], salt=SALT)


def statuses(answer: dict) -> list[str]:
    return [r["status"] for r in answer["results"]]


def test_recorded_then_duplicate_is_idempotent(logged: tuple[PredictionLog, Path]) -> None:
    log, live = logged
    store = store_of(log)
    rows = [
        {"request_id": "req-1", "defaulted": True, "observed_at": "2027-03-01"},
        {"request_id": "req-2", "defaulted": 0},
    ]
    assert statuses(store.record(rows, channel="rest")) == ["recorded", "recorded"]
    again = store.record(rows, channel="rest")
    assert statuses(again) == ["duplicate", "duplicate"]
    assert again["counts"]["duplicate"] == 2
    outcomes = read_outcomes([live])
    assert len(outcomes) == 2  # a duplicate is never stored twice
    assert outcomes.set_index("request_id").loc["req-1", "observed_at"] == "2027-03-01"


def test_conflict_refused_and_kept_in_the_audit_trail(logged: tuple[PredictionLog, Path]) -> None:
    log, live = logged
    store = store_of(log)
    store.record([{"request_id": "req-3", "defaulted": False}], channel="rest")
    answer = store.record([{"request_id": "req-3", "defaulted": True}], channel="rest")
    assert answer["results"][0]["status"] == "conflict"
    assert "defaulted=false" in answer["results"][0]["reason"]
    store.record([{"request_id": "req-3", "defaulted": True}], channel="rest")  # the same conflict again
    trail = read_outcomes([live])
    assert sorted(trail["status"]) == ["conflict", "recorded"]  # both kept, the repeat not re-written
    assert labelled(trail).set_index("request_id")["defaulted"].to_dict() == {"req-3": False}


def test_same_batch_twice_in_one_call(logged: tuple[PredictionLog, Path]) -> None:
    log, _ = logged
    answer = store_of(log).record(
        [{"request_id": "req-4", "defaulted": True}, {"request_id": "req-4", "defaulted": True}], channel="rest"
    )
    assert statuses(answer) == ["recorded", "duplicate"]


def test_unknown_and_invalid_rows_name_the_reason(logged: tuple[PredictionLog, Path]) -> None:
    log, live = logged
    rows = [
        {"request_id": "nope", "defaulted": True},
        {"request_id": "req-1"},
        {"request_id": "req-1", "defaulted": "maybe"},
        {"request_id": "req-1", "client_id": 100001, "defaulted": True},
        {"request_id": "req-1", "defaulted": True, "observed_at": "yesterday"},
        {"request_id": "req-1", "defaulted": True, "colour": "red"},
        "not an object",
        {"client_id": 999, "defaulted": True},
    ]
    answer = store_of(log).record(rows, channel="rest")
    results = answer["results"]
    assert statuses(answer) == ["unknown_request", *["invalid"] * 6, "unknown_request"]
    assert [r.get("field") for r in results[1:6]] == ["defaulted", "defaulted", "request_id", "observed_at", "colour"]
    assert answer["counts"] == {"recorded": 0, "duplicate": 0, "conflict": 0, "unknown_request": 2, "invalid": 6}
    assert read_outcomes([live]).empty


def test_client_id_matched_through_the_keyed_hash_never_stored_raw(logged: tuple[PredictionLog, Path]) -> None:
    log, live = logged
    answer = store_of(log).record([{"client_id": "100007", "defaulted": True}], channel="rest")
    assert answer["results"][0] == {"index": 0, "status": "recorded", "request_id": "req-7"}
    text = b"".join(p.read_bytes() for p in live.rglob("outcomes-*.jsonl"))
    assert b"100007" not in text
    no_salt = OutcomeStore(log, dirs=[live], salt=None).record(
        [{"client_id": "100007", "defaulted": True}], channel="rest"
    )
    assert no_salt["results"][0]["status"] == "invalid" and no_salt["results"][0]["field"] == "client_id"


def test_outcomes_survive_a_restart_and_read_from_history(logged: tuple[PredictionLog, Path], tmp_path: Path) -> None:
    log, live = logged
    store_of(log).record([{"request_id": "req-5", "defaulted": True}], channel="rest")
    log.close()
    reopened = PredictionLog(live, replica_id="t")  # a new process: a new shard, the old one kept
    assert statuses(store_of(reopened).record([{"request_id": "req-5", "defaulted": True}], channel="rest")) == [
        "duplicate"
    ]
    # the same shards as a restored history folder (what the Hub restore gives) and an empty live folder
    history = tmp_path / "history"
    live.rename(history)
    fresh = PredictionLog(tmp_path / "live2", replica_id="t")
    answer = store_of(fresh, history).record([{"request_id": "req-5", "defaulted": False}], channel="rest")
    assert statuses(answer) == ["conflict"]
    assert read_log([fresh.directory, history]).predictions["request_id"].nunique() == 10  # outcomes not read as rows


def test_erasure_of_a_client_removes_their_outcomes(logged: tuple[PredictionLog, Path]) -> None:
    log, live = logged
    store_of(log).record(
        [{"request_id": "req-6", "defaulted": True}, {"request_id": "req-8", "defaulted": False}], channel="rest"
    )
    log.close()
    matches = find_client_rows([live], "100006", salt=SALT)
    assert sorted(m.path.name.split("-")[0] for m in matches) == ["outcomes", "predictions"]
    assert erase(matches) == 2
    remaining = read_outcomes([live])
    assert remaining["request_id"].tolist() == ["req-8"]
    assert "req-6" not in set(read_log([live]).predictions["request_id"])


def test_outcomes_of_a_past_day_compact_to_parquet_and_still_match(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from monitoring.log.compaction import compact_local

    yesterday = datetime.now(UTC) - timedelta(days=1)
    log = PredictionLog(tmp_path / "live", replica_id="t")
    build = prediction_row_factory()
    log.append_many([build(i, now=yesterday) for i in range(4)])
    store = store_of(log)
    rows = [{"request_id": "req-1", "defaulted": True}, {"request_id": "req-2", "defaulted": False}]
    store.record(rows, channel="rest", now=yesterday)
    store.record([{"request_id": "req-1", "defaulted": False}], channel="rest", now=yesterday)  # a conflict
    before = read_outcomes([log.directory])
    log.close()
    done = compact_local([log.directory], out_root=log.directory, before=datetime.now(UTC).date())
    assert {c.kind for c in done} == {"prediction", "outcome"}
    assert not list(log.directory.rglob("outcomes-*.jsonl"))  # now one Parquet file of the day
    after = read_outcomes([log.directory])
    cols = ["request_id", "defaulted", "status", "client_ref"]
    assert after[cols].reset_index(drop=True).equals(before[cols].reset_index(drop=True))
    answer = store_of(PredictionLog(log.directory, replica_id="t2")).record(rows, channel="rest")
    assert statuses(answer) == ["duplicate", "duplicate"]
