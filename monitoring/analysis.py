"""Production monitoring: drift, data quality and label-free performance of the logged predictions.

Shape borrowed from NannyML, which does the statistics underneath: `DriftMonitor.fit(reference)` once
on the model's holdout (`model/reference.parquet`), then `calculate(predictions, chunking=...)` on
rows read from the prediction log, giving a `MonitoringResult` with `to_df()`-style accessors, a
JSON-able `summary()` and plotly figures (`monitoring.charts`).

Chunks. Rows are cut into chunks by time (`Chunking(period="h" | "D")`) or by count
(`Chunking(size=N)`). A chunk of fewer than `MIN_CHUNK_ROWS` rows gets no statistic and no verdict:
it is reported as "not enough data".

Thresholds. NannyML derives an alert threshold for each statistic from the spread of that statistic
over chunks of the reference (mean + 3 standard deviations). The spread depends on the chunk size, so
the calculators are fitted on reference chunks of a calibration size close to the analysed chunks'
size, on a coarse grid (200, 400, 800 ... rows) and never above a 20th of the reference (a chunk that is
a large part of the reference looks artificially close to it). Analysed chunks are never smaller than
the calibration size, so their thresholds err on the quiet side. One fit per calibration size, cached.

`AnalysisRunner` runs all this off the scoring path (a worker thread, or a separate low-priority
process) and keeps the latest result with its computation time.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from scoring.costs import BUSINESS_VALUE_MATRIX, cost_per_1000
from scoring.errors import MonitoringError
from scoring.schema import FIELDS

log = logging.getLogger(__name__)

MIN_CHUNK_ROWS = 200
NOT_ENOUGH_DATA = "not enough data"
TOP_FEATURES = 20
SCORE_COLUMN = "probability"
CHUNK_COLUMN = "_chunk"  # NannyML's "timestamp" column: our own chunk index (see _LabelChunker)
Y_PRED, Y_TRUE = "_y_pred", "TARGET"
CALIBRATED = "_p_calibrated"
# Continuous: distance between histograms + the largest gap between the CDFs. Categorical: distance
# between frequency tables + the largest frequency gap. Chi2 is left out on purpose: its p-value
# alert is not calibrated on reference chunks and fires on trivial differences once chunks hold
# thousands of rows (it raised false alarms on the no-drift stream in our tests).
CONTINUOUS_METHODS = ("jensen_shannon", "kolmogorov_smirnov")
CATEGORICAL_METHODS = ("jensen_shannon", "l_infinity")
# Business value of each (truth, decision) cell, refuse = 1: a missed defaulter costs 10, a refused
# good client 1 (scoring.evaluation). NannyML maximises value, so cost = -value.
# A label absent from the reference alerts once it reaches 1% of a chunk's rows: labels rarer than one
# in a few thousand are simply missing from a reference of a few thousand rows and would alert forever.
UNSEEN_RATE = 0.01
MISSING_TOLERANCE = 0.01
WINDOWS: dict[str, timedelta | None] = {
    "last hour": timedelta(hours=1),
    "last 24 h": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "all": None,
}


# --------------------------------------------------------------------------------------- chunking


@dataclass(frozen=True, slots=True)
class Chunking:
    """How rows are cut into chunks: by time period (pandas alias "h", "D", "W") or by row count."""

    period: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.period is None and self.size is None:
            object.__setattr__(self, "period", "D")  # frozen dataclass: the default chunk is a day
        if self.period is not None and self.size is not None:
            raise ValueError("give either a period or a size, not both")
        if self.size is not None and self.size < MIN_CHUNK_ROWS:
            raise ValueError(f"chunk size must be at least {MIN_CHUNK_ROWS} rows")

    @classmethod
    def parse(cls, text: str) -> Chunking:
        """ "h", "D", "W" -> by period; "size:500" or "500" -> by count."""
        text = text.strip()
        number = text.removeprefix("size:")
        return cls(period=None, size=int(number)) if number.isdigit() else cls(period=text)

    def label(self) -> str:
        return (
            f"{self.size} rows"
            if self.size
            else {"h": "hour", "D": "day", "W": "week"}.get(self.period or "", str(self.period))
        )


def assign_chunks(frame: pd.DataFrame, chunking: Chunking) -> tuple[pd.DataFrame, np.ndarray]:
    """Chunk table (key, start, end, rows, enough) and the row -> chunk index, in time order."""
    ts = frame["ts"]
    if chunking.size:
        index = np.arange(len(frame)) // chunking.size
        groups = pd.DataFrame({"index": index, "ts": ts.to_numpy()}).groupby("index")["ts"]
        table = pd.DataFrame({"start": groups.min(), "end": groups.max(), "rows": groups.size()})
        table["key"] = [f"#{i + 1}" for i in table.index]
    else:
        periods = ts.dt.tz_convert(UTC).dt.tz_localize(None).dt.to_period(chunking.period)
        uniques = pd.Index(periods.unique()).sort_values()
        index = uniques.get_indexer(periods)
        table = pd.DataFrame(
            {
                "start": [p.start_time.tz_localize(UTC) for p in uniques],
                "end": [p.end_time.tz_localize(UTC) for p in uniques],
                "rows": np.bincount(index, minlength=len(uniques)),
                "key": [_period_key(p, chunking.period or "") for p in uniques],
            }
        )
    table = table.reset_index(drop=True)
    table["enough"] = table["rows"] >= MIN_CHUNK_ROWS
    table.insert(0, "chunk", np.arange(len(table)))
    return table[["chunk", "key", "start", "end", "rows", "enough"]], index


def _period_key(period: pd.Period, alias: str) -> str:
    return period.strftime("%Y-%m-%d %H:00" if alias.lower().startswith("h") else "%Y-%m-%d")


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


def calibration_size(rows_per_chunk: float, reference_rows: int) -> int:
    """Reference chunk size for thresholds: 200 x 2^k, at most the analysed chunk size and ref/20."""
    ceiling = max(MIN_CHUNK_ROWS, reference_rows // 20)
    target = min(max(rows_per_chunk, MIN_CHUNK_ROWS), ceiling)
    return int(MIN_CHUNK_ROWS * 2 ** int(np.floor(np.log2(target / MIN_CHUNK_ROWS))))


# ------------------------------------------------------------------------------------------ result


@dataclass(slots=True)
class MonitoringResult:
    """Everything one analysis found. Frames are long ("tidy"), one row per chunk and statistic."""

    chunks: pd.DataFrame  # chunk, key, start, end, rows, enough
    univariate: pd.DataFrame  # chunk, key, feature, kind, method, value, threshold, alert (NA: not enough data)
    multivariate: pd.DataFrame  # chunk, key, value, lower/upper_threshold, lower/upper_band, alert
    performance: pd.DataFrame  # chunk, key, metric, estimate, lower/upper_band, lower/upper_threshold, alert, realized
    missing: pd.DataFrame  # chunk, key, feature, rate, reference_rate, upper_threshold, alert
    unseen: pd.DataFrame  # chunk, key, feature, rate, values, alert
    timeline: pd.DataFrame  # per time bucket: rows, mean probability, approval, latency/inference percentiles
    histograms: dict[str, Any]  # score (production vs reference), latency, inference: bin edges and counts
    kpis: dict[str, Any]
    alerts: list[dict[str, Any]]
    chunking: Chunking
    window: dict[str, str | None] = field(default_factory=dict)
    reference_rows: int = 0
    calibration_rows: int = 0
    computed_at: str = ""
    compute_seconds: float = 0.0

    def to_df(self, what: str = "univariate") -> pd.DataFrame:
        """One of: chunks, univariate, multivariate, performance, missing, unseen, timeline."""
        if what not in {"chunks", "univariate", "multivariate", "performance", "missing", "unseen", "timeline"}:
            raise ValueError(f"unknown table {what!r}")
        return getattr(self, what).copy()

    def drift_ranking(self) -> pd.DataFrame:
        """Features ranked by how many chunks alerted, then by how far above the threshold they went."""
        return drift_ranking(self.univariate)

    def summary(self) -> dict[str, Any]:
        return build_summary(self)

    def plot(self, kind: str) -> Any:
        from monitoring import charts

        return charts.figure(kind, self)


# ----------------------------------------------------------------------------------------- monitor


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
        self._platt: tuple[float, float] = (1.0, 0.0)
        self._fitted: dict[int, _Fitted] = {}
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
        self._platt = _fit_platt(reference[SCORE_COLUMN].to_numpy(float), reference[Y_TRUE].to_numpy(float))
        self.reference = self._prepare(reference).reset_index(drop=True)
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
                    cbpe=nml.CBPE(
                        metrics=["roc_auc", "business_value"],
                        y_pred_proba=CALIBRATED,
                        y_pred=Y_PRED,
                        y_true=Y_TRUE,
                        problem_type="classification_binary",
                        business_value_matrix=BUSINESS_VALUE_MATRIX,
                        calibrator=nml.calibration.NoopCalibrator(),
                        **common,
                    ).fit(reference),
                    missing=nml.MissingValuesCalculator(column_names=self.features, **common).fit(reference),
                    unseen=nml.UnseenValuesCalculator(
                        column_names=self.unseen_columns,
                        threshold=nml.thresholds.ConstantThreshold(upper=UNSEEN_RATE),
                        **common,
                    ).fit(reference),
                )
        except Exception as exc:  # NannyML raises its own and foreign types
            raise MonitoringError(f"NannyML could not fit on the reference: {exc}") from exc

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
        out[CALIBRATED] = expit(slope * _logit(out[SCORE_COLUMN].to_numpy(float)) + intercept)
        return out

    # -- calculate
    def calculate(
        self,
        predictions: pd.DataFrame,
        *,
        chunking: Chunking | None = None,
        rejections: pd.DataFrame | None = None,
        window: dict[str, str | None] | None = None,
    ) -> MonitoringResult:
        """Analyse logged prediction rows (`ts`, `probability`, the inputs; latency columns optional)."""
        if self.reference is None:
            raise MonitoringError("fit the monitor on the reference first")
        started = time.perf_counter()
        chunking = chunking or Chunking()
        frame = predictions.sort_values("ts", kind="stable").reset_index(drop=True) if len(predictions) else predictions
        chunks, index = assign_chunks(frame, chunking) if len(frame) else (_empty_chunks(), np.array([], int))
        valid = chunks[chunks["enough"]]
        size = calibration_size(float(valid["rows"].median()) if len(valid) else 0, len(self.reference))
        data = self._prepare(frame).assign(**{CHUNK_COLUMN: index}) if len(frame) else None
        with self._lock:
            stats = self._statistics(data, chunks, size) if data is not None and len(valid) else _no_statistics()
        result = MonitoringResult(
            chunks=chunks,
            **stats,
            timeline=timeline(frame, chunking, rejections),
            histograms=histograms(frame, self.reference),
            kpis=kpis(frame, rejections) | {"threshold": self.threshold},
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

    def _statistics(self, data: pd.DataFrame, chunks: pd.DataFrame, size: int) -> dict[str, pd.DataFrame]:
        fitted = self._calibrated(size)
        enough = chunks.loc[chunks["enough"], "chunk"].to_numpy()
        data = data[np.isin(data[CHUNK_COLUMN].to_numpy(), enough)]
        out: dict[str, pd.DataFrame] = {}
        steps = {
            "univariate": lambda: _univariate(fitted.univariate.calculate(data), self.categorical),
            "multivariate": lambda: _multivariate(fitted.multivariate.calculate(data)),
            "performance": lambda: _performance(fitted.cbpe.estimate(data), data, size),
            "missing": lambda: _missing(fitted.missing.calculate(data), self.reference),
            "unseen": lambda: _unseen(fitted.unseen.calculate(data), data, self.reference),
        }
        for name, step in steps.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out[name] = _with_chunks(step(), chunks)
            except Exception as exc:  # NannyML raises its own and foreign types
                raise MonitoringError(f"{name} analysis failed: {exc}") from exc
            time.sleep(0)  # a yield between calculators: let the serving threads take the GIL
        return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _fit_platt(score: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Slope and intercept recalibrating the score on the reference labels (logistic on its logit).

    CBPE estimates performance from probabilities it assumes calibrated. NannyML calibrates only if
    isotonic regression beats the raw score in every one of 10 folds, which a few thousand rows with
    8% defaults rarely allow; a two-parameter fit is stable on such a reference, keeps the ranking
    (no ties, unlike isotonic steps) and is the identity when the model is already calibrated.
    """
    from sklearn.linear_model import LogisticRegression

    keep = np.isfinite(score) & np.isfinite(target)
    if len(np.unique(target[keep])) < 2:
        return 1.0, 0.0
    fit = LogisticRegression(C=1e6).fit(_logit(score[keep])[:, None], target[keep].astype(int))
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _empty_chunks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chunk": pd.Series([], dtype="int64"),
            "key": pd.Series([], dtype=object),
            "start": pd.Series([], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([], dtype="datetime64[ns, UTC]"),
            "rows": pd.Series([], dtype="int64"),
            "enough": pd.Series([], dtype=bool),
        }
    )


_EMPTY_COLUMNS = {
    "univariate": ["feature", "kind", "method", "value", "threshold", "alert"],
    "multivariate": ["value", "lower_threshold", "upper_threshold", "lower_band", "upper_band", "alert"],
    "performance": [
        "metric",
        "estimate",
        "lower_band",
        "upper_band",
        "lower_threshold",
        "upper_threshold",
        "alert",
        "realized",
    ],
    "missing": ["feature", "rate", "reference_rate", "upper_threshold", "alert"],
    "unseen": ["feature", "rate", "values", "alert"],
}


def _no_statistics() -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(columns=["chunk", "key", *cols]) for name, cols in _EMPTY_COLUMNS.items()}


def _with_chunks(frame: pd.DataFrame, chunks: pd.DataFrame) -> pd.DataFrame:
    """Every chunk appears; those without enough rows carry NaN statistics and a missing (NA) alert."""
    frame = frame.copy()
    frame["chunk"] = frame["chunk"].astype("int64")
    per_chunk = [c for c in frame.columns if c not in {"chunk", "feature", "kind", "method", "metric"}]
    keys = [c for c in ("feature", "kind", "method", "metric") if c in frame.columns]
    combos = frame[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    grid = chunks[["chunk", "key"]].merge(combos, how="cross")
    merged = grid.merge(frame, on=["chunk", *keys], how="left")
    merged["alert"] = merged["alert"].astype("boolean")
    return merged[["chunk", "key", *keys, *per_chunk]]


def _chunk_ids(frame: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(frame[("chunk", "key")] if ("chunk", "key") in frame else frame[("chunk", "chunk", "key")])


def _univariate(result: Any, categorical: Sequence[str]) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    chunk = pd.to_numeric(df[("chunk", "chunk", "key")])
    rows = []
    for feature, method in {(c[0], c[1]) for c in df.columns if c[0] != "chunk"}:
        part = df[feature][method]
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "kind": "categorical" if feature in categorical else "continuous",
                    "method": method,
                    "value": part["value"].astype(float),
                    "threshold": part["upper_threshold"].astype(float),
                    "alert": part["alert"].astype("boolean"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True).sort_values(["feature", "method", "chunk"], ignore_index=True)


def _multivariate(result: Any) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    part = df["reconstruction_error"]
    return pd.DataFrame(
        {
            "chunk": _chunk_ids(df),
            "value": part["value"],
            "lower_threshold": part["lower_threshold"],
            "upper_threshold": part["upper_threshold"],
            "lower_band": part["lower_confidence_boundary"],
            "upper_band": part["upper_confidence_boundary"],
            "alert": part["alert"].astype("boolean"),
        }
    )


def _performance(result: Any, data: pd.DataFrame, calibration_rows: int) -> pd.DataFrame:
    """CBPE's estimates. The business value comes as a total per chunk (NannyML's "per_prediction"
    normalises per predicted class, not per row), so it is turned here into a cost per 1,000
    applications; the thresholds, totals over reference chunks of `calibration_rows`, likewise."""
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = data.groupby(CHUNK_COLUMN).size().reindex(chunk).to_numpy(dtype=float)
    auc, value = df["roc_auc"], df["business_value"]
    per_1000 = {
        c: -1000.0 * value[c].astype(float).to_numpy() / rows
        for c in ("value", "lower_confidence_boundary", "upper_confidence_boundary")
    }
    low_cost, high_cost = (
        -1000.0 * value[c].astype(float).to_numpy() / calibration_rows for c in ("upper_threshold", "lower_threshold")
    )
    cost = per_1000["value"]
    frames = [
        pd.DataFrame(
            {
                "chunk": chunk,
                "metric": "roc_auc",
                "estimate": auc["value"],
                "lower_band": auc["lower_confidence_boundary"],
                "upper_band": auc["upper_confidence_boundary"],
                "lower_threshold": auc["lower_threshold"],
                "upper_threshold": auc["upper_threshold"],
                "alert": auc["alert"].astype("boolean"),
            }
        ),
        pd.DataFrame(
            {
                "chunk": chunk,
                "metric": "business_cost_per_1000",
                "estimate": cost,
                "lower_band": per_1000["upper_confidence_boundary"],
                "upper_band": per_1000["lower_confidence_boundary"],
                "lower_threshold": low_cost,
                "upper_threshold": high_cost,
                "alert": pd.array((cost > high_cost) | (cost < low_cost), dtype="boolean"),
            }
        ),
    ]
    out = pd.concat(frames, ignore_index=True)
    out["realized"] = _realized(data, out)
    return out


def _realized(data: pd.DataFrame, estimates: pd.DataFrame) -> np.ndarray:
    """Realised AUC and cost per chunk when the rows carry labels (simulations, late labels)."""
    if Y_TRUE not in data or data[Y_TRUE].isna().all():
        return np.full(len(estimates), np.nan)
    from sklearn.metrics import roc_auc_score

    values = {}
    for chunk, part in data.groupby(CHUNK_COLUMN):
        labelled = part[part[Y_TRUE].notna()]
        y, p, d = labelled[Y_TRUE].to_numpy(), labelled[SCORE_COLUMN].to_numpy(), labelled[Y_PRED].to_numpy()
        auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else np.nan
        cost = cost_per_1000(y, d)
        values[(chunk, "roc_auc")], values[(chunk, "business_cost_per_1000")] = auc, cost
    return np.array([values.get((c, m), np.nan) for c, m in zip(estimates["chunk"], estimates["metric"], strict=True)])


def _missing(result: Any, reference: pd.DataFrame) -> pd.DataFrame:
    """Missing rates. The threshold is NannyML's, but never less than the reference rate + 1 point:
    a field (almost) never missing in the reference would otherwise alert on a single blank."""
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = []
    for feature in [c[0] for c in df.columns if c[0] != "chunk" and c[1] == "value"]:
        part, base = df[feature], float(reference[feature].isna().mean())
        rate = part["value"].astype(float)
        upper = np.maximum(part["upper_threshold"].astype(float).fillna(0.0), base + MISSING_TOLERANCE)
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "rate": rate,
                    "reference_rate": base,
                    "upper_threshold": upper,
                    "alert": pd.array(rate > upper, dtype="boolean"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _unseen(result: Any, data: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    df = result.filter(period="analysis").to_df()
    chunk = _chunk_ids(df)
    rows = []
    for feature in [c[0] for c in df.columns if c[0] != "chunk" and c[1] == "value"]:
        seen = set(reference[feature].dropna())
        labels = data[feature].where(~data[feature].isin(seen) & data[feature].notna())
        found = labels.groupby(data[CHUNK_COLUMN]).agg(lambda s: sorted(set(s.dropna())))
        rows.append(
            pd.DataFrame(
                {
                    "chunk": chunk,
                    "feature": feature,
                    "rate": df[feature]["value"].astype(float),
                    "values": [found.get(c, []) for c in chunk],
                    "alert": df[feature]["alert"].astype("boolean"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------- KPIs and timelines


def _percentiles(values: pd.Series, prefix: str) -> dict[str, float | None]:
    clean = pd.to_numeric(values, errors="coerce").dropna()
    return {f"{prefix}_p{q}": (round(float(np.percentile(clean, q)), 3) if len(clean) else None) for q in (50, 95, 99)}


def kpis(frame: pd.DataFrame, rejections: pd.DataFrame | None = None) -> dict[str, Any]:
    """Headline numbers of a window: volume, approvals, mean score, latency, rejected requests, versions."""
    n, rejected = len(frame), 0 if rejections is None else len(rejections)
    decisions = frame["decision"] if "decision" in frame else pd.Series(dtype=object)
    versions = frame["model_version"].dropna().unique() if "model_version" in frame else []
    out: dict[str, Any] = {
        "predictions": n,
        "rejections": rejected,
        "rejected_rate": round(rejected / (n + rejected), 4) if n + rejected else None,
        "approval_rate": round(float((decisions == "approve").mean()), 4) if len(decisions) else None,
        "mean_probability": round(float(frame[SCORE_COLUMN].mean()), 4) if n else None,
        "model_versions": sorted(map(str, versions)),
        "first_ts": frame["ts"].min().isoformat() if n else None,
        "last_ts": frame["ts"].max().isoformat() if n else None,
    }
    for column, prefix in (("latency_ms", "latency_ms"), ("inference_ms", "inference_ms")):
        out |= _percentiles(frame[column] if column in frame else pd.Series(dtype=float), prefix)
    return out


def timeline(frame: pd.DataFrame, chunking: Chunking, rejections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per time bucket (the chunk period, or hour/day for size chunks): volume, score, approvals, latency."""
    columns = [
        "start",
        "rows",
        "mean_probability",
        "approval_rate",
        "rejections",
        "rejected_rate",
        *[f"{m}_p{q}" for m in ("latency_ms", "inference_ms") for q in (50, 95, 99)],
    ]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    span = frame["ts"].max() - frame["ts"].min()
    freq = chunking.period or ("h" if span <= pd.Timedelta(days=2) else "D")
    bucket = frame["ts"].dt.floor(_floor_alias(freq))
    grouped = frame.groupby(bucket)
    out = pd.DataFrame({"rows": grouped.size(), "mean_probability": grouped[SCORE_COLUMN].mean()})
    out["approval_rate"] = grouped["decision"].agg(lambda s: (s == "approve").mean()) if "decision" in frame else np.nan
    for column in ("latency_ms", "inference_ms"):
        values = pd.to_numeric(frame[column], errors="coerce") if column in frame else pd.Series(np.nan, frame.index)
        for q in (50, 95, 99):
            out[f"{column}_p{q}"] = values.groupby(bucket).quantile(q / 100)
    rejected = (
        rejections["ts"].dt.floor(_floor_alias(freq)).value_counts()
        if rejections is not None and len(rejections)
        else pd.Series(dtype="int64")
    )
    out["rejections"] = rejected.reindex(out.index).fillna(0).astype(int)
    out["rejected_rate"] = out["rejections"] / (out["rows"] + out["rejections"])
    return out.rename_axis("start").reset_index()[columns]


def _floor_alias(freq: str) -> str:
    # Period aliases ("D", "W") and floor aliases differ for weeks; floor by day then.
    return "D" if freq.upper().startswith("W") else freq


def histograms(frame: pd.DataFrame, reference: pd.DataFrame) -> dict[str, Any]:
    """Binned scores (production vs reference) and latencies: small, JSON-able, enough to plot."""
    edges = np.linspace(0.0, 1.0, 51)
    out: dict[str, Any] = {
        "score": {
            "edges": edges.tolist(),
            "production": np.histogram(frame[SCORE_COLUMN].dropna(), edges)[0].tolist() if len(frame) else [],
            "reference": np.histogram(reference[SCORE_COLUMN].dropna(), edges)[0].tolist(),
        },
    }
    for column in ("latency_ms", "inference_ms"):
        values = pd.to_numeric(frame[column], errors="coerce").dropna() if column in frame else pd.Series(dtype=float)
        if len(values):
            top = max(float(np.percentile(values, 99.5)), 1e-3)
            counts, bins = np.histogram(values.clip(upper=top), bins=40)
            out[column] = {"edges": bins.tolist(), "counts": counts.tolist()}
        else:
            out[column] = {"edges": [], "counts": []}
    return out


# -------------------------------------------------------------------------------- alerts, summary


def drift_ranking(univariate: pd.DataFrame) -> pd.DataFrame:
    """One row per (feature, method): alerting chunks, valid chunks, worst value / threshold."""
    if univariate.empty:
        return pd.DataFrame(
            columns=["feature", "kind", "method", "threshold", "alert_chunks", "valid_chunks", "max_value", "max_ratio"]
        )
    valid = univariate[univariate["alert"].notna()].copy()
    valid["ratio"] = valid["value"] / valid["threshold"].where(valid["threshold"] > 0)
    grouped = valid.groupby(["feature", "kind", "method"], as_index=False)
    table = grouped.agg(
        threshold=("threshold", "median"),
        alert_chunks=("alert", "sum"),
        valid_chunks=("alert", "size"),
        max_value=("value", "max"),
        max_ratio=("ratio", "max"),
    )
    table["alert_chunks"] = table["alert_chunks"].astype(int)
    return table.sort_values(["alert_chunks", "max_ratio"], ascending=False, ignore_index=True)


def _severity(feature: str, share: float, top: Sequence[str]) -> str:
    return "high" if feature in top or share >= 0.5 else "medium" if share >= 0.2 else "low"


def _alert(
    kind: str, feature: str, method: str, threshold: float | None, chunks: list[str], severity: str, message: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "feature": feature,
        "method": method,
        "threshold": None if threshold is None or pd.isna(threshold) else round(float(threshold), 6),
        "chunks": chunks,
        "severity": severity,
        "message": message,
    }


def drift_alerts(result: MonitoringResult, *, top: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every alert of the result, most severe first: univariate, multivariate, data quality, performance."""
    valid_chunks = max(int(result.chunks["enough"].sum()), 1)
    out = []
    uni = result.univariate[result.univariate["alert"].fillna(False).astype(bool)]
    for (feature, method), part in uni.groupby(["feature", "method"], sort=False):
        keys, share = part["key"].tolist(), len(part) / valid_chunks
        target = "the model's score" if feature == SCORE_COLUMN else feature
        out.append(
            _alert(
                "univariate",
                feature,
                method,
                part["threshold"].median(),
                keys,
                "high" if feature == SCORE_COLUMN else _severity(feature, share, top),
                f"{target}: {method} {part['value'].max():.3f} above its threshold "
                f"{part['threshold'].median():.3f} in {len(keys)}/{valid_chunks} chunks",
            )
        )
    multi = result.multivariate[result.multivariate["alert"].fillna(False).astype(bool)]
    if len(multi):
        out.append(
            _alert(
                "multivariate",
                "*",
                "data_reconstruction",
                multi["upper_threshold"].median(),
                multi["key"].tolist(),
                _severity("*", len(multi) / valid_chunks, ()),
                f"the joint distribution of the monitored inputs moved (PCA reconstruction error) in "
                f"{len(multi)}/{valid_chunks} chunks",
            )
        )
    for (feature,), part in _alerting(result.missing, ["feature"]):
        out.append(
            _alert(
                "missing_values",
                feature,
                "missing_rate",
                part["upper_threshold"].median(),
                part["key"].tolist(),
                _severity(feature, len(part) / valid_chunks, top),
                f"{feature}: {part['rate'].max():.1%} missing (reference "
                f"{part['reference_rate'].iloc[0]:.1%}) in {len(part)}/{valid_chunks} chunks",
            )
        )
    for (feature,), part in _alerting(result.unseen, ["feature"]):
        labels = sorted({v for values in part["values"] for v in values})
        out.append(
            _alert(
                "unseen_values",
                feature,
                "unseen_rate",
                UNSEEN_RATE,
                part["key"].tolist(),
                "high",
                f"{feature}: labels never seen in the reference {labels} ({part['rate'].max():.1%} of "
                f"rows; the model scores them as missing) in {len(part)}/{valid_chunks} chunks",
            )
        )
    for (metric,), part in _alerting(result.performance, ["metric"]):
        out.append(
            _alert(
                "performance",
                metric,
                "cbpe",
                None,
                part["key"].tolist(),
                "high",
                f"estimated {metric} {part['estimate'].iloc[-1]:.3f} outside the reference range "
                f"[{part['lower_threshold'].iloc[-1]:.3f}, {part['upper_threshold'].iloc[-1]:.3f}] in "
                f"{len(part)}/{valid_chunks} chunks",
            )
        )
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(out, key=lambda a: (order[a["severity"]], -len(a["chunks"])))


def _alerting(frame: pd.DataFrame, keys: list[str]) -> Any:
    flagged = frame[frame["alert"].fillna(False).astype(bool)] if len(frame) else frame
    return flagged.groupby(keys, sort=False) if len(flagged) else []


def _json(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if value is pd.NA or value is None:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _per_chunk(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    return [{c: _json(row[c]) for c in ["key", *columns]} for _, row in frame.iterrows()]


def build_summary(result: MonitoringResult) -> dict[str, Any]:
    """The JSON-able digest read by the report, the UI and the operational alerts."""
    chunks = result.chunks
    features: dict[str, Any] = {}
    for feature, part in result.univariate.groupby("feature", sort=False):
        per_chunk = part.groupby("key", sort=False)["alert"].agg(lambda s: None if s.isna().all() else bool(s.any()))
        features[feature] = {
            "kind": part["kind"].iloc[0],
            "methods": sorted(part["method"].unique()),
            "alert": bool(part["alert"].fillna(False).any()),
            "chunks": {k: _json(v) for k, v in per_chunk.reindex(chunks["key"]).items()},
        }
    performance = {
        metric: _per_chunk(part, ["estimate", "lower_band", "upper_band", "alert", "realized"])
        for metric, part in result.performance.groupby("metric", sort=False)
    }
    return {
        "generated_at": result.computed_at,
        "compute_seconds": result.compute_seconds,
        "window": result.window,
        "chunking": {
            "period": result.chunking.period,
            "size": result.chunking.size,
            "min_chunk_rows": MIN_CHUNK_ROWS,
            "calibration_rows": result.calibration_rows,
        },
        "reference_rows": result.reference_rows,
        "counts": {
            "predictions": result.kpis["predictions"],
            "rejections": result.kpis["rejections"],
            "chunks": len(chunks),
            "chunks_with_enough_data": int(chunks["enough"].sum()),
        },
        "chunks": _per_chunk(chunks, ["start", "end", "rows", "enough"]),
        "kpis": {k: _json(v) for k, v in result.kpis.items()},
        "features": features,
        "multivariate": {
            "alert": bool(result.multivariate["alert"].fillna(False).any()),
            "chunks": _per_chunk(result.multivariate, ["value", "upper_threshold", "alert"]),
        },
        "performance": performance,
        "data_quality": {
            "missing": {
                f: {
                    "reference_rate": _json(p["reference_rate"].iloc[0]),
                    "alert": bool(p["alert"].fillna(False).any()),
                    "chunks": _per_chunk(p, ["rate", "alert"]),
                }
                for f, p in result.missing.groupby("feature", sort=False)
            },
            "unseen": {
                f: {
                    "alert": bool(p["alert"].fillna(False).any()),
                    "values": sorted({v for vs in p["values"] if isinstance(vs, list) for v in vs}),
                }
                for f, p in result.unseen.groupby("feature", sort=False)
            },
        },
        "drift_alerts": result.alerts,
    }


# ------------------------------------------------------------------------- loading and running


def load_reference(model_dir: str | Path) -> pd.DataFrame:
    from scoring.model import REFERENCE_FILE

    path = Path(model_dir) / REFERENCE_FILE
    if not path.is_file():
        raise MonitoringError(f"no reference data at {path}")
    return pd.read_parquet(path)


@cache
def fitted_monitor(model_dir: str, top: int = TOP_FEATURES) -> DriftMonitor:
    """One fitted monitor per model folder and process: the fit is never repeated per request."""
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    from scoring.model import load_model

    return DriftMonitor.for_model(load_model(model_dir), top=top).fit(load_reference(model_dir))


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What to analyse, picklable so a worker process can run it."""

    log_dirs: tuple[str, ...]
    model_dir: str
    top: int = TOP_FEATURES


def window_bounds(window: str, *, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; valid: {', '.join(WINDOWS)}")
    span = WINDOWS[window]
    return ((now or datetime.now(UTC)) - span if span else None), None


_READ_CACHES: dict[tuple[str, ...], Any] = {}


def run_job(job: AnalysisJob, window: str = "all", chunking: Chunking | None = None) -> MonitoringResult:
    """Read the log for `window` and analyse it (what the runner's worker executes)."""
    from monitoring.log import ReadCache, read_log

    start, end = window_bounds(window)
    cache_ = _READ_CACHES.setdefault(job.log_dirs, ReadCache())
    data = read_log(list(job.log_dirs), start=start, end=end, cache=cache_)
    monitor = fitted_monitor(job.model_dir, job.top)
    bounds = {"name": window, "start": start.isoformat() if start else None, "end": end.isoformat() if end else None}
    return monitor.calculate(data.predictions, chunking=chunking, rejections=data.rejections, window=bounds)


def _quiet_worker() -> None:
    """Initialiser of the analysis worker: one BLAS/OpenMP/numba thread; in a process, lowest priority."""
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    if multiprocessing.parent_process() is not None:
        os.nice(10)  # per process: only ever applied inside the dedicated worker process


@dataclass(slots=True)
class RunnerState:
    result: MonitoringResult | None = None
    running: bool = False
    error: str | None = None
    requested: tuple[str, str] | None = None
    finished_at: str | None = None


class AnalysisRunner:
    """Runs the analysis in the background and keeps the latest result; never blocks the caller.

    `isolation="process"` (the service default) runs NannyML in one spawned, niced worker process: no
    GIL or CPU-priority contention with the scoring path; the fit happens once in that process.
    `"thread"` runs it in one worker thread of this process (tests, notebooks).
    """

    def __init__(self, job: AnalysisJob, *, isolation: str = "process") -> None:
        if isolation not in {"process", "thread"}:
            raise ValueError("isolation is 'process' or 'thread'")
        self.job, self.isolation = job, isolation
        self._state = RunnerState()
        self._lock = threading.Lock()
        self._executor: cf.Executor | None = None
        self._future: cf.Future | None = None

    def _pool(self) -> cf.Executor:
        if self._executor is None:
            if self.isolation == "process":
                self._executor = cf.ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker
                )
            else:
                self._executor = cf.ThreadPoolExecutor(1, thread_name_prefix="monitoring", initializer=_quiet_worker)
        return self._executor

    def refresh(self, window: str = "last 24 h", chunking: Chunking | None = None) -> bool:
        """Start an analysis unless one is running; returns whether a new one started."""
        window_bounds(window)  # validates the name now, in the caller
        with self._lock:
            if self._state.running:
                return False
            self._state.running, self._state.requested = True, (window, (chunking or Chunking()).label())
            self._future = self._pool().submit(run_job, self.job, window, chunking)
        self._future.add_done_callback(self._done)
        return True

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run another background job (e.g. the alert evaluation) in the same quiet worker."""
        return self._pool().submit(fn, *args, **kwargs)

    def _done(self, future: cf.Future) -> None:
        with self._lock:
            self._state.running = False
            self._state.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
            try:
                self._state.result, self._state.error = future.result(), None
            except Exception as exc:  # keep the last good result and say why this run failed
                log.exception("monitoring analysis failed")
                self._state.error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, cf.process.BrokenProcessPool):
                    self._executor = None

    def latest(self) -> RunnerState:
        """A snapshot: the last result (maybe None), whether a run is in progress, the last error."""
        with self._lock:
            return RunnerState(
                self._state.result,
                self._state.running,
                self._state.error,
                self._state.requested,
                self._state.finished_at,
            )

    def wait(self, timeout: float | None = None) -> RunnerState:
        """Block until the current run ends (tests, CLIs); the UI never calls this."""
        future = self._future
        if future is not None:
            cf.wait([future], timeout=timeout)
            deadline = time.monotonic() + 5
            while self.latest().running and time.monotonic() < deadline:  # the done-callback runs just after
                time.sleep(0.01)
        return self.latest()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
