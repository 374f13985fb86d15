"""A big scored table logged as one Parquet file of its own (a table shard), and everything that reads the log.

The same table goes to one log as JSON lines (threshold above its size) and to another as a table shard;
every reader must see the same rows: `read_log` whole and by columns, the summary's latest rows, the
compaction of its day, erasure, the Hub push. Only `ts` and `latency_ms` may differ (the clock).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring.log import compaction
from monitoring.log.bulk import ScoredTable
from monitoring.log.compaction import compact_local
from monitoring.log.erasure import erase, find_rows
from monitoring.log.reader import read_log
from monitoring.log.records import hash_client_id
from monitoring.log.writer import PredictionLog
from scoring.predict import Scorer
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from tests.factories import SALT, RowFactory
from tests.monitoring.conftest import HUB_REPO, SyncFactory, pulled
from tests.monitoring.hub_standin import StandInHub

_CLOCKS = ["ts", "latency_ms"]
YESTERDAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture(scope="module")
def table(model, stream) -> ScoredTable:
    """1,200 scored rows with gaps, warnings, a refused row left out and rows without a client id."""
    frame = stream.drop(columns=[TARGET_COLUMN, "OWN_CAR_AGE"]).head(1_201).reset_index(drop=True)
    frame[ID_COLUMN] = frame[ID_COLUMN].astype("Int64")
    frame.loc[[2, 9], ID_COLUMN] = pd.NA
    frame.loc[4, ["AMT_INCOME_TOTAL", "CNT_CHILDREN"]] = [9.5e7, 11]  # a warning
    frame.loc[7, ["EXT_SOURCE_1", "NAME_TYPE_SUITE", "CNT_FAM_MEMBERS"]] = [np.nan, None, np.nan]
    frame.loc[11, "AMT_CREDIT"] = -1.0  # refused: not in the table
    scores = Scorer(model).score_frame(frame)
    assert 11 in scores.errors and 4 in scores.warnings and len(scores.indices) == 1_200
    return ScoredTable(
        raw=scores.raw,
        positions=scores.indices + 500,
        client_refs=scores.client_refs,
        probabilities=scores.probabilities,
        decisions=scores.decisions,
        batch_id="tbl",
        channel="rest_batch",
        model_version='v "quoted" 100%',
        threshold=scores.threshold,
        inference_ms=0.0123456,
        warnings={int(np.searchsorted(scores.indices, i)): t for i, t in scores.warnings.items()},
    )


def _log(folder: Path, *, rows: int = 1_000, replica: str = "t") -> PredictionLog:
    return PredictionLog(folder, replica_id=replica, table_shard_rows=rows)


def _frames(*folders: Path, columns: list[str] | None = None) -> list[pd.DataFrame]:
    return [read_log([f], columns=columns).predictions.drop(columns=_CLOCKS, errors="ignore") for f in folders]


def test_a_big_table_is_one_parquet_file_that_reads_as_its_json_lines(table: ScoredTable, tmp_path: Path) -> None:
    started = time.perf_counter()
    _log(tmp_path / "lines", rows=10**9).append_table(table, started=started, salt=SALT)
    stamp = _log(tmp_path / "shard").append_table(table, started=started, salt=SALT)
    (shard,) = list((tmp_path / "shard").glob("date=*/*.*"))
    assert shard.name.startswith("predictions-t-") and shard.name.endswith(".table.parquet")
    assert not list((tmp_path / "shard").rglob(".*.partial"))  # the temporary name is gone
    lines, parquet = _frames(tmp_path / "lines", tmp_path / "shard")
    pd.testing.assert_frame_equal(parquet, lines, check_exact=True)
    assert parquet["client_ref"].isna().sum() == 2 and parquet["warnings"].map(len).sum() > 0
    read = read_log([tmp_path / "shard"]).predictions
    assert read["ts"].nunique() == 1 and read["ts"].iloc[0].isoformat().replace("+00:00", "Z") == stamp
    wanted = ["probability", "decision", "NAME_INCOME_TYPE", "CNT_CHILDREN", "EXT_SOURCE_1", "warnings"]
    lines, parquet = _frames(tmp_path / "lines", tmp_path / "shard", columns=wanted)  # the analysis' reads
    pd.testing.assert_frame_equal(parquet, lines, check_exact=True)
    lines_bytes = sum(p.stat().st_size for p in (tmp_path / "lines").rglob("*.jsonl"))
    assert shard.stat().st_size * 4 < lines_bytes  # a tenth, measured; a quarter asserted


def test_a_small_table_stays_json_lines(table: ScoredTable, tmp_path: Path) -> None:
    log = _log(tmp_path / "log", rows=len(table) + 1)
    log.append_table(table, started=time.perf_counter())
    assert not list((tmp_path / "log").rglob("*.parquet")) and len(read_log([log.directory]).predictions) == 1_200


def test_latest_rows_and_counts_include_a_table_shard(
    table: ScoredTable, tmp_path: Path, prediction_row: RowFactory
) -> None:
    log = _log(tmp_path / "log")
    log.append(prediction_row(0, now=datetime.now(UTC) - timedelta(minutes=5)))
    log.append_table(table, started=time.perf_counter())
    summary = log.summary(latest=5)
    assert [r["request_id"] for r in summary.latest] == [f"tbl-{p}" for p in table.positions[-5:].tolist()]
    assert isinstance(summary.latest[0]["ts"], str) and summary.latest[0]["decision"] in ("approve", "refuse")
    assert sorted(s.rows for s in summary.shards) == [1, 1_200]


def test_concurrent_tables_never_share_a_file(table: ScoredTable, tmp_path: Path) -> None:
    logs = [_log(tmp_path / "log", replica=name) for name in ("a", "a", "b")]  # a restart of "a" and another replica
    threads = [
        threading.Thread(target=lambda lg=lg: [lg.append_table(table, started=0.0) for _ in range(3)]) for lg in logs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list((tmp_path / "log").glob("date=*/*.table.parquet"))) == 9
    assert len(read_log([tmp_path / "log"]).predictions) == 9 * 1_200


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by request id: compaction writes a day's files in name order, the reader keeps file order."""
    return frame.sort_values("request_id", kind="stable").reset_index(drop=True)


def test_compaction_merges_a_table_shard_and_a_crash_doubles_nothing(
    table: ScoredTable, tmp_path: Path, prediction_row: RowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "live"
    log = _log(root)
    log.append(prediction_row(0, now=YESTERDAY))
    log.append_table(table, started=time.perf_counter(), now=YESTERDAY)
    log.close()
    before = _sorted(read_log([root]).predictions)
    assert len(before) == 1_201

    def crash(paths: object) -> int:
        raise KeyboardInterrupt("killed between the rename and the deletes")

    monkeypatch.setattr(compaction, "remove", crash)
    with pytest.raises(KeyboardInterrupt):
        compact_local([root], out_root=root, before=YESTERDAY.date() + timedelta(days=1))
    assert len(list(root.glob("date=*/*.parquet"))) == 2  # the day's file beside the table shard it covers
    pd.testing.assert_frame_equal(_sorted(read_log([root]).predictions), before, check_exact=True)
    assert len(read_log([root], columns=["probability"]).predictions) == 1_201
    monkeypatch.undo()
    compact_local([root], out_root=root, before=YESTERDAY.date() + timedelta(days=1))
    (day,) = root.glob("date=*/*")
    assert day.name == f"predictions-{YESTERDAY.date()}.parquet"
    pd.testing.assert_frame_equal(_sorted(read_log([root]).predictions), before, check_exact=True)


def test_erasure_removes_a_clients_rows_from_a_table_shard(table: ScoredTable, tmp_path: Path) -> None:
    log = _log(tmp_path / "log")
    log.append_table(table, started=time.perf_counter(), salt=SALT)
    client = next(ref for ref in table.client_refs if ref is not None)
    matches = find_rows([tmp_path / "log"], hash_client_id(client, salt=SALT) or "")
    assert matches and all(m.path.name.endswith(".table.parquet") for m in matches)
    assert erase(matches) == len(matches)
    left = read_log([tmp_path / "log"]).predictions
    assert len(left) == 1_200 - len(matches) and hash_client_id(client, salt=SALT) not in set(left["client_ref"])


def test_a_push_uploads_a_table_shard_once(
    table: ScoredTable, tmp_path: Path, hub: StandInHub, make_sync: SyncFactory
) -> None:
    log = _log(tmp_path / "live")
    sync = make_sync(log, max_commits_per_day=100)
    assert sync.start()
    log.append_table(table, started=time.perf_counter())
    assert sync.push_now()
    sent = hub.uploaded_bytes
    assert sync.push_now() and hub.uploaded_bytes == sent  # born sealed: pushed once, never again
    assert len([rel for rel in hub.files(HUB_REPO) if rel.endswith(".table.parquet")]) == 1
    remote = read_log([pulled(hub, tmp_path / "remote")]).predictions
    pd.testing.assert_frame_equal(remote, read_log([tmp_path / "live"]).predictions, check_exact=True)
