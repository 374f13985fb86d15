"""A scored table's answer, kept as columns: to the JSON door's result dicts, to JSON bytes, to a table.

`ScoringService.score_columns` returns it. The REST table door encodes it straight from its columns:
JSON by `to_json` (the bytes orjson writes for `as_dict()`, built column by column by
scoring.json_columns: ~3 ms for 10,000 rows, where a dict per row took ~10), CSV and Parquet from the
Arrow table of `to_table` (the table pandas used to make of these columns, built without pandas).
The Batch tab and `score_table` take the dicts of `as_dict`, in the shape of `score_batch`'s answer.
All give, for each input row in order, the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.errors import InvalidInput
from scoring.json_columns import join_columns, json_key, number_items, text_items

RESULT_COLUMNS = (
    "index",
    "status",
    "request_id",
    "probability",
    "decision",
    "threshold",
    "model_version",
    "inference_ms",
    "warnings",
    "errors",
)
_TEXT = frozenset(("status", "request_id", "decision", "model_version", "warnings", "errors"))
_ROW_START = b"," + json_key("index", first=True)  # a scored row's text opens with it


@dataclass(slots=True)
class TableResult:
    """Every row of a scored table: the scored ones as columns, the refused ones with their problems."""

    batch_id: str
    model_version: str
    threshold: float
    n_rows: int
    first_index: int
    inference_ms: float  # the model call, for the whole table
    per_row_ms: float
    indices: np.ndarray  # positions (0-based, in this table) of the scored rows
    probabilities: np.ndarray  # aligned with indices
    decisions: np.ndarray  # aligned with indices
    warnings: dict[int, list[str]]  # position -> texts
    errors: dict[int, InvalidInput]  # position -> problems of a refused row

    @property
    def n_scored(self) -> int:
        return len(self.indices)

    @property
    def n_rejected(self) -> int:
        return len(self.errors)

    def request_id(self, index: int) -> str:
        return f"{self.batch_id}-{self.first_index + index}"

    def totals(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "model_version": self.model_version,
            "n_rows": self.n_rows,
            "n_scored": self.n_scored,
            "n_rejected": self.n_rejected,
            "inference_ms": self.inference_ms,
        }

    def _rejected(self, index: int) -> dict[str, Any]:
        errors = [p.as_dict() for p in self.errors[index].problems]
        return {"index": index, "status": "rejected", "request_id": self.request_id(index), "errors": errors}

    def _rejected_for_orjson(self, index: int) -> dict[str, Any]:
        """`_rejected(index)` with its problems left as dataclasses, which orjson writes as their `as_dict()`."""
        errors = self.errors[index].problems
        return {"index": index, "status": "rejected", "request_id": self.request_id(index), "errors": errors}

    def results(self) -> list[dict[str, Any]]:
        """One result dict per input row, in order: `score_batch`'s shape."""
        out: list[dict[str, Any]] = [{}] * self.n_rows
        common = {"threshold": self.threshold, "model_version": self.model_version, "inference_ms": self.per_row_ms}
        for index, probability, decision in zip(
            self.indices.tolist(), self.probabilities.tolist(), self.decisions.tolist(), strict=True
        ):
            out[index] = {
                "index": index,
                "status": "ok",
                "request_id": self.request_id(index),
                "probability": probability,
                "decision": decision,
                **common,
                "warnings": self.warnings.get(index, []),
            }
        for index in sorted(self.errors):
            out[index] = self._rejected(index)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON door's batch answer."""
        return {**self.totals(), "results": self.results()}

    def to_json(self) -> bytes:
        """`as_dict()` as JSON, the bytes orjson writes for it, built column by column: no dict per scored row."""
        head = orjson.dumps(self.totals())[:-1] + b',"results":['
        return b"".join([head, *self._results_json(), b"]}"])  # one copy of the megabytes

    def _results_json(self) -> list[bytes | memoryview]:
        """`results()` as pieces of text that, joined, are its comma-separated JSON objects: one join over the
        scored rows' columns, each run of other rows (refused, or neither) put before the scored row after it."""
        positions = np.asarray(self.indices, dtype=np.int64)
        order = np.argsort(positions, kind="stable")
        if self.errors:  # a refused row is answered as refused even if it was scored
            order = order[~np.isin(positions[order], list(self.errors))]
        positions = positions[order]
        runs = self._other_runs(positions)
        pieces: list[bytes | memoryview] = []
        if len(positions):
            openings = [_ROW_START] * len(positions)
            for rank, text in runs.items():
                if rank < len(positions):
                    openings[rank] = b"," + text + _ROW_START
            openings[0] = openings[0][1:]  # no comma before the first row
            pieces.append(self._scored_json(positions, order, openings=openings))
        if len(positions) in runs:  # the rows after the last scored one
            pieces += [b"," if pieces else b"", runs[len(positions)]]
        return pieces

    def _other_runs(self, positions: np.ndarray) -> dict[int, memoryview]:
        """The rows not among the scored `positions` (sorted), by runs: the rank of the scored row each run
        precedes (len(positions): after them all) -> its comma-separated objects. A run is one orjson call:
        '[{..},{..}]' without its brackets is the run's text in the list."""
        scored = np.zeros(self.n_rows, dtype=bool)
        scored[positions] = True
        others = np.flatnonzero(~scored)
        rows = [self._rejected_for_orjson(i) if i in self.errors else {} for i in others.tolist()]
        ranks, starts = np.unique(np.searchsorted(positions, others), return_index=True)
        bounds = [*starts.tolist(), len(rows)]
        return {
            rank: memoryview(orjson.dumps(rows[start:end]))[1:-1]
            for rank, start, end in zip(ranks.tolist(), bounds[:-1], bounds[1:], strict=True)
        }

    def _scored_json(self, positions: np.ndarray, order: np.ndarray, *, openings: list[bytes]) -> bytes:
        """The scored rows at `positions` (`indices[order]`), each after its text of `openings`, as one text."""
        index = number_items(positions)
        request = index if self.first_index == 0 else number_items(positions + self.first_index)
        return join_columns(
            len(positions),
            [
                openings,
                index,
                json_key("status") + b'"ok"' + json_key("request_id"),
                orjson.dumps(f"{self.batch_id}-")[:-1],  # '"<batch_id>-', then the row's number and '"'
                request,
                b'"' + json_key("probability"),
                number_items(np.asarray(self.probabilities, dtype=np.float64)[order]),
                json_key("decision"),
                text_items(np.asarray(self.decisions)[order].tolist()),
                json_key("threshold") + orjson.dumps(self.threshold),
                json_key("model_version") + orjson.dumps(self.model_version),
                json_key("inference_ms") + orjson.dumps(self.per_row_ms),
                json_key("warnings"),
                self._warnings_json(positions),
                b"}",
            ],
        )

    def _warnings_json(self, positions: np.ndarray) -> bytes | list[bytes]:
        """The warnings of the scored rows at `positions` as JSON: one constant '[]' when none has any."""
        warned = [index for index, texts in self.warnings.items() if texts]
        if not warned:
            return b"[]"
        cells = [b"[]"] * len(positions)
        for rank in np.flatnonzero(np.isin(positions, warned)).tolist():
            cells[rank] = orjson.dumps(self.warnings[int(positions[rank])])
        return cells

    def to_table(self) -> pa.Table:
        """One row per input row with `RESULT_COLUMNS`; warnings and errors as JSON text (null when none).

        The schema, its pandas metadata included, is the one `pa.Table.from_pandas` gives the frame of
        these columns, so the CSV and Parquet answers keep the bytes they had when pandas made them.
        """
        n, at = self.n_rows, np.asarray(self.indices, dtype=np.int64)
        scored = np.zeros(n, dtype=bool)
        scored[at] = True
        rank = np.full(n, -1, dtype=np.int64)  # each row's place among the scored ones
        rank[at] = np.arange(len(at))
        probability = np.full(n, np.nan)
        probability[at] = self.probabilities
        first = self.first_index
        numbers = pc.cast(pa.array(np.arange(first, first + n, dtype=np.int64)), pa.large_string())
        columns = {
            "index": pa.array(np.arange(n, dtype=np.int64)),
            "status": _text(["rejected", "ok"]).take(pa.array(scored.astype(np.int8))),
            "request_id": pc.binary_join_element_wise(_text(f"{self.batch_id}-"), numbers, _text("")),
            "probability": pa.array(probability, from_pandas=True),
            "decision": pa.array(np.asarray(self.decisions), pa.large_string()).take(pa.array(rank, mask=~scored)),
            "threshold": pa.array(np.where(scored, self.threshold, np.nan), from_pandas=True),
            "model_version": _text([self.model_version]).take(pa.array(np.zeros(n, dtype=np.int8), mask=~scored)),
            "inference_ms": pa.array(np.where(scored, self.per_row_ms, np.nan), from_pandas=True),
            "warnings": _json_texts(n, {i: texts for i, texts in self.warnings.items() if texts}),
            "errors": _json_texts(n, {i: e.problems for i, e in self.errors.items()}),  # dataclasses: as_dict()
        }
        return pa.Table.from_arrays(list(columns.values()), schema=_answer_schema())


def _text(values: str | list[str]) -> Any:
    """A large_string scalar or array (the Arrow type of pandas' `str` columns)."""
    return pa.scalar(values, pa.large_string()) if isinstance(values, str) else pa.array(values, pa.large_string())


def _json_texts(n: int, values: dict[int, Any]) -> pa.Array:
    """A text column of `n` rows: each value of `values` as JSON at its position, null elsewhere."""
    cells = np.full(n, None, dtype=object)
    for index, value in values.items():
        cells[index] = orjson.dumps(value).decode()
    return _text(cells.tolist())


@cache
def _answer_schema() -> pa.Schema:
    """The schema pandas gives the answer's frame (`str` columns as large_string, its pandas metadata)."""
    empty = pd.DataFrame(
        {
            name: pd.Series([], dtype="str" if name in _TEXT else "int64" if name == "index" else "float64")
            for name in RESULT_COLUMNS
        }
    )
    return pa.Schema.from_pandas(empty, preserve_index=False)
