"""Loading the exported model (`model/`) once and predicting with it.

`model/` is an MLflow LightGBM-flavour model directory plus `metadata.json` (version, business
threshold, feature list, category labels, training ranges, metrics). It is loaded through MLflow;
predictions then call the LightGBM Booster directly on a float matrix, which gives exactly the
numbers `mlflow.pyfunc` gives on the same artifact without its per-call DataFrame overhead.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scoring.compiled import MIN_ROWS as COMPILED_MIN_ROWS
from scoring.compiled import BatchRuntime, check_rows
from scoring.errors import ModelLoadError
from scoring.features import FEATURE_NAMES
from scoring.schema import FIELDS

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
REFERENCE_FILE = "reference.parquet"


@dataclass(frozen=True, slots=True)
class Factor:
    feature: str
    value: Any
    contribution: float  # log-odds pushed towards default (+) or away from it (-)

    @property
    def direction(self) -> str:
        return "increases risk" if self.contribution > 0 else "decreases risk"


@dataclass(slots=True)
class ScoringModel:
    booster: Any  # lightgbm.Booster
    metadata: dict[str, Any]
    path: Path
    load_seconds: float = 0.0
    _training_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The runtime chosen at load (scoring.runtimes); None = plain booster.predict.
    _predict: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    # LightGBM threads for every prediction, set where the process owns fewer cores than LightGBM
    # would take (one per Spark task); None = the runtime's choice (1 below 256 rows, else all cores).
    threads: int | None = None
    # Where it came from (scoring.registry.ResolvedModel.as_dict: uri, name, version, alias), set by
    # the service after resolving MODEL_URI / CHALLENGER_URI; shown on /readyz and /api/v1/model.
    source: dict[str, Any] = field(default_factory=dict)
    # BATCH_RUNTIME (scoring.compiled): calls of COMPILED_MIN_ROWS rows or more go to the compiled trees
    # once they are built and checked; None = the Booster for every call.
    batches: BatchRuntime | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return str(self.metadata["model_version"])

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def training_ranges(self) -> dict[str, tuple[float, float]]:
        if not self._training_ranges:
            self._training_ranges = {k: (float(v[0]), float(v[1])) for k, v in self.metadata["ranges"].items()}
        return self._training_ranges

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Probability of default for each row of a model matrix."""
        if self.batches is not None and len(features) >= COMPILED_MIN_ROWS:
            compiled = self.batches.predictor
            if compiled is not None:
                return compiled(features)
        if self.threads is not None:
            return self.booster.predict(features, num_threads=self.threads)
        if self._predict is not None:
            return self._predict(features)
        return self.booster.predict(features, num_threads=1 if len(features) < 256 else 0)

    def batch_runtime(self, *, mode: str, folder: str | Path) -> BatchRuntime:
        """Attach the runtime of big batches (BATCH_RUNTIME `mode`, libraries cached in `folder`), not started:
        its check rows walk this model's training ranges, missing values and unseen categories."""
        rows = check_rows(
            FEATURE_NAMES, ranges=self.metadata.get("ranges", {}), categories=self.metadata.get("categories", {})
        )
        self.batches = BatchRuntime(self.booster, mode=mode, folder=folder, threads=self.threads, check=rows)
        return self.batches

    def batch_status(self) -> dict[str, Any]:
        """The runtime big batches use now, for /readyz and /api/v1/model."""
        if self.batches is None:
            return {"in_use": "booster", "setting": "booster", "state": "off", "reason": None}
        return self.batches.status()

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """TreeSHAP contributions (n x features), LightGBM's own, in log-odds."""
        return self.booster.predict(features, pred_contrib=True, num_threads=1)[:, :-1]


def _check_metadata(metadata: dict[str, Any]) -> None:
    if tuple(metadata.get("feature_names", ())) != FEATURE_NAMES:
        raise ModelLoadError("the model's feature list does not match scoring.features.FEATURE_NAMES")
    for name, labels in metadata.get("categories", {}).items():
        if tuple(labels) != FIELDS[name].categories:
            raise ModelLoadError(f"category labels of {name} differ between the model and the schema")
    for key in ("model_version", "threshold", "ranges"):
        if key not in metadata:
            raise ModelLoadError(f"{METADATA_FILE} lacks {key!r}")


def load_model(model_dir: str | Path, *, runtime: str = "fast_single_row") -> ScoringModel:
    """Load `model_dir` once through MLflow; raise ModelLoadError with a clear reason otherwise.

    `runtime` (see scoring.runtimes): LightGBM's C single-row path by default, bit-identical to
    `booster.predict` and 1.6x faster on one row; any failure to set it up falls back to the Booster.
    """
    path = Path(model_dir)
    started = time.perf_counter()
    if not (path / "MLmodel").is_file() or not (path / METADATA_FILE).is_file():
        raise ModelLoadError(f"no exported model at {path.resolve()} (expected MLmodel and {METADATA_FILE})")
    try:
        metadata = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"unreadable {METADATA_FILE}: {exc}") from exc
    _check_metadata(metadata)
    import mlflow.lightgbm  # heavy import, deferred until a model is actually loaded

    try:
        booster = mlflow.lightgbm.load_model(str(path))
    except Exception as exc:  # MLflow and LightGBM raise many types for a corrupt artifact
        raise ModelLoadError(f"MLflow could not load {path}: {exc}") from exc
    if list(booster.feature_name()) != list(FEATURE_NAMES):
        raise ModelLoadError("the booster's features differ from the metadata's")
    from scoring.runtimes import make_predictor

    model = ScoringModel(booster=booster, metadata=metadata, path=path, _predict=make_predictor(booster, runtime))
    model.load_seconds = time.perf_counter() - started
    log.info("model loaded", extra={"model_version": model.version, "load_seconds": round(model.load_seconds, 3)})
    return model


def import_lightgbm_for_serving() -> None:
    """Import LightGBM without its optional scikit-learn and matplotlib integrations.

    `import lightgbm` tries `import sklearn` (for its LGBMClassifier wrappers, which pulls in
    scipy.stats) and `import matplotlib` (for its plots): about 1.5 s of the service's cold start for
    code a Booster never runs. For processes that only serve (app.main); training and the analysis
    worker, which need scikit-learn, run in processes of their own. No-op once lightgbm is imported.
    """
    if "lightgbm" in sys.modules:
        return
    hidden = [name for name in ("sklearn", "matplotlib") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import lightgbm  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]  # later imports of scikit-learn / matplotlib work as usual
