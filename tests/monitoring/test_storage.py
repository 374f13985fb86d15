"""The data store against the stand-in Hub: uploads linear in traffic, compaction, bounded restore.

Erasure on the Hub is in `test_erase_hub.py`; the real-server restore check in
`tests/service/test_history_restore.py`.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from monitoring.log import compaction
from monitoring.log.compaction import compact_local
from monitoring.log.parquet import compacted_name, covered_sources
from monitoring.log.reader import LogData, read_log
from monitoring.log.writer import PredictionLog
from tests.factories import RowFactory
from tests.monitoring.conftest import HUB_REPO as REPO
from tests.monitoring.conftest import SyncFactory, pulled
from tests.monitoring.hub_standin import Repo, StandInHub

TODAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def jsonl_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.glob("date=*/*.jsonl"))


def assert_same(before: LogData, after: LogData) -> None:
    """Identical rows, values and dtypes, both kinds."""
    for name in ("predictions", "rejections"):
        left, right = getattr(before, name), getattr(after, name)
        assert list(left.dtypes) == list(right.dtypes), name
        pd.testing.assert_frame_equal(left, right, check_exact=True)


# ------------------------------------------------------------------------------- immutable shards


def test_a_day_of_pushes_uploads_each_logged_byte_once(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live", replica_id="day")
    sync = make_sync(log, max_commits_per_day=1000)
    assert sync.start() and sync.push_now()  # the card
    card_bytes, pushes, per_push = hub.uploaded_bytes, 96, 3
    old_design = 0  # what re-uploading the growing day file at each push would have sent
    for tick in range(pushes):
        for i in range(per_push):
            log.append(prediction_row(tick * per_push + i))
        old_design += jsonl_bytes(tmp_path / "live")
        assert sync.push_now()
    logged, uploaded = jsonl_bytes(tmp_path / "live"), hub.uploaded_bytes - card_bytes
    print(
        f"\n{pushes} pushes: logged {logged:,} B, uploaded {uploaded:,} B = {uploaded / logged:.3f} per logged byte "
        f"(HTTP bodies {hub.request_bytes / logged:.3f}); re-uploading the day file would be {old_design / logged:.1f}"
    )
    assert uploaded <= 1.3 * logged
    assert old_design > 10 * logged  # the design this replaces grows with the number of pushes
    files = hub.files(REPO)
    shards = [p for p in files if p.endswith(".jsonl")]
    assert len(shards) == pushes  # one sealed shard per push, none re-uploaded
    snapshots = hub.revisions(REPO)
    for rel in shards:  # once a shard is on the Hub it never changes
        versions = {s[rel] for s in snapshots if rel in s}
        assert len(versions) == 1, rel
    remote = read_log([pulled(hub, tmp_path / "remote")]).predictions
    assert len(remote) == pushes * per_push and remote["request_id"].is_unique


def test_commits_per_day_are_bounded_and_nothing_is_lost(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live")
    sync = make_sync(log, max_commits_per_day=5)
    assert sync.start()
    for i in range(20):
        log.append(prediction_row(i))
        sync.push_now()
    assert len(hub.repos[REPO].commits) == 5 and sync.status()["commits_today"] == 5
    assert sync.stop(push=True)  # the shutdown push goes through whatever the bound
    remote = read_log([pulled(hub, tmp_path / "remote")]).predictions
    assert sorted(remote["request_id"]) == sorted(f"req-{i}" for i in range(20))


def test_the_push_period_is_stretched_to_the_bound() -> None:
    from monitoring.sync.config import HubSyncConfig

    assert HubSyncConfig("a/b", "t", every_min=5, max_commits_per_day=97).push_every_min == 15
    assert HubSyncConfig("a/b", "t", every_min=30, max_commits_per_day=97).push_every_min == 30


# ------------------------------------------------------------------------------------ compaction


def write_days(
    root: Path, prediction_row: RowFactory, rejection_row: RowFactory, *, days: int = 3, seals: int = 4
) -> PredictionLog:
    """`days` past days and today, each day in `seals` shards per kind (as pushes leave them)."""
    log = PredictionLog(root, replica_id="c")
    n = 0
    for age in range(days, -1, -1):
        for part in range(seals):
            for _ in range(5):
                log.append(prediction_row(n, now=TODAY - timedelta(days=age, minutes=part * 30 + n % 7)))
                n += 1
            log.append(rejection_row(n, now=TODAY - timedelta(days=age, minutes=part * 30)))
            with log.lock:
                log.seal()
    return log


def test_compaction_round_trip_keeps_every_value_and_type(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    root = tmp_path / "live"
    write_days(root, prediction_row, rejection_row)
    before = read_log([root])
    raw = jsonl_bytes(root)
    done = compact_local([root], out_root=root, before=TODAY.date())
    assert len(done) == 3 * 2  # three past days, two kinds
    assert all(c.rows == (20 if c.kind == "prediction" else 4) for c in done)
    today = f"date={TODAY.date()}"
    assert {p.parent.name for p in root.glob("date=*/*.jsonl")} == {today}  # only today stays JSON Lines
    compacted = sorted(root.glob("date=*/*.parquet"))
    assert [p.relative_to(root).as_posix() for p in compacted] == sorted(c.rel for c in done)
    assert_same(before, read_log([root]))
    kept = jsonl_bytes(root)
    parquet = sum(p.stat().st_size for p in compacted)
    print(f"\ncompaction: {raw - kept:,} B of JSON Lines -> {parquet:,} B of Parquet ({(raw - kept) / parquet:.1f}x)")
    assert parquet < raw - kept  # even at 24 rows a file; benchmarks/bench_compaction.py measures a real day
    assert compact_local([root], out_root=root, before=TODAY.date()) == []  # nothing left to do


def test_a_late_shard_is_merged_into_the_days_parquet(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    root = tmp_path / "live"
    log = write_days(root, prediction_row, rejection_row, days=1, seals=2)
    compact_local([root], out_root=root, before=TODAY.date())
    log.append(prediction_row(999, now=TODAY - timedelta(days=1)))  # a request that straddled midnight
    log.close()
    before = read_log([root])
    (done,) = [c for c in compact_local([root], out_root=root, before=TODAY.date()) if c.kind == "prediction"]
    assert done.rows == 11 and len(done.sources) == 3
    assert_same(before, read_log([root]))


def test_crash_after_the_rename_loses_nothing_and_doubles_nothing(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "live"
    write_days(root, prediction_row, rejection_row, days=2)
    before = read_log([root])
    sources = sorted(root.glob("date=*/*.jsonl"))

    def crash(paths: object) -> int:
        raise KeyboardInterrupt("killed between the rename and the deletes")

    monkeypatch.setattr(compaction, "remove", crash)
    with pytest.raises(KeyboardInterrupt):
        compact_local([root], out_root=root, before=TODAY.date())
    assert sorted(root.glob("date=*/*.jsonl")) == sources and list(root.glob("date=*/*.parquet"))
    assert_same(before, read_log([root]))  # both on disk, each row counted once
    monkeypatch.undo()
    compact_local([root], out_root=root, before=TODAY.date())  # the next run only deletes
    assert_same(before, read_log([root]))
    assert len(list(root.glob("date=*/*.jsonl"))) == 8  # today's: 4 seals x 2 kinds


def test_crash_before_the_rename_leaves_the_sources_untouched(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "live"
    write_days(root, prediction_row, rejection_row, days=1)
    before = read_log([root])

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone during the rename")

    monkeypatch.setattr(compaction.os, "replace", crash)
    with pytest.raises(OSError):
        compact_local([root], out_root=root, before=TODAY.date())
    assert list(root.glob("date=*/.*.parquet.tmp")) and not list(root.glob("date=*/*.parquet"))
    assert_same(before, read_log([root]))
    monkeypatch.undo()
    assert len(compact_local([root], out_root=root, before=TODAY.date())) == 2
    assert not list(root.glob("date=*/.*.parquet.tmp"))
    assert_same(before, read_log([root]))


def test_a_damaged_shard_is_left_as_it_is(tmp_path: Path, prediction_row: RowFactory) -> None:
    root = tmp_path / "live"
    log = PredictionLog(root)
    yesterday = TODAY - timedelta(days=1)
    for i in range(3):
        log.append(prediction_row(i, now=yesterday))
        with log.lock:
            log.seal()
    damaged = sorted(root.glob("date=*/*.jsonl"))[0]
    with damaged.open("ab") as handle:
        handle.write(b'{"torn": ')
    (done,) = compact_local([root], out_root=root, before=TODAY.date())
    assert done.rows == 2 and done.skipped == [damaged.relative_to(root).as_posix()] and damaged.exists()
    assert sorted(read_log([root]).predictions["request_id"]) == ["req-0", "req-1", "req-2"]


def test_hub_compaction_is_one_commit_and_every_revision_holds_each_row_once(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    root, history = tmp_path / "live", tmp_path / "history"
    sync = make_sync(write_days(root, prediction_row, rejection_row, days=2), history_dir=history)
    before = read_log([root])
    assert sync.start() and sync.push_now()  # the push, then the day's maintenance in the same thread
    pushed, compacted = hub.revisions(REPO)
    assert sum(p.endswith(".jsonl") for p in pushed) == 3 * 4 * 2 and not any(p.endswith(".parquet") for p in pushed)
    assert sum(p.endswith(".jsonl") for p in compacted) == 4 * 2  # today's shards only
    assert sync.maintain_now().compacted == [] and len(hub.revisions(REPO)) == 2  # nothing left to do
    files = hub.files(REPO)
    past = [p for p in files if p.startswith("date=") and not p.startswith(f"date={TODAY.date()}")]
    days = (TODAY.date() - timedelta(days=d) for d in (1, 2))
    assert sorted(past) == sorted(compacted_name(k, day) for day in days for k in ("prediction", "rejection"))
    assert_same(before, read_log([pulled(hub, tmp_path / "remote")]))
    assert_same(before, read_log([root]))
    assert not [p for p in root.glob("date=*/*.jsonl") if p.parent.name != f"date={TODAY.date()}"]
    for snapshot in hub.revisions(REPO):  # before and after the compaction commit
        folder = tmp_path / f"rev-{len(os.listdir(tmp_path))}"
        for rel, content in snapshot.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(content)
        assert read_log([folder]).predictions["request_id"].is_unique
    assert sync.log.ledger.state().maintained_day == TODAY.date().isoformat()
    for rel in past:
        assert sync.log.ledger.state().pushed[rel] == (root / rel).stat().st_size
        assert covered_sources(root / rel)


# ---------------------------------------------------------------------------------------- restore


def seed_days(hub: StandInHub, *, days: int, today: date) -> dict[str, bytes]:
    """A repo with one small shard per day for `days` days, as pushes over three months leave it."""
    files = {
        f"date={today - timedelta(days=age)}/predictions-old-{age:03d}.jsonl": b'{"kind":"prediction"}\n'
        for age in range(days)
    }
    hub.repos[REPO] = Repo(private=True, commits=[("1" * 40, files)])
    return files


def test_restore_pulls_only_the_monitoring_window(tmp_path: Path, hub: StandInHub, make_sync: SyncFactory) -> None:
    today = datetime.now(UTC).date()
    seed_days(hub, days=90, today=today)
    sync = make_sync(PredictionLog(tmp_path / "live"), history_dir=tmp_path / "history", restore_days=28)
    result = sync.restore_history()
    restored = sorted(p.parent.name for p in (tmp_path / "history").glob("date=*/*.jsonl"))
    assert result.files == 29 == len(restored)  # today and the 28 days before it
    assert restored[0] == f"date={today - timedelta(days=28)}"
    assert hub.count("resolve") <= 2 * 29  # HEAD + GET per file of the window, nothing older
    older = sync.restore_range(since=today - timedelta(days=40), until=today - timedelta(days=29))
    assert older.files == 41 and older.error is None  # what the user asked for, on top


def test_background_restore_reports_loading_then_done(tmp_path: Path, hub: StandInHub, make_sync: SyncFactory) -> None:
    seed_days(hub, days=10, today=datetime.now(UTC).date())
    hub.slow("resolve", 0.2)
    sync = make_sync(PredictionLog(tmp_path / "live"), history_dir=tmp_path / "history", restore_days=28)
    sync.start_background()
    assert sync.status()["history"]["state"] == "loading"
    assert sync.restore.done.wait(60)
    history = sync.status()["history"]
    assert history["state"] == "done" and history["files"] == 10 and history["seconds"] > 0


# ---------------------------------------------------------------------------- retention, squash, CLI


def test_hub_retention_is_one_commit_and_the_squash_clears_older_revisions(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory
) -> None:
    log = PredictionLog(tmp_path / "live")
    for i, age in enumerate((50, 40, 1, 0)):
        log.append(prediction_row(i, now=TODAY - timedelta(days=age)))
    sync = make_sync(log, retention_days=30, compact=False, squash_history=True)
    assert sync.start() and sync.push_now()
    revisions = hub.revisions(REPO)
    assert len(revisions) == 1  # push + retention commit, then squashed into one
    for n, snapshot in enumerate(revisions):
        folder = tmp_path / f"rev-{n}"
        for rel, content in snapshot.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(content)
        assert sorted(read_log([folder]).predictions["request_id"]) == ["req-2", "req-3"]
    assert sorted(read_log([tmp_path / "live"]).predictions["request_id"]) == ["req-2", "req-3"]


def test_compact_cli_compacts_local_folders(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitoring.compact import main

    root = tmp_path / "live"
    write_days(root, prediction_row, rejection_row, days=1).close()
    before = read_log([root])
    assert main(["--log-dir", str(root), "--history-dir", str(tmp_path / "history")]) == 0
    out = capsys.readouterr().out
    assert "2 day-file(s)" in out and "predictions-" in out
    assert len(list(root.glob("date=*/*.parquet"))) == 2
    assert_same(before, read_log([root]))


def test_a_failed_hub_commit_keeps_both_sides_and_the_next_run_finishes(
    tmp_path: Path, hub: StandInHub, make_sync: SyncFactory, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    root = tmp_path / "live"
    log = write_days(root, prediction_row, rejection_row, days=1)
    sync = make_sync(log, compact=False)
    assert sync.start() and sync.push_now()  # every shard on the Hub, nothing compacted yet
    before = read_log([root])
    sync.compact = True
    hub.fail(status=503, routes={"commit"})
    with pytest.raises(Exception, match="503"):
        sync.maintain_now()
    assert list(root.glob("date=*/*.parquet")) and len(list(root.glob("date=*/*.jsonl"))) == 16  # both kept
    assert_same(before, read_log([root]))  # and read once
    assert not any(p.endswith(".parquet") for p in hub.files(REPO))
    hub.recover()
    result = sync.maintain_now()
    assert result.commit and len(result.compacted) == 2
    assert len(list(root.glob("date=*/*.jsonl"))) == 8  # today's only
    assert_same(before, read_log([root]))
    assert_same(before, read_log([pulled(hub, tmp_path / "remote")]))


def test_the_shared_cache_lets_go_of_compacted_shards(
    tmp_path: Path, prediction_row: RowFactory, rejection_row: RowFactory
) -> None:
    from monitoring.log.reader import ReadCache

    root = tmp_path / "live"
    write_days(root, prediction_row, rejection_row, days=1).close()
    cache = ReadCache()
    before = read_log([root], cache=cache)
    assert len(cache._entries) == 16
    compact_local([root], out_root=root, before=TODAY.date())
    assert_same(before, read_log([root], cache=cache))
    assert len(cache._entries) == 8 + 2  # today's shards and the two Parquet files, no deleted source


def test_outcomes_are_compacted_and_erased_like_any_kind(tmp_path: Path) -> None:
    from monitoring.log.erasure import erase, find_rows
    from monitoring.log.reader import read_outcomes
    from monitoring.log.records import build_outcome_row

    root = tmp_path / "live"
    log = PredictionLog(root)
    for i in range(6):
        row = build_outcome_row(
            request_id=f"req-{i}",
            client_ref="ref-a" if i % 2 else "ref-b",
            defaulted=bool(i % 3 == 0),
            observed_at="2026-11-01",
            status="recorded",
            channel="rest",
            prediction_ts=None,
            now=TODAY - timedelta(days=1, minutes=i),
        )
        log.append(row)
        with log.lock:
            log.seal()
    log.close()
    before = read_outcomes([root])
    (done,) = compact_local([root], out_root=root, before=TODAY.date())
    assert done.kind == "outcome" and done.rows == 6 and not list(root.glob("date=*/*.jsonl"))
    pd.testing.assert_frame_equal(before, read_outcomes([root]), check_exact=True)
    assert erase(find_rows([root], "ref-a")) == 3
    assert sorted(read_outcomes([root])["request_id"]) == ["req-0", "req-2", "req-4"]
