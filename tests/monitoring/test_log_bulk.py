"""A scored table logged column by column (`PredictionLog.append_table`) holds the rows the row builder writes.

The same scored rows go through both paths into two logs: `build_prediction_row` + `append_many` (what
the JSON door does) and `monitoring.log.bulk` (what the table door does); `read_log` must give equal
frames, and the raw lines equal objects with keys in the same order. Only `ts` and `latency_ms` may
differ (the clock at logging time).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring.log.bulk import ScoredTable
from monitoring.log.reader import read_log
from monitoring.log.records import build_prediction_row
from scoring.columnar import row_payloads
from scoring.predict import Scorer
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.validation import validate_application
from tests.factories import SALT, log_writer

_CLOCKS = ["ts", "latency_ms"]


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


@pytest.fixture
def varied(stream) -> pd.DataFrame:
    """Applications with what a log row must carry exactly: gaps, an absent column, extrapolations, ids."""
    frame = stream.drop(columns=[TARGET_COLUMN, "OWN_CAR_AGE"]).head(300).reset_index(drop=True)
    frame[ID_COLUMN] = frame[ID_COLUMN].astype("Int64")
    frame.loc[[2, 9], ID_COLUMN] = pd.NA  # no client id: a null client_ref
    frame.loc[4, ["AMT_INCOME_TOTAL", "CNT_CHILDREN"]] = [9.5e7, 11]  # outside the training ranges
    frame.loc[7, ["EXT_SOURCE_1", "NAME_TYPE_SUITE", "CNT_FAM_MEMBERS"]] = [np.nan, None, np.nan]
    frame.loc[11, "AMT_CREDIT"] = -1.0  # refused: never logged as a prediction
    return frame


@pytest.mark.parametrize("model_version", ["v-test", '100% synthetic, "quoted"'])
def test_a_table_logs_the_rows_the_row_builder_writes(model, tmp_path, varied, model_version):
    scores = Scorer(model).score_frame(varied)
    assert 11 in scores.errors and 4 in scores.warnings and len(scores.indices) == 299
    positions = scores.indices + 1000  # a later chunk of a file: positions past the chunk's own rows
    started = time.perf_counter()
    rows = []
    for k, index in enumerate(scores.indices.tolist()):
        clean, client_ref = validate_application(row_payloads(varied, [index])[0])
        rows.append(
            build_prediction_row(
                clean,
                request_id=f"batch7-{positions[k]}",
                channel="rest_batch",
                model_version=model_version,
                probability=float(scores.probabilities[k]),
                decision=str(scores.decisions[k]),
                threshold=scores.threshold,
                inference_ms=0.0123456,
                started=started,
                warnings=scores.warnings.get(index, []),
                client_id=client_ref,
                salt=SALT,
                batch_id="batch7",
                batch_index=int(positions[k]),
                validated=True,
            )
        )
    log_writer(tmp_path / "rows").append_many(rows)
    table = ScoredTable(
        raw=scores.raw,
        positions=positions,
        client_refs=scores.client_refs,
        probabilities=scores.probabilities,
        decisions=scores.decisions,
        batch_id="batch7",
        channel="rest_batch",
        model_version=model_version,
        threshold=scores.threshold,
        inference_ms=0.0123456,
        warnings={int(np.searchsorted(scores.indices, i)): t for i, t in scores.warnings.items()},
    )
    log_writer(tmp_path / "bulk").append_table(table, started=started, salt=SALT)

    by_rows, by_table = _lines(tmp_path / "rows"), _lines(tmp_path / "bulk")
    assert len(by_table) == len(by_rows) == 299
    for ours, theirs in zip(by_table, by_rows, strict=True):
        assert list(ours) == list(theirs)  # the same keys in the same order
        assert {k: v for k, v in ours.items() if k not in _CLOCKS} == {
            k: v for k, v in theirs.items() if k not in _CLOCKS
        }
    assert by_table[4]["warnings"] and by_table[2]["client_ref"] is None and by_table[0]["client_ref"]

    read_rows = read_log([tmp_path / "rows"]).predictions.drop(columns=_CLOCKS)
    read_table = read_log([tmp_path / "bulk"]).predictions.drop(columns=_CLOCKS)
    pd.testing.assert_frame_equal(read_table, read_rows)


def test_a_table_is_one_write_of_one_line_per_row(model, tmp_path, varied, monkeypatch):
    """All rows or none: the table's lines reach the shard in a single O_APPEND write."""
    import monitoring.log.writer as writer

    scores = Scorer(model).score_frame(varied)
    writes: list[int] = []
    real_write = writer.os.write

    def counted(fd: int, data: bytes) -> int:
        writes.append(data.count(b"\n"))
        return real_write(fd, data)

    monkeypatch.setattr(writer.os, "write", counted)
    log = log_writer(tmp_path / "log")
    log.append_table(
        ScoredTable(
            raw=scores.raw,
            positions=scores.indices,
            client_refs=scores.client_refs,
            probabilities=scores.probabilities,
            decisions=scores.decisions,
            batch_id="b",
            channel="gradio_batch",
            model_version="v",
            threshold=scores.threshold,
            inference_ms=0.1,
        ),
        started=time.perf_counter(),
    )
    assert writes == [len(scores.indices)]
    assert read_log([tmp_path / "log"]).predictions["batch_index"].tolist() == scores.indices.tolist()
