"""Pluggable inference runtimes for the LightGBM Booster, each falling back to `booster.predict`.

`make_predictor(booster, kind)` returns a function from a float64 model matrix (n x features) to
probabilities of default. Kinds:

- "booster": `booster.predict` on numpy, what `ScoringModel.predict` does today (float64, exact);
- "fast_single_row": LightGBM's own C single-row fast path (`LGBM_BoosterPredictForMatSingleRowFast`)
  for one row, `booster.predict` for more. Same library, same trees, same float64 arithmetic, so the
  numbers are identical; it skips the per-call Python work of `Booster.predict` (parameter string,
  array checks, a fresh predictor setup);
- "onnx": ONNX Runtime on an onnxmltools conversion. Thresholds and inputs become float32, so a
  probability moves by up to ~1e-6 and a decision near the threshold can flip;
- "tl2cgen": the trees compiled to C by treelite + tl2cgen and built with gcc (float64).

Whatever goes wrong while building a kind (a missing package, a failed conversion or compilation,
numbers that disagree with the Booster on the check rows) logs a warning and gives the plain Booster,
so the service never refuses to start because of an optimisation.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from scoring.compiled import TOLERANCE as _COMPILED_TOLERANCE
from scoring.compiled import build_library, library_path, load_library
from scoring.compiled_exact import exact_at_thresholds, split_thresholds

log = logging.getLogger(__name__)

Predictor = Callable[[np.ndarray], np.ndarray]
KINDS: tuple[str, ...] = ("booster", "fast_single_row", "onnx", "tl2cgen")
# Largest |difference| with booster.predict accepted on the check rows, per arithmetic.
TOLERANCE = {"booster": 0.0, "fast_single_row": 0.0, "onnx": 1e-6, "tl2cgen": _COMPILED_TOLERANCE}

_C_API_DTYPE_FLOAT64 = 1
_C_API_PREDICT_NORMAL = 0


def make_predictor(
    booster: Any, kind: str = "booster", *, check_rows: np.ndarray | None = None, work_dir: str | Path | None = None
) -> Predictor:
    """A probability function of `kind` for `booster`, or `booster.predict` if `kind` cannot be built.

    `check_rows` (float64, n x features) are scored by both and must agree within TOLERANCE[kind];
    by default a row of zeros and a row of NaN (every tree's missing-value branch). `work_dir` holds
    the compiled library of "tl2cgen" (a temporary folder otherwise).
    """
    fallback = _booster_predictor(booster)
    if kind not in KINDS:
        raise ValueError(f"unknown runtime {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "booster":
        return fallback
    try:
        builder = {"fast_single_row": _fast_single_row, "onnx": _onnx, "tl2cgen": _tl2cgen}[kind]
        candidate = builder(booster, fallback=fallback, work_dir=work_dir)
        _check(candidate, fallback, booster.num_feature(), kind, check_rows)
    except Exception as exc:  # an optional speed-up must never stop the service
        log.warning("runtime unavailable, using booster.predict", extra={"runtime": kind, "reason": str(exc)})
        return fallback
    return candidate


def _booster_predictor(booster: Any) -> Predictor:
    def predict(features: np.ndarray) -> np.ndarray:
        return booster.predict(features, num_threads=1 if len(features) < 256 else 0)

    predict.runtime = "booster"  # type: ignore[attr-defined]
    return predict


def _check(candidate: Predictor, reference: Predictor, n_features: int, kind: str, rows: np.ndarray | None) -> None:
    if rows is None:
        rows = np.vstack([np.zeros(n_features), np.full(n_features, np.nan)])
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    # one row at a time and all at once: the single-row and batch branches both get checked
    got = np.concatenate([candidate(rows[i : i + 1]) for i in range(len(rows))] + [candidate(rows)])
    want = np.concatenate([reference(rows), reference(rows)])
    worst = float(np.max(np.abs(got - want)))
    if not worst <= TOLERANCE[kind]:
        raise RuntimeError(f"{kind} differs from booster.predict by {worst:.3g} on the check rows")


def _fast_single_row(booster: Any, *, fallback: Predictor, work_dir: object = None) -> Predictor:
    from lightgbm.basic import _LIB, _safe_call

    n_features = booster.num_feature()
    config = ctypes.c_void_p()
    _safe_call(
        _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle,
            ctypes.c_int(_C_API_PREDICT_NORMAL),
            ctypes.c_int(0),  # start iteration
            ctypes.c_int(-1),  # all iterations, as booster.predict on a loaded model
            ctypes.c_int(_C_API_DTYPE_FLOAT64),
            ctypes.c_int32(n_features),
            b"num_threads=1",
            ctypes.byref(config),
        )
    )
    out_len = ctypes.c_int64()
    out_len_ref = ctypes.byref(out_len)
    call = _LIB.LGBM_BoosterPredictForMatSingleRowFast

    def predict(features: np.ndarray) -> np.ndarray:
        if features.shape != (1, n_features):
            return fallback(features)
        row = np.ascontiguousarray(features, dtype=np.float64)
        out = np.empty(1, dtype=np.float64)
        # LightGBM serialises calls on one booster with its own mutex, so threads may share this.
        if (
            call(
                config,
                row.ctypes.data_as(ctypes.c_void_p),
                out_len_ref,
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            )
            != 0
        ):
            return fallback(features)
        return out

    # The config holds a pointer to the booster: keep both alive together, free the config after.
    predict._keep = (booster, config, _ConfigOwner(config))  # type: ignore[attr-defined]
    predict.runtime = "fast_single_row"  # type: ignore[attr-defined]
    return predict


class _ConfigOwner:
    """Frees LightGBM's FastConfig when the predictor that uses it is collected."""

    def __init__(self, config: ctypes.c_void_p):
        self.config = config

    def __del__(self) -> None:
        # at interpreter exit the library may already be unloaded: then there is nothing left to free
        with contextlib.suppress(Exception):
            from lightgbm.basic import _LIB

            _LIB.LGBM_FastConfigFree(self.config)


def _onnx(booster: Any, *, fallback: Predictor, work_dir: object = None) -> Predictor:
    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = onnxmltools.convert_lightgbm(
        booster,
        initial_types=[("input", FloatTensorType([None, booster.num_feature()]))],
        zipmap=False,
        target_opset=15,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the converter declares a fixed label shape: a harmless warning per call
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    output = next(o.name for o in session.get_outputs() if o.name != "label")
    input_name = session.get_inputs()[0].name

    def predict(features: np.ndarray) -> np.ndarray:
        probabilities = session.run([output], {input_name: features.astype(np.float32)})[0]
        return probabilities[:, 1].astype(np.float64)

    predict.runtime = "onnx"  # type: ignore[attr-defined]
    return predict


def _tl2cgen(booster: Any, *, fallback: Predictor, work_dir: str | Path | None = None) -> Predictor:
    folder = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="tl2cgen-"))
    library = library_path(booster, folder)  # named after the model's text: a cached one is never another model's
    if not library.is_file():
        build_library(booster, library)
    return exact_at_thresholds(load_library(library, threads=1), booster, split_thresholds(booster))
