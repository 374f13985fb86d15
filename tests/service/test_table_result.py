"""TableResult's column-built answers hold to the dict-per-row ones.

`to_json` must be the bytes orjson writes for `as_dict()` (a dict per row), and `to_table` the Arrow
table pandas makes of a frame built from those dicts, so the CSV and Parquet answers keep their bytes.
Checked on generated tables (refused rows anywhere, warnings with commas and quotes, both decisions,
an offset `first_index`, awkward batch ids) and on a table the real scorer scored. In process.
"""

from __future__ import annotations

import io
import json
import random
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from scoring.errors import InvalidInput, Problem
from scoring.predict import Scorer
from scoring.schema import TARGET_COLUMN
from scoring.tables import CSV, PARQUET, table_to_bytes
from service.metrics import Metrics
from service.scoring import ScoringService
from service.table_result import RESULT_COLUMNS, TableResult
from tests.factories import log_writer

_WARNINGS = ("AMT_CREDIT=9e+06 is outside the training range [4.5e+04, 4e+06]", 'a "quoted", odd text é')
_PROBLEMS = (
    Problem("AMT_CREDIT", "out_of_range", "must be at least 0, got -5"),
    Problem(None, "not_an_object", "a row must be an object"),
    Problem("NAME_CONTRACT_TYPE", "unknown_category", "'Mortgage' is not one of 'Cash loans', 'Revolving loans'"),
)


def _generated(seed: int) -> TableResult:
    """A table of up to 300 rows: some refused (first, last, in runs), the others scored, a few warned."""
    rng = random.Random(seed)
    n = rng.choice([1, 2, 7, 300])
    refused = {i for i in range(n) if rng.random() < rng.choice([0.0, 0.1, 0.5, 1.0])}
    if seed % 3 == 0 and n > 1:
        refused |= {0, n - 1}
    indices = np.array([i for i in range(n) if i not in refused], dtype=np.int64)
    probabilities = np.array([rng.choice([rng.random(), 0.0, 1.0, 1e-9, 0.1 + 0.2]) for _ in indices])
    threshold = rng.choice([0.42, 0.1 + 0.2, 0.5])
    return TableResult(
        batch_id=rng.choice(["0f" * 16, 'b"%d\\-', "lot é 2026"]),
        model_version=rng.choice(["3", "challenger-1", "v%s"]),
        threshold=threshold,
        n_rows=n,
        first_index=rng.choice([0, 0, 10_000]),
        inference_ms=rng.random() * 50,
        per_row_ms=rng.random() / 7,
        indices=indices,
        probabilities=probabilities,
        decisions=np.where(probabilities >= threshold, "refuse", "approve"),
        warnings={int(i): rng.sample(_WARNINGS, rng.randint(0, 2)) for i in indices if rng.random() < 0.2},
        errors={i: InvalidInput(rng.sample(_PROBLEMS, rng.randint(1, 3))) for i in sorted(refused)},
    )


def _reference_frame(results: list[dict[str, Any]], *, first_index: int, batch_id: str) -> pd.DataFrame:
    """The answer's table as a frame built from the per-row result dicts (a refused row has no score)."""

    def text(value: Any) -> str | None:
        return orjson.dumps(value).decode() if value else None

    columns: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}
    for position, row in enumerate(results):
        assert row["index"] == position and row["request_id"] == f"{batch_id}-{first_index + position}"
        for name in ("index", "status", "request_id", "decision", "model_version"):
            columns[name].append(row.get(name))
        for name in ("probability", "threshold", "inference_ms"):
            columns[name].append(row.get(name, np.nan))
        columns["warnings"].append(text(row.get("warnings")))
        columns["errors"].append(text(row.get("errors")))
    numbers = {"index": np.int64, "probability": np.float64, "threshold": np.float64, "inference_ms": np.float64}
    return pd.DataFrame(
        {
            name: np.asarray(values, dtype=numbers[name]) if name in numbers else pd.array(values, dtype="str")
            for name, values in columns.items()
        }
    )


def _holds_to_the_dicts(result: TableResult) -> None:
    answer = result.as_dict()
    encoded = result.to_json()
    assert encoded == orjson.dumps(answer)
    parsed = json.loads(encoded)
    assert parsed == answer and [list(r) for r in parsed["results"]] == [list(r) for r in answer["results"]]

    frame = _reference_frame(answer["results"], first_index=result.first_index, batch_id=result.batch_id)
    table = result.to_table()
    assert table.equals(pa.Table.from_pandas(frame, preserve_index=False), check_metadata=True)
    csv = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), csv)
    assert table_to_bytes(table, CSV) == csv.getvalue()
    assert table_to_bytes(table, PARQUET) == frame.to_parquet(index=False)


@pytest.mark.parametrize("seed", range(24))
def test_the_column_built_answers_are_the_per_row_ones(seed):
    result = _generated(seed)
    assert result.n_rows > 0 and result.n_scored + result.n_rejected == result.n_rows
    _holds_to_the_dicts(result)


def test_the_generated_tables_cover_what_the_answers_must_handle():
    """The cases above include every kind of row the fast answers treat apart."""
    tables = [_generated(seed) for seed in range(24)]
    assert any(t.n_scored == 0 for t in tables) and any(t.n_rejected == 0 and t.n_rows > 2 for t in tables)
    assert any(0 in t.errors and t.n_rows - 1 in t.errors and t.n_scored for t in tables)
    assert any(any(len(texts) == 2 for texts in t.warnings.values()) for t in tables)
    assert any(t.first_index and t.n_scored for t in tables)
    assert {d for t in tables for d in t.decisions.tolist()} == {"approve", "refuse"}


def test_a_scored_table_with_refused_and_warned_rows(model, tmp_path, stream):
    frame = stream.drop(columns=[TARGET_COLUMN]).head(400).copy()
    frame.loc[3, "AMT_CREDIT"] = -5.0
    frame.loc[40, "NAME_CONTRACT_TYPE"] = "Mortgage"
    frame.loc[399, "AMT_ANNUITY"] = np.nan
    high = model.training_ranges["AMT_INCOME_TOTAL"][1]
    frame.loc[[7, 8], "AMT_INCOME_TOTAL"] = high * 3  # valid, but past the training range: a warning
    service = ScoringService(Scorer(model), log_writer(tmp_path / "log"), Metrics())
    result = service.score_columns(frame, channel="rest_batch", first_index=500)
    assert {3, 40, 399} <= set(result.errors) and result.warnings.get(7)
    assert {"approve", "refuse"} == set(result.decisions.tolist())
    _holds_to_the_dicts(result)
