"""The one scoring path: validate -> features -> predict -> decide -> (explain).

Every entry point (form, Gradio API, REST, batch, MCP, notebooks, tests) calls `Scorer`. Batches
are validated row by row and predicted in one model call; a bad row is reported by its index and
never fails the valid ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scoring.columnar import validate_frame
from scoring.errors import InvalidInput
from scoring.features import CATEGORY_CODES, FEATURE_NAMES, RAW_INDEX, build_features, display_value
from scoring.model import Factor, ScoringModel
from scoring.schema import DAYS_EMPLOYED_PENSIONER, RAW_COLUMNS
from scoring.validation import validate_encoded, validate_many

TOP_FACTORS = 5
_EMPLOYED = RAW_INDEX["DAYS_EMPLOYED"]


@dataclass(slots=True)
class Score:
    probability: float
    decision: str  # "approve" | "refuse"
    threshold: float
    model_version: str
    warnings: list[str]
    inference_ms: float
    inputs: dict[str, Any]  # validated fields, as scored (what the log stores)
    client_ref: str | None = None
    factors: list[Factor] | None = None
    features: np.ndarray | None = None  # the model-matrix row scored (a view): what a challenger scores too

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "probability": self.probability,
            "decision": self.decision,
            "threshold": self.threshold,
            "model_version": self.model_version,
            "inference_ms": self.inference_ms,
            "warnings": self.warnings,
        }
        if self.factors is not None:
            out["factors"] = [
                {
                    "feature": f.feature,
                    "value": f.value,
                    "contribution": round(f.contribution, 6),
                    "direction": f.direction,
                }
                for f in self.factors
            ]
        return out


@dataclass(slots=True)
class BatchResult:
    scores: dict[int, Score] = field(default_factory=dict)
    errors: dict[int, InvalidInput] = field(default_factory=dict)
    inference_ms: float = 0.0


@dataclass(slots=True)
class FrameScores:
    """A scored table: the valid rows' positions and scores, and the problems of the others."""

    n_rows: int
    indices: np.ndarray  # positions of the scored rows
    raw: np.ndarray  # the scored rows' raw matrix (scoring.features), aligned with indices
    probabilities: np.ndarray  # aligned with indices
    decisions: np.ndarray  # "approve" | "refuse", aligned with indices
    client_refs: list[str | None]  # aligned with indices
    warnings: dict[int, list[str]]  # position -> extrapolation warnings (rows outside the training ranges)
    errors: dict[int, InvalidInput]  # position -> every problem of a refused row
    model_version: str
    threshold: float
    inference_ms: float
    features: np.ndarray | None = None  # the model matrix of the scored rows, aligned with indices


class Scorer:
    def __init__(self, model: ScoringModel):
        self.model = model
        self._ranges = model.training_ranges
        # The same ranges as two rows of the raw matrix, to find out-of-range cells of a batch at once.
        self._low = np.full(len(RAW_COLUMNS), -np.inf)
        self._high = np.full(len(RAW_COLUMNS), np.inf)
        for name, (low, high) in self._ranges.items():
            self._low[RAW_INDEX[name]], self._high[RAW_INDEX[name]] = low, high

    def _warnings(self, clean: dict[str, Any]) -> list[str]:
        out = []
        for name, value in clean.items():
            bounds = self._ranges.get(name)
            if (
                bounds is None
                or isinstance(value, str)
                or (name == "DAYS_EMPLOYED" and value == DAYS_EMPLOYED_PENSIONER)
            ):
                continue
            low, high = bounds
            if value < low or value > high:
                out.append(
                    f"{name}={value:g} is outside the training range [{low:g}, {high:g}]: the score is an extrapolation"
                )
        return out

    def _outside(self, raw: np.ndarray) -> np.ndarray:
        """Rows of a raw matrix with a value outside the training ranges (those get worded warnings)."""
        with np.errstate(invalid="ignore"):
            outside = (raw < self._low) | (raw > self._high)
        outside[:, _EMPLOYED] &= raw[:, _EMPLOYED] != DAYS_EMPLOYED_PENSIONER
        return outside.any(axis=1)

    def _frame_warnings(self, frame: pd.DataFrame, raw: np.ndarray, indices: np.ndarray) -> dict[int, list[str]]:
        """`_warnings` of each scored row of a table, from its raw matrix: same texts, same order.

        The per-row validator keeps a row's fields in the order they were given, so the fields are
        taken in the table's column order; the rows out of range are found on the whole matrix (a
        column the table lacks is NaN there, never out of range) and only theirs are worded.
        """
        order = np.array([RAW_INDEX[n] for n in frame.columns if isinstance(n, str) and n in self._ranges], dtype=int)
        if not len(order) or not len(raw):
            return {}
        flagged = np.flatnonzero(self._outside(raw))
        if not len(flagged):
            return {}
        given = raw[flagged][:, order]
        with np.errstate(invalid="ignore"):
            outside = (given < self._low[order]) | (given > self._high[order])
        employed = np.flatnonzero(order == _EMPLOYED)
        outside[:, employed] &= given[:, employed] != DAYS_EMPLOYED_PENSIONER
        warnings: dict[int, list[str]] = {}
        for k, j in zip(*np.nonzero(outside), strict=True):
            name = RAW_COLUMNS[order[j]]
            low, high = self._ranges[name]
            warnings.setdefault(int(indices[flagged[k]]), []).append(
                f"{name}={float(given[k, j]):g} is outside the training range [{low:g}, {high:g}]: "
                "the score is an extrapolation"
            )
        return warnings

    def _factors(self, raw_row: np.ndarray, feature_row: np.ndarray) -> list[Factor]:
        contrib = self.model.contributions(feature_row[None, :])[0]
        top = np.argsort(-np.abs(contrib))[:TOP_FACTORS]
        return [
            Factor(FEATURE_NAMES[i], display_value(FEATURE_NAMES[i], raw_row, feature_row), float(contrib[i]))
            for i in top
        ]

    def _decision(self, probability: float) -> str:
        return "refuse" if probability >= self.model.threshold else "approve"

    def score(self, payload: Any, *, explain: bool = False) -> Score:
        """Score one application; raise InvalidInput naming the field and the reason."""
        clean, client_ref, row = validate_encoded(payload)
        raw = np.array([row], dtype=np.float64)
        features = build_features(raw)
        started = time.perf_counter()
        probability = float(self.model.predict(features)[0])
        inference_ms = (time.perf_counter() - started) * 1000
        return Score(
            probability=probability,
            decision=self._decision(probability),
            threshold=self.model.threshold,
            model_version=self.model.version,
            warnings=self._warnings(clean) if self._outside(raw)[0] else [],
            inference_ms=inference_ms,
            inputs=clean,
            client_ref=client_ref,
            factors=self._factors(raw[0], features[0]) if explain else None,
            features=features[0],
        )

    def score_batch(self, payloads: Sequence[Any], *, explain: bool = False) -> BatchResult:
        checked = validate_many(list(payloads), CATEGORY_CODES)
        result = BatchResult(errors=checked.errors)
        if not checked.indices:
            return result
        features = build_features(checked.raw)
        started = time.perf_counter()
        probabilities = self.model.predict(features)
        result.inference_ms = (time.perf_counter() - started) * 1000
        per_row_ms = result.inference_ms / len(checked.indices)
        flagged = self._outside(checked.raw)
        for row, index in enumerate(checked.indices):
            probability = float(probabilities[row])
            clean = checked.clean[row]
            result.scores[index] = Score(
                probability=probability,
                decision=self._decision(probability),
                threshold=self.model.threshold,
                model_version=self.model.version,
                warnings=self._warnings(clean) if flagged[row] else [],
                inference_ms=per_row_ms,
                inputs=clean,
                client_ref=checked.client_refs[row],
                factors=self._factors(checked.raw[row], features[row]) if explain else None,
                features=features[row],
            )
        return result

    def score_frame(self, frame: pd.DataFrame) -> FrameScores:
        """Score a table of applications: validated on its columns, then the same features and model.

        Same verdicts, problems, probabilities and decisions as `score_batch` on the rows as JSON
        objects (see scoring.columnar), without building a Python object per row.
        """
        checked = validate_frame(frame)
        probabilities, features = np.empty(0), None
        started = time.perf_counter()
        if len(checked.indices):
            features = build_features(checked.raw)
            probabilities = np.asarray(self.model.predict(features), dtype=np.float64)
        inference_ms = (time.perf_counter() - started) * 1000
        warnings = self._frame_warnings(frame, checked.raw, checked.indices)
        return FrameScores(
            n_rows=checked.n_rows,
            indices=checked.indices,
            raw=checked.raw,
            probabilities=probabilities,
            decisions=np.where(probabilities >= self.model.threshold, "refuse", "approve"),
            client_refs=checked.client_refs,
            warnings=warnings,
            errors=checked.errors,
            model_version=self.model.version,
            threshold=self.model.threshold,
            inference_ms=inference_ms,
            features=features,
        )
