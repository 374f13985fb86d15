"""A scored table's answer, kept as columns: to the JSON door's result dicts, to JSON bytes, to a table.

`ScoringService.score_columns` returns it. The REST table door encodes it straight from its columns
(JSON, CSV or Parquet: no dict per row); the Batch tab and `score_table` take the dicts, in the
shape of `score_batch`'s answer. Both give, for each input row in order, the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd

from scoring.errors import InvalidInput

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
        """`as_dict()` as JSON, by orjson in one call."""
        return orjson.dumps(self.as_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row per input row with `RESULT_COLUMNS`; warnings and errors as JSON text (null when none)."""
        n, at = self.n_rows, self.indices
        status = np.full(n, "rejected", dtype=object)
        status[at] = "ok"
        probability = np.full(n, np.nan)
        probability[at] = self.probabilities
        decision = np.full(n, None, dtype=object)
        decision[at] = self.decisions
        warnings = np.full(n, None, dtype=object)
        for index, texts in self.warnings.items():
            warnings[index] = orjson.dumps(texts).decode() if texts else None
        errors = np.full(n, None, dtype=object)
        for index, error in self.errors.items():
            errors[index] = orjson.dumps([p.as_dict() for p in error.problems]).decode()
        scored = np.zeros(n, dtype=bool)
        scored[at] = True
        positions = np.arange(n)
        return pd.DataFrame(
            {
                "index": positions,
                "status": pd.array(status, dtype="str"),
                "request_id": pd.array([f"{self.batch_id}-{self.first_index + i}" for i in range(n)], dtype="str"),
                "probability": probability,
                "decision": pd.array(decision, dtype="str"),
                "threshold": np.where(scored, self.threshold, np.nan),
                "model_version": pd.array(np.where(scored, self.model_version, None), dtype="str"),
                "inference_ms": np.where(scored, self.per_row_ms, np.nan),
                "warnings": pd.array(warnings, dtype="str"),
                "errors": pd.array(errors, dtype="str"),
            }
        )
