"""The prediction log: complete, typed, durable, and read back exactly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pandas as pd
import pytest

from monitoring.log.reader import CHALLENGER_COLUMNS, ReadCache, read_log
from monitoring.log.records import CHANNELS, build_prediction_row, hash_client_id
from monitoring.log.writer import PredictionLog
from scoring.errors import LogWriteError
from scoring.schema import CATEGORICAL, FIELDS, RAW_COLUMNS, REQUIRED
from tests.factories import SALT, RowFactory

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def shard_lines(root: Path) -> list[bytes]:
    return [line for p in sorted(root.glob("date=*/*.jsonl")) for line in p.read_bytes().splitlines()]


def test_n_appends_give_n_typed_rows(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path, replica_id="r1")
    rows = [prediction_row(i, channel=CHANNELS[i % len(CHANNELS)]) for i in range(60)]
    for row in rows:
        log.append(row)
    data = read_log([tmp_path])
    frame = data.predictions
    assert len(frame) == 60 and data.torn_lines == 0 and data.bad_lines == 0 and data.files == 1
    # exactly the written keys (nothing lost, nothing invented) and the challenger's, joined from shadow rows
    assert set(frame.columns) == set(rows[0]) | set(CHALLENGER_COLUMNS)
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]" and frame["ts"].is_monotonic_increasing
    for name in RAW_COLUMNS:
        kind = FIELDS[name].kind
        dtype = frame[name].dtype
        if kind == "category":
            assert isinstance(dtype, pd.CategoricalDtype), name
        elif kind == "float":
            assert dtype == "float64", name
        else:
            assert dtype == "Int64", name
    for name in ("probability", "threshold", "inference_ms", "latency_ms"):
        assert frame[name].dtype == "float64"
    by_id = frame.set_index("request_id")
    for row in rows:
        got = by_id.loc[row["request_id"]]
        assert got["probability"] == row["probability"] and got["decision"] == row["decision"]
        assert got["warnings"] == row["warnings"] and got["channel"] == row["channel"]
        for name in RAW_COLUMNS:
            expected = row[name]
            assert (pd.isna(got[name]) and expected is None) or got[name] == expected, name
    assert frame["client_ref"].str.len().eq(64).all()
    assert frame["latency_ms"].ge(0).all() and (frame["status"] == "ok").all()


def test_omitted_fields_still_give_all_columns(tmp_path: Path) -> None:
    """A writer that leaves absent fields out (instead of null) reads back the same way."""
    log = PredictionLog(tmp_path)
    row = build_prediction_row(
        {"AMT_CREDIT": 1000.0, "CNT_CHILDREN": 2},
        request_id="sparse",
        channel="mcp",
        model_version="m",
        probability=0.1,
        decision="approve",
        threshold=0.5,
        inference_ms=1.0,
        started=0.0,
    )
    log.append({k: v for k, v in row.items() if v is not None})
    frame = read_log([tmp_path]).predictions
    assert set(frame.columns) == set(row) | set(CHALLENGER_COLUMNS) and len(frame) == 1  # absent inputs: columns
    assert frame.loc[0, "CNT_CHILDREN"] == 2 and pd.isna(frame.loc[0, "AMT_ANNUITY"])
    assert isinstance(frame["NAME_CONTRACT_TYPE"].dtype, pd.CategoricalDtype)


def test_every_field_typed_in_the_file(tmp_path: Path, prediction_row: RowFactory) -> None:
    PredictionLog(tmp_path).append(prediction_row(1))
    (line,) = shard_lines(tmp_path)
    row = orjson.loads(line)
    assert row["schema_version"] == 1 and row["kind"] == "prediction"
    assert row["ts"].endswith("Z") and len(row["ts"]) == len("2026-11-26T12:00:00.000000Z")
    for name in REQUIRED:
        assert row[name] is not None
    for name in RAW_COLUMNS:
        value, kind = row[name], FIELDS[name].kind
        assert value is None or isinstance(value, {"category": str, "float": float}.get(kind, int)), name


def test_sixteen_threads_never_interleave(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    rows = [prediction_row(i) for i in range(16 * 150)]
    start = threading.Barrier(16)

    def writer(part: list[dict]) -> None:
        start.wait()
        for row in part:
            log.append(row)

    threads = [threading.Thread(target=writer, args=(rows[i::16],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = shard_lines(tmp_path)
    assert len(lines) == len(rows)
    assert sorted(orjson.loads(line)["request_id"] for line in lines) == sorted(r["request_id"] for r in rows)
    data = read_log([tmp_path])
    assert len(data.predictions) == len(rows) and data.bad_lines == data.torn_lines == 0


_KILLED_WRITER = """
import sys, time
from monitoring.log.records import build_prediction_row
from monitoring.log.writer import PredictionLog
log = PredictionLog(sys.argv[1], replica_id="victim")
features = {"AMT_CREDIT": 1000.0, "AMT_INCOME_TOTAL": 50000.0, "NAME_CONTRACT_TYPE": "Cash loans"}
i = 0
while True:
    row = build_prediction_row(features, request_id=f"ack-{i}", channel="rest", model_version="m",
                               probability=0.5, decision="approve", threshold=0.5, inference_ms=1.0,
                               started=time.perf_counter())
    log.append(row)
    sys.stdout.write(row["request_id"] + "\\n")  # acknowledged only once append returned
    sys.stdout.flush()
    i += 1
"""


def test_sigkill_loses_no_acknowledged_row(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    acked = [process.stdout.readline().decode().strip() for _ in range(500)]
    os.kill(process.pid, signal.SIGKILL)
    rest = process.stdout.read().decode().split()
    process.wait(10)
    acked += rest
    logged = set(read_log([tmp_path]).predictions["request_id"])
    assert process.returncode == -signal.SIGKILL
    assert set(acked) <= logged and len(acked) >= 500


def test_torn_last_line_is_skipped_and_counted(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    for i in range(3):
        log.append(prediction_row(i))
    (shard,) = log.open_files()
    full = orjson.dumps(prediction_row(99))
    with shard.open("ab") as handle:
        handle.write(full[: len(full) // 2])  # what a kill in the middle of a write could leave
    data = read_log([tmp_path])
    assert len(data.predictions) == 3 and data.torn_lines == 1
    assert "req-99" not in set(data.predictions["request_id"])


def test_corrupt_line_in_the_middle_is_skipped(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    log.append(prediction_row(0))
    (shard,) = log.open_files()
    with shard.open("ab") as handle:
        handle.write(b'{"kind": "prediction", "ts": "garbage\n')
    log.append(prediction_row(1))
    data = read_log([tmp_path])
    assert sorted(data.predictions["request_id"]) == ["req-0", "req-1"] and data.bad_lines == 1


def test_time_window_and_day_partitions(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    moments = [
        DAY - timedelta(days=2),
        DAY - timedelta(hours=1),
        DAY,
        DAY + timedelta(hours=1),
        DAY + timedelta(days=1, minutes=5),
    ]
    for i, moment in enumerate(moments):
        log.append(prediction_row(i, now=moment))
    days = sorted(p.name for p in tmp_path.glob("date=*"))
    assert days == ["date=2026-11-24", "date=2026-11-26", "date=2026-11-27"]
    window = read_log([tmp_path], start=DAY - timedelta(hours=1), end=DAY + timedelta(hours=1))
    assert list(window.predictions["request_id"]) == ["req-1", "req-2"]
    naive = read_log([tmp_path], start=datetime(2026, 11, 26, 12, 0))  # naive means UTC
    assert list(naive.predictions["request_id"]) == ["req-2", "req-3", "req-4"]
    assert len(read_log([tmp_path]).predictions) == 5


def test_rejections_are_separate_and_hold_no_payload(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path)
    log.append(prediction_row(0))
    log.append(rejection_row(0))
    log.append(rejection_row(1, now=DAY - timedelta(days=3)))
    names = sorted(p.name.split("-")[0] for p in tmp_path.glob("date=*/*.jsonl"))
    assert names == ["predictions", "rejections", "rejections"]
    data = read_log([tmp_path])
    assert len(data.predictions) == 1 and len(data.rejections) == 2
    rejections = data.rejections
    assert set(rejections.columns) == {
        "ts",
        "schema_version",
        "kind",
        "request_id",
        "channel",
        "status",
        "error_kind",
        "field",
        "http_status",
        "latency_ms",
    }
    assert (rejections["status"] == "rejected").all() and rejections["http_status"].dtype == "Int64"
    assert rejections.iloc[0]["field"] == "AMT_CREDIT"
    for line in (p.read_bytes() for p in tmp_path.glob("date=*/rejections-*.jsonl")):
        assert not set(orjson.loads(line.splitlines()[0])) & set(RAW_COLUMNS)


def test_batch_rows_are_written_together(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    log.append_many([prediction_row(i, channel="rest_batch", batch_id="b1", batch_index=i) for i in range(5)])
    frame = read_log([tmp_path]).predictions
    assert list(frame["batch_index"]) == [0, 1, 2, 3, 4] and frame["batch_index"].dtype == "Int64"
    assert set(frame["batch_id"]) == {"b1"}


def test_new_process_never_reuses_a_shard(tmp_path: Path, prediction_row: RowFactory) -> None:
    first = PredictionLog(tmp_path, replica_id="a")
    first.append(prediction_row(0))
    first.close()
    second = PredictionLog(tmp_path, replica_id="a")
    second.append(prediction_row(1))
    other = PredictionLog(tmp_path, replica_id="b/../evil")
    other.append(prediction_row(2))
    shards = sorted(tmp_path.glob("date=*/*.jsonl"))
    assert len(shards) == 3 and all(len(p.read_bytes().splitlines()) == 1 for p in shards)
    assert all(p.parent.parent == tmp_path for p in shards)  # the replica id cannot escape the folder


def test_unwritable_folder_raises_log_write_error(tmp_path: Path, prediction_row: RowFactory) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    log = PredictionLog(blocker / "log")
    with pytest.raises(LogWriteError):
        log.append(prediction_row(0))
    health = log.health()
    assert not health.writable and health.last_error and health.rows_written == 0
    assert PredictionLog(tmp_path / "ok").health().writable


def test_hash_client_id_is_keyed_and_never_the_raw_id() -> None:
    raw = 100_042
    ref = hash_client_id(raw, salt=SALT)
    assert ref is not None and len(ref) == 64 and str(raw) not in ref
    assert ref == hash_client_id("100042", salt=SALT) == hash_client_id(100042.0, salt=SALT)
    assert ref != hash_client_id(raw, salt="another-salt")
    assert hash_client_id(raw, salt=None) is None and hash_client_id(None, salt=SALT) is None


def test_raw_id_never_reaches_the_file(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    row = build_prediction_row(
        {"SK_ID_CURR": 456789, "AMT_CREDIT": 1.0},
        request_id="x",
        channel="rest",
        model_version="m",
        probability=0.2,
        decision="approve",
        threshold=0.5,
        inference_ms=1.0,
        started=0.0,
        salt=SALT,
    )
    log.append(row)
    text = b"".join(shard_lines(tmp_path))
    assert b"456789" not in text and b"SK_ID_CURR" not in text
    assert row["client_ref"] == hash_client_id(456789, salt=SALT)


def test_retention_never_deletes_unpushed_rows(tmp_path: Path, prediction_row: RowFactory) -> None:
    live, history = tmp_path / "live", tmp_path / "history"
    log = PredictionLog(live)
    now = DAY
    for i, age in enumerate((40, 35, 31, 2)):
        log.append(prediction_row(i, now=now - timedelta(days=age)))
    shards = {p.parent.name: p for p in live.glob("date=*/*.jsonl")}
    rel = {day: p.relative_to(live).as_posix() for day, p in shards.items()}
    pushed_40 = shards["date=2026-10-17"]
    log.ledger.record_push(
        {
            rel["date=2026-10-17"]: pushed_40.stat().st_size,
            rel["date=2026-10-22"]: 1,  # pushed, then grew: the tail is unpushed
            rel["date=2026-11-24"]: shards["date=2026-11-24"].stat().st_size,
        },
        at=now,
    )
    old_history = history / "date=2026-10-01" / "predictions-x.jsonl"
    old_history.parent.mkdir(parents=True)
    shutil.copy(pushed_40, old_history)
    deleted = log.prune(retention_days=30, history_dir=history, now=now)
    assert sorted(deleted) == sorted([pushed_40, old_history])
    remaining = sorted(p.parent.name for p in live.glob("date=*/*.jsonl"))
    assert remaining == ["date=2026-10-22", "date=2026-10-26", "date=2026-11-24"]
    assert rel["date=2026-10-17"] not in log.ledger.state().pushed
    assert log.prune(retention_days=None, now=now) == []


def test_history_copy_of_a_live_shard_is_not_counted_twice(tmp_path: Path, prediction_row: RowFactory) -> None:
    live, history = tmp_path / "live", tmp_path / "history"
    log = PredictionLog(live)
    for i in range(3):
        log.append(prediction_row(i))
    (shard,) = log.open_files()
    copy = history / shard.relative_to(live)
    copy.parent.mkdir(parents=True)
    shutil.copy(shard, copy)  # what was pushed and pulled back
    log.append(prediction_row(3))
    data = read_log([live, history])
    assert sorted(data.predictions["request_id"]) == ["req-0", "req-1", "req-2", "req-3"]


def test_cache_reads_only_new_lines(tmp_path: Path, prediction_row: RowFactory) -> None:
    log = PredictionLog(tmp_path)
    cache = ReadCache()
    for i in range(5):
        log.append(prediction_row(i))
    assert len(read_log([tmp_path], cache=cache).predictions) == 5
    for i in range(5, 8):
        log.append(prediction_row(i))
    assert list(read_log([tmp_path], cache=cache).predictions["request_id"]) == [f"req-{i}" for i in range(8)]


def test_empty_log_reads_as_empty_typed_frames(tmp_path: Path) -> None:
    data = read_log([tmp_path / "missing", tmp_path])
    assert data.predictions.empty and data.rejections.empty and data.files == 0
    assert set(RAW_COLUMNS) <= set(data.predictions.columns)
    assert all(isinstance(data.predictions[c].dtype, pd.CategoricalDtype) for c in CATEGORICAL)


def test_summary_lists_shards_and_latest_rows(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path)
    for i in range(30):
        log.append(prediction_row(i))
    log.append(rejection_row(0))
    summary = log.summary(latest=10)
    assert len(summary.latest) == 10 and summary.latest[0]["request_id"] == "bad-0"
    assert sorted(s.rows for s in summary.shards) == [1, 30]
    assert summary.total_bytes == sum(p.stat().st_size for p in tmp_path.glob("date=*/*.jsonl"))
    assert summary.last_push_at is None and summary.pushes == 0
    log.append(prediction_row(30))
    assert sorted(s.rows for s in log.summary().shards) == [1, 31]
