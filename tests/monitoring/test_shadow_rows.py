"""The `shadow` kind (the challenger's score of a logged prediction) through the log's whole life:
written beside the predictions, joined by read_log, compacted, erased with its client, pruned, carded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from monitoring.log.compaction import compact_local
from monitoring.log.erasure import erase, find_rows
from monitoring.log.reader import read_log
from monitoring.log.records import build_shadow_row, hash_client_id
from monitoring.log.writer import PredictionLog
from monitoring.sync.card import dataset_card
from tests.factories import SALT, prediction_row_factory

YESTERDAY = datetime.now(UTC) - timedelta(days=1)


def _shadow(row: dict, probability: float) -> dict:
    return build_shadow_row(
        request_id=row["request_id"],
        ts=row["ts"],
        channel=row["channel"],
        challenger_version="challenger-7",
        challenger_probability=probability,
        challenger_decision="refuse" if probability >= 0.5 else "approve",
        challenger_ms=0.2,
    )


def _log_with_shadow(folder: Path, *, n: int = 6, now: datetime = YESTERDAY) -> tuple[PredictionLog, list[dict]]:
    log = PredictionLog(folder, replica_id="t")
    build = prediction_row_factory()
    rows = [build(i, now=now) for i in range(n)]
    log.append_many(rows)
    log.append_many([_shadow(r, 0.1 * i) for i, r in enumerate(rows[:-1])])  # the last one never shadowed
    return log, rows


def test_read_log_joins_the_challenger_onto_its_prediction(tmp_path: Path) -> None:
    _, rows = _log_with_shadow(tmp_path)
    frame = read_log([tmp_path]).predictions.set_index("request_id").loc[[r["request_id"] for r in rows]]
    assert len(frame) == len(rows)  # a shadow row is never a prediction of its own
    expected = [0.1 * i for i in range(len(rows) - 1)] + [np.nan]
    np.testing.assert_array_equal(frame["challenger_probability"].to_numpy(), np.array(expected))
    assert (
        frame["challenger_version"].iloc[:-1].eq("challenger-7").all() and frame["challenger_version"].isna().iloc[-1]
    )
    assert frame["challenger_decision"].iloc[-1] is np.nan or frame["challenger_decision"].isna().iloc[-1]


def test_a_past_days_shadow_rows_compact_and_still_join(tmp_path: Path) -> None:
    log, _ = _log_with_shadow(tmp_path)
    before = read_log([tmp_path]).predictions
    log.close()
    done = compact_local([tmp_path], out_root=tmp_path, before=datetime.now(UTC).date())
    assert {c.kind for c in done} == {"prediction", "shadow"}
    assert not list(tmp_path.rglob("shadow-*.jsonl")) and len(list(tmp_path.rglob("shadow-*.parquet"))) == 1
    after = read_log([tmp_path]).predictions
    cols = ["request_id", "probability", "challenger_probability", "challenger_decision", "challenger_version"]
    key = "request_id"
    assert (
        after[cols].sort_values(key).reset_index(drop=True).equals(before[cols].sort_values(key).reset_index(drop=True))
    )


def test_erasing_a_client_erases_its_shadow_rows_too(tmp_path: Path) -> None:
    log, rows = _log_with_shadow(tmp_path, now=datetime.now(UTC))
    log.close()
    ref = hash_client_id(100_002, salt=SALT)  # the factory's client id of row 2
    target = next(r for r in rows if r["client_ref"] == ref)
    matches = find_rows([tmp_path], ref)
    assert sorted(m.path.name.split("-")[0] for m in matches) == ["predictions", "shadow"]
    assert erase(matches) == 2
    frame = read_log([tmp_path]).predictions
    assert target["request_id"] not in set(frame["request_id"]) and len(frame) == len(rows) - 1
    assert frame["challenger_probability"].notna().sum() == len(rows) - 2  # the others' shadow rows stay


def test_retention_prunes_old_shadow_shards_with_the_day(tmp_path: Path) -> None:
    log, _ = _log_with_shadow(tmp_path / "live")
    history = tmp_path / "history"
    old = datetime.now(UTC) - timedelta(days=40)
    _log_with_shadow(history, now=old)[0].close()
    deleted = log.prune(retention_days=30, history_dir=history)
    assert sorted(p.name.split("-")[0] for p in deleted) == ["predictions", "shadow"]
    assert not list(history.rglob("*.jsonl")) and list((tmp_path / "live").rglob("shadow-*.jsonl"))


def test_the_dataset_card_declares_the_shadow_config() -> None:
    card = dataset_card("org/log")
    assert "config_name: shadow" in card and 'data_files: "date=*/shadow-*.jsonl"' in card
    assert "challenger_probability" in card and "## Shadow rows" in card
