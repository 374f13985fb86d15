"""The NannyML-backed drift monitor: `fit(reference)` once, then `calculate(data)` on logged rows.

Shape borrowed from NannyML, which does the statistics underneath: `DriftMonitor.fit(reference)` once
on the model's holdout (`model/reference.parquet`), then `calculate(predictions, chunking=...)` on
rows read from the prediction log, giving a `MonitoringResult` (`monitoring.drift.result`) with
`to_df()`-style accessors and a JSON-able `summary()`; `monitoring.plots` draws it.

Chunks (`monitoring.drift.chunking`): by time or by count; a chunk of fewer than `MIN_CHUNK_ROWS`
rows gets no statistic and no verdict.

Thresholds. NannyML derives an alert threshold for each statistic from the spread of that statistic
over chunks of the reference (mean + 3 standard deviations). The spread depends on the chunk size, so
the calculators are fitted on reference chunks of a calibration size close to the analysed chunks'
size, on a coarse grid (200, 400, 800 ... rows) and never above a 20th of the reference (a chunk that is
a large part of the reference looks artificially close to it). Analysed chunks are never smaller than
the calibration size, so their thresholds err on the quiet side. One fit per calibration size, cached.

This is the only module that imports NannyML, and `_nannyml()` the only place that turns its usage
analytics off. `monitoring.runner` runs the analysis off the scoring path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from monitoring.alerts.drift import drift_alerts
from monitoring.drift import tables
from monitoring.drift.calibration import fit_platt, logit
from monitoring.drift.chunking import MIN_CHUNK_ROWS, Chunking, assign_chunks, calibration_size, empty_chunks
from monitoring.drift.kpis import histograms, kpis, timeline
from monitoring.drift.result import SCORE_COLUMN, UNSEEN_RATE, MonitoringResult
from monitoring.drift.sampling import DEFAULT_SAMPLE_ROWS, in_time_order, sample_positions
from monitoring.drift.tables import CHUNK_COLUMN, Y_PRED, Y_TRUE
from scoring.costs import BUSINESS_VALUE_MATRIX
from scoring.errors import MonitoringError
from scoring.schema import FIELDS

log = logging.getLogger(__name__)

TOP_FEATURES = 20
CALIBRATED = "_p_calibrated"
# Continuous: distance between histograms + the largest gap between the CDFs. Categorical: distance
# between frequency tables + the largest frequency gap. Chi2 is left out on purpose: its p-value
# alert is not calibrated on reference chunks and fires on trivial differences once chunks hold
# thousands of rows (it raised false alarms on the no-drift stream in our tests).
CONTINUOUS_METHODS = ("jensen_shannon", "kolmogorov_smirnov")
CATEGORICAL_METHODS = ("jensen_shannon", "l_infinity")


def _nannyml() -> Any:
    """Import NannyML with its usage analytics off (it otherwise phones home on every call)."""
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    import nannyml

    return nannyml


def _label_chunker() -> Any:
    """A NannyML chunker that groups rows by our precomputed chunk index.

    NannyML's univariate methods hand their chunker only the column and the timestamp column, so
    the chunk index travels as the "timestamp" column; every calculator then sees the same chunks.
    """
    _nannyml()
    from nannyml.chunk import Chunk, Chunker

    class _LabelChunker(Chunker):
        def _split(self, data: pd.DataFrame) -> list[Chunk]:
            column = self.timestamp_column_name
            return [Chunk(key=str(k), data=part) for k, part in data.groupby(column, sort=True)]

    return _LabelChunker(CHUNK_COLUMN)


@dataclass(slots=True)
class _Fitted:
    univariate: Any
    multivariate: Any
    cbpe: Any
    missing: Any
    unseen: Any


class DriftMonitor:
    """Fit once on the reference, then calculate on any batch of logged predictions."""

    def __init__(
        self,
        *,
        features: Sequence[str],
        threshold: float,
        categorical: Sequence[str] = (),
        unseen_columns: Sequence[str] = (),
    ) -> None:
        self.features = list(features)
        self.threshold = float(threshold)
        self.categorical = [f for f in self.features if f in set(categorical)]
        self.continuous = [f for f in self.features if f not in set(categorical)]
        self.unseen_columns = list(unseen_columns or self.categorical)
        self.reference: pd.DataFrame | None = None
        self.protected = pd.DataFrame()
        self._platt: tuple[float, float] = (1.0, 0.0)
        self._fitted: dict[int, _Fitted] = {}
        self._realized: Any = None
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, model: Any, *, top: int = TOP_FEATURES) -> DriftMonitor:
        """Monitor the model's `top` most important raw inputs (plus its score)."""
        features = list(model.metadata["input_importance"][:top])
        categorical = [n for n in FIELDS if FIELDS[n].kind == "category"]
        model_categorical = list(model.metadata.get("categorical_features", categorical))
        return cls(
            features=features, threshold=model.threshold, categorical=categorical, unseen_columns=model_categorical
        )

    # -- fit
    def fit(self, reference: pd.DataFrame) -> DriftMonitor:
        """Keep the prepared reference and fit the calculators for the largest calibration size (what
        chunks of a day or of a few thousand rows use); smaller sizes are fitted once when first needed."""
        missing = [c for c in [*self.features, SCORE_COLUMN, Y_TRUE, *self.unseen_columns] if c not in reference]
        if missing:
            raise MonitoringError(f"the reference lacks columns {missing[:8]}")
        if len(reference) < 2 * MIN_CHUNK_ROWS:
            raise MonitoringError(f"the reference has {len(reference)} rows; at least {2 * MIN_CHUNK_ROWS} needed")
        self._platt = fit_platt(reference[SCORE_COLUMN].to_numpy(float), reference[Y_TRUE].to_numpy(float))
        self.reference = self._prepare(reference).reset_index(drop=True)
        # fairness monitoring compares groups the model never sees: keep them beside the prepared reference
        self.protected = reference[[c for c in ("CODE_GENDER", "DAYS_BIRTH") if c in reference]].reset_index(drop=True)
        self._calibrated(calibration_size(float(len(reference)), len(reference)))
        return self

    def _calibrated(self, size: int) -> _Fitted:
        if self.reference is None:
            raise MonitoringError("fit the monitor on the reference first")
        if size not in self._fitted:
            started = time.perf_counter()
            # Whole chunks only: a short last chunk would widen every threshold.
            reference = self.reference.iloc[: len(self.reference) // size * size]
            reference = reference.assign(**{CHUNK_COLUMN: np.arange(len(reference)) // size})
            self._fitted[size] = self._fit_calculators(reference)
            log.info("monitor fitted", extra={"calibration_rows": size, "seconds": time.perf_counter() - started})
        return self._fitted[size]

    def _fit_calculators(self, reference: pd.DataFrame) -> _Fitted:
        nml = _nannyml()

        common = {"chunker": _label_chunker(), "timestamp_column_name": CHUNK_COLUMN}
        columns = [*self.features, SCORE_COLUMN]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return _Fitted(
                    univariate=nml.UnivariateDriftCalculator(
                        column_names=columns,
                        treat_as_categorical=self.categorical,
                        treat_as_numerical=[*self.continuous, SCORE_COLUMN],
                        continuous_methods=list(CONTINUOUS_METHODS),
                        categorical_methods=list(CATEGORICAL_METHODS),
                        computation_params={"kolmogorov_smirnov": {"calculation_method": "estimated"}},
                        **common,
                    ).fit(reference),
                    multivariate=nml.DataReconstructionDriftCalculator(column_names=self.features, **common).fit(
                        reference
                    ),
                    cbpe=_cbpe(nml).fit(reference),
                    missing=nml.MissingValuesCalculator(column_names=self.features, **common).fit(reference),
                    unseen=nml.UnseenValuesCalculator(
                        column_names=self.unseen_columns,
                        threshold=nml.thresholds.ConstantThreshold(upper=UNSEEN_RATE),
                        **common,
                    ).fit(reference),
                )
        except Exception as exc:  # NannyML raises its own and foreign types
            raise MonitoringError(f"NannyML could not fit on the reference: {exc}") from exc

    # -- what the realized-performance analysis (monitoring.drift.performance) borrows
    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows as the calculators read them: inputs, score, decision (`Y_PRED`), calibrated score."""
        return self._prepare(frame)

    def estimator(self, rows_per_chunk: float) -> Any:
        """CBPE fitted for chunks of about `rows_per_chunk` rows (the one `calculate` would use)."""
        if self.reference is None:
            raise MonitoringError("fit the monitor on the reference first")
        with self._lock:
            return self._calibrated(calibration_size(rows_per_chunk, len(self.reference))).cbpe

    def realized_calculator(self) -> Any:
        """NannyML's PerformanceCalculator (ROC AUC, business value) fitted on the reference, once."""
        if self.reference is None:
            raise MonitoringError("fit the monitor on the reference first")
        with self._lock:
            if self._realized is None:
                nml = _nannyml()
                size = calibration_size(float(len(self.reference)), len(self.reference))
                reference = self.reference.assign(**{CHUNK_COLUMN: np.arange(len(self.reference)) // size})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._realized = nml.PerformanceCalculator(
                        metrics=["roc_auc", "business_value"],
                        y_pred_proba=SCORE_COLUMN,
                        y_pred=Y_PRED,
                        y_true=Y_TRUE,
                        problem_type="classification_binary",
                        business_value_matrix=BUSINESS_VALUE_MATRIX,
                        chunker=_label_chunker(),
                        timestamp_column_name=CHUNK_COLUMN,
                    ).fit(reference)
            return self._realized

    def _prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The columns NannyML needs, with plain dtypes: labels as objects, numbers as float64."""
        keep = [c for c in dict.fromkeys([*self.features, *self.unseen_columns, SCORE_COLUMN, Y_TRUE]) if c in frame]
        out = pd.DataFrame(index=frame.index)
        for name in keep:
            column = frame[name]
            if name in FIELDS and FIELDS[name].kind == "category":
                out[name] = column.astype(object).where(column.notna(), np.nan)
            else:
                out[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        out[Y_PRED] = (out[SCORE_COLUMN] >= self.threshold).astype("int64")
        slope, intercept = self._platt
        out[CALIBRATED] = expit(slope * logit(out[SCORE_COLUMN].to_numpy(float)) + intercept)
        return out

    # -- calculate
    def calculate(
        self,
        predictions: pd.DataFrame,
        *,
        chunking: Chunking | None = None,
        rejections: pd.DataFrame | None = None,
        window: dict[str, str | None] | None = None,
        sample_rows: int | None = DEFAULT_SAMPLE_ROWS,
    ) -> MonitoringResult:
        """Analyse logged rows (`ts`, `probability`, inputs); statistics on <= `sample_rows` a chunk, KPIs on all."""
        if self.reference is None:
            raise MonitoringError("fit the monitor on the reference first")
        started = time.perf_counter()
        chunking = chunking or Chunking()
        frame = in_time_order(predictions)
        chunks, index = assign_chunks(frame, chunking) if len(frame) else (empty_chunks(), np.array([], int))
        kept = sample_positions(frame, index, max_rows=sample_rows)
        chunks["analysed"] = np.bincount(index[kept], minlength=len(chunks)).astype("int64")
        valid = chunks[chunks["enough"]]
        size = calibration_size(float(valid["analysed"].median()) if len(valid) else 0, len(self.reference))
        data = self._prepare(frame.iloc[kept]).assign(**{CHUNK_COLUMN: index[kept]}) if len(frame) else None
        with self._lock:
            stats = self._statistics(data, chunks, size) if data is not None and len(valid) else tables.no_statistics()
        result = MonitoringResult(
            chunks=chunks,
            **stats,
            timeline=timeline(
                frame, chunking, rejections, keys=chunks["key"].to_numpy()[index] if len(frame) else None
            ),
            histograms=histograms(frame, self.reference),
            kpis=kpis(frame, rejections) | self._reference_kpis(),
            alerts=[],
            chunking=chunking,
            window=window or {},
            reference_rows=len(self.reference),
            calibration_rows=size if len(valid) else 0,
        )
        result.alerts = drift_alerts(result, top=self.features[:5])
        result.computed_at = datetime.now(UTC).isoformat(timespec="seconds")
        result.compute_seconds = round(time.perf_counter() - started, 3)
        return result

    def _reference_kpis(self) -> dict[str, float]:
        """The holdout's own headline numbers, beside which the window's are shown."""
        score = self.reference[SCORE_COLUMN]
        return {
            "threshold": self.threshold,
            "reference_approval_rate": round(float((score < self.threshold).mean()), 4),
            "reference_mean_probability": round(float(score.mean()), 4),
        }

    def _statistics(self, data: pd.DataFrame, chunks: pd.DataFrame, size: int) -> dict[str, pd.DataFrame]:
        fitted = self._calibrated(size)
        enough = chunks.loc[chunks["enough"], "chunk"].to_numpy()
        data = data[np.isin(data[CHUNK_COLUMN].to_numpy(), enough)]
        out: dict[str, pd.DataFrame] = {}
        steps = {
            "univariate": lambda: tables.univariate(fitted.univariate.calculate(data), self.categorical),
            "multivariate": lambda: tables.multivariate(fitted.multivariate.calculate(data)),
            "performance": lambda: tables.performance(fitted.cbpe.estimate(data), data, size),
            "missing": lambda: tables.missing(fitted.missing.calculate(data), self.reference),
            "unseen": lambda: tables.unseen(fitted.unseen.calculate(data), data, self.reference),
        }
        for name, step in steps.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[name] = tables.with_chunks(step(), chunks)
            except Exception as exc:  # NannyML raises its own and foreign types
                raise MonitoringError(f"{name} analysis failed: {exc}") from exc
            time.sleep(0)  # a yield between calculators: let the serving threads take the GIL
        return out


def _cbpe(nml: Any) -> Any:
    """An unfitted CBPE on the calibrated score (ROC AUC, business value), chunked by our chunk index."""
    return nml.CBPE(
        metrics=["roc_auc", "business_value"],
        y_pred_proba=CALIBRATED,
        y_pred=Y_PRED,
        y_true=Y_TRUE,
        problem_type="classification_binary",
        business_value_matrix=BUSINESS_VALUE_MATRIX,
        calibrator=nml.calibration.NoopCalibrator(),
        chunker=_label_chunker(),
        timestamp_column_name=CHUNK_COLUMN,
    )


@dataclass(frozen=True, slots=True)
class ScoreEstimator:
    """CBPE of one model from its score alone, fitted on its scores of the reference (`fit_score_estimator`):
    champion and challenger are estimated alike; `frame(scores, chunk)` gives the rows `cbpe.estimate` reads."""

    threshold: float
    platt: tuple[float, float]
    cbpe: Any = None

    def frame(self, scores: np.ndarray, chunk: np.ndarray) -> pd.DataFrame:
        p, (slope, intercept) = np.asarray(scores, dtype=float), self.platt
        calibrated, predicted = expit(slope * logit(p) + intercept), (p >= self.threshold).astype("int64")
        return pd.DataFrame({SCORE_COLUMN: p, Y_PRED: predicted, CALIBRATED: calibrated, CHUNK_COLUMN: chunk})


def fit_score_estimator(scores: np.ndarray, target: np.ndarray, *, threshold: float) -> ScoreEstimator:
    """A `ScoreEstimator` fitted on reference scores and labels (rows with a NaN score are left out)."""
    keep = np.isfinite(np.asarray(scores, dtype=float))
    scores, target = np.asarray(scores, dtype=float)[keep], np.asarray(target)[keep].astype(int)
    if len(scores) < 2 * MIN_CHUNK_ROWS:
        raise MonitoringError(f"{len(scores)} scored reference rows; at least {2 * MIN_CHUNK_ROWS} needed")
    bare = ScoreEstimator(float(threshold), fit_platt(scores, target.astype(float)))
    size = calibration_size(float(len(scores)), len(scores))
    whole = len(scores) // size * size
    reference = bare.frame(scores[:whole], np.arange(whole) // size).assign(**{Y_TRUE: target[:whole]})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cbpe = _cbpe(_nannyml()).fit(reference)
    except Exception as exc:  # NannyML raises its own and foreign types
        raise MonitoringError(f"NannyML could not fit CBPE on the reference scores: {exc}") from exc
    return ScoreEstimator(bare.threshold, bare.platt, cbpe)


def load_reference(model_dir: str | Path) -> pd.DataFrame:
    from scoring.model import REFERENCE_FILE

    path = Path(model_dir) / REFERENCE_FILE
    if not path.is_file():
        raise MonitoringError(f"no reference data at {path}")
    return pd.read_parquet(path)


@cache
def fitted_monitor(model_dir: str, top: int = TOP_FEATURES) -> DriftMonitor:
    """One fitted monitor per model folder and process: the fit is never repeated per request."""
    from scoring.model import load_model

    return DriftMonitor.for_model(load_model(model_dir), top=top).fit(load_reference(model_dir))
